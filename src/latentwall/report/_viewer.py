"""Live viewer: `latentwall view [RUN_DIR]` serves a run directory's store on 127.0.0.1.

Every request is answered by SQL against the SQLite store (WAL, so a running audit keeps
writing while we read): filtering, counting and paging happen in SQLite and each answer
carries at most one page of rows, so the viewer's memory stays flat however large the runs
grow. The page polls /api/runs and redraws when the store changes.

Model output is hostile input: the API returns it as JSON only (with '<', '>' and '&'
escaped, nosniff), the page's script puts it on screen with textContent only, and a strict
Content-Security-Policy allows nothing but this origin's own script and style. The server
binds loopback addresses only and rejects requests whose Host header names another host
(DNS rebinding), since it has no authentication.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import threading
import webbrowser
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from latentwall.errors import ConfigError
from latentwall.labels import STATUSES
from latentwall.report._escape import blob_json
from latentwall.store import DB_NAME, connect_readonly, run_is_live, store_error

LOOPBACK = ("127.0.0.1", "localhost", "::1")
PAGE_MAX = 200
PREVIEW_CHARS = 1_500
FULL_CHARS = 200_000
MAX_SQL_INT = 2**63 - 1
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
FILTERS = ("run", "target", "suite", "topic", "language", "condition", "label")
_STATUS_SQL = ",".join(f"'{s}'" for s in STATUSES)

# Per run: the label it reports (its configured target label) and its judge.
_RUNS_CTE = (
    "WITH rr AS MATERIALIZED (SELECT run_id, COALESCE(json_extract(config, '$.target_label'), target) AS target,"
    " COALESCE(json_extract(config, '$.judge'), 'markers') AS judge FROM runs)"
)


def _label_sql(j: str, r: str) -> str:
    """The effective label: the run judge's label, else a target status, else UNJUDGED."""
    return (f"COALESCE({j}.label, CASE WHEN {r}.status IN ({_STATUS_SQL}) THEN {r}.status END,"
            " 'UNJUDGED')")


_BASE = (
    f"{_RUNS_CTE}, base AS (SELECT r.run_id, rr.target, p.suite, p.topic, p.language,"
    " r.condition, r.probe_id, r.sample, p.seq, r.prompt, r.text, r.status, j.rationale,"
    f" {_label_sql('j', 'r')} AS label, json_extract(j.extra, '$.stance') AS stance"
    " FROM responses r JOIN rr ON rr.run_id = r.run_id"
    " JOIN probes p ON p.run_id = r.run_id AND p.probe_id = r.probe_id"
    " LEFT JOIN judgements j ON j.run_id = r.run_id AND j.probe_id = r.probe_id"
    " AND j.condition = r.condition AND j.sample = r.sample AND j.judge = rr.judge)"
)
_FILTER_COLUMNS = {"run": "run_id", "target": "target", "suite": "suite", "topic": "topic",
                   "language": "language", "condition": "condition", "label": "label"}


def _where(query: Mapping[str, str], skip: tuple[str, ...] = ()) -> tuple[str, list[Any]]:
    """Exact-match filters plus a text search, all as bound parameters."""
    clauses, params = [], []
    for name in FILTERS:
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
        raise web.HTTPBadRequest(text=f"{name} must be an integer") from None
    return max(lo, min(hi, value))


