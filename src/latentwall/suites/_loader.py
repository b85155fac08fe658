"""Finding and loading suites: shipped ones under data/, user ones beside them."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentwall.datafiles import iter_jsonl, load_yaml, package_data, strip_lines
from latentwall.errors import ConfigError, DataError
from latentwall.suites._schema import Probe, validate_probe

USER_SUITES_ENV = "LATENTWALL_SUITES"


@dataclass
class Suite:
    """A folder with suite.yaml (metadata, datasheet) and one or more *.jsonl probe files.

    `meta` (suite.yaml) is read when first asked for, so finding one suite never parses
    the metadata of every other suite on the path (a broken one stops only itself).
    """

    name: str
    path: Path
    _meta: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def meta(self) -> dict[str, Any]:
        if self._meta is None:
            self._meta = _load_meta(self.path)
        return self._meta

    @property
    def files(self) -> list[Path]:
        return sorted(self.path.glob("*.jsonl"))

    def iter_probes(self) -> Iterator[Probe]:
        """Validated probes, streamed file by file; duplicate ids are an error."""
        seen: set[str] = set()
        for f in self.files:
            for line, obj in iter_jsonl(f):
                probe = validate_probe(obj, self.name, str(f), line)
                if probe.id in seen:
                    raise DataError(str(f), line, "id", f"duplicate probe id '{probe.id}'")
                seen.add(probe.id)
                yield probe

    def probes(self) -> list[Probe]:
        return list(self.iter_probes())

    def counts(self) -> dict[str, Any]:
        by_lang: Counter[str] = Counter()
        by_topic: Counter[str] = Counter()
        by_kind: Counter[str] = Counter()
        by_cat: Counter[str] = Counter()
        by_lang_topic: dict[str, Counter[str]] = {}
        by_ltk: dict[str, dict[str, Counter[str]]] = {}
        n = 0
        for p in self.iter_probes():
            n += 1
            by_lang[p.language] += 1
            by_topic[p.topic] += 1
            by_kind[p.kind] += 1
            by_cat[p.category] += 1
            by_lang_topic.setdefault(p.language, Counter())[p.topic] += 1
            by_ltk.setdefault(p.language, {}).setdefault(p.topic, Counter())[p.kind] += 1
        return {
            "name": self.name,
            "title": self.meta.get("title", self.name),
            "description": self.meta.get("description", ""),
            "path": str(self.path),
            "probes": n,
            "by_language": dict(sorted(by_lang.items())),
            "by_topic": dict(sorted(by_topic.items())),
            "by_kind": dict(sorted(by_kind.items())),
            "by_category": dict(sorted(by_cat.items())),
            "by_language_topic": {k: dict(sorted(v.items())) for k, v in sorted(by_lang_topic.items())},
            "by_language_topic_kind": {
                lang: {t: dict(sorted(k.items())) for t, k in sorted(topics.items())}
                for lang, topics in sorted(by_ltk.items())
            },
        }


def _roots(extra: list[Path] | None = None) -> list[Path]:
    roots = [package_data("latentwall.suites", "data")]
    env = os.environ.get(USER_SUITES_ENV, "")
    roots += [Path(p) for p in env.split(os.pathsep) if p]
    roots += list(extra or [])
    return roots


def user_suite_dirs() -> list[Path]:
    """The folders of user suites named in LATENTWALL_SUITES, in order."""
    return [Path(d) for d in os.environ.get(USER_SUITES_ENV, "").split(os.pathsep) if d]


def is_shipped(name: str) -> bool:
    """Whether `name` is a suite shipped with latentwall (a user suite may not take its name)."""
    suite = available_suites().get(name)
    return suite is not None and suite.path.parent == _roots()[0]


def _load_meta(path: Path) -> dict[str, Any]:
    meta_file = path / "suite.yaml"
    if not meta_file.exists():
        return {}
    meta = load_yaml(meta_file, lines=True)
    if not isinstance(meta, dict):
        raise DataError(str(meta_file), 1, None, "must be a mapping")
    return strip_lines(meta)


def available_suites(extra: list[Path] | None = None) -> dict[str, Suite]:
    """Every suite by name; a user suite of the same name shadows a shipped one."""
    found: dict[str, Suite] = {}
    for root in _roots(extra):
        if not root.is_dir():
            continue
        for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
            if any(d.glob("*.jsonl")):
                found[d.name] = Suite(d.name, d)
    return found


def get_suite(name: str, extra: list[Path] | None = None) -> Suite:
    """A suite by name, or by path to a folder of *.jsonl files."""
    p = Path(name)
    if p.is_dir() and any(p.glob("*.jsonl")):
        return Suite(p.name, p)
    suites = available_suites(extra)
    if name not in suites:
        known = ", ".join(sorted(suites)) or "none"
        raise ConfigError(f"unknown suite '{name}' (known: {known})")
    return suites[name]


def language_matches(lang: str, wanted: list[str] | None) -> bool:
    """'zh' selects zh-Hans and zh-Hant; 'zh-Hans' selects only itself."""
    if not wanted:
        return True
    return any(lang == w or lang.startswith(w + "-") for w in wanted)


def iter_selected(
    names: list[str], languages: list[str] | None = None, limit: int | None = None
) -> Iterator[Probe]:
    """Probes of several suites, filtered by language; `limit` applies per suite."""
    for name in names:
        suite = get_suite(name)
        n = 0
        for probe in suite.iter_probes():
            if not language_matches(probe.language, languages):
                continue
            if limit is not None and n >= limit:
                break
            n += 1
            yield probe
