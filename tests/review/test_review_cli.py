"""`latentwall review --export/--import/--stats/--plan` and `latentwall rejudge` through the
real CLI: exported labels are a valid eval-judge file, importing twice does not double,
a label for a response that is not in the run is reported (and kept in a side file), a
second judge is stored beside the first with its agreement."""

from __future__ import annotations

import json
import shutil
from importlib import resources

from _review_fixtures import make_store

from _helpers import one_line_error, run_cli
from latentwall.export import validate_summary
from latentwall.records import HumanLabel
from latentwall.review import ReviewSession, RunSource, StoreBackend, write_human_labels
from latentwall.store import Store

LABELS = ("COMPLETE", "EVASIVE", "DENIAL", "UNSURE", "COMPLETE", "DENIAL", "SKIP", "EVASIVE")


def label_some(db, reviewer="ann", n=None):
    with StoreBackend([RunSource(db, "run-a"), RunSource(db, "run-b")], reviewer) as backend:
        s = ReviewSession(backend, reviewer=reviewer, size=40)
        for lab in LABELS[:n]:
            s.label(s.current().row.key, lab, note="a note" if lab == "DENIAL" else "")


def human_rows(db):
    with Store(db, readonly=True) as store:
        return store.conn.execute("SELECT COUNT(*) FROM judgements WHERE judge LIKE 'human:%'").fetchone()[0]


def test_export_is_an_eval_judge_file_and_import_merges_once(tmp_path):
    team = tmp_path / "team"
    db = make_store(team / "runs")
    shutil.copytree(team / "runs", tmp_path / "mine")  # a colleague's copy, before any label
    label_some(db)
    out = tmp_path / "labels.jsonl"
    p = run_cli("review", "--run-dir", str(team / "runs"), "--export", str(out))
    assert p.returncode == 0, p.stderr
    rows = [json.loads(x) for x in out.read_text("utf-8").splitlines()]
    assert len(rows) == len(LABELS)
    r = rows[0]
    for field in ("id", "prompt", "response", "label", "language", "run_id", "probe_id", "condition", "sample",
                  "target", "reviewer", "queue", "time", "machine_label", "machine_confidence", "response_sha256"):
        assert field in r, field
    assert r["reviewer"] == "ann" and r["queue"] == "random" and r["in_sample"] == 0
    assert any(x["note"] == "a note" for x in rows)

    # eval-judge takes the export as it is: verdicts scored, UNSURE/SKIP left out and counted
    p = run_cli("eval-judge", "--file", str(out), "--json")
    assert p.returncode == 0, p.stderr
    ev = json.loads(p.stdout)
    assert ev["n"] == 6 and ev["not_gold"] == {"SKIP": 1, "UNSURE": 1}

    mine = tmp_path / "mine"
    p = run_cli("review", "--run-dir", str(mine), "--import", str(out), "--json")
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout)
    assert rep["new"] == len(LABELS) and rep["unmatched"] == []
    assert human_rows(mine / "latentwall.db") == len(LABELS)
    p = run_cli("review", "--run-dir", str(mine), "--import", str(out), "--json")
    rep = json.loads(p.stdout)
    assert rep["new"] == 0 and rep["same"] == len(LABELS)
    assert human_rows(mine / "latentwall.db") == len(LABELS)  # twice: no doubles

    # a newer label replaces, an older one does not; a response not in the run is reported
    def other(label):
        return "EVASIVE" if label != "EVASIVE" else "COMPLETE"

    rows[0] |= {"label": other(rows[0]["label"]), "time": "2099-01-01T00:00:00+00:00"}
    rows[1] |= {"label": other(rows[1]["label"]), "time": "2000-01-01T00:00:00+00:00"}
    stranger = {**rows[2], "probe_id": "s/nowhere/q9/en", "id": "x"}
    changed = {**rows[3], "response_sha256": "0" * 16, "label": "COMPLETE", "time": "2099-01-01T00:00:00+00:00"}
    edited = tmp_path / "edited.jsonl"
    edited.write_text("".join(json.dumps(x) + "\n" for x in [*rows, stranger, changed]), "utf-8")
    p = run_cli("review", "--run-dir", str(mine), "--import", str(edited))
    assert p.returncode == 3, p.stderr
    assert "1 updated" in p.stderr and "older than the stored label" in p.stderr
    assert "2 NOT imported" in p.stderr and "s/nowhere/q9/en" in p.stderr and "response text changed" in p.stderr
    side = tmp_path / "edited.jsonl.unmatched.jsonl"
    kept = [json.loads(x) for x in side.read_text("utf-8").splitlines()]
    assert [k["probe_id"] for k in kept] == ["s/nowhere/q9/en", rows[3]["probe_id"]]
    assert human_rows(mine / "latentwall.db") == len(LABELS)


