"""The keyword guard (a blocklist matched with Aho-Corasick) and a regex guard.

Why a keyword guard at all: it is what most deployments actually run in front of a model,
and the cheapest wall to measure. Keywords come from lists under guards/data/keywords/
(or any YAML file in the same format), grouped by topic so a block names the topic it
came from. Matching runs on normalised text (see _normalise.py), so one option decides
how much of the perturbation zoo (zero-width characters, look-alike letters, Traditional
characters, pinyin, leetspeak, spacing) the wall undoes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from latentwall.datafiles import load_yaml, package_data
from latentwall.errors import ConfigError, DataError
from latentwall.guards._base import Guard, register_guard
from latentwall.guards._matcher import BACKENDS, AhoCorasick
from latentwall.guards._normalise import Normaliser, parse_steps
from latentwall.text import line_of, mapping_of, pinyin_backend, table_path

DEFAULT_LISTS = "china+harm"
# Tables that change what a normalised keyword or text looks like: part of the fingerprint.
_TABLES = ("pinyin.yaml", "t2s.yaml", "confusables.yaml", "leet.yaml")


@dataclass(frozen=True, slots=True)
class Keyword:
    text: str
    list: str
    topic: str

    @property
    def source(self) -> str:
        return f"{self.list}/{self.topic}"


@dataclass(frozen=True, slots=True)
class KeywordList:
    name: str
    path: Path
    description: str
    keywords: tuple[Keyword, ...]

    def topics(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for k in self.keywords:
            out[k.topic] = out.get(k.topic, 0) + 1
        return out


def _keywords_dir() -> Path:
    return package_data("latentwall.guards", "data", "keywords")


def shipped_lists() -> dict[str, Path]:
    """The keyword lists shipped with latentwall, by name."""
    root = _keywords_dir()
    return {p.stem: p for p in sorted(root.glob("*.yaml"))}


def keyword_list_catalog() -> list[dict[str, Any]]:
    """The shipped keyword lists with their sizes and topics, for `latentwall guards`."""
    out = []
    for name, path in shipped_lists().items():
        kl = load_keyword_list(path)
        out.append({"name": name, "description": kl.description, "keywords": len(kl.keywords),
                    "topics": kl.topics(), "path": str(path)})
    return out


@lru_cache(maxsize=32)
def load_keyword_list(path: Path) -> KeywordList:
    """A validated keyword list; errors name file, line and field."""
    path = Path(path)
    if not path.is_file():
        raise DataError(str(path), None, None, "keyword list not found")
    data = load_yaml(path, lines=True)
    topics = mapping_of(path, data, "keywords")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not re.match(r"^[a-z0-9][a-z0-9._-]*$", name):
        raise DataError(str(path), data.get("__line__"), "name", "must be lower-case letters, digits, . _ -")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise DataError(str(path), line_of(path, "description"), "description", "must be a string")
    out: list[Keyword] = []
    seen: dict[str, str] = {}
    for topic, words in topics.items():
        line = line_of(path, str(topic))
        if not isinstance(topic, str) or not topic.strip():
            raise DataError(str(path), line, "keywords", "topics must be non-empty strings")
        if not isinstance(words, list) or not words:
            raise DataError(str(path), line, f"keywords.{topic}", "must be a non-empty list of keywords")
        for i, word in enumerate(words):
            if isinstance(word, int | float) and not isinstance(word, bool):
                word = str(word)  # 8964 written without quotes
            if not isinstance(word, str) or not word.strip():
                raise DataError(str(path), line, f"keywords.{topic}[{i}]", "must be a non-empty string")
            word = word.strip()
            key = word.casefold()
            if key in seen:
                raise DataError(str(path), line, f"keywords.{topic}[{i}]",
                                f"'{word}' is listed twice (also under {seen[key]})")
            seen[key] = topic
            out.append(Keyword(word, name, topic))
    return KeywordList(name, path, description, tuple(out))


def resolve_lists(value: str) -> list[KeywordList]:
    """'china+harm', 'all' or paths to YAML files -> the lists."""
    shipped = shipped_lists()
    names: list[str] = []
    for part in value.split("+"):
        part = part.strip()
        if not part:
            continue
        names += list(shipped) if part == "all" else [part]
    if not names:
        raise ConfigError("guard option 'lists' names no list")
    out: list[KeywordList] = []
    for name in dict.fromkeys(names):
        if name in shipped:
            out.append(load_keyword_list(shipped[name]))
        elif name.endswith((".yaml", ".yml")) or "/" in name:
            out.append(load_keyword_list(Path(name).expanduser().resolve()))
        else:
            raise ConfigError(f"unknown keyword list '{name}' (shipped: {', '.join(shipped)}; or a path to a .yaml file)")
    return out


def _digest(parts: list[bytes]) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(hashlib.sha256(p).digest())
    return h.hexdigest()[:12]


class _TextGuard(Guard):
    """Shared by guards that scan normalised text: the `normalise` option and fingerprint."""

    def __init__(self, spec: str, options: dict[str, str]) -> None:
        super().__init__(spec, options)
        self.normaliser = Normaliser(parse_steps(self.opts.get("normalise", "default")))
        self._data_files: list[Path] = [table_path(t) for t in _TABLES]

    @property
    def fingerprint(self) -> str:
        parts = [self.spec.encode("utf-8")]
        if "pinyin" in self.normaliser.steps:
            # pypinyin, when installed, reads characters the table lacks: different blocks.
            parts.append(pinyin_backend().encode("utf-8"))
        for f in self._data_files:
            try:
                parts.append(Path(f).read_bytes())
            except OSError:
                parts.append(str(f).encode("utf-8"))
        return f"{self.spec}#{_digest(parts)}"


@register_guard("keyword")
class KeywordGuard(_TextGuard):
    """Blocks text that contains a keyword of the chosen lists, after normalisation."""

    name: ClassVar[str] = "keyword"
    summary: ClassVar[str] = "blocklist of keywords per topic, matched with Aho-Corasick after normalisation"
    options: ClassVar[dict[str, str]] = {
        "lists": "keyword lists joined by '+': shipped names (china, china-strict, harm), 'all', or YAML paths "
                 f"(default {DEFAULT_LISTS})",
        "topics": "only these topics of the lists, joined by '+' (default all)",
        "normalise": "zw, nfkc, confusables, fold, t2s, leet, squash, pinyin joined by '+', or default "
                     "(zw+nfkc+fold+t2s), all, none",
        "matcher": "auto (= python, the faster on large lists), python or pyahocorasick (when installed): "
                   "the same matches either way, only the speed differs",
    }

    def __init__(self, spec: str, options: dict[str, str]) -> None:
        super().__init__(spec, options)
        self.lists = resolve_lists(self.opts.get("lists", DEFAULT_LISTS))
        keywords = [k for lst in self.lists for k in lst.keywords]
        topics_opt = self.opts.get("topics")
        if topics_opt:
            wanted = {t.strip() for t in topics_opt.split("+") if t.strip()}
            known = {k.topic for k in keywords}
            missing = sorted(wanted - known)
            if missing:
                raise ConfigError(f"guard keyword: unknown topic '{missing[0]}' (known: {', '.join(sorted(known))})")
            keywords = [k for k in keywords if k.topic in wanted]
        self.keywords = keywords
        self.matcher = self.opts.get("matcher", "auto")
        if self.matcher not in BACKENDS:
            raise ConfigError(f"guard keyword: unknown matcher '{self.matcher}' (known: {', '.join(BACKENDS)})")
        if self.matcher not in ("auto", *AhoCorasick.installed()):
            raise ConfigError("guard keyword: matcher=pyahocorasick needs the pyahocorasick package "
                              "(pip install pyahocorasick)")
        self._data_files += [lst.path for lst in self.lists]
        self._automata: dict[str, AhoCorasick[tuple[int, bool, bool]]] = {}
        self._build()

    def _build(self) -> None:
        per_view: dict[str, list[tuple[str, tuple[int, bool, bool]]]] = {}
        for idx, kw in enumerate(self.keywords):
            for view, forms in self.normaliser.keyword_forms(kw.text).items():
                for form in forms:
                    left = form[0].isascii() and form[0].isalnum()
                    right = form[-1].isascii() and form[-1].isalnum()
                    per_view.setdefault(view, []).append((form, (idx, left, right)))
        self._automata = {view: AhoCorasick(pats, backend=self.matcher) for view, pats in per_view.items()}

    def canonical_options(self) -> dict[str, str]:
        # `matcher` is left out: it changes the speed, not what is blocked (runs stay comparable).
        opts = {"lists": "+".join(lst.name if lst.path.parent == _keywords_dir() else str(lst.path)
                                  for lst in self.lists),
                "normalise": self.normaliser.spec}
        if self.opts.get("topics"):
            opts["topics"] = "+".join(sorted({t.strip() for t in self.opts["topics"].split("+") if t.strip()}))
        return {**opts, **super().canonical_options()}

    def _hits(self, views: Iterable[Any]) -> Iterator[tuple[Keyword, str, int, int]]:
        """(keyword, view, start, end) hits, lazily, views in order."""
        for view in views:
            auto = self._automata.get(view.name)
            if auto is None:
                continue
            for start, pattern, payloads in auto.iter(view.text):
                end = start + len(pattern)
                for idx, left, right in payloads:
                    if view.edge_ok(start, end, left, right):
                        yield self.keywords[idx], view.name, start, end

    def find_all(self, text: str) -> list[tuple[Keyword, str, int, int]]:
        """Every (keyword, view, start, end) hit in a text, views in order."""
        return list(self._hits(self.normaliser.views(text)))

    def scan_text(self, text: str) -> tuple[str, str, str] | None:
        # Views are built lazily here: most texts are decided by the first one.
        hit = next(self._hits(self.normaliser.iter_views(text)), None)
        return None if hit is None else (hit[0].text, hit[0].source, hit[1])

    def describe(self) -> dict[str, Any]:
        backends = {a.backend for a in self._automata.values()} or {"python"}
        return {
            **super().describe(),
            "lists": [{"name": lst.name, "keywords": len(lst.keywords), "topics": len(lst.topics())}
                      for lst in self.lists],
            "keywords": len(self.keywords), "normalise": self.normaliser.spec,
            "matcher": "+".join(sorted(backends)),
            **({"pinyin": pinyin_backend()} if "pinyin" in self.normaliser.steps else {}),
            "fingerprint": self.fingerprint,
        }


@register_guard("regex")
class RegexGuard(_TextGuard):
    """Blocks text that matches a regular expression, after normalisation (keywords with context)."""

    name: ClassVar[str] = "regex"
    summary: ClassVar[str] = "regular expressions from pattern= or a YAML file, matched after normalisation"
    options: ClassVar[dict[str, str]] = {
        "patterns": "YAML file: `patterns:` mapping a topic to a list of regular expressions",
        "pattern": "one regular expression (takes the rest of the spec, so it comes last)",
        "normalise": KeywordGuard.options["normalise"],
    }
    rest_options: ClassVar[tuple[str, ...]] = ("pattern",)

    def __init__(self, spec: str, options: dict[str, str]) -> None:
        super().__init__(spec, options)
        rules: list[tuple[re.Pattern[str], str, str]] = []
        if "pattern" in self.opts:
            rules.append((self._compile(self.opts["pattern"], "pattern"), self.opts["pattern"], "regex"))
        if "patterns" in self.opts:
            path = Path(self.opts["patterns"]).expanduser().resolve()
            if not path.is_file():
                raise ConfigError(f"guard regex: patterns file {path} not found")
            self._data_files.append(path)
            data = load_yaml(path, lines=True)
            for topic, pats in mapping_of(path, data, "patterns").items():
                if not isinstance(pats, list) or not pats:
                    raise DataError(str(path), line_of(path, str(topic)), f"patterns.{topic}", "must be a list")
                for i, pat in enumerate(pats):
                    if not isinstance(pat, str) or not pat:
                        raise DataError(str(path), line_of(path, str(topic)), f"patterns.{topic}[{i}]",
                                        "must be a non-empty string")
                    try:
                        rx = re.compile(pat)
                    except re.error as exc:
                        raise DataError(str(path), line_of(path, str(topic)), f"patterns.{topic}[{i}]",
                                        f"invalid regular expression: {exc}") from None
                    rules.append((rx, pat, f"{path.stem}/{topic}"))
        if not rules:
            raise ConfigError("guard regex needs pattern=REGEX or patterns=FILE.yaml")
        self.rules = rules

    @staticmethod
    def _compile(pattern: str, field: str) -> re.Pattern[str]:
        try:
            return re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"guard regex: invalid {field}: {exc}") from None

    def canonical_options(self) -> dict[str, str]:
        opts = {k: v for k, v in self.opts.items() if k in ("pattern", "patterns")}
        return {**opts, "normalise": self.normaliser.spec, **super().canonical_options()}

    def scan_text(self, text: str) -> tuple[str, str, str] | None:
        for view in self.normaliser.iter_views(text):
            for rx, _pat, source in self.rules:
                m = rx.search(view.text)
                if m:
                    return m.group(0), source, view.name
        return None

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "rules": len(self.rules), "normalise": self.normaliser.spec,
                "fingerprint": self.fingerprint}

