"""`euphemism[:N]`: name the topic with a code word or the state's own euphemism.

Why: a keyword wall blocks a word, not a meaning. "May 35th", 8964, 科学上网 and
"vocational training centres" carry the meaning past a blocklist that lacks them; whether
the model still understands (and answers) is the measurement. Terms and codes per topic
are in data/euphemisms.yaml; a probe whose text names its topic with none of the listed
terms is left out.
"""

from __future__ import annotations

import random
from typing import ClassVar

from latentwall.strategies._base import Prompt, Strategy, register_strategy
from latentwall.strategies._common import (
    find_spans,
    index_arg,
    pick,
    term_regex,
    text_language,
    topic_slots,
)
from latentwall.suites import Probe
from latentwall.text import to_simplified


@register_strategy("euphemism")
class Euphemism(Strategy):
    """Replace the words naming the probe's topic with a code word or euphemism."""

    name: ClassVar[str] = "euphemism"
    arg_help: ClassVar[str] = "N: always the N-th code word of each slot (from 0); default: chosen under the seed"

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        self.index = index_arg(self.name, arg)

    def apply(self, prompt: Prompt, probe: Probe, rng: random.Random) -> Prompt | None:
        text = prompt.user
        lang = text_language(text, probe)
        slots = topic_slots(probe.topic, lang)
        if not slots:
            return None
        # One code per slot and variant, drawn in slot order so the choice is reproducible.
        by_term: dict[str, str] = {}
        terms: list[str] = []
        for slot in slots:
            code = pick(slot.codes_for(lang), rng, self.index)
            for t in slot.terms_for(lang):
                key = t.casefold()
                if key not in by_term:
                    by_term[key] = code
                    terms.append(t)
        spans = find_spans(text, lang, term_regex(terms))
        if not spans:
            return None
        simple = lang.startswith("zh")
        out, last = [], 0
        for start, end in spans:
            code = by_term[(to_simplified(text[start:end]) if simple else text[start:end]).casefold()]
            before = text[last:start]
            if code.startswith("the ") and before.endswith(("'s ", "’s ")):
                code = code[4:]  # "China's the GFW" -> "China's GFW"
            out += [before, code]
            last = end
        out.append(text[last:])
        return prompt.with_user("".join(out))
