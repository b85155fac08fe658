"""SQLite store: runs, probes, responses, judgements and a shared response cache.

One database per run directory holds many runs; the cache is shared by all of them.
WAL mode so a viewer can read while a run writes. Writes are batched by the caller
(one transaction per batch) and each batch commits as soon as it is handed over.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from latentwall.errors import LatentwallError

DB_NAME = "latentwall.db"
SCHEMA_VERSION = 1

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
    error TEXT
) WITHOUT ROWID;
"""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


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


class StoreError(LatentwallError):
    """The store cannot be opened or written (disk full, read-only, corrupt)."""


def _wrap(exc: sqlite3.Error, path: Path) -> StoreError:
    msg = str(exc)
    if "full" in msg:
        return StoreError(f"disk full: cannot write to {path} ({msg}); free space and re-run to resume")
    if "readonly" in msg or "read-only" in msg:
        return StoreError(f"store {path} is read-only ({msg})")
    if "locked" in msg:
        return StoreError(f"store {path} is locked by another process ({msg})")
    return StoreError(f"store {path}: {msg}")


class Store:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.executescript(_SCHEMA)
            cols = {r[1] for r in self.conn.execute("PRAGMA table_info(cache)")}
            if "error" not in cols:  # stores made before the cache kept a FILTERED block's note
                self.conn.execute("ALTER TABLE cache ADD COLUMN error TEXT")
            self.conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            self.conn.commit()
        except sqlite3.DatabaseError as exc:
            raise _wrap(exc, self.path) from None
        except OSError as exc:
            raise StoreError(f"cannot open store {self.path}: {exc.strerror}") from None

    @classmethod
    def open(cls, run_dir: Path | str) -> Store:
        run_dir = Path(run_dir)
        if run_dir.suffix == ".db" or run_dir.is_file():
            return cls(run_dir)
        return cls(run_dir / DB_NAME)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs -------------------------------------------------------------------------

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
        return self._run_dict(row) if row else None

    def _run_dict(self, row: Sequence[Any]) -> dict[str, Any]:
        cols = ["run_id", "created", "updated", "finished", "status", "target", "config", "target_info", "total"]
        d = dict(zip(cols, row, strict=True))
        d["config"] = json.loads(d["config"])
        d["target_info"] = json.loads(d["target_info"])
        return d

    def list_runs(self) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM runs ORDER BY created, run_id").fetchall()
        return [self._run_dict(r) for r in rows]

    def find_runs(self, ref: str) -> list[dict[str, Any]]:
        """Runs whose id equals or starts with `ref`."""
        runs = self.list_runs()
        exact = [r for r in runs if r["run_id"] == ref]
        return exact or [r for r in runs if r["run_id"].startswith(ref)]

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

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> None:
        try:
            with self.conn:
                self.conn.execute(sql, params)
        except sqlite3.DatabaseError as exc:
            raise _wrap(exc, self.path) from None

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
            raise _wrap(exc, self.path) from None

    # -- work state -------------------------------------------------------------------

    def done_keys(self, run_id: str, probe_ids: Sequence[str]) -> set[tuple[str, str, int]]:
        """(probe_id, condition, sample) already answered without ERROR and judged."""
        out: set[tuple[str, str, int]] = set()
        for i in range(0, len(probe_ids), 500):
            chunk = list(probe_ids[i : i + 500])
            marks = ",".join("?" * len(chunk))
            cur = self.conn.execute(
                "SELECT r.probe_id, r.condition, r.sample FROM responses r JOIN judgements j"
                " ON j.run_id=r.run_id AND j.probe_id=r.probe_id AND j.condition=r.condition"
                " AND j.sample=r.sample"
                f" WHERE r.run_id=? AND r.probe_id IN ({marks}) AND (r.status IS NULL OR r.status != 'ERROR')",
                (run_id, *chunk),
            )
            out.update((a, b, c) for a, b, c in cur)
        return out

    def count_done(self, run_id: str, judge: str) -> int:
        """Responses of a run that are finished: answered without ERROR and judged by `judge`."""
        return self.conn.execute(
            "SELECT COUNT(*) FROM responses r JOIN judgements j ON j.run_id=r.run_id"
            " AND j.probe_id=r.probe_id AND j.condition=r.condition AND j.sample=r.sample"
            " WHERE r.run_id=? AND j.judge=? AND (r.status IS NULL OR r.status != 'ERROR')",
            (run_id, judge),
        ).fetchone()[0]

    def cache_get(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(keys), 500):
            chunk = list(keys[i : i + 500])
            marks = ",".join("?" * len(chunk))
            cur = self.conn.execute(
                "SELECT cache_key, text, reasoning, finish_reason, status, model, usage, error FROM cache"
                f" WHERE cache_key IN ({marks})", chunk,
            )
            for k, text, reasoning, finish, status, model, usage, error in cur:
                out[k] = {"text": text, "reasoning": reasoning, "finish_reason": finish,
                          "status": status, "model": model, "usage": json.loads(usage or "{}"),
                          "error": error}
        return out

    def write_results(self, records: Sequence[ResultRecord]) -> None:
        """Responses, judgements and cache entries of a batch in one transaction."""
        if not records:
            return
        ts = now_iso()
        resp_rows, judge_rows, cache_rows = [], [], []
        for r in records:
            resp, j = r.response, r.judgement
            usage = json.dumps(resp.usage or {})
            resp_rows.append((
                r.run_id, r.probe_id, r.condition, r.sample, r.cache_key, r.prompt, resp.text,
                resp.reasoning, resp.finish_reason, resp.status, resp.error, resp.model,
                resp.latency_s, usage, int(resp.cached), ts,
            ))
            judge_rows.append((
                r.run_id, r.probe_id, r.condition, r.sample, r.judge, str(j.label), j.rationale,
                json.dumps(list(j.evidence), ensure_ascii=False),
                json.dumps(j.extra or {}, ensure_ascii=False), ts,
            ))
            if resp.status != "ERROR" and not resp.cached:
                cache_rows.append((r.cache_key, resp.text, resp.reasoning, resp.finish_reason,
                                   resp.status, resp.model, usage, ts, resp.error))
        try:
            with self.conn:
                self.conn.executemany(
                    "INSERT OR REPLACE INTO responses VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", resp_rows
                )
                self.conn.executemany(
                    "INSERT OR REPLACE INTO judgements VALUES (?,?,?,?,?,?,?,?,?,?)", judge_rows
                )
                self.conn.executemany(
                    "INSERT OR IGNORE INTO cache(cache_key, text, reasoning, finish_reason, status, model,"
                    " usage, created, error) VALUES (?,?,?,?,?,?,?,?,?)", cache_rows
                )
        except sqlite3.DatabaseError as exc:
            raise _wrap(exc, self.path) from None

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
                self.conn.executemany("INSERT OR REPLACE INTO judgements VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
        except sqlite3.DatabaseError as exc:
            raise _wrap(exc, self.path) from None

    def judges_of(self, run_id: str) -> list[str]:
        """Names of every judge that labelled this run's responses."""
        return [r[0] for r in self.conn.execute(
            "SELECT DISTINCT judge FROM judgements WHERE run_id=? ORDER BY judge", (run_id,))]

    # -- reading ----------------------------------------------------------------------

    def counts(self, run_id: str) -> dict[str, int]:
        """Labels of the run's own judge, plus 'responses' and 'probes' totals."""
        run = self.get_run(run_id)
        judge = run["config"].get("judge", "markers") if run else "markers"
        out: dict[str, int] = {}
        for label, n in self.conn.execute(
            "SELECT label, COUNT(*) FROM judgements WHERE run_id=? AND judge=? GROUP BY label", (run_id, judge)
        ):
            out[label] = n
        out["responses"] = self.conn.execute(
            "SELECT COUNT(*) FROM responses WHERE run_id=?", (run_id,)
        ).fetchone()[0]
        out["probes"] = self.conn.execute("SELECT COUNT(*) FROM probes WHERE run_id=?", (run_id,)).fetchone()[0]
        return out

    def iter_results(self, run_id: str, judge: str | None = None) -> Iterator[dict[str, Any]]:
        """Rows in the analysis/report contract, streamed in probe order."""
        run = self.get_run(run_id)
        if run is None:
            return
        judge = judge or run["config"].get("judge", "markers")
        target = run["config"].get("target_label") or run["target"]
        guard = run["config"].get("guard")
        cur = self.conn.execute(
            "SELECT p.data, r.condition, r.sample, r.prompt, r.text, r.reasoning, r.finish_reason,"
            " r.status, r.error, r.model, r.latency_s, r.cached, j.label, j.rationale, j.evidence, j.judge, j.extra"
            " FROM responses r JOIN probes p ON p.run_id=r.run_id AND p.probe_id=r.probe_id"
            " LEFT JOIN judgements j ON j.run_id=r.run_id AND j.probe_id=r.probe_id"
            "  AND j.condition=r.condition AND j.sample=r.sample AND j.judge=?"
            " WHERE r.run_id=? ORDER BY p.seq, r.condition, r.sample",
            (judge, run_id),
        )
        for (data, cond, sample, prompt, text, reasoning, finish, status, error, model, latency,
             cached, label, rationale, evidence, jname, extra) in cur:
            p = json.loads(data)
            yield {
                "run_id": run_id, "target": target, "guard": guard, "probe_id": p["id"], "suite": p.get("suite", ""),
                "topic": p["topic"], "language": p["language"], "category": p["category"],
                "kind": p["kind"], "group": p["group"], "jurisdiction": p.get("jurisdiction"),
                "tags": p.get("tags", []), "expected": p.get("expected", {}),
                "risk_code": p.get("risk_code"), "hazard": p.get("hazard"), "answer": p.get("answer"),
                "condition": cond, "sample": sample, "prompt": prompt, "probe_text": p["text"],
                "text": text,
                "reasoning": reasoning, "finish_reason": finish, "status": status, "error": error,
                "model": model, "latency_s": latency, "cached": bool(cached), "label": label,
                "rationale": rationale, "evidence": json.loads(evidence) if evidence else [],
                "judge": jname, "judge_extra": json.loads(extra) if extra else {},
            }

