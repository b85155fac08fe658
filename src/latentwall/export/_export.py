"""Responses and judgements of a run as JSONL, CSV, Parquet or a pandas DataFrame.

Rows stream from the store in chunks, so exporting a million-row run needs memory for one
chunk, not the run. JSONL and Parquet round-trip exactly; JSONL escapes U+0085, U+2028 and
U+2029 too, so a reader that splits lines with `str.splitlines()` sees one row per line.
CSV is RFC 4180 (CRLF row ends; any cell holding a comma, quote, CR or LF is quoted, so a
bare carriage return in an answer cannot start a new row); it carries lists and mappings
as JSON text, an empty cell is null for optional fields, and (by default) any text cell
that a spreadsheet would run as a formula is prefixed with an apostrophe: model output is
hostile input, also in Excel. `read_csv_rows` undoes all of that. A file appears only
when complete; a write that fails (a full disk) is one error line, and no file is left.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import IO, Any

from latentwall.analysis import build_json_summary
from latentwall.errors import ConfigError, LatentwallError
from latentwall.records import Result
from latentwall.store import Store, select_run_ids
from latentwall.text import json_line

FORMATS: tuple[str, ...] = ("jsonl", "csv", "parquet", "summary")
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet",
             ".pq": "parquet", ".json": "summary"}

# Column order of every export; `label` is the judge's, `effective_label` the label every
# rate in latentwall counts (`Result.label`: the judge's, or the target's status - ERROR,
# FILTERED, … - when no judge ran).
FIELDS: tuple[str, ...] = (
    "run_id", "target", "probe_id", "suite", "topic", "language", "category", "kind", "group",
    "jurisdiction", "tags", "expected", "risk_code", "hazard", "answer", "condition", "sample",
    "prompt", "text", "reasoning", "finish_reason", "status", "error", "model", "latency_s",
    "cached", "label", "effective_label", "rationale", "evidence", "judge", "judge_extra", "notes",
)
LIST_FIELDS = frozenset({"tags", "evidence", "notes"})
MAP_FIELDS = frozenset({"expected", "judge_extra"})
INT_FIELDS = frozenset({"sample"})
FLOAT_FIELDS = frozenset({"latency_s"})
BOOL_FIELDS = frozenset({"cached"})
# Never null in the store: an empty CSV cell means "" for these, null for the others.
REQUIRED_TEXT = frozenset({
    "run_id", "target", "probe_id", "suite", "topic", "language", "category", "kind", "group",
    "condition", "prompt", "text",
})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")
CHUNK_ROWS = 2_000


def export_row(result: Result) -> dict[str, Any]:
    """One result in the export contract: fixed columns, effective label added."""
    row = result.to_row()
    out = {name: row.get(name) for name in FIELDS}
    out["effective_label"] = result.label
    for name in LIST_FIELDS:
        out[name] = [str(v) for v in (out[name] or [])]
    for name in MAP_FIELDS:
        out[name] = dict(out[name] or {})
    out["cached"] = bool(out["cached"])
    return out


RunSelection = str | Sequence[str] | None


def iter_export_rows(store_path: str | os.PathLike[str], run_id: RunSelection = None
                     ) -> Iterator[dict[str, Any]]:
    """Rows of one run, several, or every run in the store (run_id None), streamed."""
    store = Store.open(Path(store_path), readonly=True)
    try:
        for rid in select_run_ids(store, run_id):
            for row in store.iter_results(rid):
                yield export_row(row)
    finally:
        store.close()


def _chunks(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    while chunk := list(islice(rows, size)):
        yield chunk


def guess_format(path: str | os.PathLike[str]) -> str:
    fmt = _SUFFIXES.get(Path(path).suffix.lower())
    if fmt is None:
        raise ConfigError(f"cannot tell the export format from '{path}': use --format "
                          + "|".join(FORMATS))
    return fmt


# ---------------------------------------------------------------- writers


def _write_jsonl(fh: IO[str], rows: Iterator[dict[str, Any]]) -> int:
    n = 0
    for row in rows:
        fh.write(json_line(row))
        n += 1
    return n


def formula_safe(text: str) -> str:
    """A text cell that a spreadsheet would run as a formula, made inert with a leading apostrophe."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_cell(name: str, value: Any, excel_safe: bool) -> str:
    if value is None:
        return ""
    if name in LIST_FIELDS or name in MAP_FIELDS:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if name in BOOL_FIELDS:
        return "true" if value else "false"
    if name in INT_FIELDS or name in FLOAT_FIELDS:
        return repr(value)
    text = str(value)
    return formula_safe(text) if excel_safe else text


