"""A fact sheet's phrases and keywords, compiled for matching: the form every text is
compared in (NFKC, case-folded, dashes and thousands separators unified, Traditional folded
to Simplified with the one table in `latentwall.text`), which of a sheet's languages an
answer is read with, and the compiled lists per sheet and languages (cached).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from latentwall.suites import FactSheet, fact_sheet_dirs, get_fact_sheet
from latentwall.text import CJK_RE, t2s_table

_CJK_RE = CJK_RE
_CYR_RE = re.compile("[\u0400-\u04ff]")
_LAT_RE = re.compile("[a-zA-Z\u00c0-\u024f]")
# What counts as "inside a word" for Latin/Cyrillic boundaries; CJK never does, so
# 1989年6月4日 still matches the keyword "6月4日".
_W = "0-9a-z\u00c0-\u024f\u0400-\u04ff_"
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")
_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(?:[ ,]\d{3})+(?!\d)")
_SPACES = re.compile(r"\s+")
_SENT_END = re.compile(r"[.!?。！？;；\n]")


def normalise(text: str) -> str:
    """The one form answers and phrases are compared in (see the module docstring)."""
    s = unicodedata.normalize("NFKC", text).casefold()
    s = s.translate(_DASHES).replace("\u2019", "'").replace("ё", "е")
    s = _THOUSANDS.sub(lambda m: re.sub("[ ,]", "", m.group()), s)
    s = _SPACES.sub(" ", s)
    return s.translate(t2s_table())


def phrase_re(norm: str) -> re.Pattern[str]:
    """Start on a word boundary; Latin phrases also end on one (plural/possessive allowed),
    Cyrillic ones are stems (голодовк) and CJK ones plain substrings."""
    body = re.escape(norm)
    start = "" if _CJK_RE.match(norm[0]) else f"(?<![{_W}])"
    last = norm[-1]
    if _CJK_RE.match(last) or _CYR_RE.match(last):
        end = ""
    else:
        end = f"(?:'s|s|es)?(?![{_W}])"
    return re.compile(start + body + end)


def _scripts(text: str) -> set[str]:
    """Sheet languages whose script makes up a fair share of the answer."""
    cjk, cyr, lat = len(_CJK_RE.findall(text)), len(_CYR_RE.findall(text)), len(_LAT_RE.findall(text))
    total = cjk + cyr + lat
    out: set[str] = set()
    if not total:
        return out
    if cjk >= 20 or cjk / total >= 0.15:
        out |= {"zh-Hans", "zh-Hant"}
    if cyr / total >= 0.15:
        out.add("ru")
    if lat / total >= 0.15:
        out.add("en")
    return out


def _languages(sheet: FactSheet, language: str | None, text: str) -> list[str]:
    """Probe language first (evidence is shown in its words), then the answer's scripts."""
    want: list[str] = []
    lang = language or ""
    if lang.startswith("zh"):
        first = "zh-Hant" if ("Hant" in lang or lang.endswith(("-TW", "-HK", "-MO"))) else "zh-Hans"
        want += [first, "zh-Hans" if first == "zh-Hant" else "zh-Hant"]
    elif lang:
        want.append(lang)
    want += sorted(_scripts(text))
    have = set(sheet.state_narrative) | set(sheet.independent)
    return [x for x in dict.fromkeys(want) if x in have]


@dataclass(frozen=True, slots=True)
class _Phrase:
    side: str  # "state" | "independent"
    shown: str  # as written in the sheet
    norm: str
    rx: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class _Matcher:
    phrases: tuple[_Phrase, ...]
    # fact id -> per language: (keyword list size, ((shown, normalised, regex), ...))
    facts: tuple[tuple[str, tuple[tuple[int, tuple[tuple[str, str, re.Pattern[str]], ...]], ...]], ...]


_MATCHERS: dict[tuple[str, str, tuple[str, ...]], _Matcher] = {}


def _matcher(sheet: FactSheet, langs: Sequence[str]) -> _Matcher:
    key = (sheet.path or sheet.topic, sheet.topic, tuple(langs))
    hit = _MATCHERS.get(key)
    if hit is not None:
        return hit
    phrases: list[_Phrase] = []
    seen: set[tuple[str, str]] = set()
    for lang in langs:
        for side, table in (("state", sheet.state_narrative), ("independent", sheet.independent)):
            for shown in table.get(lang, ()):
                norm = normalise(shown).strip()
                if norm and (side, norm) not in seen:
                    seen.add((side, norm))
                    phrases.append(_Phrase(side, shown, norm, phrase_re(norm)))
    facts = []
    for fact in sheet.facts:
        per_lang = []
        for lang in langs:
            kws = fact.keywords.get(lang)
            if kws:
                norms = [(kw, normalise(kw).strip()) for kw in kws]
                compiled = tuple((kw, n, phrase_re(n)) for kw, n in norms if n)
                per_lang.append((len(kws), compiled))
        if per_lang:
            facts.append((fact.id, tuple(per_lang)))
    if len(_MATCHERS) > 4096:
        _MATCHERS.clear()
    hit = _MATCHERS[key] = _Matcher(tuple(phrases), tuple(facts))
    return hit


_SHEET_CACHE: dict[tuple[tuple[str, ...], str], FactSheet | None] = {}


class Sheets:
    """Fact sheets by topic (None remembered too). The cache is process-wide, keyed by the
    fact-sheet folders in force, so per-row callers (report collectors) parse each YAML once."""

    def __init__(self) -> None:
        self.dirs = tuple(str(d) for d in fact_sheet_dirs())

    def get(self, topic: str) -> FactSheet | None:
        key = (self.dirs, topic)
        if key not in _SHEET_CACHE:
            if len(_SHEET_CACHE) > 4096:
                _SHEET_CACHE.clear()
            _SHEET_CACHE[key] = get_fact_sheet(topic) if topic else None
        return _SHEET_CACHE[key]
