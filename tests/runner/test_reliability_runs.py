"""Issue 17, point 9: a failed set-up leaves no phantom run; a killed run is not shown as
live; transient answers do not come from the cache; absurd option values and URL schemes
are refused; the progress line cannot be used to drive the terminal; the viewer answers
absurd sample numbers. (SIGTERM/SIGHUP and two processes on one run: test_pipeline.py;
--fresh: test_pipeline.py::test_same_config_resumes_and_cache_is_shared.)"""

from __future__ import annotations

import http.client
import io
import json
import sqlite3
from pathlib import Path

import pytest
from rich.console import Console

from _helpers import cli_env, run_cli, use_suites
from latentwall.errors import ConfigError
from latentwall.report import start_viewer
from latentwall.runner import PlainProgress, RichProgress, RunConfig, run_audit
from latentwall.store import Store
from latentwall.targets import GenParams, make_target
from latentwall.testing import FakeOpenAIServer, write_synthetic_run


@pytest.fixture()
def suites(tmp_path, monkeypatch):
    return use_suites(tmp_path / "suites", monkeypatch, mini=12)


def _status(db: Path) -> list[tuple[str, str]]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT run_id, status FROM runs").fetchall()
    finally:
        con.close()


def test_a_failed_set_up_leaves_no_phantom_run(suites, tmp_path):
    env = cli_env(LATENTWALL_SUITES=str(suites), LATENTWALL_RUN_DIR=str(tmp_path / "runs"))
    with FakeOpenAIServer() as srv:
        url = srv.base_url
    proc = run_cli("run", "-t", f"openai:fake@{url}", "-s", "mini", env=env)  # nobody listens now
    assert proc.returncode == 1 and "cannot reach" in proc.stderr
    assert _status(tmp_path / "runs" / "latentwall.db") == []
    proc = run_cli("run", "-t", "openai:fake@http://127.0.0.1:9/v1", "-s", "mini", "-O", "bogus=1", env=env)
    assert proc.returncode == 1 and _status(tmp_path / "runs" / "latentwall.db") == []
    # A run that had answers keeps them, and its status, when a later set-up fails.
    with FakeOpenAIServer(fail_rate_500=1.0) as srv:
        args = ("run", "-t", f"openai:fake@{srv.base_url}", "-s", "mini", "--retries", "0")
        assert run_cli(*args, env=env).returncode == 3
    assert [s for _, s in _status(tmp_path / "runs" / "latentwall.db")] == ["incomplete"]
    assert run_cli(*args, env=env).returncode == 1  # the server is gone now
    assert [s for _, s in _status(tmp_path / "runs" / "latentwall.db")] == ["incomplete"]


def test_the_viewer_does_not_call_a_killed_run_live(tmp_path):
    with Store.open(tmp_path) as store:
        write_synthetic_run(store, "r", "m", 5, status="running")  # as kill -9 leaves it
    with start_viewer(tmp_path) as v:
        conn = http.client.HTTPConnection("127.0.0.1", v.port, timeout=20)
        conn.request("GET", "/api/runs")
        runs = json.loads(conn.getresponse().read())
        conn.close()
    assert runs["live"] is False and runs["runs"][0]["status"] == "stopped"


def _config(srv: FakeOpenAIServer, run_dir: Path, **kw) -> RunConfig:
    return RunConfig(target=f"openai:fake@{srv.base_url}", suites=["mini"], run_dir=run_dir,
                     params=GenParams(max_tokens=64), **kw)


@pytest.mark.parametrize("fault", ["empty", "truncate"])
def test_empty_and_truncated_answers_are_not_cached_for_good(suites, tmp_path, fault):
    with FakeOpenAIServer(**{fault: True}) as srv:
        first = run_audit(_config(srv, tmp_path))
        assert first.counts.get("EMPTY" if fault == "empty" else "TRUNCATED") == 12
        setattr(srv.config, fault, False)  # the server recovers
        srv.reset_counts()
        other = run_audit(_config(srv, tmp_path, limit=6))  # another run of the same target
        assert other.cached == 0 and other.new == 6 and srv.request_count == 6
        assert other.counts.get("COMPLETE", 0) + other.counts.get("DENIAL", 0) == 6
        # ... while normal answers are reused, and the first run's statuses stay as they were.
        again = run_audit(_config(srv, tmp_path, limit=3))
        assert again.cached == 3 and again.new == 0


