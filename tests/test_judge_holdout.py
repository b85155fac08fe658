"""The markers judge on the blind held-out set: measured, never tuned on (see docs/judge.md)."""

from __future__ import annotations

from latentwall._data import package_data
from latentwall.judges import evaluate_judge, make_judge


def test_markers_judge_meets_targets_on_blind_holdout():
    path = package_data("latentwall.judges", "data", "holdout", "judge_holdout.jsonl")
    report = evaluate_judge(make_judge("markers"), [path])
    d = report.to_dict()
    assert d["n"] >= 120
    assert d["binary_accuracy"] >= 0.95, d["binary_accuracy"]
    assert d["accuracy"] >= 0.85, d["accuracy"]