def test_a_bad_label_file_is_one_line(tmp_path):
    make_store(tmp_path / "runs")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"run_id": "run-a", "probe_id": "p", "sample": 0, "reviewer": "ann",
                               "label": "MAYBE", "time": "2026-01-01T00:00:00"}) + "\n", "utf-8")
    line = one_line_error(run_cli("review", "--run-dir", str(tmp_path / "runs"), "--import", str(bad)))
    assert "bad.jsonl:1" in line and "field 'label'" in line
    line = one_line_error(run_cli("review", "--run-dir", str(tmp_path / "runs"), "--name", "a b", "--stats"))
    assert "reviewer name" in line


def test_stats_and_plan(tmp_path):
    db = make_store(tmp_path / "runs", n=60)
    label_some(db)
    p = run_cli("review", "--run-dir", str(tmp_path / "runs"), "--stats", "--json", "--draws", "300")
    assert p.returncode == 0, p.stderr
    st = json.loads(p.stdout)
    assert st["n_labels"] == len(LABELS)
    assert st["correction"]["excluded"] == {"skip": 1, "unsure": 1}
    # 6 verdicts over 4 target × language groups: too small to tell, and said so
    assert {g["status"] for g in st["correction"]["groups"]} == {"too_small"}
    p = run_cli("review", "--run-dir", str(tmp_path / "runs"), "--stats")
    assert p.returncode == 0 and "too small to tell" in p.stdout
    p = run_cli("review", "--run-dir", str(tmp_path / "runs"), "--plan", "--sample", "24", "--json")
    plan = json.loads(p.stdout)
    assert plan["total"] == 24 and len(plan["cells"]) == 12


def test_rejudge_stores_a_second_judge_beside_the_first(tmp_path):
    db = make_store(tmp_path / "runs", n=30)
    weights = resources.files("latentwall.judges").joinpath("data", "model", "markers.json")
    judge = f"markers:{weights}"
    with Store(db, readonly=True) as store:
        before = list(store.iter_results("run-a"))
    p = run_cli("rejudge", "run-a", "--run-dir", str(tmp_path / "runs"), "--judge", judge, "--json")
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout)["rejudge"][0]
    assert res["judged"] == 30 and res["already_judged"] == 0
    a = res["agreement"]
    assert a["n"] == 30 and set(a["by"]) == {"language", "target"} and "kappa" in a
    with Store(db, readonly=True) as store:
        assert list(store.iter_results("run-a")) == before  # the first judge untouched
        assert judge in store.judges_of("run-a")
    # resumable: nothing left to judge; a sample of a fresh run judges only the sample
    p = run_cli("rejudge", "run-a", "--run-dir", str(tmp_path / "runs"), "--judge", judge, "--json")
    assert json.loads(p.stdout)["rejudge"][0]["judged"] == 0
    p = run_cli("rejudge", "run-b", "--run-dir", str(tmp_path / "runs"), "--judge", judge, "--sample", "8", "--json")
    assert json.loads(p.stdout)["rejudge"][0]["judged"] == 8
    # the run's own judge is refused
    line = one_line_error(run_cli("rejudge", "run-a", "--run-dir", str(tmp_path / "runs"), "--judge", "markers"))
    assert "run's own judge" in line
    # the disagreements lead the triage queue
    with StoreBackend([RunSource(db, "run-a")], "ann") as backend:
        s = ReviewSession(backend, reviewer="ann", queue="triage")
        first = s.current().row
        if any(r.second != r.verdict for r in backend.rows()):
            assert first.second != first.verdict


