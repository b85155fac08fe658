"""Every read of the store, in one module: the runner's work state, the typed `Result` rows
every analysis, report and export reads, run lookup and metadata, and the live viewer's
paged queries. No SQL lives outside `store/`.

Reads that fail because the file is damaged say so in one line (`store damaged: ...`), with
the way out.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from latentwall.errors import ConfigError
from latentwall.labels import DEFAULT_JUDGE, STANCE_JUDGE, STANCE_LLM_JUDGE, STATUSES
from latentwall.records import Result, ResultKey
from latentwall.store._connect import READ_ERRORS, connect_readonly, reads, store_error
from latentwall.store._lock import run_is_live

DB_NAME = "latentwall.db"
DEFAULT_RUN_DIR = "latentwall-runs"
RUN_DIR_ENV = "LATENTWALL_RUN_DIR"


def default_run_dir() -> str:
    """Where runs are stored unless a command says otherwise."""
    return os.environ.get(RUN_DIR_ENV, DEFAULT_RUN_DIR)


def run_judge(run: Mapping[str, Any] | None) -> str:
    """The judge whose labels are a run's own."""
    return str((run or {}).get("config", {}).get("judge") or DEFAULT_JUDGE)


def run_target(run: Mapping[str, Any]) -> str:
    """How tables name a run's target: its configured label (guarded runs differ from bare ones)."""
    return str(run["config"].get("target_label") or run["target"])


def run_meta(run: Mapping[str, Any], counts: Mapping[str, int], store_path: Path | str | None = None
             ) -> dict[str, Any]:
    """The metadata of one run that summaries, reports, exports and `runs` show."""
    cfg = run.get("config") or {}
    out = {
        "run_id": run["run_id"], "target": cfg.get("target_label") or run.get("target"),
        "suites": cfg.get("suites", []), "languages": cfg.get("languages"),
        "samples": cfg.get("samples", 1), "params": cfg.get("params", {}),
        "judge": cfg.get("judge", DEFAULT_JUDGE), "created": run.get("created"),
        "finished": run.get("finished"), "status": run.get("status"),
        "latentwall_version": cfg.get("latentwall_version"),
        "target_info": run.get("target_info", {}), "counts": dict(counts),
        "limit": cfg.get("limit"), "total": run.get("total"),
    }
    if store_path is not None:
        out["store"] = str(store_path)
    return out


# The row columns of `iter_results`, in select order.
_RESULT_SQL = (
    "SELECT p.data, r.condition, r.sample, r.prompt, r.text, r.reasoning, r.finish_reason,"
    " r.status, r.error, r.model, r.latency_s, r.cached, j.label, j.rationale, j.evidence, j.judge, j.extra,"
    " {notes}{stance}"
    " FROM responses r JOIN probes p ON p.run_id=r.run_id AND p.probe_id=r.probe_id"
    " LEFT JOIN judgements j ON j.run_id=r.run_id AND j.probe_id=r.probe_id"
    "  AND j.condition=r.condition AND j.sample=r.sample AND j.judge=?"
    "{stance_joins}"
    " WHERE r.run_id=?{keys} ORDER BY p.seq, r.condition, r.sample"
)
# A stance pass stores one judgement per response under its own judge; the LLM scorer's is
# preferred over the offline one when both ran.
_STANCE_COLS = (", js.label, js.rationale, js.evidence, js.extra, jo.label, jo.rationale, jo.evidence, jo.extra")
_RESULT_STANCE_JOINS = "".join(
    f" LEFT JOIN judgements {a} ON {a}.run_id=r.run_id AND {a}.probe_id=r.probe_id"
    f" AND {a}.condition=r.condition AND {a}.sample=r.sample AND {a}.judge='{name}'"
    for a, name in (("js", STANCE_LLM_JUDGE), ("jo", STANCE_JUDGE)))


def _stance_detail(label: str | None, rationale: str | None, evidence: str | None, extra: str | None
                   ) -> dict[str, Any] | None:
    if label is None:
        return None
    detail = json.loads(extra) if extra else {}
    detail.pop("stance", None)
    return {**detail, "label": label, "rationale": rationale or "",
            "evidence": json.loads(evidence) if evidence else []}


