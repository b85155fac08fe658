"""SQLite store: runs, probes, responses, judgements and a shared response cache.

One database per run directory holds many runs; the cache is shared by all of them.
WAL mode so a viewer can read while a run writes. Writes are batched by the caller
(one transaction per batch) and each batch commits as soon as it is handed over.

What it promises (docs/reliability.md): nothing that was written is lost or silently
replaced - a damaged or emptied store is reported, never recreated; no single row can
stop a run - a row that cannot be stored is stored as ERROR with the reason; each answer
is stored once - the cache points at the response row that holds the text. Read-only
commands open the store read-only, so an archived run directory still reports.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from latentwall.store._connect import StoreError, connect_readonly, empty_store, store_error
from latentwall.store._query import DB_NAME, Queries
from latentwall.text import repair

__all__ = ["DB_NAME", "ResultRecord", "Store", "StoreError", "cacheable", "connect_readonly", "store_error"]
SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    finished TEXT,
    status TEXT NOT NULL,
    target TEXT NOT NULL,
    config TEXT NOT NULL,
    target_info TEXT NOT NULL DEFAULT '{}',
    total INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS probes (
    run_id TEXT NOT NULL,
    probe_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    suite TEXT NOT NULL,
    topic TEXT NOT NULL,
    language TEXT NOT NULL,
    category TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, probe_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS responses (
    run_id TEXT NOT NULL,
    probe_id TEXT NOT NULL,
    condition TEXT NOT NULL DEFAULT '',
    sample INTEGER NOT NULL,
    cache_key TEXT NOT NULL,
    prompt TEXT NOT NULL,
    text TEXT NOT NULL,
    reasoning TEXT,
    finish_reason TEXT,
    status TEXT,
    error TEXT,
    model TEXT,
    latency_s REAL,
    usage TEXT,
    cached INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    notes TEXT,
    PRIMARY KEY (run_id, probe_id, condition, sample)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS judgements (
    run_id TEXT NOT NULL,
    probe_id TEXT NOT NULL,
    condition TEXT NOT NULL DEFAULT '',
    sample INTEGER NOT NULL,
    judge TEXT NOT NULL,
    label TEXT NOT NULL,
    rationale TEXT NOT NULL,
    evidence TEXT NOT NULL DEFAULT '[]',
    extra TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL,
    PRIMARY KEY (run_id, probe_id, condition, sample, judge)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cache (
    cache_key TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    reasoning TEXT,
    finish_reason TEXT,
    status TEXT,
    model TEXT,
    usage TEXT,
    created TEXT NOT NULL,
    error TEXT,
    run_id TEXT,
    probe_id TEXT,
    condition TEXT,
    sample INTEGER
) WITHOUT ROWID;
"""
# Columns added since a store was first made: (table, column, type), added on open.
_ADDED_COLUMNS = (
    ("cache", "error", "TEXT"),  # a FILTERED block's note
    ("responses", "notes", "TEXT"),  # repairs and other notes on a row
    # The response row that holds a cached answer's text: each answer is stored once.
    ("cache", "run_id", "TEXT"), ("cache", "probe_id", "TEXT"), ("cache", "condition", "TEXT"),
    ("cache", "sample", "INTEGER"),
)
_RESPONSE_COLS = ("run_id", "probe_id", "condition", "sample", "cache_key", "prompt", "text", "reasoning",
                  "finish_reason", "status", "error", "model", "latency_s", "usage", "cached", "created",
                  "notes")
_CACHE_COLS = ("cache_key", "text", "reasoning", "finish_reason", "status", "model", "usage", "created",
               "error", "run_id", "probe_id", "condition", "sample")
_JUDGEMENT_COLS = ("run_id", "probe_id", "condition", "sample", "judge", "label", "rationale", "evidence",
                   "extra", "created")



