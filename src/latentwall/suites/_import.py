"""Importing an external data set (CSV, JSONL, Parquet, HF save_to_disk) as a user suite.

Researchers bring their own prompt sets; turning them into a validated suite folder once,
with the column mapping recorded in suite.yaml, makes every later run reproducible and
lets the loader's usual checks (file, line, field) apply. Nothing is downloaded: a
Hugging Face data set must already be on disk (`Dataset.save_to_disk`), and its Arrow
files are read with pyarrow directly, so the `datasets` package is not needed.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from latentwall.datafiles import check_text_file, iter_jsonl
from latentwall.errors import ConfigError, DataError, LatentwallError
from latentwall.suites._schema import OPTIONAL, REGIMES, REQUIRED, validate_probe

FORMATS = ("csv", "tsv", "jsonl", "parquet", "hf")
FIELDS = REQUIRED + OPTIONAL
LICENCE_UNKNOWN = "unknown — check the source's licence"
IMPLICIT_DEFAULTS = {"kind": "other"}  # topic defaults to the suite name
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
             ".parquet": "parquet", ".pq": "parquet", ".arrow": "hf"}
_DATA_HINT = "pip install 'latentwall[data]'"


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What import_suite wrote: the suite name, its folder, probes written, rows skipped,
    rows whose text had invalid characters (lone surrogates) replaced with U+FFFD."""

    name: str
    path: Path
    n: int
    skipped: int
    repaired: int = 0


@dataclass
class _Rows:
    """An opened source: its columns (None for JSONL, which has no header) and rows."""

    fmt: str
    columns: list[str] | None
    rows: Iterator[tuple[int, dict[str, Any]]]


# ---------------------------------------------------------------- readers

def _pyarrow() -> Any:
    """pyarrow, imported only when a Parquet or Arrow source needs it."""
    try:
        import pyarrow
        import pyarrow.ipc
        import pyarrow.parquet
    except ImportError:
        raise LatentwallError(
            f"reading Parquet or Hugging Face data sets needs pyarrow: {_DATA_HINT}"
        ) from None
    return pyarrow


def detect_format(source: Path) -> str:
    """The format of a source from its suffix, or 'hf' for a save_to_disk folder."""
    if source.is_dir():
        if any(source.glob("*.arrow")) or (source / "dataset_dict.json").is_file():
            return "hf"
        raise ConfigError(f"{source}: a folder must be a Hugging Face save_to_disk data set "
                          "(dataset_info.json, state.json and data-*.arrow)")
    fmt = _SUFFIXES.get(source.suffix.lower())
    if fmt is None:
        raise ConfigError(f"{source}: cannot tell the format from '{source.suffix}'; "
                          f"pass a format ({', '.join(FORMATS)})")
    return fmt


def _read_csv(path: Path, delimiter: str) -> _Rows:
    """Strict CSV: an unclosed quote or stray text after a closing quote is an error naming
    the row, never a silently merged row; so is text that is not UTF-8."""
    check_text_file(path)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        try:
            columns = next(csv.reader(fh, delimiter=delimiter, strict=True), [])
        except csv.Error as exc:
            raise DataError(str(path), 1, None, f"invalid CSV header: {exc}") from None
        except UnicodeDecodeError:
            raise DataError(str(path), 1, None, "not valid UTF-8; save the file as UTF-8") from None
    if not columns:
        raise DataError(str(path), 1, None, "empty file: no header row")

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh, delimiter=delimiter, strict=True)
            n = 0
            try:
                for rec in reader:
                    n += 1
                    if None in rec:
                        raise DataError(str(path), n, None,
                                        f"row {n} has more cells than the header has columns")
                    yield n, {k: (v if v != "" else None) for k, v in rec.items()}
            except csv.Error as exc:
                raise DataError(str(path), n + 1, None, f"invalid CSV (line {reader.line_num}): {exc}") from None
            except UnicodeDecodeError:
                raise DataError(str(path), n + 1, None, "not valid UTF-8; save the file as UTF-8") from None

    return _Rows("csv" if delimiter == "," else "tsv", columns, rows())


