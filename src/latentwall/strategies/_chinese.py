"""Chinese sound-alike disguises of the words a censor looks for: `homophone`, `pinyin`.

Why: Chinese internet users have long written blocked words with other characters of the
same sound (溜嗣 for 六四) or in romanisation (liusi, tiananmen, TAM); a reader hears the
word, a character-matching filter sees something else. The keyword guard's `pinyin`
normalisation undoes both; a run with and without it shows what that costs and buys.
Only the topic terms of data/euphemisms.yaml in Chinese text are disguised; a probe
without one (any English probe, unless translated first) is left out.
"""

from __future__ import annotations

import random
from functools import lru_cache
from typing import ClassVar

from latentwall.datafiles import load_yaml
from latentwall.errors import ConfigError, DataError
from latentwall.strategies._base import Prompt, Strategy, register_strategy
from latentwall.strategies._common import (
    all_terms_regex,
    choose_positions,
    find_spans,
    strategy_data,
    text_language,
)
from latentwall.suites import Probe
from latentwall.text import is_cjk, line_of, mapping_of, to_simplified, word_syllables


@lru_cache(maxsize=1)
def homophone_table() -> dict[str, tuple[str, ...]]:
    """Simplified character -> characters of the same sound (data/homophones.yaml)."""
    path = strategy_data("homophones.yaml")
    data = load_yaml(path, lines=True)
    out: dict[str, tuple[str, ...]] = {}
    for ch, value in mapping_of(path, data, "chars").items():
        if not isinstance(ch, str) or len(ch) != 1 or not is_cjk(ch):
            raise DataError(str(path), line_of(path, str(ch)), str(ch), "keys must be single Chinese characters")
        subs = tuple(value.split()) if isinstance(value, str) else ()
        if not subs or not all(len(s) == 1 and is_cjk(s) and s != ch for s in subs):
            raise DataError(str(path), line_of(path, ch), ch,
                            "must be other single Chinese characters separated by spaces")
        out[ch] = subs
    return out


def _zh_spans(prompt: Prompt, probe: Probe) -> tuple[str, str, list[tuple[int, int]]]:
    text = prompt.user
    lang = text_language(text, probe)
    if not lang.startswith("zh"):
        return text, lang, []
    return text, lang, find_spans(text, lang, all_terms_regex(lang))


@register_strategy("homophone")
class Homophone(Strategy):
    """Write characters of the topic terms with other characters of the same sound."""

    name: ClassVar[str] = "homophone"
    arg_help: ClassVar[str] = "none"

    def __init__(self, arg: str | None = None) -> None:
        if arg:
            raise ConfigError(f"strategy homophone takes no argument (got '{arg}')")
        super().__init__(arg)

    def apply(self, prompt: Prompt, probe: Probe, rng: random.Random) -> Prompt | None:
        text, lang, spans = _zh_spans(prompt, probe)
        table = homophone_table()
        chars = list(text)
        changed = False
        for start, end in spans:
            slots = [i - start for i in range(start, end) if to_simplified(chars[i]) in table]
            if not slots:
                continue
            for i in choose_positions(text[start:end], slots, rng, 0.5, lang):
                i += start
                chars[i] = rng.choice(table[to_simplified(chars[i])])
            changed = True
        return prompt.with_user("".join(chars)) if changed else None


PINYIN_STYLES = ("joined", "spaced", "initials")


@register_strategy("pinyin")
class Pinyin(Strategy):
    """Write the topic terms in pinyin instead of characters (天安门 -> tiananmen)."""

    name: ClassVar[str] = "pinyin"
    arg_help: ClassVar[str] = "joined (default: tiananmen), spaced (tian an men) or initials (TAM)"

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        self.style = arg or "joined"
        if self.style not in PINYIN_STYLES:
            raise ConfigError(f"strategy pinyin: argument must be one of {', '.join(PINYIN_STYLES)}, not '{arg}'")

    def romanise(self, word: str) -> str | None:
        syllables = word_syllables(word)
        if not syllables:
            return None
        sounds = [s for s in syllables if s.isalpha() and s.isascii()]
        if self.style == "initials":
            return "".join(s[0].upper() if s.isalpha() and s.isascii() else s for s in syllables) if sounds else None
        sep = " " if self.style == "spaced" else ""
        out = ""
        for s in syllables:
            if out and (sep or (s[0] in "aeo" and out[-1].isalpha())):
                # Apostrophe before a vowel-initial syllable, as pinyin spelling does (Tian'anmen).
                out += sep or "'"
            out += s
        return out

    def apply(self, prompt: Prompt, probe: Probe, rng: random.Random) -> Prompt | None:
        text, _lang, spans = _zh_spans(prompt, probe)
        out, last, changed = [], 0, False
        for start, end in spans:
            new = self.romanise(text[start:end])
            if new is None:
                continue
            # Keep words apart from neighbouring characters, as a person typing pinyin would.
            if start > 0 and is_cjk(text[start - 1]):
                new = " " + new
            if end < len(text) and is_cjk(text[end]):
                new += " "
            out += [text[last:start], new]
            last, changed = end, True
        out.append(text[last:])
        return prompt.with_user("".join(out)) if changed else None
