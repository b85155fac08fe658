"""Issue 17, points 3 and 6: an answer that is not text is an ERROR with the reason, never a
verdict; an answer larger than the cap is not read; and each answer is stored once."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from _helpers import cli_env, run_cli, use_suites
from latentwall.runner import RunConfig, run_audit
from latentwall.store import Store
from latentwall.targets import GenParams, Request, make_target
from latentwall.testing import FakeOpenAIServer


@pytest.fixture()
def suites(tmp_path, monkeypatch):
    return use_suites(tmp_path / "suites", monkeypatch, mini=9)


def _ask(srv: FakeOpenAIServer, **options):
    async def go():
        target = make_target(f"openai:fake@{srv.base_url}", backoff=0.01, **options)
        await target.start()
        try:
            return (await target.generate([Request(({"role": "user", "content": "What is 2+2?"},))]))[0]
        finally:
            await target.close()

    return asyncio.run(go())


@pytest.mark.parametrize(("content", "why"), [
    ("object", "content is a JSON object, not text"),
    ("number", "content is a number, not text"),
    ("bad-parts", "content part 0 has text that is a JSON object"),
])
def test_content_that_is_not_text_is_an_error(content, why):
    with FakeOpenAIServer(content=content) as srv:
        resp = _ask(srv)
    assert resp.status == "ERROR" and resp.text == ""
    assert resp.error == f"malformed response: {why}"


def test_content_parts_are_joined_and_non_text_parts_skipped():
    with FakeOpenAIServer(content="parts") as srv:
        resp = _ask(srv)
    with FakeOpenAIServer() as plain:
        whole = _ask(plain)
    assert resp.status is None and resp.text == whole.text
    assert resp.text.startswith("Here is a short answer about")


def test_a_run_on_non_text_content_has_no_verdicts(suites, tmp_path):
    with FakeOpenAIServer(content="object") as srv:
        out = run_audit(RunConfig(target=f"openai:fake@{srv.base_url}", suites=["mini"],
                                  run_dir=tmp_path / "runs", target_options={"retries": 0}))
    assert out.status == "incomplete" and out.errors == 9
    assert out.counts.get("ERROR") == 9
    assert not {"COMPLETE", "EVASIVE", "DENIAL"} & set(out.counts)


def test_an_answer_over_the_cap_is_an_error_and_is_not_read():
    with FakeOpenAIServer(answer_bytes=3 << 20) as srv:
        resp = _ask(srv, max_response_bytes=1 << 20)
        assert resp.status == "ERROR"
        assert resp.error == ("response body larger than 1 MiB (max_response_bytes, --max-response-mb): "
                              "not read")
        assert _ask(srv).status is None  # under the default cap (4 MiB) it is an answer
    with FakeOpenAIServer(answer_bytes=5 << 20) as srv:
        assert _ask(srv).status == "ERROR"  # over the default cap


def test_max_response_mb_on_the_command_line(suites, tmp_path):
    env = cli_env(LATENTWALL_SUITES=str(suites), LATENTWALL_RUN_DIR=str(tmp_path / "runs"))
    with FakeOpenAIServer(answer_bytes=2 << 20) as srv:
        args = ("run", "-t", f"openai:fake@{srv.base_url}", "-s", "mini", "--retries", "0")
        proc = run_cli(*args, "--max-response-mb", "1", env=env)
        assert proc.returncode == 3, proc.stderr  # finished, with requests left in ERROR
        assert "9 requests ended in ERROR" in proc.stderr
        # A larger cap is a pace option: the same run resumes and asks the ERROR rows again.
        proc = run_cli(*args, "--max-response-mb", "3", env=env)
        assert proc.returncode == 0, proc.stderr
        for bad in ("0", "inf", "nan", "-1"):
            proc = run_cli(*args, "--max-response-mb", bad, env=env)
            assert proc.returncode == 1 and "--max-response-mb must be between" in proc.stderr


def _db_bytes(run_dir: Path) -> int:
    return sum(p.stat().st_size for p in run_dir.iterdir() if p.name.startswith("latentwall.db"))


def test_each_answer_is_stored_once(suites, tmp_path):
    with FakeOpenAIServer(answer_bytes=200_000) as srv:
        out = run_audit(RunConfig(target=f"openai:fake@{srv.base_url}", suites=["mini"],
                                  run_dir=tmp_path / "runs", params=GenParams(max_tokens=64)))
        assert out.status == "finished"
        con = sqlite3.connect(tmp_path / "runs" / "latentwall.db")
        in_responses = con.execute("SELECT SUM(LENGTH(text)) FROM responses").fetchone()[0]
        in_cache = con.execute("SELECT SUM(LENGTH(text)), COUNT(*) FROM cache").fetchone()
        con.close()
        assert in_responses >= 9 * 199_000 and in_cache == (0, 9)
        assert _db_bytes(tmp_path / "runs") < 1.3 * in_responses
        # The cache still serves the whole answer, read from the row that holds it.
        other = run_audit(RunConfig(target=f"openai:fake@{srv.base_url}", suites=["mini"], limit=5,
                                    run_dir=tmp_path / "runs", params=GenParams(max_tokens=64)))
        assert other.cached == 5 and other.new == 0
    with Store.open(tmp_path / "runs", readonly=True) as store:
        first = {r.probe_id: r.text for r in store.iter_results(out.run_id)}
        again = {r.probe_id: r.text for r in store.iter_results(other.run_id)}
    assert again == {k: first[k] for k in again} and all(len(t) > 199_000 for t in again.values())
