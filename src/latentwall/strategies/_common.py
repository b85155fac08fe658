"""Helpers shared by the strategy modules: data files, languages, topic terms, spans.

Registers no strategy. Why one place: every strategy that rewrites "the words that name a
topic" (euphemism, homoglyph, zero-width, leetspeak, homophone, pinyin) must agree on what
those words are; they come from one data file (data/euphemisms.yaml).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from latentwall.datafiles import load_yaml, package_data
from latentwall.errors import ConfigError, DataError
from latentwall.suites import Probe
from latentwall.text import CJK_RE, t2s_table, to_simplified

T = TypeVar("T")

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
# Letters that make a Latin or Cyrillic word continue (CJK neighbours do not).
_WORDCH = r"0-9A-Za-z\u00c0-\u024f\u0400-\u04ff"


def strategy_data(name: str) -> Path:
    return package_data("latentwall.strategies", "data", name)


def script_of(language: str) -> str:
    if language.startswith(("zh", "ja", "yue")):
        return "cjk"
    if language.split("-")[0] in ("ru", "uk", "be", "bg", "sr", "kk", "mn"):
        return "cyrillic"
    return "latin"


def detect_script(text: str) -> str:
    cjk = len(CJK_RE.findall(text))
    cyr = len(_CYRILLIC.findall(text))
    lat = len(_LATIN.findall(text))
    if cjk and cjk * 3 >= lat + cyr:  # a CJK character carries about a word
        return "cjk"
    return "cyrillic" if cyr > lat else "latin"


def text_language(text: str, probe: Probe) -> str:
    """The language of the text being rewritten: the probe's, unless an earlier strategy of
    the chain (translate) changed the script."""
    script = detect_script(text)
    if script == script_of(probe.language):
        return probe.language
    if script == "cjk":
        trad = t2s_table()
        return "zh-Hant" if any(ord(c) in trad for c in text) else "zh-Hans"
    return "ru" if script == "cyrillic" else "en"


def localised(table: dict[str, T], language: str, fallback: str | None) -> T | None:
    """table[language], else the base language ('zh-Hant' never falls back to 'zh-Hans':
    mixing scripts would be a confound), else the fallback language."""
    if language in table:
        return table[language]
    base = language.split("-")[0]
    if base in table and not language.startswith("zh"):
        return table[base]
    return table.get(fallback) if fallback else None


def index_arg(name: str, arg: str | None) -> int | None:
    """`NAME:N` fixes the N-th choice (from 0); None lets the seeded rng choose."""
    if arg is None or arg == "":
        return None
    if not arg.isdigit():
        raise ConfigError(f"strategy {name}: argument must be a number (which variant, from 0), not '{arg}'")
    return int(arg)


def pick(options: Sequence[T], rng: random.Random, index: int | None) -> T:
    return options[index % len(options)] if index is not None else rng.choice(list(options))


def fill(template: str, field: str, value: str) -> str:
    """Insert the text without str.format, so braces in a probe cannot break a template."""
    return template.replace("{" + field + "}", value, 1)


def need(path: Path, obj: Any, field: str, kind: type, where: Any = None) -> Any:
    """obj[field] of the given type, or a DataError naming the file, line and field."""
    value = obj.get(field) if isinstance(obj, dict) else None
    if not isinstance(value, kind) or (isinstance(value, str | list | dict) and not value):
        line = obj.get("__line__") if isinstance(obj, dict) else None
        what = {str: "a non-empty string", list: "a non-empty list", dict: "a mapping"}.get(kind, kind.__name__)
        raise DataError(str(path), line, where or field, f"must be {what}")
    return value


def templates_per_language(path: Path, obj: Any, field: str, placeholder: str | None) -> dict[str, list[str]]:
    """{language: [template, ...]} from a mapping of language to a string or list of strings."""
    raw = need(path, obj, field, dict)
    out: dict[str, list[str]] = {}
    for lang, value in raw.items():
        if lang == "__line__":
            continue
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(t, str) and t.strip() for t in items):
            raise DataError(str(path), raw.get("__line__"), f"{field}.{lang}", "must be a non-empty string or list")
        if placeholder is not None:
            for t in items:
                if t.count("{" + placeholder + "}") != 1:
                    raise DataError(str(path), raw.get("__line__"), f"{field}.{lang}",
                                    f"each template needs {{{placeholder}}} exactly once")
        out[lang] = items
    return out


# ----------------------------------------------------------------------- topic terms


@dataclass(frozen=True)
class Slot:
    """One thing a topic names (a date, a place, a person): its terms and code words per language."""

    name: str
    terms: dict[str, tuple[str, ...]]
    codes: dict[str, tuple[str, ...]]

    def codes_for(self, language: str) -> tuple[str, ...]:
        if language in self.codes:
            return self.codes[language]
        if language == "zh-Hant":
            return self.codes.get("zh-Hans", ())
        return ()

    def terms_for(self, language: str) -> tuple[str, ...]:
        """Terms matched in a text of `language`; Traditional text is matched via Simplified."""
        if language == "zh-Hant":
            return tuple(dict.fromkeys(
                [to_simplified(t) for t in self.terms.get("zh-Hant", ())] + list(self.terms.get("zh-Hans", ()))
            ))
        return self.terms.get(language, ())


@dataclass(frozen=True)
class Entry:
    topics: tuple[str, ...]
    slots: tuple[Slot, ...]


LANGS = ("en", "zh-Hans", "zh-Hant", "ru")


def _str_list(path: Path, obj: dict[str, Any], where: str) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for lang, items in obj.items():
        if lang == "__line__":
            continue
        if lang not in LANGS:
            raise DataError(str(path), obj.get("__line__"), f"{where}.{lang}", f"language must be one of {', '.join(LANGS)}")
        if not isinstance(items, list) or not items:
            raise DataError(str(path), obj.get("__line__"), f"{where}.{lang}", "must be a non-empty list")
        clean = []
        for i, t in enumerate(items):
            if isinstance(t, int) and not isinstance(t, bool):
                t = str(t)
            if not isinstance(t, str) or not t.strip():
                raise DataError(str(path), obj.get("__line__"), f"{where}.{lang}[{i}]", "must be a non-empty string")
            clean.append(t.strip())
        out[lang] = tuple(clean)
    return out


@lru_cache(maxsize=1)
def euphemism_entries() -> tuple[Entry, ...]:
    """data/euphemisms.yaml, validated."""
    path = strategy_data("euphemisms.yaml")
    data = load_yaml(path, lines=True)
    entries = need(path, data, "entries", list)
    out = []
    for i, entry in enumerate(entries):
        where = f"entries[{i}]"
        if not isinstance(entry, dict):
            raise DataError(str(path), data.get("__line__"), where, "must be a mapping")
        topics = need(path, entry, "topics", list, f"{where}.topics")
        if not all(isinstance(t, str) and t for t in topics):
            raise DataError(str(path), entry.get("__line__"), f"{where}.topics", "must be topic ids")
        slots = []
        for j, slot in enumerate(need(path, entry, "slots", list, f"{where}.slots")):
            sw = f"{where}.slots[{j}]"
            if not isinstance(slot, dict):
                raise DataError(str(path), entry.get("__line__"), sw, "must be a mapping")
            terms = _str_list(path, need(path, slot, "terms", dict, f"{sw}.terms"), f"{sw}.terms")
            codes = _str_list(path, need(path, slot, "codes", dict, f"{sw}.codes"), f"{sw}.codes")
            for lang in codes:
                if lang not in terms and not (lang == "zh-Hant" and "zh-Hans" in terms):
                    raise DataError(str(path), slot.get("__line__"), f"{sw}.codes.{lang}",
                                    "has codes but no terms to replace in that language")
            slots.append(Slot(str(slot.get("name", f"slot{j}")), terms, codes))
        out.append(Entry(tuple(topics), tuple(slots)))
    return tuple(out)


def _term_regex(terms: Sequence[str]) -> re.Pattern[str] | None:
    if not terms:
        return None
    parts = []
    for t in sorted(set(terms), key=lambda s: (-len(s), s)):
        p = re.escape(t)
        if re.match(f"[{_WORDCH}]", t[0]):
            p = f"(?<![{_WORDCH}])" + p
        if re.match(f"[{_WORDCH}]", t[-1]):
            p += f"(?![{_WORDCH}])"
        parts.append(p)
    return re.compile("|".join(parts), re.IGNORECASE)


@lru_cache(maxsize=64)
def topic_slots(topic: str, language: str) -> tuple[Slot, ...]:
    """Slots of a topic that apply in a language (terms and codes both present)."""
    return tuple(s for e in euphemism_entries() if topic in e.topics for s in e.slots
                 if s.terms_for(language) and s.codes_for(language))


@lru_cache(maxsize=16)
def all_terms_regex(language: str) -> re.Pattern[str] | None:
    """Every topic term of a language: the words a censor looks for."""
    terms = [t for e in euphemism_entries() for s in e.slots for t in s.terms_for(language)]
    return _term_regex(terms)


@lru_cache(maxsize=16)
def all_terms(language: str) -> tuple[str, ...]:
    """Every topic term of a language (Simplified for Chinese), longest first."""
    terms = {to_simplified(t) if language.startswith("zh") else t.casefold()
             for e in euphemism_entries() for s in e.slots for t in s.terms_for(language)}
    return tuple(sorted(terms, key=lambda t: (-len(t), t)))


def nested_terms(segment: str, language: str) -> list[tuple[int, int]]:
    """Where terms occur inside a segment (itself a term): 天安门 inside 天安门广场.
    A disguise must touch each of them, or the shorter word still trips a filter."""
    view = to_simplified(segment) if language.startswith("zh") else segment.casefold()
    out = []
    for t in all_terms(language):
        start = view.find(t)
        while start != -1:
            out.append((start, start + len(t)))
            start = view.find(t, start + 1)
    return out or [(0, len(segment))]


def choose_positions(
    segment: str, swappable: Sequence[int], rng: random.Random, rate: float, language: str | None
) -> list[int]:
    """Positions to disguise: each swappable one with probability `rate`, then one more in
    every nested term left untouched (so no term of the segment survives intact)."""
    chosen = {i for i in swappable if rng.random() < rate}
    intervals = nested_terms(segment, language) if language else [(0, len(segment))]
    for start, end in intervals:
        inside = [i for i in swappable if start <= i < end]
        if inside and not any(i in chosen for i in inside):
            chosen.add(rng.choice(inside))
    return sorted(chosen)


def term_regex(terms: Sequence[str]) -> re.Pattern[str] | None:
    return _term_regex(tuple(terms))


def find_spans(text: str, language: str, rx: re.Pattern[str] | None) -> list[tuple[int, int]]:
    """Spans of `rx` in the text; Traditional text is matched through its Simplified form
    (same length, so spans hold for the original)."""
    if rx is None:
        return []
    view = to_simplified(text) if language.startswith("zh") else text
    return [(m.start(), m.end()) for m in rx.finditer(view)]


def rewrite_spans(text: str, spans: Sequence[tuple[int, int]], fn: Callable[[str], str]) -> str:
    """Replace each span by fn(original span text); spans must not overlap."""
    out, last = [], 0
    for start, end in sorted(spans):
        out.append(text[last:start])
        out.append(fn(text[start:end]))
        last = end
    out.append(text[last:])
    return "".join(out)
