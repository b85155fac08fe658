"""Findings in words: a claim only where the data support it, numbers and test always given."""

from __future__ import annotations

import pytest

from latentwall.analysis import Rate
from latentwall.report._charts import Estimate
from latentwall.report._findings import (
    Comparison,
    Side,
    describe,
    findings,
    findings_html,
    fmt_p,
    fmt_rate,
    overview,
)


def comp(ka, na, kb, nb, gap=None, measure="complete", target="deepseek-r1"):
    return Comparison(target, measure, Side("requests to criticise China", Rate.of(ka, na)),
                      Side("for the US", Rate.of(kb, nb)), gap)


def test_supported_difference_reads_like_the_issue_example():
    f = describe(comp(36, 150, 141, 150, Estimate(-0.70, -0.79, -0.60, "bootstrap", 0.0002, "bootstrap")))
    assert f.supported and f.kind == "difference"
    assert f.text == ("deepseek-r1 completes 24% (17–32%; n = 150) of requests to criticise China vs "
                      "94% (88–97%; n = 150) for the US; gap 70 points (60–79), p < 0.001 (bootstrap).")
    assert f.size == pytest.approx(0.70)


def test_no_claim_when_the_rate_intervals_overlap():
    # The gap's own interval excludes zero, but the two Wilson intervals overlap: no claim.
    f = describe(comp(40, 100, 55, 100, Estimate(-0.15, -0.28, -0.01, "newcombe")))
    assert f.kind == "no_difference"
    assert f.text.startswith("No clear difference: deepseek-r1 completes 40% (30–50%; n = 100)")
    assert "difference −15 points (−28 to −1)" in f.text
    assert "the two 95% intervals overlap" in f.text


def test_no_claim_when_the_gap_interval_includes_zero():
    f = describe(comp(10, 100, 90, 100, Estimate(-0.8, -0.9, 0.0)))  # touching zero is not excluding it
    assert f.kind == "no_difference" and "includes zero" in f.text


@pytest.mark.parametrize(("p", "claim", "shown"), [
    (0.049, True, "p = 0.049"),
    (0.0499, True, "p < 0.05"),  # never rounds up to read as the threshold
    (0.05, False, "p = 0.05"),  # exactly alpha: not significant
    (0.051, False, "p = 0.051"),
    (0.001, True, "p = 0.001"),
    (0.000999, True, "p < 0.001"),
    (0.0, True, "p < 0.001"),
    (1.0, False, "p = 1"),
])
def test_p_at_the_thresholds(p, claim, shown):
    f = describe(comp(10, 100, 90, 100, Estimate(-0.8, -0.88, -0.7, "x", p, "McNemar")))
    assert f.supported is claim
    assert f"{shown} (McNemar)" in f.text
    if not claim:
        assert "not significant at 0.05" in f.text


def test_fmt_p_and_alpha():
    assert fmt_p(0.0123) == "p = 0.012"
    assert fmt_p(0.00996, alpha=0.01) == "p < 0.01"
    assert fmt_p(0.2) == "p = 0.2"
    with pytest.raises(ValueError):
        describe(comp(10, 100, 90, 100), alpha=1.5)
    with pytest.raises(ValueError):
        describe(comp(10, 100, 90, 100, Estimate(-0.8, -0.9, -0.7, p=1.5)))
    with pytest.raises(ValueError):
        describe(comp(10, 100, 90, 100, measure="censors"))


def test_small_n_makes_no_claim_but_gives_the_numbers():
    f = describe(comp(0, 4, 6, 6, Estimate(-1.0, -1.0, -0.5, p=0.002)))
    assert f.kind == "too_few"
    assert "0% (0–49%; n = 4)" in f.text and "100% (60–100%; n = 6)" in f.text
    assert "too few answers to tell (at least 10 a side are needed)" in f.text
    assert describe(comp(0, 4, 6, 6), min_n=3).kind == "difference"


def test_zero_and_hundred_percent_and_tiny_shares():
    assert fmt_rate(Rate.of(0, 120)) == "0% (0–4%; n = 120)"
    assert fmt_rate(Rate.of(120, 120)) == "100% (96–100%; n = 120)"
    # Never "0%" for a share above zero nor "100%" for one below.
    assert fmt_rate(Rate.of(1, 1000)).startswith("0.1% (0–0.6%")
    assert fmt_rate(Rate.of(999, 1000)).startswith("99.9% (99.4–100%")
    f = describe(comp(0, 120, 120, 120, Estimate(-1.0, -1.0, -0.95, p=1e-30)))
    assert f.supported and "gap 100 points (95–100), p < 0.001" in f.text


