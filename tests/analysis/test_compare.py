"""Comparing two runs (or two targets of one run) probe by probe."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from latentwall.analysis import chi2_sf, compare_runs, mcnemar, stuart_maxwell
from latentwall.report import render_compare


def test_stuart_maxwell_hand_example_and_reductions():
    table = [[20, 5, 3], [2, 15, 4], [1, 2, 10]]
    r = stuart_maxwell(table)
    # d = (5, -1), S = [[11, -7], [-7, 13]] -> d' S^-1 d = 266 / 94.
    assert r["statistic"] == pytest.approx(266 / 94) and r["df"] == 2
    assert r["p"] == pytest.approx(chi2_sf(266 / 94, 2))
    # The statistic does not depend on which category is left out (permute the categories).
    perm = [2, 0, 1]
    permuted = [[table[perm[i]][perm[j]] for j in range(3)] for i in range(3)]
    assert stuart_maxwell(permuted)["statistic"] == pytest.approx(266 / 94)
    # A category that never moves drops out: McNemar's uncorrected chi-square on the rest.
    r2 = stuart_maxwell([[30, 9, 0], [3, 40, 0], [0, 0, 7]])
    assert r2["df"] == 1 and r2["statistic"] == pytest.approx((9 - 3) ** 2 / 12)
    assert stuart_maxwell([[5, 0, 0], [0, 5, 0], [0, 0, 5]])["p"] == 1.0
    sym = stuart_maxwell([[5, 2, 1], [2, 5, 3], [1, 3, 5]])
    assert sym["statistic"] == pytest.approx(0.0) and sym["p"] == pytest.approx(1.0)


def _row(target, topic, i, label, *, lang="en", sample=0, condition="", run="r1", text="answer"):
    return {"target": target, "run_id": run, "probe_id": f"s/{topic}/q{i}/{lang}", "suite": "s",
            "topic": topic, "language": lang, "category": "political", "kind": "factual",
            "group": f"s/{topic}/q{i}", "jurisdiction": "CN", "condition": condition,
            "sample": sample, "label": label, "status": None, "text": text}


def _runs():
    a, b = [], []
    # topic "moved": 12 probes refused in A, 10 of them answered in B.
    for i in range(12):
        a.append(_row("base", "moved", i, "DENIAL", run="ra"))
        b.append(_row("tuned", "moved", i, "COMPLETE" if i < 10 else "DENIAL", run="rb"))
    # topic "still": identical.
    for i in range(10):
        a.append(_row("base", "still", i, "COMPLETE", run="ra"))
        b.append(_row("tuned", "still", i, "COMPLETE", run="rb"))
    # topic "worse": 2 answered in A, refused in B; one EVASIVE -> COMPLETE.
    for i in range(6):
        a.append(_row("base", "worse", i, "COMPLETE" if i < 5 else "EVASIVE", run="ra"))
        b.append(_row("tuned", "worse", i, "DENIAL" if i < 2 else "COMPLETE", run="rb"))
    return a, b


def test_compare_two_runs():
    a, b = _runs()
    res = compare_runs(a, b)
    json.dumps(res.to_dict())
    assert res["a"]["target"] == "base" and res["b"]["runs"] == ["rb"]
    assert res["n_pairs"] == 28 and res["n_units"] == 28 and res["only_in_a"] == 0
    ref = res["refusal"]
    assert ref["a"]["k"] == 12 and ref["b"]["k"] == 4
    assert ref["diff"] == pytest.approx((4 - 12) / 28) and ref["lo"] < ref["diff"] < ref["hi"] < 0
    assert ref["mcnemar"]["b"] == 10 and ref["mcnemar"]["c"] == 2
    assert ref["mcnemar"]["p"] == pytest.approx(mcnemar(10, 2)["p"])
    assert res["transitions"]["DENIAL"]["COMPLETE"] == 10
    assert res["transitions"]["EVASIVE"]["COMPLETE"] == 1
    assert res["marginal_homogeneity"]["p"] < 0.05
    topics = [t["topic"] for t in res["topics"]]
    assert topics[0] == "moved" and topics[-1] == "still"
    moved = res["topics"][0]
    assert moved["refusal"]["diff"] == pytest.approx(-10 / 12)
    assert moved["refusal"]["mcnemar"]["p_holm"] >= moved["refusal"]["mcnemar"]["p"]
    assert res["n_disagreements"] == 13
    # Most severe first: DENIAL <-> COMPLETE before EVASIVE -> COMPLETE.
    assert {res["disagreements"][0]["label_a"], res["disagreements"][0]["label_b"]} == {"DENIAL", "COMPLETE"}
    assert res["disagreements"][-1]["label_a"] == "EVASIVE"


def test_compare_targets_within_one_run_and_samples():
    a, b = _runs()
    one_run = a + b
    res = compare_runs(one_run, target_a="base", target_b="tuned")
    assert res["refusal"]["b"]["k"] == 4
    assert compare_runs(one_run)["refusal"]["b"]["k"] == 4  # exactly two targets: inferred
    # Samples pair by index; tests use the probe's modal verdict.
    rows_a = [_row("m1", "t", 0, "DENIAL", sample=s) for s in range(3)]
    rows_b = [_row("m2", "t", 0, lab, sample=s) for s, lab in enumerate(["DENIAL", "COMPLETE", "COMPLETE"])]
    res = compare_runs(rows_a, rows_b)
    assert res["n_pairs"] == 3 and res["n_units"] == 1 and res["n_disagreements"] == 2
    assert res["refusal"]["mcnemar"]["b"] == 1


def test_status_changes_are_listed_but_not_tested():
    a = [_row("m", "t", 0, "COMPLETE"), _row("m", "t", 1, "COMPLETE")]
    b = [_row("m", "t", 0, "FILTERED"), _row("m", "t", 1, "COMPLETE")]
    res = compare_runs(a, b)
    assert res["n_verdict_pairs"] == 1 and res["status_pairs"] == {"COMPLETE->FILTERED": 1}
    (d,) = res["disagreements"]
    assert d["status_change"] is True


@pytest.mark.parametrize(("a", "b", "kw", "needle"), [
    ([], [_row("m", "t", 0, "COMPLETE")], {}, "run A has no responses"),
    ([_row("m", "t", 0, "COMPLETE")], [], {}, "run B has no responses"),
    ([_row("m", "t", 0, "COMPLETE")], [_row("m", "t", 1, "COMPLETE")], {}, "share no probe"),
    ([_row("m", "t", 0, "COMPLETE")], [_row("m", "t", 0, "COMPLETE")], {"target_a": "x"},
     "target 'x' is not in A"),
    ([_row("m", "t", 0, "COMPLETE"), _row("n", "t", 0, "COMPLETE")], [_row("m", "t", 0, "COMPLETE")],
     {}, "several targets"),
    ([_row("m", "t", 0, "ERROR")], [_row("m", "t", 0, "COMPLETE")], {}, "only statuses"),
])
def test_not_applicable(a, b, kw, needle):
    res = compare_runs(a, b, **kw)
    assert needle in res["not_applicable"], res["not_applicable"]
    json.dumps(res.to_dict())
    out = io.StringIO()
    render_compare(res, Console(file=out, width=100))
    assert out.getvalue().count("\n") == 1 and "not applicable" in out.getvalue()


def test_not_applicable_within_one_run():
    rows = [_row("m", "t", 0, "COMPLETE")]
    assert "exactly two targets" in compare_runs(rows)["not_applicable"]
    assert "same" in compare_runs(rows, target_a="m", target_b="m")["not_applicable"]
    assert "no responses" in compare_runs([])["not_applicable"]


def test_render_plain_and_terminal_escape_model_strings():
    evil = "[bold red]pwned[/bold red]\x1b[31m"
    a, b = _runs()
    for r in b:
        r["text"] = evil
        r["target"] = "[link=http://x]t[/link]"
    res = compare_runs(a, b)
    plain = io.StringIO()
    render_compare(res, Console(file=plain, width=200))
    text = plain.getvalue()
    assert "\t" in text and "[bold red]pwned" in text and "\x1b" not in text
    assert "[link=http://x]t[/link]" in text
    tty = io.StringIO()
    render_compare(res, Console(file=tty, width=200, force_terminal=True, color_system=None))
    shown = tty.getvalue()
    assert "[bold red]pwned" in shown and "[link=http://x]" in shown  # shown literally
    assert "Topics that moved" in shown
