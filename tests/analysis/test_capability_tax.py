"""Capability tax: Newcombe intervals (published example, coverage), and the comparison of
two targets on the real capability suite's answers, including the not-applicable cases."""

from __future__ import annotations

import random

import pytest

from latentwall.analysis import b_minus_a, b_minus_a_paired, capability_accuracy, capability_tax
from latentwall.report.sections.capability import capability_section_html
from latentwall.suites import get_suite

PROBES = get_suite("capability").probes()[:100]


def rows_for(target, correct, *, terminal=(), sample=0):
    out = []
    for i, p in enumerate(PROBES):
        ok = i in correct
        text = f"The answer is {p.answer.split('||')[0].strip()}." if ok else "I am not sure, sorry."
        label, status = "COMPLETE", None
        if i in terminal:
            text, label, status = "", "ERROR", "ERROR"
        out.append({"target": target, "probe_id": p.id, "condition": "", "sample": sample,
                    "category": "capability", "answer": p.answer, "text": text, "label": label,
                    "status": status, "language": p.language, "topic": p.topic})
    return out


def test_b_minus_a_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873, method 10: 56/70 vs 48/80 -> 0.2 (0.0524, 0.3339);
    # here A = 48/80 and B = 56/70, so B - A = +0.2.
    d, lo, hi = b_minus_a(48, 80, 56, 70)
    assert d == pytest.approx(0.2)
    assert lo == pytest.approx(0.0524, abs=5e-4) and hi == pytest.approx(0.3339, abs=5e-4)
    assert b_minus_a(56, 70, 48, 80) == pytest.approx((-d, -hi, -lo))
    assert b_minus_a(0, 0, 1, 2) is None


@pytest.mark.parametrize(("k1", "n1", "k2", "n2"), [(0, 10, 0, 10), (10, 10, 10, 10), (0, 5, 5, 5), (1, 3, 2, 7)])
def test_intervals_stay_in_range(k1, n1, k2, n2):
    d, lo, hi = b_minus_a(k1, n1, k2, n2)
    assert -1 <= lo <= d <= hi <= 1


def test_paired_sign_and_width():
    # 80 correct on both, 10 only A, 2 only B, 8 neither (n = 100): B lost 8 points
    d, lo, hi = b_minus_a_paired(80, 10, 2, 8)
    assert d == pytest.approx(-0.08)
    assert lo < d < hi < 0  # a real tax
    _, ulo, uhi = b_minus_a(90, 100, 82, 100)
    assert (hi - lo) < (uhi - ulo)
    assert b_minus_a_paired(0, 0, 0, 0) is None
    d, lo, hi = b_minus_a_paired(80, 0, 0, 20)  # identical answers: no change, but not certainty
    assert d == 0.0 and lo < 0 < hi


def test_coverage_of_both_intervals():
    rng = random.Random(7)
    p_a, p_b, n, sims = 0.7, 0.6, 80, 400
    hit_u = hit_p = 0
    for _ in range(sims):
        both = a_only = b_only = neither = 0
        for _ in range(n):
            # correlated outcomes: a shared latent draw
            u = rng.random()
            a, b = u < p_a, (u < p_b) if rng.random() < 0.7 else (rng.random() < p_b)
            both += a and b
            a_only += a and not b
            b_only += b and not a
            neither += not a and not b
        true = p_b - p_a
        _, lo, hi = b_minus_a(both + a_only, n, both + b_only, n)
        hit_u += lo <= true <= hi
        _, lo, hi = b_minus_a_paired(both, a_only, b_only, neither)
        hit_p += lo <= true <= hi
    assert 0.92 <= hit_u / sims <= 1.0
    assert 0.91 <= hit_p / sims <= 0.99


def test_tax_between_two_targets():
    a = rows_for("base", set(range(90)))
    b = rows_for("fork", set(range(60)))
    # the rows are credited as intended by the real scorer
    assert capability_accuracy(a)["base"]["overall"]["correct"] == 90
    res = capability_tax(a, b)
    assert res["not_applicable"] is None
    assert res["a"]["target"] == "base" and res["b"]["target"] == "fork"
    assert res["a"]["accuracy"]["accuracy"] == 0.9 and res["b"]["accuracy"]["accuracy"] == 0.6
    diff = res["b_minus_a"]
    assert diff["estimate"] == pytest.approx(-0.3) and diff["significant"] and diff["hi"] < 0
    paired = res["paired"]
    assert paired["n"] == 100 and (paired["both"], paired["a_only"], paired["b_only"]) == (60, 30, 0)
    assert res["primary"] == "paired"
    assert paired["b_minus_a"]["hi"] - paired["b_minus_a"]["lo"] < diff["hi"] - diff["lo"]
    assert "capability tax" in res["summary"]
    langs = {e["language"] for e in res["by_language"]}
    assert langs == {p.language for p in PROBES}
    html = capability_section_html(res)
    assert html and "fork" in html and "−30.0" not in html and "-30.0 pts" in html


def test_no_tax_when_equal_and_statuses_excluded():
    a = rows_for("base", set(range(70)))
    b = rows_for("fork", set(range(70)), terminal={95, 96, 97})
    res = capability_tax(a, b)
    assert res["b"]["accuracy"]["n"] == 97 and res["b"]["accuracy"]["n_terminal"] == 3
    assert not res["b_minus_a"]["significant"]
    assert res["b_minus_a"]["lo"] < 0 < res["b_minus_a"]["hi"]
    assert "no difference" in res["summary"]


def test_unpaired_when_probes_differ():
    a = rows_for("base", set(range(90)))
    b = [{**r, "probe_id": r["probe_id"] + "-other"} for r in rows_for("fork", set(range(90)))]
    res = capability_tax(a, b)
    assert res["primary"] == "unpaired" and "share no scored" in res["paired"]["not_applicable"]


@pytest.mark.parametrize(("side_a", "side_b", "match"), [
    ([], "ok", "side A has no rows"),
    ("ok", [], "side B has no rows"),
    ("two", "ok", "holds 2 targets"),
    ("ok", "political", "has no capability probes"),
    ("ok", "all-errors", "no scorable capability answers"),
])
def test_not_applicable(side_a, side_b, match):
    def make(spec):
        if spec == "ok":
            return rows_for("base", set(range(50)))
        if spec == "two":
            return rows_for("x", {1}) + rows_for("y", {1})
        if spec == "political":
            return [{"target": "fork", "category": "political", "probe_id": "p", "text": "t", "label": "COMPLETE"}]
        if spec == "all-errors":
            return rows_for("fork", set(), terminal=set(range(100)))
        return spec

    res = capability_tax(make(side_a), make(side_b))
    assert match in res["not_applicable"]
    assert capability_section_html(res) is not None and match in capability_section_html(res)