def test_export_the_queue_label_elsewhere_and_import(tmp_path):
    db = make_store(tmp_path / "runs", n=60)
    todo, done = tmp_path / "todo.jsonl", tmp_path / "done.jsonl"
    p = run_cli("review", "--run-dir", str(tmp_path / "runs"), "--name", "kim", "--sample", "24",
                "--export-queue", str(todo))
    assert p.returncode == 0, p.stderr
    rows = [json.loads(x) for x in todo.read_text("utf-8").splitlines()]
    assert len(rows) == 24 and all(r["label"] is None and r["in_sample"] == 0 and r["reviewer"] == "kim"
                                   for r in rows)
    # an unfilled row is an error naming the line; filled rows import (time: now)
    line = one_line_error(run_cli("review", "--run-dir", str(tmp_path / "runs"), "--import", str(todo)))
    assert "todo.jsonl:1" in line and "fill in" in line
    done.write_text("".join(json.dumps({**r, "label": r["machine_label"]}) + "\n" for r in rows), "utf-8")
    p = run_cli("review", "--run-dir", str(tmp_path / "runs"), "--import", str(done), "--json")
    assert json.loads(p.stdout)["new"] == 24
    assert human_rows(db) == 24
    # the queue is now empty for kim, and the labels count in the estimate
    p = run_cli("review", "--run-dir", str(tmp_path / "runs"), "--name", "kim", "--sample", "24",
                "--export-queue", str(todo))
    assert todo.read_text("utf-8") == ""
    st = json.loads(run_cli("review", "--run-dir", str(tmp_path / "runs"), "--stats", "--json", "--by", "target",
                            "--strata", "target", "--draws", "200").stdout)
    assert st["human_vs_machine"]["agreement"] == 1.0
    assert {g["status"] for g in st["correction"]["groups"]} == {"ok"}
    # summary --json carries the review: corrected rates beside the machine rates
    summ = json.loads(run_cli("summary", "--run-dir", str(tmp_path / "runs"), "--json").stdout)
    assert summ["review"]["summary"]["n_labels"] == 24 and summ["review"]["sample_note"]  # 6 per cell: too small
    assert "too small to tell" in summ["review"]["sample_note"]


def test_summary_shows_every_groups_corrected_rate(tmp_path):
    """Every response of two targets labelled as a random sample; the judge misses model-a's
    refusals (people say DENIAL where it said COMPLETE or EVASIVE): summary and summary
    --json show each group's corrected rate beside the machine rate."""
    db = make_store(tmp_path / "runs", n=60, hostile=True)
    with Store(db) as store:
        labels = [HumanLabel((run_id, *r.key), "ann", "DENIAL" if run_id == "run-a" else str(r.label),
                             "2026-01-01T00:00:00+00:00", sample=0)
                  for run_id in ("run-a", "run-b") for r in store.iter_results(run_id)]
        write_human_labels(store, labels)
    doc = json.loads(run_cli("summary", "--run-dir", str(tmp_path / "runs"), "--json").stdout)
    validate_summary(doc)
    assert doc["correction"]["human_labels"] == 120
    a = next(g for g in doc["targets"] if g["key"]["target"] == "model-a")
    assert a["rates"]["DENIAL"]["rate"] == 0.2 and a["corrected"]["rates"]["DENIAL"]["estimate"] == 1.0
    b = next(g for g in doc["targets"] if g["key"]["target"] == "model-b")
    assert b["corrected"]["rates"]["DENIAL"]["estimate"] == b["rates"]["DENIAL"]["rate"]
    # groups finer than the strata (a topic within target × language) are corrected too
    assert all(g["corrected"]["rates"]["COMPLETE"]["status"] == "ok" for g in doc["groups"])
    p = run_cli("summary", "--run-dir", str(tmp_path / "runs"), "--by", "target,language")
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("-> corrected 100.0% [") == 3  # model-a, and its two languages
    assert p.stdout.count("-> corrected 20.0% [") == 6  # model-b: people agree with the judge
    assert "corrected for the judge's errors" in p.stdout and "\x1b" not in p.stdout


def test_unknown_strata_are_one_line(tmp_path):
    make_store(tmp_path / "runs", n=10)
    line = one_line_error(run_cli("review", "--run-dir", str(tmp_path / "runs"), "--plan", "--strata", "target,model"))
    assert "--strata: model is not one of" in line