# What one row can raise that the others would not: text SQLite cannot take (lone
# surrogates), a blob too big, a value of the wrong type, a constraint on a missing field.
_ROW_ERRORS = (sqlite3.DataError, sqlite3.IntegrityError, sqlite3.InterfaceError,
               sqlite3.ProgrammingError, UnicodeError, ValueError, TypeError, OverflowError)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _insert(verb: str, table: str, cols: Sequence[str]) -> str:
    return f"{verb} INTO {table}({', '.join(cols)}) VALUES ({','.join('?' * len(cols))})"


@dataclass
class ResultRecord:
    """One finished unit of work: a response and its judgement, written together."""

    run_id: str
    probe_id: str
    condition: str
    sample: int
    cache_key: str
    prompt: str
    response: Any  # latentwall.targets.Response
    judgement: Any  # latentwall.judges.Judgement
    judge: str


def cacheable(resp: Any) -> bool:
    """Whether another run may reuse this answer. Decided on what the target reported, not
    on a judge's label: only an answer that ended normally (or a filter's block, which is
    deterministic) is reused; ERROR, an empty answer and one cut at the token limit may be
    transient, so the next run asks again."""
    if resp.cached or resp.status == "ERROR":
        return False
    if resp.status == "FILTERED":
        return True
    if resp.status is not None or resp.finish_reason == "length":
        return False
    return bool((resp.text or "").strip())


