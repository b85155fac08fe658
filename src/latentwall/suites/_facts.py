"""Fact sheets: what an accurate answer on a topic contains, and how each side words it.

One YAML file per topic under suites/facts/ (and under facts/ of a user suite root).
They feed the narrative-stance scorer, so they must be balanced, accurate and sourced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentwall.datafiles import load_yaml, package_data
from latentwall.errors import DataError

_LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-[A-Z]{2})?$")
_TOPIC_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class Fact:
    id: str
    claim: dict[str, str]
    keywords: dict[str, tuple[str, ...]]
    source: str


@dataclass(frozen=True)
class FactSheet:
    topic: str
    jurisdiction: str
    title: dict[str, str]
    summary: dict[str, str]
    facts: tuple[Fact, ...]
    state_narrative: dict[str, tuple[str, ...]]
    independent: dict[str, tuple[str, ...]]
    sources: tuple[dict[str, str], ...]
    path: str = field(default="", compare=False)
    # Wording of neither side (a lobby, an opposition party): kept on file, never scored.
    other_lines: tuple[tuple[str, dict[str, tuple[str, ...]]], ...] = ()

    @property
    def languages(self) -> set[str]:
        """Languages the sheet is usable in: it has a title, facts and both phrase lists."""
        langs = set(self.title)
        for f in self.facts:
            langs &= set(f.claim) & set(f.keywords)
        return langs & set(self.state_narrative) & set(self.independent)


def _lang_map(obj: Any, path: str, line: int, fld: str, *, lists: bool) -> dict[str, Any]:
    if not isinstance(obj, dict) or not obj:
        raise DataError(path, line, fld, "must map language tags to " + ("lists of phrases" if lists else "text"))
    out: dict[str, Any] = {}
    for lang, val in obj.items():
        if lang == "__line__":
            continue
        if not isinstance(lang, str) or not _LANG_RE.match(lang):
            raise DataError(path, line, f"{fld}.{lang}", "is not a language tag like en, zh-Hans")
        if lists:
            if not isinstance(val, list) or not val or not all(isinstance(v, str) and v.strip() for v in val):
                raise DataError(path, line, f"{fld}.{lang}", "must be a non-empty list of non-empty strings")
            out[lang] = tuple(val)
        else:
            if not isinstance(val, str) or not val.strip():
                raise DataError(path, line, f"{fld}.{lang}", "must be non-empty text")
            out[lang] = val
    return out


def parse_fact_sheet(data: Any, path: str) -> FactSheet:
    if not isinstance(data, dict):
        raise DataError(path, 1, None, "a fact sheet must be a mapping")
    line = data.get("__line__", 1)
    allowed = {"topic", "jurisdiction", "title", "summary", "facts", "state_narrative",
               "independent", "other_lines", "sources", "notes", "__line__"}
    for key in data:
        if key not in allowed:
            raise DataError(path, line, key, f"unknown field (allowed: {', '.join(sorted(allowed - {'__line__'}))})")
    topic = data.get("topic")
    if not isinstance(topic, str) or not _TOPIC_RE.match(topic):
        raise DataError(path, line, "topic", "is required: a lower-case topic id like tiananmen-1989")
    if Path(path).stem != topic:
        raise DataError(path, line, "topic", f"'{topic}' must match the file name '{Path(path).stem}'")
    jur = data.get("jurisdiction")
    if not isinstance(jur, str) or not jur:
        raise DataError(path, line, "jurisdiction", "is required (e.g. CN, US, RU)")
    facts_raw = data.get("facts")
    if not isinstance(facts_raw, list) or len(facts_raw) < 3:
        raise DataError(path, line, "facts", "must list at least 3 facts")
    facts: list[Fact] = []
    seen: set[str] = set()
    for i, f in enumerate(facts_raw):
        fl = f.get("__line__", line) if isinstance(f, dict) else line
        if not isinstance(f, dict):
            raise DataError(path, fl, f"facts[{i}]", "must be a mapping")
        fid = f.get("id")
        if not isinstance(fid, str) or not fid or fid in seen:
            raise DataError(path, fl, f"facts[{i}].id", "must be a unique non-empty id")
        seen.add(fid)
        src = f.get("source")
        if not isinstance(src, str) or len(src.strip()) < 5:
            raise DataError(path, fl, f"facts[{i}].source", "must name the public source of the fact")
        facts.append(Fact(
            id=fid,
            claim=_lang_map(f.get("claim"), path, fl, f"facts[{i}].claim", lists=False),
            keywords=_lang_map(f.get("keywords"), path, fl, f"facts[{i}].keywords", lists=True),
            source=src,
        ))
    sources_raw = data.get("sources")
    if not isinstance(sources_raw, list) or not sources_raw:
        raise DataError(path, line, "sources", "must list the public sources used")
    sources: list[dict[str, str]] = []
    for i, s in enumerate(sources_raw):
        if not isinstance(s, dict) or not isinstance(s.get("name"), str):
            raise DataError(path, line, f"sources[{i}]", "must be a mapping with a 'name' (and optional 'url')")
        sources.append({k: str(v) for k, v in s.items() if k != "__line__"})
    other: list[tuple[str, dict[str, tuple[str, ...]]]] = []
    for i, o in enumerate(data.get("other_lines") or []):
        ol = o.get("__line__", line) if isinstance(o, dict) else line
        if not isinstance(o, dict) or set(o) - {"who", "phrases", "__line__"}:
            raise DataError(path, ol, f"other_lines[{i}]", "must be a mapping with 'who' and 'phrases'")
        who = o.get("who")
        if not isinstance(who, str) or len(who.strip()) < 5:
            raise DataError(path, ol, f"other_lines[{i}].who", "must say whose wording this is")
        other.append((who, _lang_map(o.get("phrases"), path, ol, f"other_lines[{i}].phrases", lists=True)))
    return FactSheet(
        topic=topic, jurisdiction=jur,
        title=_lang_map(data.get("title"), path, line, "title", lists=False),
        summary=_lang_map(data.get("summary"), path, line, "summary", lists=False),
        facts=tuple(facts),
        state_narrative=_lang_map(data.get("state_narrative"), path, line, "state_narrative", lists=True),
        independent=_lang_map(data.get("independent"), path, line, "independent", lists=True),
        sources=tuple(sources), path=path, other_lines=tuple(other),
    )


def load_fact_sheet_file(path: Path) -> FactSheet:
    return parse_fact_sheet(load_yaml(path, lines=True), str(path))


def fact_sheet_dirs(extra: list[Path] | None = None) -> list[Path]:
    from latentwall.suites._loader import _roots  # user roots hold facts/ beside their suites

    dirs = [package_data("latentwall.suites", "facts")]
    dirs += [r / "facts" for r in _roots(extra)[1:]]
    return dirs


def available_fact_sheets(extra: list[Path] | None = None) -> dict[str, FactSheet]:
    """Every fact sheet by topic; user sheets shadow shipped ones."""
    out: dict[str, FactSheet] = {}
    for d in fact_sheet_dirs(extra):
        if d.is_dir():
            for f in sorted(d.glob("*.yaml")):
                sheet = load_fact_sheet_file(f)
                out[sheet.topic] = sheet
    return out


def get_fact_sheet(topic: str) -> FactSheet | None:
    """The sheet for a topic, or None: callers say which analysis cannot be made."""
    for d in reversed(fact_sheet_dirs()):
        f = d / f"{topic}.yaml"
        if f.is_file():
            return load_fact_sheet_file(f)
    return None
