"""`translate:LANG`: ask the same question in another language, from the suite's own
parallel text.

Why: models (and filters) censor some languages more than others; the published gaps
between English and Chinese answers are large. The parallel texts of a suite were written
per language by people, not machine-translated, so the variant asks exactly what the
probe asks. A probe whose group has no text in LANG, or that is already in LANG, is left
out.
"""

from __future__ import annotations

import random
import re
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

from latentwall.errors import ConfigError
from latentwall.strategies._base import Prompt, Strategy, register_strategy
from latentwall.suites import Probe, Suite, get_suite

_LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-[A-Z]{2})?$")  # en, zh-Hans, pt-BR


@lru_cache(maxsize=16)
def _parallel(folder: str, name: str) -> dict[str, dict[str, str]]:
    """group -> language -> text, for one suite folder (read once per process)."""
    suite = Suite(name, Path(folder))
    out: dict[str, dict[str, str]] = {}
    for p in suite.iter_probes():
        out.setdefault(p.group, {}).setdefault(p.language, p.text)
    return out


def parallel_texts(probe: Probe) -> dict[str, str]:
    """Texts of the probe's group by language; {} if its suite cannot be found."""
    folder: Path | None = None
    if probe.source:
        src = Path(probe.source.rsplit(":", 1)[0])
        if src.suffix == ".jsonl" and src.is_file():
            folder = src.parent
    if folder is None and probe.suite:
        try:
            folder = get_suite(probe.suite).path
        except ConfigError:
            return {}
    if folder is None:
        return {}
    return _parallel(str(folder.resolve()), probe.suite).get(probe.group, {})


@register_strategy("translate")
class Translate(Strategy):
    """Replace the question by its parallel text in another language (`translate:zh-Hans`)."""

    name: ClassVar[str] = "translate"
    arg_help: ClassVar[str] = "LANG (required): a language of the suite, e.g. en, zh-Hans, zh-Hant, ru"

    def __init__(self, arg: str | None = None) -> None:
        if not arg:
            raise ConfigError("strategy translate needs a language: translate:zh-Hans, translate:en, ...")
        if not _LANG_RE.match(arg):
            raise ConfigError(f"strategy translate: '{arg}' is not a language tag like en, zh-Hans, zh-Hant")
        super().__init__(arg)
        self.language = arg

    def apply(self, prompt: Prompt, probe: Probe, rng: random.Random) -> Prompt | None:
        if probe.language == self.language:
            return None  # the plain probe already asks it in this language
        target = parallel_texts(probe).get(self.language)
        if not target:
            return None
        text = prompt.user
        if text == probe.text:
            return prompt.with_user(target)
        if probe.text in text:  # after a framing: translate the question inside the frame
            return prompt.with_user(text.replace(probe.text, target, 1))
        return None  # an earlier strategy changed the question beyond recognition