def _write_csv(fh: IO[str], rows: Iterator[dict[str, Any]], excel_safe: bool) -> int:
    # CRLF row ends (RFC 4180): the writer then quotes every cell holding CR or LF. With
    # "\n" alone it left a bare CR unquoted, and readers split the row there.
    writer = csv.writer(fh, lineterminator="\r\n")
    writer.writerow(FIELDS)
    n = 0
    for row in rows:
        writer.writerow([csv_cell(name, row[name], excel_safe) for name in FIELDS])
        n += 1
    return n


def read_csv_rows(path: str | os.PathLike[str], *, excel_safe: bool = True
                  ) -> Iterator[dict[str, Any]]:
    """Read an export CSV back into typed rows (the inverse of the CSV writer)."""
    with open(path, encoding="utf-8", newline="") as fh:
        for raw in csv.DictReader(fh):
            row: dict[str, Any] = {}
            for name in FIELDS:
                cell = raw.get(name, "")
                if name in LIST_FIELDS:
                    row[name] = json.loads(cell) if cell else []
                elif name in MAP_FIELDS:
                    row[name] = json.loads(cell) if cell else {}
                elif name in BOOL_FIELDS:
                    row[name] = cell == "true"
                elif name in INT_FIELDS:
                    row[name] = int(cell) if cell else None
                elif name in FLOAT_FIELDS:
                    row[name] = float(cell) if cell else None
                else:
                    if excel_safe and cell.startswith("'"):
                        cell = cell[1:]
                    row[name] = cell if cell or name in REQUIRED_TEXT else None
            yield row


def arrow_schema() -> Any:
    """The Parquet schema: fixed, so every chunk (and every run) has the same columns."""
    import pyarrow as pa

    def kind(name: str) -> Any:
        if name in LIST_FIELDS:
            return pa.list_(pa.string())
        if name in MAP_FIELDS:
            return pa.string()  # JSON text: keys differ between suites and judges
        if name in INT_FIELDS:
            return pa.int64()
        if name in FLOAT_FIELDS:
            return pa.float64()
        if name in BOOL_FIELDS:
            return pa.bool_()
        return pa.string()

    return pa.schema([pa.field(name, kind(name), nullable=name not in REQUIRED_TEXT)
                      for name in FIELDS],
                     metadata={"latentwall.export": "responses/1"})


def _arrow_chunk(chunk: Sequence[dict[str, Any]], schema: Any) -> Any:
    import pyarrow as pa

    columns = {}
    for name in FIELDS:
        values = [r[name] for r in chunk]
        if name in MAP_FIELDS:
            values = [json.dumps(v, ensure_ascii=False, sort_keys=True) for v in values]
        columns[name] = values
    return pa.Table.from_pydict(columns, schema=schema)


def _write_parquet(path: Path, rows: Iterator[dict[str, Any]], chunk_rows: int) -> int:
    pq = _require("pyarrow.parquet", "Parquet export")
    schema = arrow_schema()
    n = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for chunk in _chunks(rows, chunk_rows):
            writer.write_table(_arrow_chunk(chunk, schema))
            n += len(chunk)
    return n