def _read_jsonl(path: Path, repairs: list[tuple[int, int]]) -> _Rows:
    return _Rows("jsonl", None, iter_jsonl(path, repairs=repairs))


def _read_parquet(path: Path) -> _Rows:
    pa = _pyarrow()
    try:
        pf = pa.parquet.ParquetFile(str(path))
    except (OSError, pa.ArrowException) as exc:
        raise DataError(str(path), None, None, f"cannot read Parquet: {exc}") from None

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        n = 0
        for batch in pf.iter_batches(batch_size=4096):
            for rec in batch.to_pylist():
                n += 1
                yield n, rec

    return _Rows("parquet", list(pf.schema_arrow.names), rows())


def _hf_files(folder: Path, split: str | None) -> list[Path]:
    """The Arrow files of a save_to_disk folder, in the order state.json lists them."""
    dd = folder / "dataset_dict.json"
    if dd.is_file():
        splits = json.loads(dd.read_text(encoding="utf-8")).get("splits", [])
        if split is None and len(splits) == 1:
            split = splits[0]
        if split is None or split not in splits:
            raise ConfigError(f"{folder}: a DatasetDict; choose a split ({', '.join(splits)})")
        folder = folder / split
    state = folder / "state.json"
    if state.is_file():
        try:
            names = [d["filename"] for d in json.loads(state.read_text(encoding="utf-8"))["_data_files"]]
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise DataError(str(state), None, "_data_files", f"unreadable state.json: {exc}") from None
        files = [folder / n for n in names]
    else:
        files = sorted(folder.glob("*.arrow"))
    missing = [f.name for f in files if not f.is_file()]
    if missing or not files:
        raise DataError(str(folder), None, None,
                        f"no Arrow data files found (missing: {', '.join(missing) or 'data-*.arrow'})")
    return files


def _batches(pa: Any, f: Path) -> Iterator[Any]:
    """Record batches of one Arrow file: HF writes the stream format; accept the file one."""
    with pa.memory_map(str(f)) as mm:
        try:
            reader = pa.ipc.open_stream(mm)
        except pa.ArrowInvalid:
            mm.seek(0)
            try:
                file_reader = pa.ipc.open_file(mm)
            except pa.ArrowInvalid as exc:
                raise DataError(str(f), None, None, f"not an Arrow stream or file: {exc}") from None
            for i in range(file_reader.num_record_batches):
                yield file_reader.get_batch(i)
            return
        yield from reader


def _arrow_schema(pa: Any, f: Path) -> list[str]:
    with pa.memory_map(str(f)) as mm:
        try:
            return list(pa.ipc.open_stream(mm).schema.names)
        except pa.ArrowInvalid:
            mm.seek(0)
            try:
                return list(pa.ipc.open_file(mm).schema.names)
            except pa.ArrowInvalid as exc:
                raise DataError(str(f), None, None, f"not an Arrow stream or file: {exc}") from None


def _read_hf(folder: Path, split: str | None) -> _Rows:
    pa = _pyarrow()
    files = _hf_files(folder, split)
    columns = _arrow_schema(pa, files[0])

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        n = 0
        for f in files:
            for batch in _batches(pa, f):
                for rec in batch.to_pylist():
                    n += 1
                    yield n, rec

    return _Rows("hf", columns, rows())


def open_source(source: Path, fmt: str | None = None, split: str | None = None,
                repairs: list[tuple[int, int]] | None = None) -> _Rows:
    """Columns and a row stream for any supported source; rows are numbered from 1.
    `repairs` receives (row, n) for rows whose text had n lone surrogates replaced."""
    source = Path(source)
    if not source.exists():
        raise ConfigError(f"{source}: no such file or folder")
    fmt = (fmt or detect_format(source)).lower()
    if fmt == "csv":
        return _read_csv(source, ",")
    if fmt == "tsv":
        return _read_csv(source, "\t")
    if fmt == "jsonl":
        return _read_jsonl(source, repairs if repairs is not None else [])
    if fmt == "parquet":
        return _read_parquet(source)
    if fmt == "hf":
        if not source.is_dir():
            raise ConfigError(f"{source}: format 'hf' needs the folder written by save_to_disk")
        return _read_hf(source, split)
    raise ConfigError(f"unknown format '{fmt}' (known: {', '.join(FORMATS)})")