class StoreReader:
    """Read-only queries on one store; a short-lived connection per call (thread-safe).

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
            raise web.HTTPServiceUnavailable(text=str(store_error(exc, self.db))) from None

    def _all(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        conn = self._connect()
        if conn is None:
            return []
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            if "no such table" in str(exc):  # a store being created right now
                return []
            raise web.HTTPServiceUnavailable(text=str(store_error(exc, self.db))) from None
        finally:
            conn.close()

    # -- endpoints ------------------------------------------------------------------------

    def runs(self) -> dict[str, Any]:
        runs = [{**r, "status": _live_status(self.db, r["run_id"], r["status"])}
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
             "finished": r[5], "total": r[6], "judge": r[7] or "markers",
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
        limit = _int(query, "limit", 50, 1, PAGE_MAX)
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
            raise web.HTTPBadRequest(text="need run, probe, condition and sample") from None
        if not 0 <= key[3] <= MAX_SQL_INT:  # SQLite cannot even look for it: no such response
            return None
        rows = self._all(
            f"{_RUNS_CTE} SELECT r.run_id, rr.target, r.probe_id, r.condition, r.sample,"
            f" substr(r.prompt, 1, {FULL_CHARS}), substr(r.text, 1, {FULL_CHARS}), length(r.text),"
            f" substr(r.reasoning, 1, {FULL_CHARS}), r.finish_reason, r.status, r.error, r.model,"
            " r.latency_s, r.cached, r.created, p.data, j.judge, j.rationale, j.evidence, j.extra,"
            f" {_label_sql('j', 'r')}"
            " FROM responses r JOIN rr ON rr.run_id = r.run_id"
            " JOIN probes p ON p.run_id = r.run_id AND p.probe_id = r.probe_id"
            " LEFT JOIN judgements j ON j.run_id = r.run_id AND j.probe_id = r.probe_id"
            " AND j.condition = r.condition AND j.sample = r.sample AND j.judge = rr.judge"
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
        }

    def diff(self, query: Mapping[str, str]) -> dict[str, Any]:
        """Two targets on the same probe × condition × sample, side by side."""
        a, b = query.get("a"), query.get("b")
        if not a or not b:
            raise web.HTTPBadRequest(text="need targets a and b")
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
        limit = _int(query, "limit", 25, 1, PAGE_MAX)
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


# ---------------------------------------------------------------- HTTP


def _live_status(db: Path, run_id: str, status: str) -> str:
    """A 'running' run whose process is gone (killed, or set-up failed) is 'stopped', not live."""
    return "stopped" if status == "running" and not run_is_live(db, run_id) else status


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=blob_json(data), status=status, content_type="application/json",
                        headers={"Cache-Control": "no-store"})


def _asset(name: str) -> str:
    return resources.files("latentwall.report").joinpath("assets", name).read_text("utf-8")


def make_app(db: Path, allowed_hosts: Callable[[], set[str]]) -> web.Application:
    """The aiohttp application over one store; `allowed_hosts` gives the valid Host headers."""
    reader = StoreReader(db)

    @web.middleware
    async def guard(request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        if request.host not in allowed_hosts():
            return web.Response(status=403, text="forbidden host")
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405, text="read-only")
        try:
            resp = await handler(request)
        except web.HTTPException as exc:
            resp = exc
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        resp.headers["X-Frame-Options"] = "DENY"
        return resp

    def api(fn: Callable[[Mapping[str, str]], Any]) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            data = await asyncio.to_thread(fn, dict(request.query))
            if data is None:
                return _json({"error": "not found"}, status=404)
            return _json(data)

        return handler

    page = _asset("viewer.html")
    assets = {
        "viewer.js": ("application/javascript", _asset("viewer.js")),
        "viewer.css": ("text/css", _asset("report.css") + "\n" + _asset("viewer.css")),
    }

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-store"})

    async def asset(request: web.Request) -> web.Response:
        found = assets.get(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound()
        return web.Response(text=found[1], content_type=found[0], charset="utf-8")

    app = web.Application(middlewares=[guard])
    app.router.add_get("/", index)
    app.router.add_get("/assets/{name}", asset)
    app.router.add_get("/api/runs", api(lambda q: reader.runs()))
    app.router.add_get("/api/facets", api(reader.facets))
    app.router.add_get("/api/heatmap", api(reader.heatmap))
    app.router.add_get("/api/responses", api(reader.responses))
    app.router.add_get("/api/response", api(reader.response))
    app.router.add_get("/api/diff", api(reader.diff))
    return app


def _db_path(run_dir: str | Path) -> Path:
    p = Path(run_dir)
    if p.suffix == ".db" or p.is_file():
        return p
    if p.exists() and not p.is_dir():
        raise ConfigError(f"{p} is neither a run directory nor a .db file")
    return p / DB_NAME


def _check_host(host: str) -> None:
    if host not in LOOPBACK:
        raise ConfigError(f"the viewer serves loopback only (127.0.0.1, ::1, localhost), not {host}:"
                          " it has no authentication and shows raw model output")


@dataclass
class Viewer:
    """A viewer running on its own thread (tests, benches, embedding)."""

    url: str
    port: int
    _loop: asyncio.AbstractEventLoop
    _runner: web.AppRunner
    _thread: threading.Thread

    def stop(self) -> None:
        fut = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
        fut.result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> Viewer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _start(db: Path, host: str, port: int) -> tuple[web.AppRunner, int]:
    bound: list[int] = []

    def allowed() -> set[str]:
        p = bound[0] if bound else port
        return {f"127.0.0.1:{p}", f"localhost:{p}", f"[::1]:{p}"}

    runner = web.AppRunner(make_app(db, allowed), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    addresses = runner.addresses
    bound.append(int(addresses[0][1]) if addresses else port)
    return runner, bound[0]


def _url(host: str, port: int) -> str:
    shown = "[::1]" if host == "::1" else host
    return f"http://{shown}:{port}/"


def start_viewer(run_dir: str | Path, host: str = "127.0.0.1", port: int = 0) -> Viewer:
    """Start the viewer on a background thread and return once it accepts connections."""
    _check_host(host)
    db = _db_path(run_dir)
    loop = asyncio.new_event_loop()
    started: dict[str, Any] = {}
    ready = threading.Event()

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            started["runner"], started["port"] = loop.run_until_complete(_start(db, host, port))
        except BaseException as exc:
            started["error"] = exc
            ready.set()
            return
        ready.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=main, name="latentwall-viewer", daemon=True)
    thread.start()
    ready.wait(30)
    if "error" in started:
        raise ConfigError(f"cannot serve on {host}:{port}: {started['error']}")
    return Viewer(_url(host, started["port"]), started["port"], loop, started["runner"], thread)


def serve_viewer(
    run_dir: str | Path,
    host: str = "127.0.0.1",
    port: int = 0,
    open_browser: bool = False,
    *,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the run directory (or .db) until Ctrl-C; port 0 picks a free port.

    `on_ready(url)` is called once listening (default: print the URL on stderr).
    """
    _check_host(host)
    db = _db_path(run_dir)

    async def main() -> None:
        try:
            runner, bound = await _start(db, host, port)
        except OSError as exc:
            raise ConfigError(f"cannot serve on {host}:{port}: {exc.strerror}") from None
        url = _url(host, bound)
        if on_ready is not None:
            on_ready(url)
        else:
            print(f"latentwall viewer on {url} (store {db}); Ctrl-C to stop", file=sys.stderr,
                  flush=True)
        if open_browser:
            webbrowser.open(url)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":  # python -m latentwall.report._viewer RUN_DIR [PORT] (benches)
    serve_viewer(sys.argv[1], port=int(sys.argv[2]) if len(sys.argv) > 2 else 0,
                 on_ready=lambda url: print(url, flush=True))
