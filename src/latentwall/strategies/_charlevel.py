"""Character-level disguises of the words a censor looks for: `homoglyph`, `zero-width`,
`leetspeak`.

Why: each keeps a word readable (to people, and to most models) while changing the string
a filter compares, and each is undone by one normalisation step of the keyword guard
(confusables or NFKC, zw, leet); a run with and without that step shows what it buys.
By default only the topic terms of data/euphemisms.yaml are disguised (`:terms`), as a
person dodging a filter would; `:all` disguises the whole question. A probe with no term
is left out under `:terms`.
"""

from __future__ import annotations

import itertools
import random
import re
import unicodedata
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
from latentwall.text import line_of, mapping_of

SCOPES = ("terms", "all")
_WORD = re.compile(r"\S+")


def _scope(name: str, arg: str | None) -> str:
    scope = arg or "terms"
    if scope not in SCOPES:
        raise ConfigError(f"strategy {name}: argument must be one of {', '.join(SCOPES)}, not '{arg}'")
    return scope


def _letters(path_name: str, field: str) -> dict[str, tuple[str, ...]]:
    path = strategy_data(path_name)
    data = load_yaml(path, lines=True)
    out: dict[str, tuple[str, ...]] = {}
    for key, value in mapping_of(path, data, field).items():
        if not isinstance(key, str) or len(key) != 1:
            raise DataError(str(path), line_of(path, str(key)), str(key), "keys must be single characters")
        if not isinstance(value, str) or not value.split():
            raise DataError(str(path), line_of(path, key), key, "must be substitutes separated by spaces")
        subs = tuple(value.split())
        if any(len(s) != 1 for s in subs):
            raise DataError(str(path), line_of(path, key), key, "each substitute must be one character")
        out[key] = subs
    return out


@lru_cache(maxsize=1)
def homoglyph_table() -> dict[str, tuple[str, ...]]:
    """Latin -> look-alikes (data file), Cyrillic -> Latin (its inverse), and CJK characters ->
    their compatibility ideographs and Kangxi radicals (from Unicode: NFKC maps them back)."""
    table = dict(_letters("homoglyphs.yaml", "pairs"))
    for latin, subs in list(table.items()):
        for s in subs:
            if "\u0400" <= s <= "\u04ff":
                table.setdefault(s, (latin,))
    cjk: dict[str, list[str]] = {}
    for o in [*range(0x2F00, 0x2FD6), *range(0xF900, 0xFADA)]:
        ch = chr(o)
        base = unicodedata.normalize("NFKC", ch)
        if len(base) == 1 and base != ch and "\u4e00" <= base <= "\u9fff":
            cjk.setdefault(base, []).append(ch)
    for base, subs in cjk.items():
        table.setdefault(base, tuple(subs))
    return table


@lru_cache(maxsize=1)
def leet_table() -> dict[str, tuple[str, ...]]:
    return _letters("leet.yaml", "letters")


@lru_cache(maxsize=1)
def zero_width_chars() -> tuple[str, ...]:
    path = strategy_data("zero_width.yaml")
    data = load_yaml(path, lines=True)
    items = data.get("characters") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise DataError(str(path), 1, "characters", "must be a non-empty list of hex code points")
    out = []
    for i, item in enumerate(items):
        try:
            ch = chr(int(str(item), 16))
        except ValueError:
            raise DataError(str(path), line_of(path, "characters"), f"characters[{i}]",
                            f"'{item}' is not a hex code point") from None
        if unicodedata.category(ch) != "Cf":
            raise DataError(str(path), line_of(path, "characters"), f"characters[{i}]",
                            f"U+{ord(ch):04X} is not a format (Cf) character")
        out.append(ch)
    return tuple(out)


class _CharLevel(Strategy):
    """Disguise characters inside the terms (or every word) of the user's message."""

    arg_help: ClassVar[str] = "terms (default): only the words naming a topic; all: the whole question"

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        self.scope = _scope(self.name, arg)

    def disguise(self, segment: str, rng: random.Random, language: str | None) -> str:
        raise NotImplementedError

    def apply(self, prompt: Prompt, probe: Probe, rng: random.Random) -> Prompt | None:
        text = prompt.user
        lang: str | None = None
        if self.scope == "all":
            spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
        else:
            lang = text_language(text, probe)
            spans = find_spans(text, lang, all_terms_regex(lang))
        out, last, changed = [], 0, False
        for start, end in spans:
            seg = text[start:end]
            new = self.disguise(seg, rng, lang)
            changed |= new != seg
            out += [text[last:start], new]
            last = end
        out.append(text[last:])
        return prompt.with_user("".join(out)) if changed else None


def _swap_some(segment: str, table: dict[str, tuple[str, ...]], rng: random.Random, rate: float,
               language: str | None, key: bool = False) -> str:
    """Swap each swappable character with probability `rate`, and at least one in every
    term the segment contains."""
    chars = list(segment)
    slots = [i for i, c in enumerate(chars) if (c.lower() if key else c) in table]
    if not slots:
        return segment
    for i in choose_positions(segment, slots, rng, rate, language):
        c = chars[i]
        chars[i] = rng.choice(table[c.lower() if key else c])
    return "".join(chars)


@register_strategy("homoglyph")
class Homoglyph(_CharLevel):
    """Swap letters for look-alikes from other scripts (Cyrillic а in 'Tiаnаnmen', Kangxi radicals in Chinese).

    Chinese characters use their CJK compatibility forms and Kangxi radicals, which NFKC maps back.
    """

    name: ClassVar[str] = "homoglyph"

    def disguise(self, segment: str, rng: random.Random, language: str | None) -> str:
        return _swap_some(segment, homoglyph_table(), rng, 0.5, language)


@register_strategy("leetspeak")
class Leetspeak(_CharLevel):
    """Write letters as digits and symbols (T14n4nm3n)."""

    name: ClassVar[str] = "leetspeak"

    def disguise(self, segment: str, rng: random.Random, language: str | None) -> str:
        return _swap_some(segment, leet_table(), rng, 1.0, language, key=True)


@register_strategy("zero-width")
class ZeroWidth(_CharLevel):
    """Put invisible zero-width characters between the letters of a word."""

    name: ClassVar[str] = "zero-width"

    def disguise(self, segment: str, rng: random.Random, language: str | None) -> str:
        if len(segment) < 2:
            return segment
        chars = zero_width_chars()
        out = [segment[0]]
        for prev, ch in itertools.pairwise(segment):
            if not (prev.isspace() or ch.isspace()):
                out.append(rng.choice(chars))
            out.append(ch)
        return "".join(out)
