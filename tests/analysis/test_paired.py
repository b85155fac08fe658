"""Paired controls: the China-specific gap, matched by kind, with intervals."""

from __future__ import annotations

import json

import pytest

from latentwall.analysis import newcombe_diff, newcombe_paired_diff, paired_control_gap, side_of
from latentwall.report.sections.paired import paired_section_html


@pytest.mark.parametrize(("args", "expected"), [
    # Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10.
    ((56, 70, 48, 80), (0.2, 0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.6, 0.1705, 0.8090)),
    ((5, 56, 0, 29), (0.0893, -0.0381, 0.1926)),
    ((0, 10, 0, 20), (0.0, -0.1611, 0.2775)),
    ((0, 10, 0, 10), (0.0, -0.2775, 0.2775)),
    ((10, 10, 0, 20), (1.0, 0.6791, 1.0)),
    ((10, 10, 0, 10), (1.0, 0.6075, 1.0)),
])
def test_newcombe_matches_published_table(args, expected):
    got = newcombe_diff(*args)
    assert got == pytest.approx(expected, abs=5e-5)


def test_newcombe_edges_and_paired_version():
    assert newcombe_diff(0, 0, 1, 2) == (None, None, None)
    # Paired: the estimate is the difference of margins and lies inside the interval.
    d, lo, hi = newcombe_paired_diff(30, 2, 8, 60)
    assert d == pytest.approx((32 - 38) / 100) and lo < d < hi
    # Pairs that never disagree still leave uncertainty (no zero-width interval).
    d, lo, hi = newcombe_paired_diff(6, 0, 0, 6)
    assert d == 0 and lo < 0 < hi
    # Swapping the two sides mirrors the interval.
    d1, lo1, hi1 = newcombe_paired_diff(30, 2, 8, 60)
    d2, lo2, hi2 = newcombe_paired_diff(30, 8, 2, 60)
    assert (d2, lo2, hi2) == pytest.approx((-d1, -hi1, -lo1))
    assert newcombe_paired_diff(0, 0, 0, 0) == (None, None, None)


def _row(target, suite, topic, kind, lang, label, *, jur=None, i=0, sample=0, condition=""):
    return {"target": target, "run_id": "r", "probe_id": f"{suite}/{topic}/{kind}{i}/{lang}",
            "suite": suite, "topic": topic, "language": lang, "category": "political", "kind": kind,
            "group": f"{suite}/{topic}/{kind}{i}", "jurisdiction": jur or ("CN" if suite == "china" else "US"),
            "condition": condition, "sample": sample, "label": label, "status": None, "text": "…"}


def _suite_rows(target, suite, lang, kind, n_topics, per_topic, labels):
    """n_topics topics x per_topic probes of one kind; labels cycle through `labels`."""
    rows, j = [], 0
    for t in range(n_topics):
        for i in range(per_topic):
            rows.append(_row(target, suite, f"{suite}-t{t}", kind, lang, labels[j % len(labels)], i=i))
            j += 1
    return rows


def test_gap_is_kind_standardised():
    rows = []
    # China side: 20 critique (half refused), 20 factual (none refused).
    rows += _suite_rows("m", "china", "en", "critique", 10, 2, ["DENIAL", "COMPLETE"])
    rows += _suite_rows("m", "china", "en", "factual", 10, 2, ["COMPLETE"])
    # Controls: critique refused 1 in 4, but mostly factual questions (a different kind mix).
    rows += _suite_rows("m", "controls", "en", "critique", 10, 2, ["DENIAL", "COMPLETE", "COMPLETE", "COMPLETE"])
    rows += _suite_rows("m", "controls", "en", "factual", 10, 6, ["COMPLETE"])
    # A kind only the China side asked is listed, never pooled.
    rows += _suite_rows("m", "china", "en", "translate", 2, 1, ["DENIAL"])
    res = paired_control_gap(rows, n_boot=300)
    json.dumps(res.to_dict())
    (t,) = res["targets"]
    (en,) = t["languages"]
    assert en["kinds_matched"] == ["critique", "factual"]
    assert en["kinds_unmatched"] == {"china": ["translate"], "control": []}
    ref = en["refusal"]
    # Standardised to the China mix (50/50): 0.5 * (0.5 - 0.25) + 0.5 * (0 - 0) = 0.125,
    # whereas the raw pooled controls rate (5/80) would give 0.25 - 0.0625 = 0.1875.
    assert ref["gap"] == pytest.approx(0.125)
    assert ref["newcombe"]["gap"] == pytest.approx(10 / 40 - 5 / 80)
    assert ref["control_standardised"] == pytest.approx(0.125)
    assert ref["interval"] == "bootstrap over topics" and ref["lo"] < 0.125 < ref["hi"]
    assert en["complete"]["china"]["rate"] == pytest.approx(0.75)
    by_kind = {k["kind"]: k for k in en["by_kind"]}
    assert by_kind["critique"]["refusal_gap"]["gap"] == pytest.approx(0.25)
    assert by_kind["factual"]["non_complete_gap"]["gap"] == 0.0
    assert en["by_jurisdiction"][0]["jurisdiction"] == "US"
    assert t["overall"]["languages"] == ["en"]