class Queries:
    """The read queries of `Store` (mixed in; `self.conn` and `self.path` are the store's)."""

    conn: sqlite3.Connection
    path: Path
    _has_notes: bool

    # -- runs -------------------------------------------------------------------------

    @reads
    def get_run(self, run_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
        return self._run_dict(row) if row else None

    def _run_dict(self, row: Sequence[Any]) -> dict[str, Any]:
        cols = ["run_id", "created", "updated", "finished", "status", "target", "config", "target_info", "total"]
        d = dict(zip(cols, row, strict=True))
        d["config"] = json.loads(d["config"])
        d["target_info"] = json.loads(d["target_info"])
        if d["status"] == "running" and not run_is_live(self.path, d["run_id"]):
            d["status"] = "stopped"  # its process is gone (killed): re-run to resume
        return d

    @reads
    def list_runs(self) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM runs ORDER BY created, run_id").fetchall()
        return [self._run_dict(r) for r in rows]

    def find_runs(self, ref: str) -> list[dict[str, Any]]:
        """Runs whose id equals or starts with `ref`."""
        runs = self.list_runs()
        exact = [r for r in runs if r["run_id"] == ref]
        return exact or [r for r in runs if r["run_id"].startswith(ref)]

    # -- work state -------------------------------------------------------------------

    @reads
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

    @reads
    def count_done(self, run_id: str, judge: str) -> int:
        """Responses of a run that are finished: answered without ERROR and judged by `judge`."""
        return self.conn.execute(
            "SELECT COUNT(*) FROM responses r JOIN judgements j ON j.run_id=r.run_id"
            " AND j.probe_id=r.probe_id AND j.condition=r.condition AND j.sample=r.sample"
            " WHERE r.run_id=? AND j.judge=? AND (r.status IS NULL OR r.status != 'ERROR')",
            (run_id, judge),
        ).fetchone()[0]

    @reads
    def count_errors(self, run_id: str) -> int:
        """Responses of a run left in ERROR (a re-run asks them again)."""
        return self.conn.execute(
            "SELECT COUNT(*) FROM responses WHERE run_id=? AND status='ERROR'", (run_id,)).fetchone()[0]

    @reads
    def cache_get(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Reusable answers by cache key, their text read from the response row that holds it."""
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(keys), 500):
            chunk = list(keys[i : i + 500])
            marks = ",".join("?" * len(chunk))
            cur = self.conn.execute(
                "SELECT c.cache_key, c.text, c.reasoning, c.finish_reason, c.status, c.model, c.usage,"
                " c.error, c.run_id, r.run_id, r.text, r.reasoning, r.notes, r.status FROM cache c"
                " LEFT JOIN responses r ON r.run_id=c.run_id AND r.probe_id=c.probe_id"
                " AND r.condition=c.condition AND r.sample=c.sample"
                f" WHERE c.cache_key IN ({marks})", chunk,
            )
            for (k, text, reasoning, finish, status, model, usage, error, src, row, r_text, r_reasoning,
                 notes, r_status) in cur:
                if src is not None:  # the text lives in its response row
                    if row is None or r_status == "ERROR":
                        continue  # that row is gone: not a hit, ask again
                    text, reasoning = r_text, r_reasoning
                out[k] = {"text": text, "reasoning": reasoning, "finish_reason": finish,
                          "status": status, "model": model, "usage": json.loads(usage or "{}"),
                          "error": error, "notes": json.loads(notes) if notes else []}
        return out

    @reads
    def judges_of(self, run_id: str) -> list[str]:
        """Names of every judge that labelled this run's responses."""
        return [r[0] for r in self.conn.execute(
            "SELECT DISTINCT judge FROM judgements WHERE run_id=? ORDER BY judge", (run_id,))]

    # -- reading ----------------------------------------------------------------------

    @reads
    def counts(self, run_id: str) -> dict[str, int]:
        """Labels of the run's own judge, plus 'responses' and 'probes' totals."""
        judge = run_judge(self.get_run(run_id))
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

    def run_meta(self, run: Mapping[str, Any]) -> dict[str, Any]:
        """`run_meta` of a run of this store, with its label counts."""
        return run_meta(run, self.counts(run["run_id"]), self.path)

    def iter_results(self, run_id: str, judge: str | None = None, *, stance: bool = False,
                     others: bool = False) -> Iterator[Result]:
        """The run's responses as `Result`s, streamed in probe order. `judge` picks whose labels
        (default: the run's own judge); `stance` also reads a stored narrative-stance pass;
        `others` the labels of every other judge and reviewer (`Result.other_labels`)."""
        try:
            yield from self._iter_results(run_id, judge, stance, others=others)
        except READ_ERRORS as exc:
            raise store_error(exc, self.path) from None

    def results_for(self, run_id: str, keys: Sequence[ResultKey], judge: str | None = None) -> list[Result]:
        """The `Result`s of just these responses ((probe_id, condition, sample)), e.g. the one a
        review page shows; keys that are not in the run give no row."""
        out: list[Result] = []
        try:
            for i in range(0, len(keys), 300):
                out += self._iter_results(run_id, judge, False, keys=keys[i : i + 300])
        except READ_ERRORS as exc:
            raise store_error(exc, self.path) from None
        return out

    @reads
    def judgements_of(self, run_id: str, judge: str) -> list[tuple[str, str, int, str, str, dict[str, Any], str]]:
        """Every judgement of one judge on a run, without the texts:
        (probe_id, condition, sample, label, rationale, extra, created)."""
        return [(p, c, s, label, rationale, json.loads(extra) if extra else {}, created)
                for p, c, s, label, rationale, extra, created in self.conn.execute(
                    "SELECT probe_id, condition, sample, label, rationale, extra, created FROM judgements"
                    " WHERE run_id=? AND judge=? ORDER BY probe_id, condition, sample", (run_id, judge))]

    @reads
    def other_labels(self, run_id: str, judge: str) -> dict[ResultKey, dict[str, dict[str, Any]]]:
        """Labels of every judge but `judge` and the stance scorers, by response: second judges
        (`latentwall rejudge`) and reviewers (`human:NAME`), each {label, extra, created}."""
        out: dict[ResultKey, dict[str, dict[str, Any]]] = {}
        for p, c, s, name, label, extra, created in self.conn.execute(
                "SELECT probe_id, condition, sample, judge, label, extra, created FROM judgements"
                " WHERE run_id=? AND judge NOT IN (?, ?, ?)", (run_id, judge, STANCE_JUDGE, STANCE_LLM_JUDGE)):
            out.setdefault((p, c, s), {})[name] = {"label": label, "extra": json.loads(extra) if extra else {},
                                                    "created": created}
        return out

    def _iter_results(self, run_id: str, judge: str | None, stance: bool, *,
                      keys: Sequence[ResultKey] | None = None, others: bool = False) -> Iterator[Result]:
        run = self.get_run(run_id)
        if run is None:
            return
        judge = judge or run_judge(run)
        target = run_target(run)
        guard = run["config"].get("guard")
        more = self.other_labels(run_id, judge) if others else {}
        key_sql = (" AND (r.probe_id, r.condition, r.sample) IN (VALUES " + ",".join(["(?,?,?)"] * len(keys)) + ")"
                   if keys else "")
        sql = _RESULT_SQL.format(notes="r.notes" if self._has_notes else "NULL",
                                 stance=_STANCE_COLS if stance else "",
                                 stance_joins=_RESULT_STANCE_JOINS if stance else "", keys=key_sql)
        for row in self.conn.execute(sql, (judge, run_id, *(v for k in keys or () for v in k))):
            (data, cond, sample, prompt, text, reasoning, finish, status, error, model, latency,
             cached, label, rationale, evidence, jname, extra, notes) = row[:18]
            p = json.loads(data)
            st = None
            if stance:
                st = _stance_detail(*row[18:22]) or _stance_detail(*row[22:26])
            yield Result(
                run_id=run_id, target=target, guard_spec=guard, probe_id=p["id"], suite=p.get("suite", ""),
                topic=p["topic"], language=p["language"], category=p["category"],
                kind=p["kind"], group=p["group"], jurisdiction=p.get("jurisdiction"),
                tags=tuple(p.get("tags", ())), expected=p.get("expected", {}),
                risk_code=p.get("risk_code"), hazard=p.get("hazard"), answer=p.get("answer"),
                condition=cond, sample=sample, prompt=prompt, probe_text=p["text"], text=text,
                reasoning=reasoning, finish_reason=finish, status=status, error=error,
                model=model, latency_s=latency, cached=bool(cached), judge_label=label,
                rationale=rationale, evidence=tuple(json.loads(evidence)) if evidence else (),
                judge=jname, judge_extra=json.loads(extra) if extra else {},
                notes=tuple(json.loads(notes)) if notes else (),
                stance=None if st is None else st["label"], stance_detail=st,
                other_labels=more.get((p["id"], cond, sample), {}),
            )


# ---------------------------------------------------------------------------- runs by name


class RunRef:
    """A run inside some store: what reports, summaries, analyses, exports and compare read."""

    def __init__(self, store_path: Path, run: dict[str, Any]) -> None:
        self.store_path = Path(store_path)
        self.run = run

    @property
    def run_id(self) -> str:
        return str(self.run["run_id"])

    def _open(self) -> Any:
        from latentwall.store._sqlite import Store

        return Store(self.store_path, readonly=True)

    def counts(self) -> dict[str, int]:
        with self._open() as store:
            return store.counts(self.run_id)

    def meta(self) -> dict[str, Any]:
        """`run_meta` of this run, with its current label counts."""
        return run_meta(self.run, self.counts(), self.store_path)

    def results(self, *, stance: bool = False, others: bool = False) -> Iterator[Result]:
        """The run's `Result`s, streamed (`stance`: with a stored stance pass, if any; `others`:
        with other judges' and reviewers' labels)."""
        store = self._open()
        try:
            yield from store.iter_results(self.run_id, stance=stance, others=others)
        finally:
            store.close()


def resolve_runs(refs: Sequence[str], run_dir: str | Path | None = None) -> list[RunRef]:
    """Runs named on a command line: run ids (or unique prefixes) in `run_dir`, run
    directories or .db files (all their runs); no refs = every run in `run_dir`."""
    from latentwall.store._sqlite import Store

    base = Path(run_dir or default_run_dir())
    out: list[RunRef] = []

    def all_in(db: Path) -> list[RunRef]:
        with Store(db, readonly=True) as store:
            return [RunRef(db, r) for r in store.list_runs()]

    if not refs:
        db = base / DB_NAME
        if not db.exists():
            raise ConfigError(f"no runs in {base} (run `latentwall run` first, or pass --run-dir)")
        out = all_in(db)
    for ref in refs:
        p = Path(ref)
        if p.is_dir() and (p / DB_NAME).exists():
            out += all_in(p / DB_NAME)
        elif p.is_file() and p.suffix == ".db":
            out += all_in(p)
        else:
            db = base / DB_NAME
            if not db.exists():
                raise ConfigError(f"'{ref}' is not a run directory, and {base} holds no runs")
            with Store(db, readonly=True) as store:
                found = store.find_runs(ref)
            if not found:
                raise ConfigError(f"no run '{ref}' in {base} (see `latentwall runs --run-dir {base}`)")
            if len(found) > 1 and found[0]["run_id"] != ref:
                ids = ", ".join(r["run_id"] for r in found[:5])
                raise ConfigError(f"'{ref}' matches several runs: {ids}")
            out += [RunRef(db, found[0])]
    if not out:
        raise ConfigError("no runs to read")
    return out


def select_run_ids(store: Queries, run_id: str | Sequence[str] | None) -> list[str]:
    """None: every run; a string: one run id or unique prefix; a sequence: several."""
    if run_id is None:
        return [r["run_id"] for r in store.list_runs()]
    if not isinstance(run_id, str):
        return [rid for ref in run_id for rid in select_run_ids(store, ref)]
    found = store.find_runs(run_id)
    if not found:
        raise ConfigError(f"no run '{run_id}' in {store.path}")
    if len(found) > 1 and found[0]["run_id"] != run_id:
        raise ConfigError(f"'{run_id}' matches several runs: "
                          + ", ".join(r["run_id"] for r in found[:5]))
    return [found[0]["run_id"]]


# ---------------------------------------------------------------------------- the live viewer


class QueryError(ValueError):
    """A viewer request the store cannot answer as asked (a bad parameter)."""


class StoreUnavailable(Exception):
    """The store cannot be read right now (damaged); the message says so in one line."""


VIEWER_FILTERS = ("run", "target", "suite", "topic", "language", "condition", "label")
VIEWER_PAGE_MAX = 200
PREVIEW_CHARS = 1_500
FULL_CHARS = 200_000
MAX_SQL_INT = 2**63 - 1
_STATUS_SQL = ",".join(f"'{s}'" for s in STATUSES)

# Per run: the label it reports (its configured target label) and its judge.
_RUNS_CTE = (
    "WITH rr AS MATERIALIZED (SELECT run_id, COALESCE(json_extract(config, '$.target_label'), target) AS target,"
    f" COALESCE(json_extract(config, '$.judge'), '{DEFAULT_JUDGE}') AS judge FROM runs)"
)


def _label_sql(j: str, r: str) -> str:
    """The effective label: the run judge's label, else a target status, else UNJUDGED."""
    return (f"COALESCE({j}.label, CASE WHEN {r}.status IN ({_STATUS_SQL}) THEN {r}.status END,"
            " 'UNJUDGED')")


def _stance_join(alias: str, judge: str, r: str = "r") -> str:
    return (f" LEFT JOIN judgements {alias} ON {alias}.run_id = {r}.run_id AND {alias}.probe_id = {r}.probe_id"
            f" AND {alias}.condition = {r}.condition AND {alias}.sample = {r}.sample AND {alias}.judge = '{judge}'")


# The stance a stance pass stored (`latentwall stance`): the LLM scorer's, else the offline one.
_STANCE_SQL = "COALESCE(sl.label, so.label)"
_STANCE_JOINS = _stance_join("sl", STANCE_LLM_JUDGE) + _stance_join("so", STANCE_JUDGE)

_BASE = (
    f"{_RUNS_CTE}, base AS (SELECT r.run_id, rr.target, p.suite, p.topic, p.language,"
    " r.condition, r.probe_id, r.sample, p.seq, r.prompt, r.text, r.status, j.rationale,"
    f" {_label_sql('j', 'r')} AS label, {_STANCE_SQL} AS stance"
    " FROM responses r JOIN rr ON rr.run_id = r.run_id"
    " JOIN probes p ON p.run_id = r.run_id AND p.probe_id = r.probe_id"
    " LEFT JOIN judgements j ON j.run_id = r.run_id AND j.probe_id = r.probe_id"
    f" AND j.condition = r.condition AND j.sample = r.sample AND j.judge = rr.judge{_STANCE_JOINS})"
)
_FILTER_COLUMNS = {"run": "run_id", "target": "target", "suite": "suite", "topic": "topic",
                   "language": "language", "condition": "condition", "label": "label"}


def _where(query: Mapping[str, str], skip: tuple[str, ...] = ()) -> tuple[str, list[Any]]:
    """Exact-match filters plus a text search, all as bound parameters."""
    clauses, params = [], []
    for name in VIEWER_FILTERS:
        if name in skip or name not in query:
            continue
        clauses.append(f"{_FILTER_COLUMNS[name]} = ?")
        params.append(query[name])
    q = query.get("q", "").strip()
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append("(prompt LIKE ? ESCAPE '\\' OR text LIKE ? ESCAPE '\\'"
                       " OR rationale LIKE ? ESCAPE '\\' OR probe_id LIKE ? ESCAPE '\\')")
        params += [like] * 4
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _int(query: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    try:
        value = int(query.get(name, default))
    except ValueError:  # also more digits than int() takes
        raise QueryError(f"{name} must be an integer") from None
    return max(lo, min(hi, value))


def live_status(db: Path, run_id: str, status: str) -> str:
    """A 'running' run whose process is gone (killed, or set-up failed) is 'stopped', not live."""
    return "stopped" if status == "running" and not run_is_live(db, run_id) else status


class ViewerQueries:
    """Read-only, paged queries for the live viewer; a short-lived connection per call
    (thread-safe), so a running audit keeps writing while the viewer reads.

    Aggregates (run counts, facets, heat map, totals) cost a scan of the store; they are
    cached by the store files' (mtime, size), which change on every commit, in a small LRU
    of small results, so polling an idle store is free and memory stays bounded.
    """

    CACHE_ENTRIES = 256

    def __init__(self, db: Path) -> None:
        self.db = db
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    def stamp(self) -> tuple[int, ...]:
        out: list[int] = []
        for path in (self.db, self.db.with_name(self.db.name + "-wal")):
            try:
                st = path.stat()
                out += [st.st_mtime_ns, st.st_size]
            except FileNotFoundError:
                out += [0, 0]
        return tuple(out)

    def _cached(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        full = (*key, self.stamp())  # stamp read first: a result is never older than its key
        with self._lock:
            if full in self._cache:
                self._cache.move_to_end(full)
                return self._cache[full]
        value = compute()
        with self._lock:
            self._cache[full] = value
            while len(self._cache) > self.CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return value

    def _connect(self) -> sqlite3.Connection | None:
        if not self.db.exists():
            return None
        try:
            return connect_readonly(self.db, timeout=10)
        except sqlite3.DatabaseError as exc:
            raise StoreUnavailable(str(store_error(exc, self.db))) from None

    def _all(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        conn = self._connect()
        if conn is None:
            return []
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            if "no such table" in str(exc):  # a store being created right now
                return []
            raise StoreUnavailable(str(store_error(exc, self.db))) from None
        finally:
            conn.close()

    # -- endpoints ------------------------------------------------------------------------

    def runs(self) -> dict[str, Any]:
        runs = [{**r, "status": live_status(self.db, r["run_id"], r["status"])}
                for r in self._cached(("runs",), self._runs)]
        # Liveness is not in the store (a killed run changes nothing there): read it each time.
        stamp = f"{len(runs)}:{sum(r['responses'] for r in runs)}:" + ",".join(
            f"{r['status']}@{r['updated']}" for r in runs)
        return {"runs": runs, "live": any(r["status"] == "running" for r in runs),
                "stamp": stamp, "store": str(self.db)}

    def _runs(self) -> list[dict[str, Any]]:
        counts = dict(self._all("SELECT run_id, COUNT(*) FROM responses GROUP BY run_id"))
        rows = self._all(
            "SELECT run_id, COALESCE(json_extract(config, '$.target_label'), target), status,"
            " created, updated, finished, total, json_extract(config, '$.judge'),"
            " json_extract(config, '$.suites'), json_extract(config, '$.samples')"
            " FROM runs ORDER BY created, run_id"
        )
        return [
            {"run_id": r[0], "target": r[1], "status": r[2], "created": r[3], "updated": r[4],
             "finished": r[5], "total": r[6], "judge": r[7] or DEFAULT_JUDGE,
             "suites": json.loads(r[8]) if r[8] else [], "samples": r[9],
             "responses": counts.get(r[0], 0)}
            for r in rows
        ]

    def facets(self, query: Mapping[str, str]) -> dict[str, Any]:
        """Distinct values with counts, under the run filter only (so options never vanish)."""
        where, params = _where({k: v for k, v in query.items() if k == "run"})
        return self._cached(("facets", where, *params), lambda: self._facets(where, params))

    def _facets(self, where: str, params: list[Any]) -> dict[str, Any]:
        rows = self._all(
            f"{_BASE} SELECT target, suite, topic, language, condition, label, COUNT(*),"
            f" SUM(stance IS NOT NULL) FROM base{where} GROUP BY 1, 2, 3, 4, 5, 6", params)
        names = ("target", "suite", "topic", "language", "condition", "label")
        tallies: dict[str, dict[str, int]] = {n: {} for n in names}
        stances = 0
        for row in rows:
            for name, value in zip(names, row[:6], strict=True):
                tallies[name][value] = tallies[name].get(value, 0) + row[6]
            stances += row[7] or 0
        out: dict[str, Any] = {n: sorted(t.items()) for n, t in tallies.items()}
        out["total"] = sum(r[6] for r in rows)
        out["has_stance"] = stances > 0
        return out

    def heatmap(self, query: Mapping[str, str]) -> dict[str, Any]:
        where, params = _where(query, skip=("target", "topic", "label"))
        return self._cached(("heat", where, *params), lambda: self._heatmap(where, params))

    def _heatmap(self, where: str, params: list[Any]) -> dict[str, Any]:
        rows = self._all(
            f"{_BASE} SELECT target, topic, COUNT(*), SUM(label = 'COMPLETE'),"
            " SUM(label = 'EVASIVE'), SUM(label = 'DENIAL'), SUM(stance = 'STATE_ALIGNED'),"
            " SUM(stance IN ('STATE_ALIGNED', 'INDEPENDENT', 'MIXED'))"
            f" FROM base{where} GROUP BY 1, 2 ORDER BY 2, 1", params)
        return {
            "targets": sorted({r[0] for r in rows}),
            "topics": sorted({r[1] for r in rows}),
            "slots": ["n", "complete", "evasive", "denial", "echo_k", "echo_n"],
            "cells": [[r[0], r[1], *(int(v or 0) for v in r[2:])] for r in rows],
        }

    def responses(self, query: Mapping[str, str]) -> dict[str, Any]:
        where, params = _where(query)
        offset = _int(query, "offset", 0, 0, 10**9)
        limit = _int(query, "limit", 50, 1, VIEWER_PAGE_MAX)
        total = self._cached(("count", where, *params),
                             lambda: self._all(f"{_BASE} SELECT COUNT(*) FROM base{where}", params))
        rows = self._all(
            f"{_BASE} SELECT run_id, target, suite, topic, language, condition, probe_id,"
            f" sample, label, substr(prompt, 1, {PREVIEW_CHARS}), length(prompt),"
            f" substr(text, 1, {PREVIEW_CHARS}), length(text), substr(rationale, 1, 400), stance"
            f" FROM base{where} ORDER BY run_id, probe_id, condition, sample LIMIT ? OFFSET ?",
            [*params, limit, offset])
        keys = ("run_id", "target", "suite", "topic", "language", "condition", "probe_id",
                "sample", "label", "prompt", "prompt_len", "text", "text_len", "rationale",
                "stance")
        return {"total": total[0][0] if total else 0, "offset": offset, "limit": limit,
                "rows": [dict(zip(keys, r, strict=True)) for r in rows]}

    def response(self, query: Mapping[str, str]) -> dict[str, Any] | None:
        try:
            key = (query["run"], query["probe"], query.get("condition", ""), int(query["sample"]))
        except (KeyError, ValueError):
            raise QueryError("need run, probe, condition and sample") from None
        if not 0 <= key[3] <= MAX_SQL_INT:  # SQLite cannot even look for it: no such response
            return None
        rows = self._all(
            f"{_RUNS_CTE} SELECT r.run_id, rr.target, r.probe_id, r.condition, r.sample,"
            f" substr(r.prompt, 1, {FULL_CHARS}), substr(r.text, 1, {FULL_CHARS}), length(r.text),"
            f" substr(r.reasoning, 1, {FULL_CHARS}), r.finish_reason, r.status, r.error, r.model,"
            " r.latency_s, r.cached, r.created, p.data, j.judge, j.rationale, j.evidence, j.extra,"
            f" {_label_sql('j', 'r')}, {_STANCE_SQL}, COALESCE(sl.rationale, so.rationale)"
            " FROM responses r JOIN rr ON rr.run_id = r.run_id"
            " JOIN probes p ON p.run_id = r.run_id AND p.probe_id = r.probe_id"
            " LEFT JOIN judgements j ON j.run_id = r.run_id AND j.probe_id = r.probe_id"
            f" AND j.condition = r.condition AND j.sample = r.sample AND j.judge = rr.judge{_STANCE_JOINS}"
            " WHERE r.run_id = ? AND r.probe_id = ? AND r.condition = ? AND r.sample = ?", key)
        if not rows:
            return None
        r = rows[0]
        probe = json.loads(r[16])
        return {
            "run_id": r[0], "target": r[1], "probe_id": r[2], "condition": r[3], "sample": r[4],
            "prompt": r[5], "text": r[6], "text_len": r[7], "reasoning": r[8],
            "finish_reason": r[9], "status": r[10], "error": r[11], "model": r[12],
            "latency_s": r[13], "cached": bool(r[14]), "created": r[15],
            "suite": probe.get("suite"), "topic": probe.get("topic"),
            "language": probe.get("language"), "category": probe.get("category"),
            "kind": probe.get("kind"), "jurisdiction": probe.get("jurisdiction"),
            "expected": probe.get("expected"), "tags": probe.get("tags", []),
            "judge": r[17], "rationale": r[18], "evidence": json.loads(r[19]) if r[19] else [],
            "judge_extra": json.loads(r[20]) if r[20] else {}, "label": r[21],
            "stance": r[22], "stance_rationale": r[23],
        }

    def diff(self, query: Mapping[str, str]) -> dict[str, Any]:
        """Two targets on the same probe × condition × sample, side by side."""
        a, b = query.get("a"), query.get("b")
        if not a or not b:
            raise QueryError("need targets a and b")
        clauses, params = ["xa.target = ?", "xb.target = ?"], [a, b]
        for name, col in (("topic", "pa.topic"), ("language", "pa.language"),
                          ("suite", "pa.suite"), ("condition", "ra.condition")):
            if name in query:
                clauses.append(f"{col} = ?")
                params.append(query[name])
        la, lb = _label_sql("ja", "ra"), _label_sql("jb", "rb")
        frm = (
            f"{_RUNS_CTE} SELECT {{cols}} FROM rr xa JOIN responses ra ON ra.run_id = xa.run_id"
            " JOIN probes pa ON pa.run_id = ra.run_id AND pa.probe_id = ra.probe_id"
            " LEFT JOIN judgements ja ON ja.run_id = ra.run_id AND ja.probe_id = ra.probe_id"
            " AND ja.condition = ra.condition AND ja.sample = ra.sample AND ja.judge = xa.judge"
            " JOIN rr xb ON xb.target = ?"
            " JOIN responses rb ON rb.run_id = xb.run_id AND rb.probe_id = ra.probe_id"
            " AND rb.condition = ra.condition AND rb.sample = ra.sample"
            " LEFT JOIN judgements jb ON jb.run_id = rb.run_id AND jb.probe_id = rb.probe_id"
            " AND jb.condition = rb.condition AND jb.sample = rb.sample AND jb.judge = xb.judge"
        )
        where = " WHERE " + " AND ".join(clauses)
        # xb.target appears in the JOIN first, then again in WHERE (kept for clarity).
        params = [b, *params]
        matrix = self._cached(("matrix", where, *params), lambda: self._all(
            frm.format(cols=f"{la}, {lb}, COUNT(*)") + where + " GROUP BY 1, 2", params))
        only = query.get("only") == "1"
        if only:
            where += f" AND {la} != {lb}"
        offset = _int(query, "offset", 0, 0, 10**9)
        limit = _int(query, "limit", 25, 1, VIEWER_PAGE_MAX)
        total = self._cached(("pairs", where, *params),
                             lambda: self._all(frm.format(cols="COUNT(*)") + where, params))
        cols = (
            "ra.probe_id, ra.condition, ra.sample, pa.topic, pa.language, pa.suite,"
            f" substr(ra.prompt, 1, {PREVIEW_CHARS}), ra.run_id, {la},"
            f" substr(ra.text, 1, {PREVIEW_CHARS}), length(ra.text), rb.run_id, {lb},"
            f" substr(rb.text, 1, {PREVIEW_CHARS}), length(rb.text)"
        )
        rows = self._all(frm.format(cols=cols) + where
                         + " ORDER BY ra.run_id, ra.probe_id, ra.condition, ra.sample, rb.run_id"
                         " LIMIT ? OFFSET ?", [*params, limit, offset])
        return {
            "a": a, "b": b, "total": total[0][0] if total else 0, "offset": offset,
            "limit": limit, "matrix": [list(m) for m in matrix],
            "rows": [
                {"probe_id": r[0], "condition": r[1], "sample": r[2], "topic": r[3],
                 "language": r[4], "suite": r[5], "prompt": r[6],
                 "a": {"run_id": r[7], "label": r[8], "text": r[9], "text_len": r[10]},
                 "b": {"run_id": r[11], "label": r[12], "text": r[13], "text_len": r[14]}}
                for r in rows
            ],
        }
