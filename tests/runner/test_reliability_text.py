"""Issue 17, point 1: one answer never stops an audit. Text from outside (a server, a file)
is made valid where it comes in and the row says so; a row the store still cannot take is
stored as ERROR with the reason, and the run goes on."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from _helpers import cli_env, run_cli, use_suites, write_jsonl
from latentwall.judges import Judgement
from latentwall.runner import RunConfig, run_audit
from latentwall.store import ResultRecord, Store
from latentwall.suites import Probe
from latentwall.targets import GenParams, Request, Response, Target, register_target
from latentwall.testing import FakeOpenAIServer

SURROGATE_NOTE = "2 invalid characters (lone surrogates) replaced with U+FFFD in text"


@pytest.fixture()
def suites(tmp_path, monkeypatch):
    return use_suites(tmp_path / "suites", monkeypatch, mini=12)


def _config(target: str, run_dir: Path, **kw) -> RunConfig:
    return RunConfig(target=target, suites=["mini"], run_dir=run_dir, params=GenParams(max_tokens=64), **kw)


def test_lone_surrogates_from_a_server_are_replaced_noted_and_the_run_finishes(suites, tmp_path):
    with FakeOpenAIServer(content="lone-surrogate") as srv:
        out = run_audit(_config(f"openai:fake@{srv.base_url}", tmp_path / "runs"))
        assert out.status == "finished" and out.errors == 0 and out.new == 12
        srv.reset_counts()
        again = run_audit(_config(f"openai:fake@{srv.base_url}", tmp_path / "runs"))
        assert again.status == "finished" and srv.request_count == 0  # progress is kept
    with Store.open(tmp_path / "runs", readonly=True) as store:
        rows = list(store.iter_results(out.run_id))
    assert len(rows) == 12
    for r in rows:
        assert str(r.text).endswith(" \ufffd \ufffd") and list(r.notes) == [SURROGATE_NOTE]
        assert r.label in ("COMPLETE", "DENIAL")  # judged on the repaired text


def test_the_cli_run_exits_0_without_a_traceback(suites, tmp_path):
    env = cli_env(LATENTWALL_SUITES=str(suites), LATENTWALL_RUN_DIR=str(tmp_path / "runs"))
    with FakeOpenAIServer(content="lone-surrogate") as srv:
        proc = run_cli("run", "-t", f"openai:fake@{srv.base_url}", "-s", "mini", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    out = tmp_path / "out.jsonl"
    proc = run_cli("export", "-o", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 12 and all(r["notes"] == [SURROGATE_NOTE] for r in rows)


def _probe(i: int) -> Probe:
    return Probe(id=f"s/p{i}/en", suite="s", text=f"question {i}", language="en", topic="t",
                 category="benign", kind="factual", group=f"s/p{i}", expected={"open": "answer"})


def _record(i: int, text: str = "fine") -> ResultRecord:
    return ResultRecord("r1", f"s/p{i}/en", "", 0, f"key{i}", f"question {i}", Response(text=text, model="m"),
                        Judgement("COMPLETE", "because"), "markers")


def test_a_row_the_store_cannot_take_is_stored_as_error_and_its_batch_is_kept(tmp_path):
    with Store.open(tmp_path) as store:
        store.create_run("r1", "t", {"judge": "markers", "suites": ["s"]})
        store.add_probes("r1", [(i, _probe(i)) for i in range(4)])
        records = [_record(i) for i in range(4)]
        records[1].response.text = "made valid, then broken \ud800"  # behind the boundary's back
        records[2].response.text = None  # a target bug: no text at all
        records[3].judgement = Judgement("COMPLETE", "because", (), extra={"x": object()})
        assert store.write_results(records) == 3
        rows = {r.probe_id: r for r in store.iter_results("r1")}
        assert rows["s/p0/en"].text == "fine" and rows["s/p0/en"].label == "COMPLETE"
        for pid in ("s/p1/en", "s/p2/en", "s/p3/en"):
            assert rows[pid].status == "ERROR" and rows[pid].label == "ERROR"
            assert str(rows[pid].error).startswith("answer could not be stored")
        # ERROR rows are asked again by a re-run, and never cached.
        assert store.done_keys("r1", [f"s/p{i}/en" for i in range(4)]) == {("s/p0/en", "", 0)}
        assert set(store.cache_get(["key0", "key1", "key2", "key3"])) == {"key0"}


@register_target("test-unstorable")
class _UnstorableTarget(Target):
    """A plugin that breaks its responses after creation: every third one cannot be stored."""

    kind = "test-unstorable"
    batch_size = 4

    async def generate(self, batch: Sequence[Request]) -> list[Response]:
        out = []
        for req in batch:
            resp = Response(text=f"Here is an answer about {req.prompt}", model="plugin")
            if int(req.probe_id.split("/q")[1][:5]) % 3 == 1:
                resp.text = "broken \udfff"
            out.append(resp)
        return out


def test_no_row_stops_a_run_even_from_a_target_plugin(suites, tmp_path):
    out = run_audit(_config("test-unstorable:", tmp_path / "runs"))
    assert out.status == "incomplete" and out.errors == 4 and out.new == 12
    with Store.open(tmp_path / "runs", readonly=True) as store:
        labels = [r.label for r in store.iter_results(out.run_id)]
    assert labels.count("ERROR") == 4 and len(labels) == 12


def test_judge_and_import_suite_take_lone_surrogates(tmp_path):
    env = cli_env()
    src = tmp_path / "in.jsonl"
    src.write_text('{"prompt": "Tell me \\ud800 about it", "response": "I can\'t help \\udfff with that."}\n'
                   '{"prompt": "hi", "response": "Hello! How can I help?"}\n', encoding="utf-8")
    proc = run_cli("judge", str(src), "-o", str(tmp_path / "out.jsonl"), env=env)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rows[0]["prompt"] == "Tell me \ufffd about it" and rows[0]["label"] == "DENIAL"
    assert rows[0]["notes"] == ["2 invalid characters (lone surrogates) replaced with U+FFFD"]
    assert "notes" not in rows[1]

    data = write_jsonl(tmp_path / "set.jsonl", [{"q": "first"}, {"q": "second"}])
    data.write_text(data.read_text(encoding="utf-8").replace("second", "sec\\ud83dond"), encoding="utf-8")
    proc = run_cli("import-suite", str(data), "--name", "odd", "--map", "text=q", "--set", "language=en",
                   "--set", "category=benign", "--set", "expected.open=answer",
                   "--dest", str(tmp_path / "suites"), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "1 row(s) had invalid characters" in proc.stderr
    probes = (tmp_path / "suites" / "odd" / "probes.jsonl").read_text(encoding="utf-8")
    assert "sec\ufffdond" in probes
