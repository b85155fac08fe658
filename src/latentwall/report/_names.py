"""Display names for targets: what a reader calls a model, not the spec that reached it.

A target is recorded by its spec (`replay:/tmp/x/deepseek_deepseek-r1.jsonl`,
`openai:qwen3-8b@http://10.0.0.5:8000/v1`, `builtin`, with ` [guard SPEC]` appended for a
guarded run). Tables and charts need something short and recognisable; the methods
section keeps the full spec. The name is picked, in order, from a user's `--name`, the
one model the rows record (a replay file's `model` field, the server's `model` in its
responses), or the spec shortened. Names are unique within one report and never longer
than `max_len` characters. Pure functions: the same inputs always give the same names.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import urlsplit

__all__ = [
    "MAX_NAME",
    "DisplayName",
    "TargetIdentity",
    "display_name_map",
    "display_names",
    "models_by_target",
    "shorten",
]

MAX_NAME = 28
ELLIPSIS = "…"
UNNAMED = "(unnamed)"
_GUARD = re.compile(r"\s*\[guard ([^\]]*)\]\s*$")
# Controls and line/paragraph separators have no place in a one-line name.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SPACE = re.compile(r"\s+")
# File stems that say nothing about the model.
_GENERIC = frozenset({"responses", "response", "answers", "outputs", "output", "completions",
                      "data", "results", "recorded", "replay", "model", "merged", "final"})
_FILE_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".gz", ".gguf", ".safetensors", ".bin")
_HF_CACHE = re.compile(r"^models--([^-].*?)--(.+)$")


@dataclass(frozen=True, slots=True)
class TargetIdentity:
    """What is known about one target of a report.

    `spec`: the target as the rows record it (the row's `target` field, guard suffix
    included). `models`: the distinct `model` values its rows (or its replay file) record,
    in any order. `name`: a name the user gave (`--name`), which wins when set.
    """

    spec: str
    models: Sequence[str] = ()
    name: str | None = None


@dataclass(frozen=True, slots=True)
class DisplayName:
    """A target's name in tables and charts (`short`) and in the methods section (`full`).

    `source` says where `short` came from: "name" (given by the user), "model" (recorded in
    the rows) or "spec" (the spec, shortened).
    """

    spec: str
    short: str
    full: str
    source: str


def _clean(text: str) -> str:
    """One line, no controls, no surrounding space; bidi marks are left for the escaper."""
    return _SPACE.sub(" ", _UNPRINTABLE.sub(" ", unicodedata.normalize("NFC", text))).strip()


def shorten(text: str, max_len: int = MAX_NAME) -> str:
    """`text` cut to `max_len` characters in the middle, keeping both ends.

    The end of a model name carries its size and variant (`…-qwen-32b`, `…-instruct-q8_0`),
    so a plain cut at the end would make siblings look the same.
    """
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")
    if len(text) <= max_len:
        return text
    if max_len < 4:
        return text[:max_len]
    head = max_len // 2
    tail = max_len - 1 - head
    return text[:head].rstrip(" -_/.") + ELLIPSIS + text[len(text) - tail:].lstrip(" -_/.")


def _strip_suffixes(name: str) -> str:
    lowered = name.lower()
    changed = True
    while changed:
        changed = False
        for suffix in _FILE_SUFFIXES:
            if lowered.endswith(suffix) and len(lowered) > len(suffix):
                name, lowered = name[: -len(suffix)], lowered[: -len(suffix)]
                changed = True
    return name


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[^0-9a-z]+", text.lower()) if w]


def _drop_org(name: str) -> tuple[str, str | None]:
    """`org/model`, `org_model` (a slash made file-safe) or `models--org--model` -> (model, org).

    An underscore counts as an org separator only when the model part repeats a word of
    the org (`deepseek_deepseek-r1`, `meta-llama_llama-3.1-8b`, `qwen_qwen3-8b`), so
    `my_responses` stays as it is.
    """
    m = _HF_CACHE.match(name)
    if m:
        return m.group(2), m.group(1)
    if "/" in name:
        org, _, rest = name.rpartition("/")
        if rest:
            return rest, org.rpartition("/")[2] or None
    if "_" in name:
        org, _, rest = name.partition("_")
        org_words = [w for w in _words(org) if len(w) >= 3 and not w.isdigit()]
        rest_words = _words(rest)
        if org_words and rest_words and any(rest_words[0].startswith(w) for w in org_words):
            return rest, org
    return name, None


def _path_parts(path: str) -> tuple[str, str | None]:
    """(file or folder name without data suffixes, parent folder name) of a path spec."""
    p = PureWindowsPath(path) if "\\" in path and "/" not in path else PurePosixPath(path)
    parts = [x for x in p.parts if x not in ("/", ".", "..", "") and not x.endswith(":\\")]
    if not parts:
        return path, None
    leaf = _strip_suffixes(parts[-1])
    parent = parts[-2] if len(parts) > 1 else None
    if leaf.lower() in _GENERIC and parent:
        return parent, (parts[-3] if len(parts) > 2 else None)
    return leaf, parent


def _spec_levels(spec: str) -> list[str]:
    """Names for a bare spec, from shortest to most detailed (used to break ties)."""
    kind, sep, rest = spec.partition(":")
    if not sep or kind not in ("replay", "hf", "openai", "builtin"):
        return [spec] if spec else ["?"]
    if kind == "openai":
        # As the openai target splits it: at the last '@' before http(s)://, so a model
        # name may hold '@' and a URL 'user:pass@'.
        m = re.fullmatch(r"(.+)@(https?://.+)", rest, flags=re.IGNORECASE)
        model, url = (m.group(1), m.group(2)) if m else (rest.rpartition("@")[0] or rest, "")
        short, org = _drop_org(model)
        host = urlsplit(url).hostname or "" if url else ""
        levels = [short]
        if org:
            levels.append(f"{org}/{short}")
        if host:
            levels.append(f"{levels[-1]} @{host}")
        return levels
    if kind == "builtin":
        return [spec]
    leaf, parent = _path_parts(rest)
    short, org = _drop_org(leaf)
    levels = [short]
    if org:
        levels.append(leaf)
    if parent:
        levels.append(f"{parent}/{levels[-1]}")
    levels.append(f"{kind}:{rest}")
    return levels


def _model_levels(model: str, spec_levels: Sequence[str]) -> list[str]:
    """The model's name, then with its org, then with what tells the specs apart."""
    short, org = _drop_org(model)
    levels = [short, model] if org else [short]
    return levels + [f"{levels[-1]} · {s}" for s in spec_levels if s != short]


