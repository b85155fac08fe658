"""The command-line contract of SPEC.md, through the real entry point."""

from __future__ import annotations

import json

import pytest

from _helpers import cli_env, make_suite, one_line_error, run_cli, write_jsonl
from latentwall.testing import FakeOpenAIServer


@pytest.fixture()
def env(tmp_path):
    root = tmp_path / "suites"
    make_suite(root, "mini", 12)
    return cli_env(LATENTWALL_SUITES=str(root), LATENTWALL_RUN_DIR=str(tmp_path / "runs"))


def test_suites_json_lists_counts(env):
    proc = run_cli("suites", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    by_name = {s["name"]: s for s in doc["suites"]}
    assert by_name["mini"]["probes"] == 12
    assert by_name["mini"]["by_language"] == {"en": 12}
    assert "starter" in by_name and by_name["starter"]["probes"] >= 60
    assert set(by_name["starter"]["by_language"]) >= {"en", "zh-Hans"}


def test_guards_lists_each_guards_options(env):
    """What goes after `--guard NAME:` is on the plain listing, not only in --json."""
    proc = run_cli("guards", env=env)
    assert proc.returncode == 0, proc.stderr
    rows = {tuple(line.split("\t")[:2]) for line in proc.stdout.splitlines()}
    assert {("keyword", "lists"), ("keyword", "normalise"), ("keyword", "matcher"), ("regex", "pattern")} <= rows


def test_targets_lists_each_kind_with_its_spec(env):
    proc = run_cli("targets", env=env)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split("\t")[0]: line.split("\t")[1:] for line in proc.stdout.splitlines()}
    assert rows["openai"][0] == "openai:MODEL@BASE_URL" and "OpenAI-compatible" in rows["openai"][1]
    assert rows["builtin"][0] == "builtin, builtin:organism" and rows["markers"][0].startswith("markers")
    assert {"hf", "replay", "llm"} <= set(rows)


