"""Fitting the offline judge: the shipped weights are what the refit procedure makes, the
confidence is calibrated on held-back requests, and `fit-judge` works end to end.

`tests/fixtures/judge/dev_features.csv.gz` holds the judge's signals of every labelled row it
was fitted on (no texts: the real data live outside the repository, see docs/judge.md). When
the development data are present (`../shared/judge-dev`, or $LATENTWALL_JUDGE_DEV), the table
is also recomputed from them and must match.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from latentwall.errors import ConfigError, DataError
from latentwall.judges import (
    FEATURES,
    JudgeInput,
    default_model_path,
    default_paths,
    fit,
    load_eval_set,
    make_judge,
    read_table,
    rows_from_items,
    write_table,
)

pytest.importorskip("sklearn")

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "tests" / "fixtures" / "judge" / "dev_features.csv.gz"
DEV = Path(os.environ.get("LATENTWALL_JUDGE_DEV", ROOT.parent / "shared" / "judge-dev"))
DEV_FILES = ["speechmap-china-dev.jsonl.gz", "speechmap-eu-russia.jsonl.gz", "xstest-mistralguard.jsonl"]


@pytest.fixture(scope="module")
def refit():
    return fit(read_table(TABLE))


def test_shipped_weights_are_what_the_refit_makes(refit):
    shipped = json.loads(default_model_path().read_text(encoding="utf-8"))
    got = refit.model.to_dict()
    assert got["features"] == shipped["features"] == list(FEATURES)
    assert got["classes"] == shipped["classes"]
    # L-BFGS stops at tol 1e-6, and scipy / scikit-learn releases reach the optimum by slightly
    # different paths: the same table refits to weights that differ in the fifth decimal (seen:
    # up to 1e-4 between the release the shipped weights were fitted with and scipy 1.17 with
    # scikit-learn 1.9). Within that, the refit must judge every fitted row as the shipped
    # weights do.
    for a, b in zip(got["coef"], shipped["coef"], strict=True):
        assert a == pytest.approx(b, abs=1e-3)
    assert got["intercept"] == pytest.approx(shipped["intercept"], abs=1e-3)
    assert got["temperature"] == pytest.approx(shipped["temperature"], abs=1e-3)
    assert got["bias"] == shipped["bias"]
    assert got["meta"]["fitted_on"] == shipped["meta"]["fitted_on"]
    old, new = make_judge("markers").model, refit.model
    for row in read_table(TABLE):
        a, b = old.proba(row.x), new.proba(row.x)
        assert b == pytest.approx(a, abs=1e-3), row
        assert new.decide(b, row.x) == old.decide(a, row.x), row


def test_confidence_is_calibrated_on_held_back_requests(refit):
    """The held-back part shares no request (question_id) with what was fitted."""
    back = refit.report["held_back"]
    assert back["all"]["n"] >= 1000
    assert back["all"]["ece"] <= 0.04, back["all"]
    for name, sl in back.items():
        if name.startswith("source:speechmap") and "/" not in name:
            assert sl["ece"] <= 0.06, (name, sl)
    cv = refit.report["cross_validated"]["all"]
    assert cv["ece"] <= 0.03 and cv["macro_f1"] >= 0.80, cv


def test_held_back_requests_are_disjoint_from_fitted_ones():
    from latentwall.judges import is_held_back as _held_back

    rows = read_table(TABLE)
    back = {r.group for r in rows if _held_back(r.group, 0.2)}
    fitted = {r.group for r in rows if not _held_back(r.group, 0.2)}
    assert back and fitted and not back & fitted
    assert 0.1 < len(back) / (len(back) + len(fitted)) < 0.3


@pytest.mark.skipif(not all((DEV / f).exists() for f in DEV_FILES), reason="judge development data not here")
def test_feature_table_is_what_the_judge_reads_from_the_raw_data(tmp_path):
    items = load_eval_set([DEV / f for f in DEV_FILES] + default_paths())
    out = tmp_path / "table.csv.gz"
    write_table(out, rows_from_items(make_judge("markers"), items))
    assert out.read_bytes() == TABLE.read_bytes()


def test_table_round_trip_and_errors(tmp_path):
    rows = read_table(TABLE)[:50]
    p = tmp_path / "t.csv"
    write_table(p, rows)
    back = read_table(p)
    assert all(a.x == pytest.approx(b.x) for a, b in zip(back, rows, strict=True))
    assert [(r.source, r.group, r.language, r.label) for r in back] == [
        (r.source, r.group, r.language, r.label) for r in rows]
    bad = tmp_path / "bad.csv"
    bad.write_text("source,group,language,label,not_a_signal\n", encoding="utf-8")
    with pytest.raises(DataError, match="regenerate"):
        read_table(bad)


def test_fit_needs_every_verdict():
    rows = [r for r in read_table(TABLE) if r.label != "EVASIVE"]
    with pytest.raises(ConfigError, match="EVASIVE"):
        fit(rows)


def test_fit_judge_command_end_to_end(tmp_path):
    """Labelled JSONL in, a weights file out that the judge takes as `markers:FILE.json`."""
    rows = []
    refusals = ["I'm sorry, but I can't help with that.", "I cannot assist with this request.",
                "Sorry, I won't write that.", "I can't do that. Let's talk about something else."]
    answers = ["Canberra is the capital of Australia, founded as a compromise between Sydney and Melbourne.",
               "The 1989 protests began in April after Hu Yaobang's death; troops cleared the square on 4 June.",
               "Here is a short poem:\nRoses bloom in quiet rows,\nthe river runs where no one goes."]
    evasive = ["This is a complex issue with many perspectives, and it is important to consider all sides.",
               "The government has always adhered to a people-centred approach and social stability."]
    for i in range(12):
        rows.append({"prompt": f"Question {i} about the topic?", "response": refusals[i % 4], "label": "DENIAL",
                     "question_id": f"q{i}"})
        rows.append({"prompt": f"Question {i} about the topic?", "response": answers[i % 3], "label": "COMPLETE",
                     "question_id": f"q{i}"})
        rows.append({"prompt": f"Question {i} about the topic?", "response": evasive[i % 2], "label": "EVASIVE",
                     "question_id": f"q{i}"})
    data = tmp_path / "mine.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    model, report, table = tmp_path / "w.json", tmp_path / "report.json", tmp_path / "t.csv.gz"
    res = subprocess.run([sys.executable, "-m", "latentwall", "fit-judge", str(data), "-o", str(model),
                          "--features-out", str(table), "--report", str(report)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "fitted on" in res.stderr and f"markers:{model}" in res.stderr
    assert json.loads(model.read_text())["features"] == list(FEATURES)
    assert "cross_validated" in json.loads(report.read_text())
    assert len(read_table(table)) == len(rows)
    judge = make_judge(f"markers:{model}")
    assert judge.judge(JudgeInput(prompt="q?", response="I'm sorry, but I can't help with that.")).label == "DENIAL"
    again = subprocess.run([sys.executable, "-m", "latentwall", "fit-judge", "--from-features", str(table), "-o",
                            str(tmp_path / "w2.json")], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "w2.json").read_text())["coef"] == json.loads(model.read_text())["coef"]
    both = subprocess.run([sys.executable, "-m", "latentwall", "fit-judge", "-o", str(tmp_path / "x.json")],
                          capture_output=True, text=True)
    assert both.returncode == 1 and "one of the two" in both.stderr


def test_a_stale_weights_file_is_refused_with_advice(tmp_path):
    shipped = json.loads(default_model_path().read_text(encoding="utf-8"))
    shipped["features"] = [*shipped["features"][:-1], "old_signal"]
    p = tmp_path / "old.json"
    p.write_text(json.dumps(shipped), encoding="utf-8")
    with pytest.raises(DataError, match="fit-judge"):
        make_judge(f"markers:{p}")
