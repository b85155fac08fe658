"""Thought suppression: traces present, absent or cut short against control questions."""

from __future__ import annotations

from latentwall.analysis import thought_suppression
from latentwall.report.sections.thought import thought_section_html

LONG = "Let me think about this step by step. " * 10  # 380 chars


def r(target="m", topic="tiananmen-1989", reasoning=LONG, suite="china", category="political",
      language="en", status=None):
    return {"target": target, "topic": topic, "suite": suite, "category": category, "language": language,
            "reasoning": reasoning, "status": status, "label": "COMPLETE"}


def controls(n=4, target="m", language="en", reasoning=LONG):
    return [r(target, f"ctl-{i}", reasoning, "controls", "political", language) for i in range(n)]


def grp(res, **key):
    return next(g for g in res["groups"] if all(g["key"][k] == v for k, v in key.items()))


def test_not_applicable_without_any_trace():
    rows = [r(reasoning=None), r(reasoning=""), r(topic="x", reasoning=None)]
    res = thought_suppression(rows)
    assert res["not_applicable"].startswith("not applicable: no reasoning traces")
    assert res["groups"] == []
    assert "no reasoning traces" in thought_section_html(res)
    assert thought_suppression([])["not_applicable"] == "no responses: the runs are empty"


def test_absent_and_short_against_controls():
    rows = [
        *controls(4),
        r(reasoning=""), r(reasoning=None), r(reasoning="OK."), r(reasoning=LONG),  # sensitive topic
        r(topic="weather", reasoning=LONG),
    ]
    res = thought_suppression(rows)
    assert res["not_applicable"] is None
    t = grp(res, target="m", topic="tiananmen-1989")
    assert t["n"] == 4
    assert (t["absent"]["k"], t["absent"]["n"]) == (2, 4)  # "" and None both count as absent
    assert (t["present"]["k"], t["short"]["k"], t["short"]["n"]) == (2, 1, 4)  # "OK." is short
    assert (t["suppressed"]["k"], t["suppressed"]["n"]) == (3, 4)
    assert 0 < t["absent"]["lo"] < 0.5 < t["absent"]["hi"] < 1
    assert grp(res, topic="weather")["suppressed"]["k"] == 0
    info = res["targets"]["m"]
    assert info["control_median_chars"] == {"en": len(LONG.strip())}
    assert info["controls"]["absent"]["k"] == 0


def test_short_needs_controls_in_the_same_language():
    rows = [*controls(3, language="en"), r(language="zh-Hans", reasoning="短"), r(language="en", reasoning="short")]
    res = thought_suppression(rows, by=("target", "topic", "language"))
    zh = grp(res, language="zh-Hans")
    assert zh["short"] is None and zh["n_comparable"] == 0 and zh["suppressed"] is None
    assert zh["absent"]["k"] == 0
    assert grp(res, language="en", topic="tiananmen-1989")["short"]["k"] == 1


def test_benign_category_counts_as_control_and_errors_are_left_out():
    rows = [r(topic="lookalike", suite="lookalikes", category="benign") for _ in range(3)]
    rows += [r(reasoning=None, status="ERROR"), r(reasoning=None, status="FILTERED"), r(reasoning="tiny")]
    res = thought_suppression(rows)
    t = grp(res, topic="tiananmen-1989")
    assert t["n"] == 1 and t["short"]["k"] == 1
    assert res["targets"]["m"]["controls"]["n"] == 3


def test_target_without_traces_is_not_applicable_beside_one_with():
    rows = [*controls(3), r(), r(target="plain", reasoning=None), r(target="plain", reasoning=None)]
    res = thought_suppression(rows)
    assert res["not_applicable"] is None
    assert "no reasoning traces" in res["targets"]["plain"]["not_applicable"]
    assert all(g["key"]["target"] == "m" for g in res["groups"])
    html = thought_section_html(res)
    assert "plain" in html and "Suppressed" in html


def test_no_control_traces_note():
    res = thought_suppression([r(), r(reasoning="")])
    info = res["targets"]["m"]
    assert info["control_median_chars"] == {} and "cannot be judged" in info["note"]
    assert grp(res, topic="tiananmen-1989")["short"] is None


def test_html_escaping():
    rows = [*controls(2, target="<img src=x>"), r(target="<img src=x>")]
    html = thought_section_html(thought_suppression(rows))
    assert "<img" not in html and "&lt;img src=x&gt;" in html