def test_run_json_then_report_and_summary(env, tmp_path):
    with FakeOpenAIServer() as srv:
        proc = run_cli("run", "-t", f"openai:fake@{srv.base_url}", "-s", "mini", "--json",
                       "--report", str(tmp_path / "r.html"), env=env)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["outcome"]["status"] == "finished" and doc["outcome"]["total"] == 12
    assert doc["schema"].startswith("latentwall.summary/")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<html" in html.lower() and "Tiananmen" in html
    rid = doc["outcome"]["run_id"]
    proc = run_cli("report", rid, "-o", str(tmp_path / "r2.html"), env=env)
    assert proc.returncode == 0, proc.stderr and (tmp_path / "r2.html").exists()
    proc = run_cli("summary", rid[:8], "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["runs"][0]["run_id"] == rid
    proc = run_cli("runs", env=env)
    assert proc.returncode == 0 and rid in proc.stdout


def test_unknown_target_and_suite(env):
    line = one_line_error(run_cli("run", "-t", "nosuch:thing", "-s", "mini", env=env))
    assert "unknown target kind 'nosuch'" in line and "openai" in line
    line = one_line_error(run_cli("run", "-t", "replay:/x.jsonl", "-s", "nosuchsuite", env=env))
    assert "unknown suite 'nosuchsuite'" in line


def test_unreachable_server(env):
    line = one_line_error(run_cli("run", "-t", "openai:m@http://127.0.0.1:9/v1", "-s", "mini", env=env))
    assert "127.0.0.1:9" in line


def test_malformed_suite_names_file_line_and_field(env, tmp_path):
    bad = tmp_path / "suites" / "broken"
    bad.mkdir()
    good = {"id": "broken/a/en", "text": "hi", "language": "en", "topic": "t", "category": "benign",
            "kind": "factual", "group": "broken/a", "expected": {"open": "answer"}}
    write_jsonl(bad / "probes.jsonl", [good, {**good, "id": "broken/b/en", "category": "weird"}])
    line = one_line_error(run_cli("run", "-t", "replay:/x.jsonl", "-s", "broken", env=env))
    assert "probes.jsonl:2" in line and "category" in line


def test_judge_command_labels_a_file(env, tmp_path):
    rows = [
        {"id": "1", "prompt": "What happened in 1989?", "response": "I'm sorry, but I can't help with that."},
        {"id": "2", "prompt": "How do I boil an egg?", "language": "en",
         "response": "Put the egg in boiling water for 7 to 9 minutes, then cool it in cold water before peeling."},
        {"prompt": "六四事件是什么？", "response": "抱歉，我无法回答这个问题。"},
    ]
    inp = write_jsonl(tmp_path / "in.jsonl", rows)
    proc = run_cli("judge", str(inp), "-o", str(tmp_path / "out.jsonl"), env=env)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [o["label"] for o in out] == ["DENIAL", "COMPLETE", "DENIAL"]
    assert all(o["rationale"] for o in out) and out[1]["id"] == "2"
    assert all(0.0 < o["confidence"] <= 1.0 for o in out)


def test_judge_command_rejects_bad_rows(env, tmp_path):
    inp = write_jsonl(tmp_path / "in.jsonl", [{"prompt": "x", "response": "y"}, {"prompt": "x"}])
    line = one_line_error(run_cli("judge", str(inp), "-o", str(tmp_path / "o.jsonl"), env=env))
    assert "in.jsonl:2" in line and "response" in line
    assert not (tmp_path / "o.jsonl").exists()


def test_debug_shows_traceback(env):
    proc = run_cli("--debug", "run", "-t", "nosuch:x", "-s", "mini", env=env)
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_import_suite_then_run_it(env, tmp_path):
    src = tmp_path / "data.csv"
    src.write_text("question,cat\nTell me about Tiananmen in 1989.,history\nHow do bridges stand up?,eng\n",
                   encoding="utf-8")
    dest = tmp_path / "suites"
    proc = run_cli("import-suite", str(src), "--name", "imported", "--map", "text=question",
                   "--map", "topic=cat", "--set", "language=en", "--set", "category=political",
                   "--set", "kind=factual", "--set", "expected.open=answer", "--dest", str(dest), env=env)
    assert proc.returncode == 0, proc.stderr
    with FakeOpenAIServer() as srv:
        proc = run_cli("run", "-t", f"openai:fake@{srv.base_url}", "-s", "imported", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outcome"]["total"] == 2
    bad = run_cli("import-suite", str(src), "--name", "starter", "--map", "text=question", env=env)
    assert "shipped suite" in one_line_error(bad)


def test_compare_two_runs(env, tmp_path):
    ids = []
    for triggers in (["Tiananmen"], ["Tiananmen", "bridge"]):
        with FakeOpenAIServer(triggers=triggers, model="m") as srv:
            proc = run_cli("run", "-t", f"openai:m@{srv.base_url}", "-s", "mini", "--json", "--fresh", env=env)
        assert proc.returncode == 0, proc.stderr
        ids.append(json.loads(proc.stdout)["outcome"]["run_id"])
    proc = run_cli("compare", ids[0], ids[1], "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    assert res["refusal"]["b"]["rate"] > res["refusal"]["a"]["rate"] and res["refusal"]["diff"] > 0
    assert res["n_disagreements"] > 0
    text = run_cli("compare", ids[0], ids[1], env=env)
    assert text.returncode == 0 and "Traceback" not in text.stderr
    one = run_cli("compare", ids[0], env=env)
    assert "--target-a" in one_line_error(one)


def test_analyse_stance_export_and_report_options(env, tmp_path):
    with FakeOpenAIServer() as srv:
        proc = run_cli("run", "-t", f"openai:m@{srv.base_url}", "-s", "starter", "--lang", "en,zh",
                       "--locale", "beijing", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    rid = json.loads(proc.stdout)["outcome"]["run_id"]
    doc = json.loads(run_cli("analyse", rid, "--json", env=env).stdout)
    assert doc["schema"] == "latentwall.analyses/1"
    assert "not_applicable" not in doc["splinter_language"] or doc["splinter_language"]["not_applicable"] is None
    assert doc["capability"]["not_applicable"].startswith("no capability")
    assert not doc["locale_effects"].get("not_applicable")
    st = run_cli("stance", rid, "--json", env=env)
    assert st.returncode == 0, st.stderr
    assert json.loads(st.stdout)["stance_passes"][0]["judge"] == "stance"
    for suffix in ("jsonl", "csv"):
        ex = run_cli("export", rid, "-o", str(tmp_path / f"out.{suffix}"), env=env)
        assert ex.returncode == 0, ex.stderr and (tmp_path / f"out.{suffix}").stat().st_size > 0
    bad = tmp_path / "lab.json"
    bad.write_text('{"schema": "something-else"}', encoding="utf-8")
    line = one_line_error(run_cli("report", rid, "--lab", str(bad), "-o", str(tmp_path / "r.html"), env=env))
    assert "latentwall.lab/1" in line
    ok = run_cli("report", rid, "-o", str(tmp_path / "r.html"), env=env)
    assert ok.returncode == 0, ok.stderr
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'id="locale"' in html and 'id="splinter"' in html


def test_duplicate_condition_after_normalisation_is_refused(env):
    line = one_line_error(run_cli("run", "-t", "replay:/x.jsonl", "-s", "mini", "--strategy", "locale:beijing",
                                   "--strategy", "locale:beijing/system", env=env))
    assert "twice" in line
