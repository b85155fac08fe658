"""Issue 17, point 7: a damaged store is reported in one line with the file and the way out,
never silently started over; read-only commands open the store read-only, so an archived,
read-only run directory still reports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from _helpers import cli_env, make_suite, one_line_error, run_cli
from latentwall.store import Store, StoreError
from latentwall.testing import write_synthetic_run


@pytest.fixture()
def run_dir(tmp_path):
    d = tmp_path / "runs"
    with Store.open(d) as store:
        write_synthetic_run(store, "r1", "m", 300, status="finished")
    return d


@pytest.fixture()
def env(tmp_path, run_dir):
    root = tmp_path / "suites"
    make_suite(root, "mini", 3)
    return cli_env(LATENTWALL_SUITES=str(root), LATENTWALL_RUN_DIR=str(run_dir))


COMMANDS = [("runs",), ("summary",), ("report", "-o", "{tmp}/r.html"), ("export", "-o", "{tmp}/x.jsonl"),
            ("analyse",), ("run", "-t", "replay:{tmp}/none.jsonl", "-s", "mini")]


def _damage(db, how: str) -> None:
    if how == "truncated":
        size = db.stat().st_size
        with open(db, "r+b") as fh:
            fh.truncate(size * 4 // 10)
    else:
        db.write_bytes(os.urandom(200_000))


@pytest.mark.parametrize("how", ["truncated", "overwritten"])
def test_a_damaged_store_says_so_in_one_line(run_dir, env, tmp_path, how):
    (tmp_path / "none.jsonl").write_text('{"probe_id": "x", "response": "y"}\n', encoding="utf-8")
    db = run_dir / "latentwall.db"
    _damage(db, how)
    before = db.read_bytes()
    for cmd in COMMANDS:
        line = one_line_error(run_cli(*(a.format(tmp=tmp_path) for a in cmd), env=env))
        assert line.startswith(f"latentwall: error: store damaged: {db}"), (cmd, line)
        assert ".recover" in line and "backup" in line, line
    assert db.read_bytes() == before  # nothing was changed
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "x.jsonl").exists()


def test_the_viewer_says_a_store_is_damaged(run_dir):
    import http.client

    from latentwall.report import start_viewer

    _damage(run_dir / "latentwall.db", "overwritten")
    with start_viewer(run_dir) as v:
        conn = http.client.HTTPConnection("127.0.0.1", v.port, timeout=20)
        conn.request("GET", "/api/runs")
        resp = conn.getresponse()
        assert resp.status == 503 and b"store damaged" in resp.read()
        conn.close()


def test_an_emptied_store_is_never_started_over(run_dir, env, tmp_path):
    (tmp_path / "none.jsonl").write_text('{"probe_id": "x", "response": "y"}\n', encoding="utf-8")
    db = run_dir / "latentwall.db"
    db.write_bytes(b"")
    for cmd in COMMANDS:
        line = one_line_error(run_cli(*(a.format(tmp=tmp_path) for a in cmd), env=env))
        assert "is empty (0 bytes)" in line and "not started over" in line, line
    assert db.stat().st_size == 0
    with pytest.raises(StoreError, match="empty"):
        Store.open(run_dir)


def test_a_new_store_is_made_whole_or_not_at_all(tmp_path):
    with Store.open(tmp_path / "fresh") as store:
        assert store.list_runs() == []
    assert sorted(p.name for p in (tmp_path / "fresh").iterdir() if not p.name.startswith("latentwall.db")) == []
    with pytest.raises(StoreError, match="no store"):
        Store.open(tmp_path / "absent", readonly=True)
    assert not (tmp_path / "absent").exists()


def test_a_foreign_sqlite_file_is_not_taken_for_a_store(tmp_path):
    import sqlite3

    con = sqlite3.connect(tmp_path / "latentwall.db")
    con.execute("CREATE TABLE other(x)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="not a latentwall store"):
        Store.open(tmp_path)
    with pytest.raises(StoreError, match="not a latentwall store"):
        Store.open(tmp_path, readonly=True).list_runs()


@pytest.fixture()
def read_only_copy(tmp_path, run_dir):
    """The run directory, bind-mounted read-only (an archive): needs root and mount rights."""
    mnt = tmp_path / "archive"
    mnt.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("a read-only mount needs root")
    done = subprocess.run(["mount", "--bind", "-o", "ro", str(run_dir), str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount read-only here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def test_a_read_only_run_directory_still_reports(read_only_copy, env, tmp_path):
    with pytest.raises(OSError):
        (read_only_copy / "probe").write_text("x")
    env = {**env, "LATENTWALL_RUN_DIR": str(read_only_copy)}
    proc = run_cli("runs", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert [r["run_id"] for r in json.loads(proc.stdout)["runs"]] == ["r1"]
    for cmd in (("summary", "--json"), ("report", "-o", str(tmp_path / "r.html")),
                ("export", "-o", str(tmp_path / "x.csv")), ("analyse", "--json")):
        proc = run_cli(*cmd, env=env)
        assert proc.returncode == 0, (cmd, proc.stderr)
    assert (tmp_path / "r.html").stat().st_size > 10_000 and (tmp_path / "x.csv").exists()
    # Writing still fails, in one line.
    for cmd in (("stance",), ("run", "-t", "replay:none.jsonl", "-s", "mini")):
        line = one_line_error(run_cli(*cmd, env=env))
        assert "is its directory read-only?" in line and "damaged" not in line, line
