"""Readers for the package's data files that remember line numbers, for errors that point."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from latentwall.errors import DataError


def package_data(package: str, *parts: str) -> Path:
    """Path of a data file or folder shipped inside a latentwall package."""
    root = resources.files(package)
    for part in parts:
        root = root.joinpath(part)
    return Path(str(root))


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) per non-blank line of a JSONL file (gzip-compressed when it
    ends in .gz); streams, so memory stays flat. Bad input is a DataError naming file and line."""
    opener: Any = gzip.open if Path(path).suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig") as fh:
            for lineno, raw in enumerate(fh, start=1):
                line = raw.strip()
                if not line or line.startswith("//"):
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(str(path), lineno, None, f"invalid JSON: {exc.msg}") from None
                except RecursionError:
                    raise DataError(str(path), lineno, None, "JSON nested too deeply") from None
                if not isinstance(obj, dict):
                    raise DataError(str(path), lineno, None, "each line must be a JSON object")
                yield lineno, obj
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        what = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(getattr(exc, "strerror", "") or exc)
        raise DataError(str(path), None, None, f"cannot read: {what}") from None


_SafeBase: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: ~10x faster


class _LineLoader(_SafeBase):  # type: ignore[misc,valid-type]
    """Safe loader that records the line of every mapping as key '__line__'."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: Path, *, lines: bool = False) -> Any:
    """Safe-load YAML; with lines=True every mapping carries '__line__' for error messages."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(str(path), None, None, f"cannot read: {exc.strerror}") from None
    try:
        return yaml.load(text, Loader=_LineLoader) if lines else yaml.load(text, Loader=_SafeBase)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise DataError(str(path), line, None, f"invalid YAML: {getattr(exc, 'problem', exc)}") from None


def strip_lines(obj: Any) -> Any:
    """Remove the '__line__' keys added by load_yaml(lines=True)."""
    if isinstance(obj, dict):
        return {k: strip_lines(v) for k, v in obj.items() if k != "__line__"}
    if isinstance(obj, list):
        return [strip_lines(v) for v in obj]
    return obj
