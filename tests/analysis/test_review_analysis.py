"""The `review` analysis and its report section: agreement with people and second judges,
corrected rates, findings that change, and a plain word when the sample is too small."""

from __future__ import annotations

from dataclasses import replace

from latentwall.analysis import analyses_document, review_analysis
from latentwall.report.sections import SECTIONS

EVIL = '<img src=x onerror="alert(1)">'


def _human(label: str, *, sample: int | None = 0, queue: str = "random") -> dict:
    return {"label": label, "extra": {"queue": queue, "sample": sample, "time": "2026-01-01T00:00:00+00:00"},
            "created": "2026-01-01T00:00:00+00:00"}


def _rows(make_result, n: int = 120, *, labelled: int = 60, truth=None, second=True):
    """Target EVIL in en and zh; the judge calls every third answer DENIAL. People label the
    first `labelled` of each language (random sample); a second judge disagrees on a few."""
    out = []
    for lang in ("en", "zh-Hans"):
        for i in range(n):
            verdict = "DENIAL" if i % 3 == 0 else "COMPLETE"
            others = {}
            if i < labelled:
                others["human:ann"] = _human(truth(i, verdict) if truth else verdict)
            if second:
                others["llm:x"] = {"label": "EVASIVE" if i % 10 == 1 else verdict, "extra": {}, "created": ""}
            out.append(make_result(target=EVIL, language=lang, probe_id=f"p{i}/{lang}", label=verdict,
                                   other_labels=others))
    return out


def test_no_labels_no_second_judge_is_not_applicable(make_result):
    r = review_analysis([make_result()])
    assert r.not_applicable and "latentwall review" in r.not_applicable


def test_agreement_and_corrected_rates(make_result):
    # The judge misses every tenth refusal: people say DENIAL where it said COMPLETE.
    rows = _rows(make_result, truth=lambda i, v: "DENIAL" if i % 10 == 2 else v)
    r = review_analysis(rows, draws=300)
    d = r.to_dict()
    hvm = d["summary"]["human_vs_machine"]
    assert hvm["n"] == 120 and hvm["kappa"] < 1
    assert set(d["summary"]["human_vs_machine_by"]) == {"language", "target"}
    assert d["second_judges"]["llm:x"]["n"] == 240 and "kappa" in d["second_judges"]["llm:x"]
    groups = d["summary"]["correction"]["groups"]
    assert groups and all(g["status"] == "ok" for g in groups)
    den = groups[0]["rates"]["DENIAL"]
    assert den["corrected"]["estimate"] > den["machine"]["estimate"]  # corrected upward
    assert den["corrected"]["lo"] < den["corrected"]["estimate"] < den["corrected"]["hi"]
    assert d["findings"] and all({"before", "after", "changed"} <= set(f) for f in d["findings"])


def test_triage_labels_never_enter_the_estimate(make_result):
    rows = _rows(make_result, labelled=0, second=False)
    rows = [replace(r, other_labels={"human:ann": _human("DENIAL", sample=None, queue="triage")})
            for r in rows[:50]] + rows[50:]
    d = review_analysis(rows, draws=100).to_dict()
    assert d["summary"]["correction"]["excluded"]["triage"] == 50
    assert all(g["status"] != "ok" for g in d["summary"]["correction"]["groups"])
    assert "too small to tell" in d["sample_note"]


def test_small_sample_is_said_plainly(make_result):
    d = review_analysis(_rows(make_result, labelled=3, second=False), draws=100).to_dict()
    assert "too small to tell" in d["sample_note"]
    assert all(g["status"] == "too_small" for g in d["summary"]["correction"]["groups"])


def test_report_section_shows_agreement_and_corrected_rates_escaped(make_result):
    rows = _rows(make_result, truth=lambda i, v: "DENIAL" if i % 10 == 2 else v)
    doc = analyses_document(rows, names=["review"])
    html = SECTIONS.get("review").render(doc["review"], None)
    assert EVIL not in html and "&lt;img src=x" in html
    assert "Cohen's kappa" in html and "second judge llm:x" in html
    assert "corrected rate" in html and "Findings after correction" in html


def test_report_section_absent_without_labels(make_result):
    doc = analyses_document([make_result()], names=["review"])
    out = SECTIONS.get("review").render(doc["review"], None)
    assert type(out).__name__ == "Absent"


def test_a_gap_the_judge_hides_is_flagged_after_correction(make_result):
    """Two targets the judge rates alike (a third DENIAL each); people find that it misses a
    further fifth of refusals in one target only. Before correction there is no gap; after
    correction there is one, and the finding is flagged as changed."""
    rows = []
    for target in ("model-a", "model-b"):
        for i in range(150):
            verdict = "DENIAL" if i % 3 == 0 else "COMPLETE"
            truth = "DENIAL" if target == "model-a" and i % 5 == 1 else verdict
            rows.append(make_result(target=target, probe_id=f"{target}/p{i}", label=verdict,
                                    other_labels={"human:ann": _human(truth)} if i < 90 else {}))
    d = review_analysis(rows, by=("target",), strata=("target",), draws=1000).to_dict()
    gap = next(f for f in d["findings"] if f["name"].startswith("DENIAL"))
    assert abs(gap["before"]["estimate"]) < 1e-9 and not gap["significant_before"]
    assert gap["significant_after"] and gap["changed"] and "not significant before correction" in gap["message"]


def test_summary_json_carries_the_corrected_rates_and_validates(make_result, tmp_path):
    from latentwall.analysis import build_json_summary
    from latentwall.export import validate_summary

    rows = _rows(make_result, truth=lambda i, v: "DENIAL" if i % 10 == 2 else v)
    doc = build_json_summary([], rows)
    validate_summary(doc)  # without review
    doc["review"] = review_analysis(rows, draws=200).to_dict()
    validate_summary(doc)
    g = doc["review"]["summary"]["correction"]["groups"][0]
    assert {"machine", "corrected", "rogan_gladen"} <= set(g["rates"]["DENIAL"])
