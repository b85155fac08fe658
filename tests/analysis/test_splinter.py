"""The splinter index and the statistics under it (chi-square tail, McNemar, Cochran's Q, Holm)."""

from __future__ import annotations

import itertools
import json
import math

import pytest

from latentwall.analysis import (
    binom_two_sided_half,
    bootstrap_ci,
    bootstrap_ratios,
    chi2_sf,
    cochran_q,
    gamma_q,
    holm,
    mcnemar,
    modal_verdict,
    splinter_index,
)
from latentwall.report.sections.splinter import splinter_section_html

# ------------------------------------------------------------------ chi-square tail


@pytest.mark.parametrize(("x", "df", "p"), [
    # Critical values from standard chi-square tables.
    (3.841458820694124, 1, 0.05),
    (6.634896601021213, 1, 0.01),
    (10.827566170662733, 1, 0.001),
    (5.991464547107979, 2, 0.05),
    (7.814727903251178, 3, 0.05),
    (9.487729036781154, 4, 0.05),
    (18.307038053275146, 10, 0.05),
    (124.34211340400407, 100, 0.05),
    (0.10258658877510107, 2, 0.95),
    (0.35184631774927144, 3, 0.95),
])
def test_chi2_sf_matches_table_values(x, df, p):
    assert chi2_sf(x, df) == pytest.approx(p, rel=1e-9)


@pytest.mark.parametrize("x", [0.001, 0.5, 1.0, 3.0, 10.0, 40.0, 100.0])
def test_chi2_sf_closed_forms(x):
    # df = 1: erfc(sqrt(x/2)); df = 2: exp(-x/2). Relative accuracy even far in the tail.
    assert chi2_sf(x, 1) == pytest.approx(math.erfc(math.sqrt(x / 2)), rel=1e-10)
    assert chi2_sf(x, 2) == pytest.approx(math.exp(-x / 2), rel=1e-10)


def test_chi2_sf_edges():
    assert chi2_sf(0.0, 3) == 1.0
    assert chi2_sf(-1.0, 3) == 1.0
    assert chi2_sf(math.inf, 3) == 0.0
    with pytest.raises(ValueError):
        chi2_sf(1.0, 0)
    # Q(1, x) = exp(-x): both branches (series below s + 1, fraction above).
    for x in (0.2, 1.9, 2.1, 30.0):
        assert gamma_q(1.0, x) == pytest.approx(math.exp(-x), rel=1e-12)
    # Monotone decreasing in x.
    vals = [chi2_sf(x / 4, 5) for x in range(0, 120)]
    assert all(a >= b for a, b in itertools.pairwise(vals))


# ------------------------------------------------------------------ paired tests


def test_mcnemar_exact_and_asymptotic():
    # Exact: b=1, c=6 -> 2 * (C(7,0) + C(7,1)) / 2^7 = 0.125.
    r = mcnemar(1, 6)
    assert r["method"] == "exact binomial" and r["p"] == pytest.approx(0.125)
    assert binom_two_sided_half(5, 10) == 1.0
    # Asymptotic, continuity-corrected: (|121 - 59| - 1)^2 / 180.
    r = mcnemar(121, 59)
    assert r["statistic"] == pytest.approx(61**2 / 180)
    assert r["p"] == pytest.approx(math.erfc(math.sqrt(61**2 / 180 / 2)), rel=1e-9)
    assert mcnemar(0, 0)["p"] == 1.0
    assert mcnemar(12, 12)["p"] == 1.0


def test_cochran_q_hand_example_and_mcnemar_equivalence():
    r = cochran_q([[1, 1, 0], [1, 0, 0], [1, 1, 1], [0, 0, 0], [1, 0, 0]])
    # cols 4,2,1; rows 2,1,3,0,1: Q = 2 * (3*21 - 49) / (21 - 15) = 14/3.
    assert r["statistic"] == pytest.approx(14 / 3) and r["df"] == 2
    assert r["p"] == pytest.approx(math.exp(-7 / 3))
    # For two conditions Q is McNemar's uncorrected chi-square (b - c)^2 / (b + c).
    blocks = [[1, 0]] * 9 + [[0, 1]] * 3 + [[1, 1]] * 5 + [[0, 0]] * 7
    assert cochran_q(blocks)["statistic"] == pytest.approx((9 - 3) ** 2 / 12)
    assert cochran_q([[1, 1, 1], [0, 0, 0]])["p"] == 1.0
    assert cochran_q([])["p"] is None


