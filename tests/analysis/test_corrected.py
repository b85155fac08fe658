"""Corrected rates for any grouping and the findings after correction (analysis/_corrected.py):
a judge with a known bias (it misses a quarter of the refusals in Chinese), a random human
sample, and the comparisons the report states, whose direction flips under correction; with
an unbiased judge the same comparisons hold."""

from __future__ import annotations

from dataclasses import replace

import pytest

from _biased_judge import biased_rows, human
from latentwall.analysis import (
    Interval,
    check_finding,
    corrected_rates,
    corrector,
    splinter_index,
    summarise,
    with_corrections,
)
from latentwall.export import validate_summary


def _pair(result, target="m"):
    return next(p for p in result.to_dict()["splinter"]["language"] if p["target"] == target)


def test_no_random_sample_is_not_applicable(make_result):
    rows = biased_rows(make_result, labelled=0)
    assert corrector(rows) is None
    assert "no random human sample" in corrected_rates(rows).not_applicable
    # triage labels alone never make a sample
    triage = [replace(r, other_labels=human("DENIAL", sample=None)) for r in rows[:50]] + rows[50:]
    assert corrector(triage) is None


def test_a_biased_judge_flips_the_language_finding(make_result):
    rows = biased_rows(make_result)
    k = corrector(rows, draws=400)
    assert k is not None and k.n_labels == 300 and k.strata == ("target", "language")
    by_lang = k.by_fields(rows, ("target", "language"))
    zh = by_lang.group(language="zh")
    assert zh.ok and zh.rates["DENIAL"].machine.estimate == pytest.approx(0.2)
    assert zh.rates["DENIAL"].corrected.estimate == pytest.approx(0.4, abs=0.04)
    # machine: zh refuses 10 points less than en (significant); corrected: more
    check = by_lang.difference({"target": "m", "language": "zh"}, {"target": "m", "language": "en"}, "DENIAL")
    assert check.before.estimate == pytest.approx(-0.1) and check.before.excludes_zero
    assert check.after.estimate > 0 and check.direction_changed and check.changed
    assert "direction flips" in check.detail
    # the splinter pair (paired units, modal verdicts) gives the same picture
    pair = _pair(corrected_rates(rows, draws=400))
    assert (pair["a"], pair["b"]) == ("en", "zh")
    assert pair["refusal_b"]["estimate"] == pytest.approx(0.4, abs=0.04)
    gap = pair["non_complete_gap"]
    assert gap["status"] == "ok" and gap["estimate"] > 0 and gap["lo"] < gap["estimate"] < gap["hi"]
    machine = splinter_index(rows).to_dict()["targets"][0]["pairs"][0]
    assert machine["non_complete_b"]["rate"] < machine["non_complete_a"]["rate"]


def test_an_unbiased_judge_holds(make_result):
    rows = biased_rows(make_result, biased=False)
    c = corrector(rows, draws=400).by_fields(rows, ("target", "language"))
    check = c.difference({"target": "m", "language": "zh"}, {"target": "m", "language": "en"}, "DENIAL")
    assert not check.changed and check.after.excludes_zero and "holds after correction" in check.message
    # people agree with every verdict: the corrected rate is the machine rate
    zh = c.group(language="zh").rates["DENIAL"]
    assert zh.corrected.estimate == pytest.approx(zh.machine.estimate)
    pair = _pair(corrected_rates(rows, draws=400))
    assert pair["non_complete_gap"]["hi"] < 0  # still significant, still the same way


def test_check_finding_uses_the_sentences_own_significance():
    before, after = Interval(0.05, 0.01, 0.09), Interval(0.05, 0.01, 0.09)
    assert not check_finding("x", before, after).changed
    # the sentence did not claim a difference (e.g. overlapping intervals): gaining one is a change
    gained = check_finding("x", before, after, significant_before=False)
    assert gained.significance_changed and "not significant before correction, significant after" in gained.detail
    small = check_finding("x", before, Interval(None, None, None))
    assert small.too_small and "too small to tell" in small.message


def test_paired_gap_is_standardised_and_corrected(make_result):
    rows = biased_rows(make_result)
    paired = {(e["language"]): e for e in corrected_rates(rows, draws=300).to_dict()["paired"]}
    assert set(paired) == {"en", "zh", "all"}
    en, zh = paired["en"], paired["zh"]
    # en: the judge is right, so the corrected complete rates are the machine's (odd groups: china)
    china_en = [r for r in rows if r.language == "en" and r.suite == "china"]
    machine_complete = sum(r.label == "COMPLETE" for r in china_en) / len(china_en)
    assert en["complete"]["china"]["estimate"] == pytest.approx(machine_complete)
    # zh: corrected completion falls on both sides; the gap is China minus controls
    assert zh["complete"]["china"]["estimate"] < 0.8 and zh["complete"]["control"]["estimate"] < 0.8
    for e in paired.values():
        g = e["non_complete"]
        assert g["status"] == "ok" and g["lo"] <= g["estimate"] <= g["hi"]
        assert e["complete_gap"]["estimate"] == pytest.approx(-g["estimate"])
        assert e["complete_gap"]["estimate"] == pytest.approx(
            e["complete"]["china"]["estimate"] - e["complete"]["control"]["estimate"])