# ---------------------------------------------------------------- records

def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _scalar(value: Any) -> Any:
    """Cells as the schema wants them: numbers become text, 42.0 becomes '42'."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return value


def _tags(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                pass
        return [t.strip() for t in re.split(r"[,;|]", text) if t.strip()]
    if isinstance(value, list | tuple):
        return [str(_scalar(v)) for v in value if not _missing(v)]
    return value


def _expected(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _slug(value: str) -> str:
    s = re.sub(r"[^a-z0-9._/-]+", "-", value.strip().lower()).strip("-/")
    return s or "x"


def _check_keys(mapping: dict[str, str], defaults: dict[str, Any]) -> None:
    for where, keys in (("mapping", mapping), ("defaults", defaults)):
        for key in keys:
            base, _, regime = key.partition(".")
            if base == "expected" and regime:
                if regime not in REGIMES:
                    raise ConfigError(f"{where}: '{key}' names an unknown regime (known: {', '.join(REGIMES)})")
            elif key not in FIELDS:
                raise ConfigError(f"{where}: '{key}' is not a probe field (fields: {', '.join(FIELDS)})")


def _build(row: dict[str, Any], rownum: int, name: str, mapping: dict[str, str],
           defaults: dict[str, Any], source: str) -> dict[str, Any]:
    """One raw probe record from a source row: defaults first, then mapped columns."""
    rec: dict[str, Any] = {"topic": name, **IMPLICIT_DEFAULTS}
    expected: dict[str, Any] = {}
    for key, col in mapping.items():
        if col not in row and key not in defaults:
            raise DataError(source, rownum, key, f"column '{col}' is missing in this row")
    for key, value in [*defaults.items(), *((k, row.get(c)) for k, c in mapping.items())]:
        if _missing(value):
            continue
        base, _, regime = key.partition(".")
        if base == "expected" and regime:
            expected[regime] = _scalar(value)
        elif key == "expected":
            exp = _expected(value)
            if not isinstance(exp, dict):
                raise DataError(source, rownum, "expected",
                                "must map regime to 'refuse' or 'answer' (a JSON object)")
            expected.update(exp)
        elif key == "tags":
            rec["tags"] = _tags(value)
        else:
            rec[key] = _scalar(value)
    if expected:
        rec["expected"] = expected
    lang = rec.get("language")
    lang_part = lang.lower() if isinstance(lang, str) else "x"
    if "group" in rec:
        rec["group"] = _prefixed(name, str(rec["group"]))
    if "id" in rec:
        rec["id"] = _prefixed(name, str(rec["id"]))
        rec.setdefault("group", rec["id"])
    else:
        rec["id"] = f"{rec.get('group') or f'{name}/{rownum}'}/{lang_part}"
        rec.setdefault("group", f"{name}/{rownum}")
    return rec


def _prefixed(name: str, value: str) -> str:
    """Ids and groups start with the suite name, so two suites in one run never collide."""
    s = _slug(value)
    return s if s.startswith(f"{name}/") else f"{name}/{s}"


# ---------------------------------------------------------------- import

def import_suite(
    source: Path,
    dest_root: Path,
    name: str,
    mapping: dict[str, str],
    defaults: dict[str, Any],
    fmt: str | None = None,
    *,
    dedupe: bool = False,
    overwrite: bool = False,
    split: str | None = None,
    title: str | None = None,
    licence: str | None = None,
) -> ImportResult:
    """Validate every row of `source` as a probe and write `dest_root/<name>/` atomically.

    `mapping` maps probe field -> source column ("expected.<regime>" allowed); `defaults`
    fills fields no column gives (language, category, kind, expected, ...); topic
    defaults to the suite name and kind to "other". Without a mapped id, ids are
    "<name>/<row>/<lang>" (or "<group>/<lang>" when a group column is mapped, so a
    multilingual data set keeps its parallel texts). Errors name the source file, the
    row number (1-based; JSONL: its line) and the probe field. Duplicate texts are an
    error naming both rows, or skipped and counted with `dedupe=True`. A JSONL row
    without a mapped key falls back to `defaults` (else it is an error), but a mapped key
    that no row has is an error. `split` picks a split of a saved DatasetDict; `title`
    and `licence` go to suite.yaml (licence: "unknown — check the source's licence").
    """
    source = Path(source)
    dest_root = Path(dest_root)
    if not _NAME_RE.match(name):
        raise ConfigError(f"suite name '{name}' must be lower-case letters, digits, . _ - "
                          "and start with a letter or digit")
    _check_keys(mapping, defaults)
    if not mapping.get("text"):
        raise ConfigError("mapping must name the column that holds the prompt text (text=COLUMN)")
    final = dest_root / name
    if final.exists() and not overwrite:
        raise ConfigError(f"{final} already exists (overwrite it explicitly)")
    repairs: list[tuple[int, int]] = []
    src = open_source(source, fmt, split, repairs)
    src_name = str(source)
    if src.columns is not None:
        for fld, col in mapping.items():
            if col not in src.columns:
                raise DataError(src_name, None, fld, f"column '{col}' not found "
                                f"(columns: {', '.join(src.columns) or 'none'})")
    dest_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.import-", dir=dest_root))
    try:
        n = skipped = total = 0
        seen_text: dict[str, int] = {}
        seen_id: dict[str, int] = {}
        unseen = set(mapping.values()) if src.columns is None else set()
        with open(tmp / "probes.jsonl", "w", encoding="utf-8") as out:
            for rownum, row in src.rows:
                total += 1
                unseen.difference_update(row)
                rec = _build(row, rownum, name, mapping, defaults, src_name)
                probe = validate_probe(rec, name, src_name, rownum)
                key = " ".join(probe.text.split()).casefold()
                if key in seen_text:
                    if dedupe:
                        skipped += 1
                        continue
                    raise DataError(src_name, rownum, "text",
                                    f"duplicate text: row {rownum} repeats row {seen_text[key]} "
                                    "(skip duplicates with dedupe)")
                if probe.id in seen_id:
                    raise DataError(src_name, rownum, "id", f"duplicate id '{probe.id}': row "
                                    f"{rownum} repeats row {seen_id[probe.id]}")
                seen_text[key] = seen_id[probe.id] = rownum
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
                n += 1
        if n == 0:
            raise DataError(src_name, None, None, "no rows to import")
        if unseen:  # JSONL has no header: a mapped key no row has is a typo, not a gap
            fld = next(k for k, c in mapping.items() if c in unseen)
            raise DataError(src_name, None, fld, f"column '{mapping[fld]}' is in no row")
        meta = {
            "name": name,
            "title": title or name,
            "description": f"imported from {source.name}",
            "version": "0.1.0",
            "licence": licence or LICENCE_UNKNOWN,
            "source": str(source.resolve()),
            "format": src.fmt,
            "imported": {"rows": total, "probes": n, "skipped_duplicates": skipped,
                         "rows_with_invalid_characters_replaced": len(repairs),
                         "at": datetime.now(UTC).isoformat(timespec="seconds")},
            "mapping": dict(mapping),
            "defaults": dict(defaults),
        }
        (tmp / "suite.yaml").write_text(
            "# Written by latentwall import_suite; probes.jsonl holds the validated rows.\n"
            + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True), encoding="utf-8")
        _swap_in(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ImportResult(name=name, path=final, n=n, skipped=skipped, repaired=len(repairs))


def _swap_in(tmp: Path, final: Path) -> None:
    """Rename the finished folder into place; an old one is moved aside, then removed."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
    try:
        os.replace(tmp, final)
    except OSError:
        if old is not None:
            os.replace(old, final)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