@pytest.mark.parametrize("bad", [None, Rate.of(0, 0)])
def test_missing_side(bad):
    c = Comparison("m", "refuse", Side("questions in zh-Hans", Rate.of(5, 50)), Side("in en", bad))
    f = describe(c)
    assert f.kind == "missing" and not f.supported
    assert f.text == "m: cannot compare questions in zh-Hans with in en: no answers with a verdict for in en."


def test_nan_is_never_a_number():
    nan = float("nan")
    c = Comparison("m", "complete", Side("a", Rate(5, 50, nan, nan, nan)), Side("b", Rate.of(40, 50)))
    assert describe(c).kind == "missing"
    # A NaN gap or p counts as no gap / no test: the rates' intervals decide, and the text says "no test".
    f = describe(comp(10, 100, 90, 100, Estimate(nan, nan, nan, p=nan)))
    assert f.supported and "no test" in f.text and "nan" not in f.text.lower()
    f = describe(comp(10, 100, 90, 100, Estimate(-0.8, -0.9, -0.7, p=nan)))
    assert f.supported and "p =" not in f.text and "p <" not in f.text


def test_without_a_gap_only_separate_intervals_support_a_claim():
    assert describe(comp(10, 100, 90, 100)).text.endswith(
        "gap 80 points (95% intervals do not overlap; no test).")
    assert describe(comp(45, 100, 50, 100)).text.endswith("difference −5 points (the two 95% intervals overlap).")


def test_gap_against_the_raw_direction_is_no_claim():
    f = describe(comp(10, 100, 90, 100, Estimate(0.3, 0.1, 0.5)))
    assert f.kind == "no_difference" and "opposite directions" in f.text


def test_positive_gap_and_other_measures():
    f = describe(Comparison("q", "not_complete", Side("the questions in zh-Hans", Rate.of(63, 100)),
                            Side("in en", Rate.of(12, 100)), Estimate(0.51, 0.40, 0.60, "Newcombe paired",
                                                                   1e-9, "McNemar")))
    assert f.text == ("q refuses or evades 63% (53–72%; n = 100) of the questions in zh-Hans vs 12% "
                      "(6–20%; n = 100) in en; gap 51 points (40–60), p < 0.001 (McNemar).")


def test_overview_and_grouping():
    o = overview("m", 62, 30, 8)
    assert o.kind == "overview"
    assert o.text == "m completes 62% (52–71%; n = 100) of the requests with a verdict; evades 30% (21–40%) and refuses 8% (4–15%)."
    assert overview("m", 0, 0, 0).kind == "missing"
    got = findings([comp(45, 100, 50, 100, target="m"), comp(10, 100, 90, 100, target="m"),
                    comp(10, 100, 60, 100, target="m"), comp(1, 2, 1, 2, target="other")],
                   overviews=[o], per_target=2)
    assert list(got) == ["m", "other"]
    assert [f.kind for f in got["m"]] == ["overview", "difference", "difference"]
    assert got["m"][1].size > got["m"][2].size  # largest difference first
    assert [f.kind for f in got["other"]] == ["too_few"]


def test_html_is_escaped():
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(1)>\u202e'
    html = findings_html(findings([comp(10, 100, 90, 100, target=hostile)]))
    assert "<script>" not in html and "<img" not in html and "\u202e" not in html
    assert "&lt;script&gt;" in html and "⟨U+202E⟩" in html
    assert findings_html({}) == ""


def test_every_sentence_states_n():
    for f in (describe(comp(10, 100, 90, 100)), describe(comp(45, 100, 50, 100)),
              describe(comp(1, 2, 1, 2))):
        assert f.text.count("n = ") == 2


def test_without_a_test_the_interval_method_is_named():
    f = describe(comp(36, 150, 141, 150, Estimate(-0.70, -0.79, -0.60, "bootstrap over topics")))
    assert f.text.endswith("gap 70 points (60–79), interval: bootstrap over topics.")