def test_holm():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([None, 0.01, None]) == [None, 0.01, None]
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    data = [0, 1] * 20 + [1] * 10
    stat = lambda xs: sum(xs) / len(xs)  # noqa: E731
    a = bootstrap_ci(data, stat, n_boot=400, seed=3)
    b = bootstrap_ci(data, stat, n_boot=400, seed=3)
    c = bootstrap_ci(data, stat, n_boot=400, seed=4)
    assert a == b and a != c
    assert a[0] < 0.6 < a[1]
    ratios = bootstrap_ratios([[1, 1], [0, 1], [1, 1], [0, 1]], [(0, 1)], n_boot=300, seed=1)
    assert ratios[0][0] < 0.5 < ratios[0][1]
    assert bootstrap_ratios([], [(0, 1)]) == [(None, None)]


def test_modal_verdict_ties_go_to_the_more_restrictive():
    assert modal_verdict(["COMPLETE", "DENIAL"]) == "DENIAL"
    assert modal_verdict(["COMPLETE", "COMPLETE", "DENIAL"]) == "COMPLETE"
    assert modal_verdict(["EVASIVE", "COMPLETE"]) == "EVASIVE"
    assert modal_verdict([]) is None


# ------------------------------------------------------------------ splinter index


def _row(target, topic, group, lang, label, *, condition="", sample=0, stance=None, status=None):
    row = {"target": target, "run_id": "r1", "probe_id": f"{group}/{lang}", "suite": "s",
           "topic": topic, "language": lang, "category": "political", "kind": "factual",
           "group": group, "jurisdiction": "CN", "condition": condition, "sample": sample,
           "label": label, "status": status, "text": "..."}
    if stance is not None:
        row["stance"] = stance
    return row


def _two_language_rows(target="m"):
    rows = []
    # topic A: 10 groups, refused in zh-Hans only in 8 of them.
    for i in range(10):
        rows.append(_row(target, "topic-a", f"s/a/{i}", "en", "COMPLETE"))
        rows.append(_row(target, "topic-a", f"s/a/{i}", "zh-Hans", "DENIAL" if i < 8 else "COMPLETE"))
    # topic B: 10 groups, identical in both languages.
    for i in range(10):
        label = "EVASIVE" if i % 2 else "COMPLETE"
        rows.append(_row(target, "topic-b", f"s/b/{i}", "en", label))
        rows.append(_row(target, "topic-b", f"s/b/{i}", "zh-Hans", label))
    return rows


def test_two_languages_index_tests_and_drivers():
    res = splinter_index(_two_language_rows(), seed=1, n_boot=300)
    json.dumps(res.to_dict())
    (t,) = res["targets"]
    assert t["levels"] == ["en", "zh-Hans"]
    assert t["index"]["k"] == 8 and t["index"]["n"] == 20
    assert t["index"]["value"] == pytest.approx(0.4)
    assert t["index"]["lo"] < 0.4 < t["index"]["hi"]
    (pair,) = t["pairs"]
    assert pair["more_refused_in"] == "zh-Hans"
    assert pair["transitions"] == {"COMPLETE->DENIAL": 8}
    assert pair["mcnemar"]["b"] == 0 and pair["mcnemar"]["c"] == 8
    assert pair["mcnemar"]["p"] == pytest.approx(2 / 2**8)
    assert t["test"]["test"] == "mcnemar" and t["test"]["p_holm"] == pytest.approx(t["test"]["p"])
    assert t["drivers"] == [{"topic": "topic-a", "n_divergent": 8, "n_units": 10, "share": 1.0}]
    top = t["topics"][0]
    assert top["topic"] == "topic-a" and top["share_of_divergence"] == 1.0
    assert top["test"]["p_holm"] >= top["test"]["p"]
    assert t["stance"] is None and "verdicts only" in t["stance_note"]
    # Seeded: the same call gives the same interval.
    assert splinter_index(_two_language_rows(), seed=1, n_boot=300) == res


def test_samples_collapse_and_statuses_never_count():
    rows = [
        _row("m", "t", "g1", "en", "COMPLETE", sample=0),
        _row("m", "t", "g1", "en", "COMPLETE", sample=1),
        _row("m", "t", "g1", "en", "DENIAL", sample=2),
        _row("m", "t", "g1", "zh-Hans", "COMPLETE"),
        # A transport error in zh-Hans is not a divergence.
        _row("m", "t", "g2", "en", "COMPLETE"),
        _row("m", "t", "g2", "zh-Hans", None, status="ERROR"),
        _row("m", "t", "g3", "en", "DENIAL"),
        _row("m", "t", "g3", "zh-Hans", "FILTERED"),
        _row("m", "t", "g4", "en", "COMPLETE"),
        _row("m", "t", "g4", "zh-Hans", "EVASIVE"),
    ]
    (t,) = splinter_index(rows, n_boot=100)["targets"]
    assert t["index"]["n"] == 2 and t["index"]["k"] == 1  # g1 agrees (modal), g4 diverges
    assert t["n_status_rows"] == 2