class Store(Queries):
    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        try:
            if readonly:
                self.conn = self._open_readonly()
            else:
                self.conn = self._open_readwrite()
            cols = {r[1] for r in self.conn.execute("PRAGMA table_info(responses)")}
            self._has_notes = "notes" in cols
        except sqlite3.DatabaseError as exc:
            with contextlib.suppress(Exception):
                self.conn.close()
            raise store_error(exc, self.path) from None
        except OSError as exc:
            raise StoreError(f"cannot open store {self.path}: {exc.strerror}") from None

    def _open_readwrite(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            self._create()
        elif self.path.stat().st_size == 0:
            raise empty_store(self.path)
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        self.conn = conn
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"runs", "responses", "cache"} <= tables:
            raise sqlite3.DatabaseError("no such table: runs (not a latentwall store)")
        for table, col, kind in _ADDED_COLUMNS:
            if col not in {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {col} {kind}")
        conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        conn.execute("UPDATE meta SET value=? WHERE key='schema_version' AND CAST(value AS INTEGER) < ?",
                     (str(SCHEMA_VERSION), SCHEMA_VERSION))
        conn.commit()
        return conn

    def _create(self) -> None:
        """Make the schema in a file beside, then link it into place: a store on disk is
        never half made, so an empty file is always damage, never a store being born."""
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.new")
        try:
            conn = sqlite3.connect(tmp)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(_SCHEMA)
                conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
                             (str(SCHEMA_VERSION),))
                conn.commit()
            finally:
                conn.close()
            try:
                os.link(tmp, self.path)  # fails if another process made the store meanwhile
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links
                if not self.path.exists():
                    os.replace(tmp, self.path)
        finally:
            for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
                leftover.unlink(missing_ok=True)

    def _open_readonly(self) -> sqlite3.Connection:
        if not self.path.is_file():
            raise StoreError(f"no store at {self.path}")
        if self.path.stat().st_size == 0:
            raise empty_store(self.path)
        return connect_readonly(self.path)

    @classmethod
    def open(cls, run_dir: Path | str, *, readonly: bool = False) -> Store:
        run_dir = Path(run_dir)
        if run_dir.suffix == ".db" or run_dir.is_file():
            return cls(run_dir, readonly=readonly)
        return cls(run_dir / DB_NAME, readonly=readonly)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create_run(self, run_id: str, target: str, config: dict[str, Any]) -> None:
        ts = now_iso()
        self._exec(
            "INSERT OR IGNORE INTO runs(run_id, created, updated, status, target, config) VALUES (?,?,?,?,?,?)",
            (run_id, ts, ts, "running", target, json.dumps(config, ensure_ascii=False, sort_keys=True)),
        )

    def update_run(self, run_id: str, **fields: Any) -> None:
        if not fields:
            return
        fields["updated"] = now_iso()
        if fields.get("status") == "finished" and "finished" not in fields:
            fields["finished"] = fields["updated"]
        cols, vals = [], []
        for k, v in fields.items():
            if k not in ("status", "finished", "target_info", "total", "updated"):
                raise ValueError(f"cannot update run field {k}")
            cols.append(f"{k}=?")
            vals.append(json.dumps(v, ensure_ascii=False) if k == "target_info" else v)
        self._exec(f"UPDATE runs SET {', '.join(cols)} WHERE run_id=?", (*vals, run_id))

    def delete_run(self, run_id: str) -> None:
        """Remove a run that never got an answer (a set-up that failed), so that no
        phantom 'running' run is left; never called on a run with responses."""
        try:
            with self.conn:
                if self.conn.execute("SELECT 1 FROM responses WHERE run_id=? LIMIT 1", (run_id,)).fetchone():
                    raise ValueError(f"run {run_id} has responses: not deleted")
                self.conn.execute("DELETE FROM probes WHERE run_id=?", (run_id,))
                self.conn.execute("DELETE FROM runs WHERE run_id=?", (run_id,))
        except sqlite3.DatabaseError as exc:
            raise store_error(exc, self.path) from None

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> None:
        try:
            with self.conn:
                self.conn.execute(sql, params)
        except sqlite3.DatabaseError as exc:
            raise store_error(exc, self.path) from None

    # -- probes -----------------------------------------------------------------------

    def add_probes(self, run_id: str, probes: Iterable[tuple[int, Any]]) -> None:
        """Insert (seq, Probe) pairs; existing ones are left alone (resume)."""
        rows = [
            (run_id, p.id, seq, p.suite, p.topic, p.language, p.category,
             json.dumps(p.to_dict(), ensure_ascii=False))
            for seq, p in probes
        ]
        try:
            with self.conn:
                self.conn.executemany(
                    "INSERT OR IGNORE INTO probes(run_id, probe_id, seq, suite, topic, language, category, data)"
                    " VALUES (?,?,?,?,?,?,?,?)", rows,
                )
        except sqlite3.DatabaseError as exc:
            raise store_error(exc, self.path) from None

    def _rows(self, r: ResultRecord, ts: str, label: str | None = None, rationale: str | None = None
              ) -> tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...] | None]:
        resp, j = r.response, r.judgement
        usage = json.dumps(resp.usage or {})
        notes = json.dumps(list(resp.notes), ensure_ascii=False) if getattr(resp, "notes", None) else None
        resp_row = (r.run_id, r.probe_id, r.condition, r.sample, r.cache_key, r.prompt, resp.text,
                    resp.reasoning, resp.finish_reason, resp.status, resp.error, resp.model,
                    resp.latency_s, usage, int(resp.cached), ts, notes)
        judge_row = (r.run_id, r.probe_id, r.condition, r.sample, r.judge,
                     str(j.label) if label is None else label,
                     j.rationale if rationale is None else rationale,
                     json.dumps(list(j.evidence) if label is None else [], ensure_ascii=False),
                     json.dumps((j.extra or {}) if label is None else {}, ensure_ascii=False), ts)
        cache_row = None
        if cacheable(resp):
            cache_row = (r.cache_key, "", None, resp.finish_reason, resp.status, resp.model, usage, ts,
                         resp.error, r.run_id, r.probe_id, r.condition, r.sample)
        return resp_row, judge_row, cache_row

    def _insert_rows(self, rows: Sequence[tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...] | None]],
                     refresh_cache: bool) -> None:
        with self.conn:
            self.conn.executemany(_insert("INSERT OR REPLACE", "responses", _RESPONSE_COLS),
                                  [resp for resp, _, _ in rows])
            self.conn.executemany(_insert("INSERT OR REPLACE", "judgements", _JUDGEMENT_COLS),
                                  [judge for _, judge, _ in rows])
            self.conn.executemany(_insert("INSERT OR REPLACE" if refresh_cache else "INSERT OR IGNORE",
                                          "cache", _CACHE_COLS),
                                  [cache for _, _, cache in rows if cache is not None])

    def write_results(self, records: Sequence[ResultRecord], *, refresh_cache: bool = False) -> int:
        """Responses, judgements and cache entries of a batch in one transaction.

        No single row can stop a run: if the batch fails because of a row (text SQLite
        cannot take, a value of the wrong type), each record is written on its own, and
        a record that still fails is stored as ERROR with the reason - its response is
        changed to say so, and a re-run asks it again. Failures of the store itself
        (disk full, read-only, damaged) raise StoreError. Returns the records so changed.
        `refresh_cache`: new answers replace cached ones (a --fresh run).
        """
        if not records:
            return 0
        ts = now_iso()
        try:
            self._insert_rows([self._rows(r, ts) for r in records], refresh_cache)
            return 0
        except _ROW_ERRORS:
            pass
        except sqlite3.DatabaseError as exc:
            raise store_error(exc, self.path) from None
        failed = 0
        for r in records:
            try:
                self._insert_rows([self._rows(r, ts)], refresh_cache)
                continue
            except _ROW_ERRORS as exc:
                reason = f"answer could not be stored ({type(exc).__name__}: {str(exc)[:200]})"
            except sqlite3.DatabaseError as exc:
                raise store_error(exc, self.path) from None
            self._as_error(r, reason)
            try:
                self._insert_rows([self._rows(r, ts, "ERROR", reason)], refresh_cache)
            except (sqlite3.DatabaseError, *_ROW_ERRORS) as exc:
                raise store_error(exc, self.path) from None
            failed += 1
        return failed

    @staticmethod
    def _as_error(r: ResultRecord, reason: str) -> None:
        """Turn a record that cannot be stored into the ERROR row that can: no answer, the
        reason, and only fields that are plain valid values."""
        resp = r.response

        def text_or_none(value: Any) -> str | None:
            return repair(value)[0] if isinstance(value, str) else None

        resp.text, resp.reasoning, resp.status, resp.error = "", None, "ERROR", reason
        resp.finish_reason, resp.model = text_or_none(resp.finish_reason), text_or_none(resp.model)
        resp.latency_s = float(resp.latency_s) if isinstance(resp.latency_s, int | float) else None
        resp.usage, resp.notes, resp.cached = {}, [], False
        r.prompt = text_or_none(r.prompt) or ""

    def write_judgements(
        self, run_id: str, judge: str, items: Sequence[tuple[str, str, int, Any]]
    ) -> None:
        """Extra judgements of existing responses ((probe_id, condition, sample, Judgement)),
        e.g. a second judge or a narrative-stance scorer run after the fact."""
        ts = now_iso()
        rows = [
            (run_id, pid, cond, sample, judge, str(j.label), j.rationale,
             json.dumps(list(j.evidence), ensure_ascii=False), json.dumps(j.extra or {}, ensure_ascii=False), ts)
            for pid, cond, sample, j in items
        ]
        try:
            with self.conn:
                self.conn.executemany(_insert("INSERT OR REPLACE", "judgements", _JUDGEMENT_COLS), rows)
        except sqlite3.DatabaseError as exc:
            raise store_error(exc, self.path) from None

    def delete_judgements(self, run_id: str, judge: str, keys: Sequence[tuple[str, str, int]]) -> None:
        """Remove a person's labels (a review's undo). Only `human:` judges: a machine verdict
        is never deleted or overwritten."""
        if not judge.startswith("human:"):
            raise ValueError(f"only human labels can be deleted, not judge {judge!r}")
        try:
            with self.conn:
                self.conn.executemany(
                    "DELETE FROM judgements WHERE run_id=? AND probe_id=? AND condition=? AND sample=? AND judge=?",
                    [(run_id, p, c, s, judge) for p, c, s in keys])
        except sqlite3.DatabaseError as exc:
            raise store_error(exc, self.path) from None