@pytest.mark.parametrize(("flag", "value"), [
    ("--timeout", "inf"), ("--timeout", "nan"), ("--timeout", "0"), ("--concurrency", "1000000"),
    ("--concurrency", "0"), ("--retries", "-1"), ("--retries", "1000"), ("--batch-size", "0"),
])
def test_absurd_option_values_are_refused(suites, tmp_path, flag, value):
    env = cli_env(LATENTWALL_SUITES=str(suites), LATENTWALL_RUN_DIR=str(tmp_path / "runs"))
    proc = run_cli("run", "-t", "openai:fake@http://127.0.0.1:9/v1", "-s", "mini", flag, value, env=env)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{flag} must be between" in proc.stderr
    assert not (tmp_path / "runs" / "latentwall.db").exists() or _status(tmp_path / "runs" / "latentwall.db") == []


def test_absurd_target_options_are_refused():
    for opts in ({"concurrency": 1_000_000}, {"concurrency": "1e6"}, {"timeout": float("inf")},
                 {"timeout": "nan"}, {"retries": 2.5}, {"max_response_bytes": 10}, {"backoff": -1}):
        with pytest.raises(ConfigError, match="openai target: "):
            make_target("openai:m@http://127.0.0.1:9/v1", **opts)


@pytest.mark.parametrize("url", ["ftp://example.com/v1", "file:///etc/passwd", "gopher://h:70/1",
                                 "FTP://user:pw@h/v1"])
def test_non_http_urls_are_refused(url):
    with pytest.raises(ConfigError, match="needs an http:// or https:// URL"):
        make_target(f"openai:model@{url}")


HOSTILE = "evil\x1b]0;pwned\x07\x1b[2J\x1b]8;;http://x.example\x1b\\link\x1b]8;;\x1b\\[bold red]x[/]\x9b31m"


def test_the_progress_line_shows_a_hostile_name_inert():
    buf = io.StringIO()
    plain = PlainProgress(stream=buf)
    plain.start(2, 0, HOSTILE)
    plain.note("note \x1b[31mred")
    plain.advance(2)
    out = buf.getvalue()
    assert "\x1b" not in out and "\x9b" not in out and "\x07" not in out
    assert out.startswith("evillink[bold red]x[/]: 2/2")

    buf = io.StringIO()
    rich = RichProgress(Console(file=buf, force_terminal=True, width=200, color_system=None))
    rich.start(2, 0, HOSTILE)
    rich.advance(2)
    rich.stop()
    out = buf.getvalue()
    for seq in ("\x1b]0;", "\x1b[2J", "\x1b]8;", "\x9b", "\x07"):
        assert seq not in out, repr(seq)
    assert "evillink[bold red]x[/]" in out  # markup shown as text, not applied


def test_the_cli_progress_line_is_clean(suites, tmp_path):
    env = cli_env(LATENTWALL_SUITES=str(suites), LATENTWALL_RUN_DIR=str(tmp_path / "runs"))
    with FakeOpenAIServer() as srv:
        proc = run_cli("run", "-t", f"openai:{HOSTILE}@{srv.base_url}", "-s", "mini", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stderr and "\x9b" not in proc.stderr and "evillink" in proc.stderr


def test_the_viewer_answers_any_sample_number(tmp_path):
    with Store.open(tmp_path) as store:
        write_synthetic_run(store, "r", "m", 3, status="finished")
        pid = store.conn.execute("SELECT probe_id FROM responses LIMIT 1").fetchone()[0]
    with start_viewer(tmp_path) as v:
        for sample, want in (("0", 200), ("100000000000000000000000", 404), ("-99999999999999999999999", 404),
                             ("1e23", 400), ("9" * 5000, 400)):
            conn = http.client.HTTPConnection("127.0.0.1", v.port, timeout=20)
            conn.request("GET", f"/api/response?run=r&probe={pid}&condition=&sample={sample}")
            assert conn.getresponse().status == want, sample
            conn.close()
