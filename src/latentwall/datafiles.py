"""Readers for data files (shipped or the user's) that remember line numbers, for errors
that point, and that turn every bad input into one DataError instead of a traceback.

Text files are UTF-8 (a leading BOM is accepted). A UTF-16/32 or binary file, invalid
UTF-8, JSON nested too deeply to parse and YAML aliases (which expand exponentially: a
1 KB "billion laughs" file would hang every command) are refused with file and line.
Lone surrogates in JSON strings (`"\\ud800"`, valid JSON but not valid Unicode) are
replaced with U+FFFD on reading, so nothing downstream has to cope with them.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from latentwall.errors import DataError

UTF8_BOM = b"\xef\xbb\xbf"
_WIDE_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
              (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"))
_SNIFF_BYTES = 4096

# Text made valid where it comes in. A server answer or a data file may hold lone surrogates
# (`"\\ud800"` is valid JSON but not valid Unicode). SQLite, UTF-8 files and terminals cannot
# take them, so one such answer used to stop a run for good. `repair` replaces each with
# U+FFFD once, where the text enters (target responses, data files, judge inputs), and says
# how many it replaced so the row can note it. (`latentwall.text` re-exports these.)
REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")


def repair(text: str) -> tuple[str, int]:
    """(valid text, number of lone surrogates replaced with U+FFFD)."""
    if text.isascii():
        return text, 0
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.subn(REPLACEMENT, text)
    return text, 0


def repair_value(value: Any) -> tuple[Any, int]:
    """`repair` applied to every string (and mapping key) of a parsed JSON value."""
    if isinstance(value, str):
        return repair(value)
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        total = 0
        for k, v in value.items():
            k2, n1 = repair_value(k)
            v2, n2 = repair_value(v)
            out[k2] = v2
            total += n1 + n2
        return out, total
    if isinstance(value, list):
        items = [repair_value(v) for v in value]
        return [v for v, _ in items], sum(n for _, n in items)
    return value, 0


def repaired_note(n: int, where: str = "") -> str:
    """The note a row carries when its text was repaired."""
    what = "character" if n == 1 else "characters"
    return f"{n} invalid {what} (lone surrogates) replaced with U+FFFD" + (f" in {where}" if where else "")


def package_data(package: str, *parts: str) -> Path:
    """Path of a data file or folder shipped inside a latentwall package."""
    root = resources.files(package)
    for part in parts:
        root = root.joinpath(part)
    return Path(str(root))


def _open_bytes(path: Path | str) -> Any:
    """A binary file object; a `.gz` file is read decompressed."""
    return gzip.open(path, "rb") if str(path).endswith(".gz") else open(path, "rb")


def check_text_file(path: Path | str) -> None:
    """Refuse, in one line, a file that is not UTF-8 text: UTF-16/32 (with or without a
    BOM) or binary. Invalid bytes further in are caught line by line by `decode_line`."""
    try:
        with _open_bytes(path) as fh:
            head = fh.read(_SNIFF_BYTES)
    except (OSError, EOFError) as exc:
        why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise DataError(str(path), None, None, f"cannot read: {why}") from None
    for bom, name in _WIDE_BOMS:
        if head.startswith(bom):
            raise DataError(str(path), None, None, f"the file is {name}-encoded; save it as UTF-8")
    if b"\x00" in head:
        raise DataError(str(path), None, None, "the file holds NUL bytes: it is UTF-16 without a "
                        "BOM or not a text file; save it as UTF-8 text")


def decode_line(raw: bytes, path: Path | str, lineno: int) -> str:
    """One line of a UTF-8 file as text (a BOM on line 1 dropped); DataError if invalid."""
    if lineno == 1 and raw.startswith(UTF8_BOM):
        raw = raw[len(UTF8_BOM):]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(str(path), lineno, None, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at "
                        f"column {exc.start + 1}); save the file as UTF-8") from None


def parse_json_object(text: str, path: Path | str, lineno: int | None) -> tuple[dict[str, Any], int]:
    """(object, lone surrogates replaced) from one JSON text that must be an object."""
    try:
        obj = json.loads(text)
    except RecursionError:
        raise DataError(str(path), lineno, None, "invalid JSON: nested too deeply") from None
    except json.JSONDecodeError as exc:
        hint = " (a JSON array? write one object per line)" if text.strip() == "[" else ""
        raise DataError(str(path), lineno, None, f"invalid JSON: {exc.msg}{hint}") from None
    if not isinstance(obj, dict):
        raise DataError(str(path), lineno, None, "each line must be a JSON object")
    if "\\u" in text or "\\U" in text:  # only an escape can spell a lone surrogate
        return repair_value(obj)
    return obj, 0


def iter_jsonl(
    path: Path | str, *, comments: bool = True, digest: Any = None,
    repairs: list[tuple[int, int]] | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) per non-blank line; streams, so memory stays flat.

    `comments`: skip lines starting with '//'. `digest`: a hashlib object fed every raw
    byte read (one read serves the index and the content hash). `repairs`: receives
    (line, n) for each line whose strings had n lone surrogates replaced. A `.gz` file is read
    decompressed.
    """
    check_text_file(path)
    with _open_bytes(path) as fh:
        lineno = 0
        try:
            for lineno, raw in enumerate(fh, start=1):
                if digest is not None:
                    digest.update(raw)
                line = decode_line(raw, path, lineno).strip()
                if not line or (comments and line.startswith("//")):
                    continue
                obj, n = parse_json_object(line, path, lineno)
                if n and repairs is not None:
                    repairs.append((lineno, n))
                yield lineno, obj
        except (OSError, EOFError) as exc:  # a truncated or corrupt .gz
            raise DataError(str(path), lineno + 1, None, f"cannot read: {exc or type(exc).__name__}") from None


_SafeBase: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: ~10x faster


class _LineLoader(_SafeBase):  # type: ignore[misc,valid-type]
    """Safe loader that records the line of every mapping as key '__line__'."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _refuse_aliases(text: str, path: Path | str) -> None:
    """Data files need no aliases, and aliases to aliases expand exponentially."""
    if "*" not in text:  # an alias is spelled *name: most files are cleared without parsing
        return
    for event in yaml.parse(text, Loader=_SafeBase):
        if isinstance(event, yaml.AliasEvent):
            raise DataError(str(path), event.start_mark.line + 1, None,
                            f"YAML alias *{event.anchor} is not allowed in data files "
                            "(write the value out)")


def load_yaml(path: Path | str, *, lines: bool = False) -> Any:
    """Safe-load YAML; with lines=True every mapping carries '__line__' for error messages."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DataError(str(path), None, None, f"cannot read: {exc.strerror}") from None
    check_text_file(path)
    try:
        text = raw.removeprefix(UTF8_BOM).decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(str(path), line, None, "not valid UTF-8; save the file as UTF-8") from None
    try:
        _refuse_aliases(text, path)
        return yaml.load(text, Loader=_LineLoader) if lines else yaml.load(text, Loader=_SafeBase)
    except RecursionError:
        raise DataError(str(path), None, None, "invalid YAML: nested too deeply") from None
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


def write_atomic(path: Path | str, text: str) -> None:
    """Write a text file that appears only when complete (written beside, renamed); a
    failure (a full disk) is one LatentwallError and leaves no partial file."""
    from latentwall.errors import LatentwallError

    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise LatentwallError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)