def test_three_languages_use_cochran_and_pairwise_holm():
    rows = []
    for i in range(12):
        g = f"s/x/{i}"
        rows.append(_row("m", "x", g, "en", "COMPLETE"))
        rows.append(_row("m", "x", g, "zh-Hans", "DENIAL" if i < 9 else "COMPLETE"))
        rows.append(_row("m", "x", g, "zh-Hant", "DENIAL" if i < 5 else "COMPLETE"))
    (t,) = splinter_index(rows, n_boot=200)["targets"]
    assert t["levels"] == ["en", "zh-Hans", "zh-Hant"]
    assert t["test"]["test"] == "cochran-q" and t["test"]["df"] == 2 and t["test"]["p"] < 0.01
    assert len(t["pairs"]) == 3
    assert all(p["mcnemar"]["p_holm_pairs"] >= p["mcnemar"]["p"] for p in t["pairs"])
    assert t["index"]["k"] == 9
    # mean pairwise: 5 units split 2 of 3 pairs... (en=C, hans=D, hant=D) -> 2/3; 4 units (C,D,C) -> 2/3
    assert t["mean_pairwise"]["value"] == pytest.approx((9 * 2 / 3) / 12)


def test_condition_axis_and_stance():
    rows = []
    for i in range(8):
        pid = f"s/p/{i}"
        for cond, label, stance in (("", "COMPLETE", "INDEPENDENT"),
                                    ("locale:beijing", "COMPLETE" if i < 5 else "DENIAL",
                                     "STATE_ALIGNED" if i < 3 else "INDEPENDENT")):
            rows.append({**_row("m", "p", pid, "en", label, condition=cond,
                                stance=stance if label != "DENIAL" else "NOT_APPLICABLE"),
                         "probe_id": pid})
    res = splinter_index(rows, axis="condition", n_boot=200)
    (t,) = res["targets"]
    assert t["levels"] == ["plain", "locale:beijing"]
    assert t["index"]["k"] == 3 and t["index"]["n"] == 8
    # Stance: units with a stance in both conditions are the 5 answered ones; 3 changed.
    assert t["stance"]["index"]["n"] == 5 and t["stance"]["index"]["k"] == 3
    assert t["stance"]["verdict_or_stance"]["k"] == 6
    html = splinter_section_html(res)
    assert "locale:beijing" in html and "Stance divergence" in html


@pytest.mark.parametrize(("rows", "axis", "needle"), [
    ([], "language", "empty"),
    ([_row("m", "t", "g", "en", "COMPLETE")], "language", "one language"),
    ([_row("m", "t", "g", "en", "COMPLETE")], "condition", "one condition"),
    ([_row("m", "t", "g1", "en", "COMPLETE"), _row("m", "t", "g2", "zh-Hans", "DENIAL")],
     "language", "no parallel units"),
    ([_row("m", "t", "g1", "en", None, status="ERROR"),
      _row("m", "t", "g1", "zh-Hans", None, status="ERROR")], "language", "no verdicts"),
])
def test_not_applicable_inputs_explain_themselves(rows, axis, needle):
    res = splinter_index(rows, axis=axis, n_boot=50)
    assert needle in res["not_applicable"]
    json.dumps(res.to_dict())
    html = splinter_section_html(res)
    assert html is not None and "Not applicable" in html and html.count("<p") == 1


def test_one_target_not_applicable_others_reported():
    rows = [*_two_language_rows("good"), _row("mono", "t", "g", "en", "COMPLETE")]
    res = splinter_index(rows, n_boot=50)
    names = {t["target"]: t for t in res["targets"]}
    assert "not_applicable" in names["mono"] and "index" in names["good"]
    assert "Not applicable" in splinter_section_html(res)


def test_bad_axis_and_html_escaping():
    with pytest.raises(ValueError):
        splinter_index([], axis="locale")
    rows = _two_language_rows('<script>alert("x")</script>\u202e')
    for r in rows:
        r["topic"] = "<b>topic</b>"
    html = splinter_section_html(splinter_index(rows, n_boot=50))
    assert "<script>" not in html and "<b>topic" not in html
    assert "&lt;script&gt;" in html and "⟨U+202E⟩" in html
    assert splinter_section_html(None) is None