def _levels(t: TargetIdentity) -> tuple[str, list[str]]:
    """(source, candidate base names from short to detailed) for one target, guard apart."""
    bare = _GUARD.sub("", t.spec)
    if t.name and _clean(t.name):
        return "name", [_clean(t.name)]
    models = sorted({m for m in (_clean(x) for x in t.models if x) if m})
    spec_levels = [_clean(x) for x in _spec_levels(bare)]
    if len(models) == 1:
        return "model", _model_levels(models[0], spec_levels)
    return "spec", spec_levels


def _guard_of(spec: str) -> str | None:
    m = _GUARD.search(spec)
    return _clean(m.group(1)) if m else None


def _compose(base: str, guard: str | None, max_len: int) -> str:
    """`base + guard SPEC`, cut so that the guard part, which tells two runs apart, stays."""
    base = base or UNNAMED
    if not guard:
        return shorten(base, max_len)
    suffix = f" + guard {guard}"
    if len(base) + len(suffix) <= max_len:
        return base + suffix
    base_room = min(len(base), max(max_len - len(suffix), max_len // 2))
    suffix_room = max_len - base_room
    if len(suffix) > suffix_room:
        suffix = " + " + shorten(f"guard {guard}", max(1, suffix_room - 3))
    return shorten(base, base_room) + suffix


def display_names(
    targets: Iterable[TargetIdentity | str],
    max_len: int = MAX_NAME,
    *,
    names: Mapping[str, str] | None = None,
) -> dict[str, DisplayName]:
    """A unique display name of at most `max_len` characters for every target, by spec.

    `targets` may be plain spec strings. `names` maps spec -> user-given name (`--name`)
    and overrides `TargetIdentity.name`. Collisions are broken by giving the colliding
    targets more detail (the org, the folder, the server host), and if that is not enough,
    by a number (`#2`, `#3`) in the order of the specs.
    """
    if max_len < 8:
        raise ValueError(f"max_len must be >= 8 so that names stay readable, got {max_len}")
    idents: dict[str, TargetIdentity] = {}
    for t in targets:
        ident = TargetIdentity(t) if isinstance(t, str) else t
        if names and names.get(ident.spec):
            ident = TargetIdentity(ident.spec, ident.models, names[ident.spec])
        if ident.spec in idents:  # the same spec twice: merge what is known
            old = idents[ident.spec]
            ident = TargetIdentity(ident.spec, (*old.models, *ident.models), ident.name or old.name)
        idents[ident.spec] = ident
    specs = sorted(idents)
    info = {s: _levels(idents[s]) for s in specs}
    level = dict.fromkeys(specs, 0)

    def current(spec: str) -> str:
        cands = info[spec][1]
        return _compose(cands[min(level[spec], len(cands) - 1)], _guard_of(spec), max_len)

    # Raise the detail of colliding targets until the names differ or nothing more is known.
    for _ in range(8):
        groups: dict[str, list[str]] = {}
        for s in specs:
            groups.setdefault(current(s).casefold(), []).append(s)
        moved = False
        for group in groups.values():
            if len(group) < 2:
                continue
            for s in group:
                if level[s] + 1 < len(info[s][1]):
                    level[s] += 1
                    moved = True
        if not moved:
            break
    taken: set[str] = set()
    out: dict[str, DisplayName] = {}
    for s in specs:
        name = base = current(s)
        n = 2
        while name.casefold() in taken:  # still the same: number them in spec order
            tag = f" #{n}"
            name = shorten(base, max_len - len(tag)) + tag
            n += 1
        taken.add(name.casefold())
        out[s] = DisplayName(spec=s, short=name, full=_clean(s), source=info[s][0])
    return out


def display_name_map(targets: Iterable[TargetIdentity | str], max_len: int = MAX_NAME) -> dict[str, str]:
    """spec -> short display name; the form most renderers want."""
    return {s: d.short for s, d in display_names(targets, max_len).items()}


def models_by_target(rows: Iterable[Mapping[str, object]]) -> dict[str, list[str]]:
    """The distinct recorded `model` values per `target` of result rows (one pass, small state)."""
    seen: dict[str, dict[str, None]] = {}
    for row in rows:
        target = row.get("target")
        if target is None:
            continue
        models = seen.setdefault(str(target), {})
        model = row.get("model")
        if model:
            models.setdefault(str(model), None)
    return {t: list(m) for t, m in seen.items()}