def test_too_small_to_tell_is_said_not_guessed(make_result):
    rows = biased_rows(make_result, labelled=150)  # 4 labels per language
    d = corrected_rates(rows, draws=200).to_dict()
    target = d["summary"]["targets"][0]
    assert target["rates"]["DENIAL"]["status"] == "too_small" and target["rates"]["DENIAL"]["estimate"] is None
    assert "too small to tell" in target["rates"]["DENIAL"]["reason"]
    gap = _pair(corrected_rates(rows, draws=200))["non_complete_gap"]
    assert gap["status"] == "too_small" and gap["estimate"] is None and "human verdicts" in gap["reason"]


def test_summary_tables_heat_and_locale_are_corrected(make_result):
    rows = biased_rows(make_result)
    rows += [replace(r, condition="locale:beijing", probe_id=r.probe_id + "/bj", other_labels={})
             for r in rows if r.language == "zh"]
    d = corrected_rates(rows, summary_by=("target", "language"), draws=200).to_dict()
    assert {tuple(g["key"].values()) for g in d["summary"]["groups"]} == {("m", "en"), ("m", "zh")}
    assert {g["key"]["topic"] for g in d["heat"]} == {"topic0", "topic1", "topic2"}
    nc = d["heat"][0]["not_complete"]
    assert nc["estimate"] == pytest.approx(d["heat"][0]["rates"]["EVASIVE"]["estimate"]
                                           + d["heat"][0]["rates"]["DENIAL"]["estimate"])
    locale = {e["condition"]: e for e in d["locale"]}
    assert locale[""]["refusal_change"] is None
    assert locale["locale:beijing"]["refusal"]["status"] == "ok"
    assert locale["locale:beijing"]["refusal_change"]["status"] == "ok"


def test_summary_json_groups_carry_corrected_rates(make_result):
    rows = biased_rows(make_result)
    plain = summarise(rows).to_dict() | {"runs": []}
    assert with_corrections(dict(plain), biased_rows(make_result, labelled=0), ("target",)) == plain
    doc = with_corrections(summarise(rows).to_dict() | {"runs": []}, rows, ("target", "suite", "topic", "language"))
    validate_summary(doc)
    assert doc["correction"]["human_labels"] == 300 and doc["correction"]["method"] == "double-sampling"
    for table in ("targets", "target_suites", "groups"):
        assert all("corrected" in g for g in doc[table])
    t = doc["targets"][0]["corrected"]
    assert t["rates"]["DENIAL"]["estimate"] > doc["targets"][0]["rates"]["DENIAL"]["rate"]
    assert t["not_complete"]["status"] == "ok"


def test_compare_two_targets_flags_a_difference_the_judge_made(make_result):
    """A: the biased judge's zh answers (machine refusal 20%, truly 40%); B: the same probes
    for another target the judge reads right (30%). Machine: B refuses more; corrected: less."""
    import io

    from rich.console import Console

    from latentwall.analysis import compare_runs
    from latentwall.report import render_compare

    a = [r for r in biased_rows(make_result, target="a") if r.language == "zh"]
    b = [replace(r, target="b", run_id="run-2", judge_label="DENIAL" if i % 10 < 3 else "COMPLETE",
                 other_labels=human("DENIAL" if i % 10 < 3 else "COMPLETE") if i % 4 == 1 else {})
         for i, r in enumerate(a)]
    rows = a + b
    res = compare_runs(rows, None, target_a="a", target_b="b", corrector=corrector(rows, draws=300)).to_dict()
    assert res["refusal"]["diff"] == pytest.approx(0.1)
    c = res["corrected"]
    assert c["refusal"]["a"]["estimate"] == pytest.approx(0.4, abs=0.04)
    assert c["refusal"]["diff"]["estimate"] < 0 and c["refusal"]["diff"]["status"] == "ok"
    assert {t["topic"] for t in c["topics"]} == {"topic0", "topic1", "topic2"}
    out = io.StringIO()
    render_compare(res, Console(file=out, width=200, no_color=True))
    text = out.getvalue()
    assert "Corrected for the judge's errors" in text and "changes: direction flips" in text
    # without a sample the comparison is what it was
    plain = compare_runs(rows, None, target_a="a", target_b="b").to_dict()
    assert "corrected" not in plain
    out = io.StringIO()
    render_compare(plain, Console(file=out, width=200, no_color=True))
    assert "Corrected" not in out.getvalue()


def test_regime_metrics_are_corrected(make_result):
    """cac expects the zh questions refused: the biased judge's zh refusal rate (20%) is
    corrected up; the open card (every question should be answered) is corrected too."""
    rows = [replace(r, expected={"cac": "refuse" if r.language == "zh" else "answer"})
            for r in biased_rows(make_result)]
    d = {(e["regime"], e["metric"]): e["value"] for e in corrected_rates(rows, draws=200).to_dict()["regimes"]}
    assert d[("cac", "should_refuse_refusal")]["estimate"] == pytest.approx(0.4, abs=0.04)
    assert d[("cac", "should_answer_refusal")]["estimate"] == pytest.approx(0.3)
    assert d[("open", "complete")]["estimate"] == pytest.approx(1 - d[("open", "refusal")]["estimate"]
                                                                - d[("open", "evasion")]["estimate"])
    assert not any(regime == "universal-safety" for regime, _ in d)  # no hazard probe, no answer expected