def read_parquet_rows(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Read an export Parquet file back into rows (mappings decoded from JSON)."""
    pq = _require("pyarrow.parquet", "reading Parquet")
    for batch in pq.ParquetFile(path).iter_batches():
        for row in batch.to_pylist():
            for name in MAP_FIELDS:
                row[name] = json.loads(row[name]) if row[name] else {}
            yield row


def _require(module: str, what: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f"{what} needs pandas and pyarrow: pip install 'latentwall[data]'"
        ) from None


# ---------------------------------------------------------------- summary


def summary_document(store_path: str | os.PathLike[str], run_id: RunSelection = None
                     ) -> dict[str, Any]:
    """The `latentwall.summary/1` document of one run or of every run in a store."""
    with Store.open(Path(store_path), readonly=True) as store:
        ids = select_run_ids(store, run_id)
        metas = [store.run_meta(store.get_run(i) or {"run_id": i}) for i in ids]

    def rows() -> Iterator[Result]:
        with Store.open(Path(store_path), readonly=True) as s:
            for i in ids:
                yield from s.iter_results(i)

    return build_json_summary(metas, rows())


# ---------------------------------------------------------------- entry points


def export_run(
    store_path: str | os.PathLike[str],
    run_id: RunSelection,
    path: str | os.PathLike[str],
    fmt: str | None = None,
    *,
    excel_safe: bool = True,
    chunk_rows: int = CHUNK_ROWS,
) -> int:
    """Write a run's responses and judgements (or its summary) to `path`; return rows written.

    `store_path` is a run directory or its latentwall.db; `run_id` is a run id (or unique
    prefix), a list of them, or None for every run in the store; `fmt` is jsonl, csv, parquet or summary (the JSON summary document), guessed
    from the suffix when None. The file appears only when complete (written beside, renamed).
    """
    fmt = fmt or guess_format(path)
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format '{fmt}' (known: {', '.join(FORMATS)})")
    if fmt == "parquet":
        _require("pyarrow.parquet", "Parquet export")
    out = Path(path)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "parquet":
            n = _write_parquet(tmp, iter_export_rows(store_path, run_id), chunk_rows)
        else:
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                if fmt == "jsonl":
                    n = _write_jsonl(fh, iter_export_rows(store_path, run_id))
                elif fmt == "csv":
                    n = _write_csv(fh, iter_export_rows(store_path, run_id), excel_safe)
                else:
                    from latentwall.export._schema import validate_summary

                    doc = summary_document(store_path, run_id)
                    validate_summary(doc)
                    json.dump(doc, fh, ensure_ascii=False, indent=1, allow_nan=False)
                    fh.write("\n")
                    n = int(doc["n_rows"])
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise LatentwallError(f"cannot write {out}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return n


def load_dataframe(run_dir_or_db: str | os.PathLike[str], run_id: RunSelection = None) -> Any:
    """A pandas DataFrame of a run's responses and judgements (every run when run_id is None).

    Columns are FIELDS; `tags`/`evidence` hold lists and `expected`/`judge_extra` dicts.
    Built chunk by chunk so the peak is the frame plus one chunk.
    """
    pd = _require("pandas", "load_dataframe")
    frames = [pd.DataFrame.from_records(chunk, columns=list(FIELDS))
              for chunk in _chunks(iter_export_rows(run_dir_or_db, run_id), 20_000)]
    if not frames:
        frame = pd.DataFrame({name: pd.Series(dtype=_empty_dtype(name)) for name in FIELDS})
    else:
        frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    frame["sample"] = frame["sample"].astype("int64")
    frame["latency_s"] = frame["latency_s"].astype("float64")
    frame["cached"] = frame["cached"].astype("bool")
    return frame


def _empty_dtype(name: str) -> str:
    if name in INT_FIELDS:
        return "int64"
    if name in FLOAT_FIELDS:
        return "float64"
    if name in BOOL_FIELDS:
        return "bool"
    return "object"