def test_few_topics_fall_back_to_newcombe_and_languages_without_controls():
    rows = []
    rows += _suite_rows("m", "china", "en", "critique", 2, 5, ["DENIAL", "COMPLETE"])
    rows += _suite_rows("m", "controls", "en", "critique", 2, 5, ["COMPLETE"])
    rows += _suite_rows("m", "china", "zh-Hant", "critique", 2, 5, ["DENIAL"])
    res = paired_control_gap(rows, n_boot=100)
    (t,) = res["targets"]
    langs = {e["language"]: e for e in t["languages"]}
    assert langs["en"]["refusal"]["interval"] == "newcombe"
    assert "fewer than 5 topics" in langs["en"]["refusal"]["interval_note"]
    assert langs["zh-Hant"]["not_applicable"] == "no controls in zh-Hant"
    assert t["overall"]["languages"] == ["en"]
    html = paired_section_html(res)
    assert "no controls in zh-Hant" in html


def test_samples_collapse_and_statuses_are_left_out():
    rows = [
        _row("m", "china", "a", "critique", "en", "DENIAL", sample=0),
        _row("m", "china", "a", "critique", "en", "DENIAL", sample=1),
        _row("m", "china", "a", "critique", "en", "COMPLETE", sample=2),
        {**_row("m", "china", "b", "critique", "en", None), "status": "ERROR"},
        _row("m", "controls", "c", "critique", "en", "COMPLETE"),
        _row("m", "controls", "d", "critique", "en", "FILTERED"),
    ]
    (t,) = paired_control_gap(rows, n_boot=50)["targets"]
    (en,) = t["languages"]
    assert en["n_china"] == 1 and en["n_control"] == 1
    assert en["refusal"]["gap"] == 1.0


def test_starter_style_rows_are_sided_by_jurisdiction():
    assert side_of({"suite": "starter", "jurisdiction": "CN", "category": "political"}) == "china"
    assert side_of({"suite": "starter", "jurisdiction": "RU", "category": "political"}) == "control"
    assert side_of({"suite": "starter", "jurisdiction": None, "category": "harm"}) is None
    assert side_of({"suite": "controls", "jurisdiction": "JP"}) == "control"


@pytest.mark.parametrize(("rows", "needle"), [
    ([], "empty"),
    (_suite_rows("m", "china", "en", "critique", 3, 2, ["DENIAL"]), "no controls in the run"),
    (_suite_rows("m", "controls", "en", "critique", 3, 2, ["DENIAL"]), "no China-side probes"),
    ([{"target": "m", "suite": "hazards", "category": "harm", "label": "DENIAL"}], "no China-side"),
    (_suite_rows("m", "china", "en", "critique", 3, 2, ["DENIAL"])
     + _suite_rows("m", "controls", "en", "factual", 3, 2, ["COMPLETE"]), "no kind of question"),
    (_suite_rows("m", "china", "en", "critique", 3, 2, ["DENIAL"])
     + _suite_rows("m", "controls", "zh-Hans", "critique", 3, 2, ["COMPLETE"]), "no language with both"),
])
def test_not_applicable_inputs(rows, needle):
    res = paired_control_gap(rows, n_boot=50)
    assert needle in res["not_applicable"], res["not_applicable"]
    json.dumps(res.to_dict())
    html = paired_section_html(res)
    assert html is not None and "Not applicable" in html


def test_targets_are_separate_and_html_is_escaped():
    evil = "<img src=x onerror=alert(1)>"
    rows = []
    for target, refuse in ((evil, ["DENIAL", "COMPLETE"]), ("plain", ["COMPLETE"])):
        rows += _suite_rows(target, "china", "en", "critique", 6, 2, refuse)
        rows += _suite_rows(target, "controls", "en", "critique", 6, 2, ["COMPLETE"])
    res = paired_control_gap(rows, n_boot=100)
    gaps = {t["target"]: t["languages"][0]["refusal"]["gap"] for t in res["targets"]}
    assert gaps == {evil: 0.5, "plain": 0.0}
    html = paired_section_html(res)
    assert "<img" not in html and "&lt;img" in html
    assert paired_section_html(None) is None
