"""The whole pipeline against a real OpenAI-compatible HTTP server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _helpers import cli_env, popen_cli, run_cli, use_suites
from latentwall.runner import RunConfig, run_audit, run_audit_async
from latentwall.store import Store, StoreError
from latentwall.targets import GenParams, make_target
from latentwall.testing import FakeOpenAIServer


@pytest.fixture()
def suites(tmp_path, monkeypatch):
    return use_suites(tmp_path / "suites", monkeypatch, mini=30, big=400)


def _config(srv: FakeOpenAIServer, run_dir: Path, suite: str = "mini", **kw) -> RunConfig:
    return RunConfig(target=f"openai:fake@{srv.base_url}", suites=[suite], run_dir=run_dir,
                     params=GenParams(max_tokens=64), **kw)


def test_run_judges_and_stores_everything(suites, tmp_path):
    with FakeOpenAIServer() as srv:
        out = run_audit(_config(srv, tmp_path / "runs", samples=2))
        assert out.status == "finished" and out.total == 60 and out.new == 60
        assert srv.request_count == 60
    with Store.open(tmp_path / "runs") as store:
        rows = list(store.iter_results(out.run_id))
    assert len(rows) == 60
    refused = {r.probe_id for r in rows if r.label == "DENIAL"}
    triggered = {r.probe_id for r in rows if "Tiananmen" in str(r.prompt)}
    assert refused == triggered and len(triggered) == 10
    assert all(r.label == "COMPLETE" for r in rows if r.probe_id not in triggered)
    assert all(r.rationale for r in rows)


def test_same_config_resumes_and_cache_is_shared(suites, tmp_path):
    with FakeOpenAIServer() as srv:
        first = run_audit(_config(srv, tmp_path / "runs"))
        again = run_audit(_config(srv, tmp_path / "runs"))
        assert again.run_id == first.run_id and again.new == 0 and again.already_done == 30
        assert srv.request_count == 30
        # A new run of the same target reuses the cached answers instead of asking again.
        other = run_audit(_config(srv, tmp_path / "runs", limit=20))
        assert other.run_id != first.run_id and other.cached == 20 and other.new == 0
        assert srv.request_count == 30
        # --fresh asks everything anew: it takes nothing from the cache.
        fresh = run_audit(_config(srv, tmp_path / "runs", fresh=True))
        assert fresh.run_id != first.run_id and fresh.cached == 0 and fresh.new == 30
        assert srv.request_count == 60


def test_runs_share_a_target_the_caller_built_and_closes(suites, tmp_path):
    """A built target given to the runner serves several runs (one model load for all) and
    is left open: the caller who made it closes it."""
    import asyncio

    closes: list[str] = []

    async def audits(srv: FakeOpenAIServer) -> list[Any]:
        target = make_target(f"openai:fake@{srv.base_url}")
        real_close = target.close

        async def close() -> None:
            closes.append("closed")
            await real_close()

        target.close = close  # type: ignore[method-assign]
        outs = [await run_audit_async(_config(srv, tmp_path / "runs", limit=n), target=target) for n in (10, 25)]
        assert closes == []  # neither run closed it
        await target.close()
        return outs

    with FakeOpenAIServer() as srv:
        first, second = asyncio.run(audits(srv))
        assert first.status == second.status == "finished"
        assert (first.new, second.new, second.cached) == (10, 15, 10) and srv.request_count == 25
    assert closes == ["closed"]
    with Store.open(tmp_path / "runs") as store:
        assert store.get_run(first.run_id)["target"] == f"openai:fake@{srv.base_url}"


def test_errors_are_statuses_and_rerun_retries_them(suites, tmp_path):
    with FakeOpenAIServer(fail_rate_500=1.0) as srv:
        cfg = _config(srv, tmp_path / "runs", target_options={"retries": 1})
        out = run_audit(cfg)
        assert out.status == "incomplete" and out.errors == 30
        with Store.open(tmp_path / "runs") as store:
            labels = {r.label for r in store.iter_results(out.run_id)}
        assert labels == {"ERROR"}  # never a verdict
        srv.config.fail_rate_500 = 0.0
        srv.reset_counts()
        out2 = run_audit(cfg)
        assert out2.status == "finished" and out2.errors == 0 and srv.request_count == 30


def test_empty_and_truncated_answers_are_statuses(suites, tmp_path):
    with FakeOpenAIServer(empty=True) as srv:
        out = run_audit(_config(srv, tmp_path / "a"))
        assert out.counts.get("EMPTY") == 30
    with FakeOpenAIServer(truncate=True) as srv:
        out = run_audit(_config(srv, tmp_path / "b"))
        assert out.counts.get("TRUNCATED") == 30


def test_disk_full_stops_cleanly_and_resumes(suites, tmp_path, monkeypatch):
    real_open = Store.open

    def tiny_open(run_dir):
        store = real_open(run_dir)
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count={pages + 40}")
        return store

    with FakeOpenAIServer() as srv:
        monkeypatch.setattr(Store, "open", staticmethod(tiny_open))
        with pytest.raises(StoreError, match="disk full"):
            run_audit(_config(srv, tmp_path / "runs", suite="big"))
        monkeypatch.setattr(Store, "open", staticmethod(real_open))
        db = sqlite3.connect(tmp_path / "runs" / "latentwall.db")
        kept = db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
        judged = db.execute("SELECT COUNT(*) FROM judgements").fetchone()[0]
        db.close()
        assert kept == judged  # consistent: no response without its judgement
        srv.reset_counts()
        out = run_audit(_config(srv, tmp_path / "runs", suite="big"))
        assert out.status == "finished" and out.already_done == kept
        assert srv.request_count == 400 - kept


def _wait_for_rows(db: Path, n: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.exists():
            try:
                con = sqlite3.connect(db, timeout=1)
                got = con.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
                con.close()
                if got >= n:
                    return got
            except sqlite3.OperationalError:
                pass
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} responses after {timeout}s")


@contextlib.contextmanager
def _big_run_started(suites: Path, run_dir: Path, rows: int) -> Iterator[tuple[Any, ...]]:
    """A CLI run of 400 probes, slow enough to be stopped in the middle, once `rows`
    responses are stored: (server, its arguments, its environment, the process)."""
    env = cli_env(LATENTWALL_SUITES=str(suites))
    with FakeOpenAIServer(latency=0.02) as srv:
        args = ("run", "-t", f"openai:fake@{srv.base_url}", "-s", "big", "--run-dir", str(run_dir),
                "--concurrency", "4", "--max-tokens", "32")
        proc = popen_cli(*args, env=env)
        _wait_for_rows(run_dir / "latentwall.db", rows)
        yield srv, args, env, proc


# SIGTERM and SIGHUP (a service manager, a closed terminal) stop a run as Ctrl-C does.
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_killed_run_resumes_with_nothing_lost_or_recomputed(suites, tmp_path, how):
    run_dir = tmp_path / "runs"
    with _big_run_started(suites, run_dir, 40) as (srv, args, env, proc):
        proc.send_signal(how)
        _, err = proc.communicate(timeout=60)
        con = sqlite3.connect(run_dir / "latentwall.db")
        kept = con.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
        status = con.execute("SELECT status FROM runs").fetchone()[0]
        con.close()
        if how != signal.SIGKILL:
            assert proc.returncode == 128 + how, err
            assert f"interrupted ({how.name}): re-run the same command to resume" in err
            assert "Traceback" not in err and status == "interrupted"
        assert 40 <= kept < 400
        sent_before = srv.request_count
        srv.reset_counts()
        done = run_cli(*args, "--json", env=env)
        assert done.returncode == 0, done.stderr
        doc = json.loads(done.stdout)
        assert doc["outcome"]["status"] == "finished"
        assert doc["outcome"]["already_done"] == kept
        # Nothing finished is recomputed; only requests in flight at the kill are sent again.
        assert srv.request_count == 400 - kept
        assert sent_before - kept <= 8
    con = sqlite3.connect(run_dir / "latentwall.db")
    assert con.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 400
    assert con.execute("SELECT COUNT(DISTINCT probe_id) FROM judgements").fetchone()[0] == 400
    con.close()


def test_two_processes_never_run_the_same_run(suites, tmp_path):
    with _big_run_started(suites, tmp_path / "runs", 10) as (srv, args, env, first):
        second = run_cli(*args, env=env)
        assert second.returncode == 1 and "Traceback" not in second.stderr
        assert f"is being run by another process (pid {first.pid})" in second.stderr
        _, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
        assert srv.request_count == 400  # nothing asked twice
