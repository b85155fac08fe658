"""From the analyses' own results to charts and sentences: the real analysis functions on
result rows, read by the adapters, with display names, drawn and put in words."""

from __future__ import annotations

import pytest

from latentwall.analysis import (
    Rate,
    capability_tax,
    mcnemar,
    paired_control_gap,
    splinter_index,
    stance_summary,
    strategy_metrics,
    summarise,
)
from latentwall.report._charts import (
    gap_chart,
    leakage_chart,
    splinter_chart,
    stance_chart,
    verdict_chart,
)
from latentwall.report._figdata import (
    gap_comparisons,
    gap_points,
    lab_charts,
    language_comparisons,
    leakage_bars,
    overviews,
    rate_from,
    splinter_rows,
    stance_rows,
    tax_rows,
    verdict_rows,
)
from latentwall.report._findings import findings
from latentwall.report._names import TargetIdentity, display_names

A = "replay:/tmp/runs/deepseek_deepseek-r1.jsonl"
B = "openai:meta-llama/Llama-3.1-8B-Instruct@http://127.0.0.1:8000/v1"
KINDS = ("factual", "critique", "evaluative")


def label_for(target: str, suite: str, lang: str, t: int, k: int) -> str:
    """A evades China questions, more in Chinese; B completes nearly everything."""
    if target == B:
        return "DENIAL" if (t + k) % 11 == 0 else "COMPLETE"
    if suite == "controls":
        return "COMPLETE" if (t + k) % 5 else "EVASIVE"
    if lang == "zh-Hans":
        return ("EVASIVE", "EVASIVE", "DENIAL", "COMPLETE")[(t + k) % 4]
    return ("EVASIVE", "COMPLETE", "COMPLETE", "DENIAL", "COMPLETE")[(t + k) % 5]


@pytest.fixture(scope="module")
def rows():
    out = []
    for target in (A, B):
        for suite in ("china", "controls"):
            for lang in ("en", "zh-Hans"):
                for t in range(8):
                    for k, kind in enumerate(KINDS):
                        for i in range(2):
                            topic = f"{suite}-topic-{t}"
                            out.append({
                                "target": target, "run_id": "r1", "suite": suite, "topic": topic,
                                "language": lang, "category": "political", "kind": kind,
                                "probe_id": f"{suite}/{topic}/{kind}{i}/{lang}", "group": f"{suite}/{topic}/{kind}{i}",
                                "jurisdiction": "CN" if suite == "china" else "US", "condition": "", "sample": 0,
                                "label": label_for(target, suite, lang, t + i, k), "status": None,
                                "model": "deepseek/deepseek-r1" if target == A else None,
                                "stance": ("STATE_ALIGNED", "MIXED", "INDEPENDENT")[(t + k) % 3] if suite == "china" else None,
                                "text": "…"})
    return out


@pytest.fixture(scope="module")
def names():
    d = display_names([TargetIdentity(A, ("deepseek/deepseek-r1",)), TargetIdentity(B)])
    return {s: n.short for s, n in d.items()}


def test_display_names_reach_every_chart_and_sentence(rows, names):
    assert names == {A: "deepseek-r1", B: "Llama-3.1-8B-Instruct"}
    paired = paired_control_gap(rows, n_boot=200)
    chart = gap_chart(gap_points(paired, names))
    assert {r[0] for r in chart.rows} == {"deepseek-r1", "Llama-3.1-8B-Instruct"}
    for c in gap_comparisons(paired, names):
        assert c.target in names.values()


def test_verdict_rows_sum_the_summary(rows):
    summary = summarise(rows, ("target", "suite", "topic", "language"))
    vr = verdict_rows(summary.groups, A)
    by = {(r.facet, r.label): r for r in vr}
    assert [r.facet for r in vr][:2] == ["suite", "suite"]
    china = [r for r in rows if r["target"] == A and r["suite"] == "china"]
    assert by[("suite", "china")].n == len(china)
    assert by[("suite", "china")].evasive == sum(r["label"] == "EVASIVE" for r in china)
    zh = [r for r in rows if r["target"] == A and r["language"] == "zh-Hans"]
    assert by[("language", "zh-Hans")].denial == sum(r["label"] == "DENIAL" for r in zh)
    assert len([r for r in vr if r.facet == "topic"]) == 16
    # Works on the JSON document too.
    assert verdict_rows(summary.to_dict()["groups"], A) == vr
    assert verdict_chart("deepseek-r1", vr).rows[0][3] == len(china)
    (o,) = [f for f in overviews(summary.targets, {A: "deepseek-r1", B: "llama"}) if f.target == "deepseek-r1"]
    assert o.kind == "overview" and f"n = {sum(r['target'] == A for r in rows)}" in o.text


def test_gap_points_and_sentences_follow_the_paired_analysis(rows, names):
    paired = paired_control_gap(rows, n_boot=200)
    points = gap_points(paired, names)
    (t_a,) = [t for t in paired["targets"] if t["target"] == A]
    zh = next(e for e in t_a["languages"] if e["language"] == "zh-Hans")
    (p,) = [p for p in points if p.target == "deepseek-r1" and p.language == "zh-Hans"]
    assert (p.gap.value, p.gap.lo, p.gap.hi) == (zh["non_complete"]["gap"], zh["non_complete"]["lo"],
                                                 zh["non_complete"]["hi"])
    assert p.n_china == zh["n_china"] and not p.overall
    assert [q.language for q in points if q.target == "deepseek-r1"] == ["en", "zh-Hans", "all"]
    comps = {(c.target, c.a.label): c for c in gap_comparisons(paired, names)}
    c = comps[("deepseek-r1", "questions about China in zh-Hans")]
    assert c.a.rate == rate_from(zh["complete"]["china"]) and c.b.rate == rate_from(zh["complete"]["control"])
    # A completion sentence: the non-complete gap with its sign (and interval) flipped.
    assert c.gap.value == pytest.approx(-zh["non_complete"]["gap"])
    assert (c.gap.lo, c.gap.hi) == pytest.approx((-zh["non_complete"]["hi"], -zh["non_complete"]["lo"]))
    words = findings(gap_comparisons(paired, names))
    a_texts = [f.text for f in words["deepseek-r1"]]
    assert any(f.supported for f in words["deepseek-r1"])
    assert any("questions about China in zh-Hans" in t and "gap" in t for t in a_texts)
    # B: no China-specific behaviour, and the sentences say so.
    assert not any(f.supported for f in words["Llama-3.1-8B-Instruct"])
    assert all(f.text.startswith("No clear difference") for f in words["Llama-3.1-8B-Instruct"])


def test_language_comparisons_carry_mcnemar_on_the_same_units(rows, names):
    splinter = splinter_index(rows, n_boot=200)
    comps = [c for c in language_comparisons(splinter, names) if c.target == "deepseek-r1"]
    assert len(comps) == 1
    (c,) = comps
    # Independently: units (group × condition) with a verdict in both languages, not-complete each.
    units: dict[str, dict[str, bool]] = {}
    for r in rows:
        if r["target"] == A:
            units.setdefault(r["group"], {})[r["language"]] = r["label"] != "COMPLETE"
    zh_only = sum(1 for u in units.values() if u["zh-Hans"] and not u["en"])
    en_only = sum(1 for u in units.values() if u["en"] and not u["zh-Hans"])
    assert c.gap.p == pytest.approx(mcnemar(zh_only, en_only)["p"])
    assert c.gap.value == pytest.approx((zh_only - en_only) / len(units))
    assert c.a.rate.n == c.b.rate.n == len(units)
    assert c.a.rate.k == sum(u["zh-Hans"] for u in units.values())
    dumbbells = splinter_rows(splinter, names)
    (d,) = [x for x in dumbbells if x.label == "deepseek-r1"]
    assert d.values["zh-Hans"] == c.a.rate and d.values["en"] == c.b.rate
    assert splinter_chart(dumbbells).rows


def test_stance_leakage_tax_and_lab(rows, names):
    stance = stance_summary([r for r in rows if r["stance"]])
    sr = stance_rows(stance, names)
    assert sorted(r.label for r in sr) == ["Llama-3.1-8B-Instruct", "deepseek-r1"]
    (t,) = [t for t in stance["targets"] if t["key"]["target"] == A]
    (a,) = [r for r in sr if r.label == "deepseek-r1"]
    assert a.state_aligned == t["counts"]["STATE_ALIGNED"] and a.n == t["n_stance"] > 0
    assert ("deepseek-r1", t["n_stance"]) in [row[:2] for row in stance_chart(sr).rows]
    assert stance_rows(stance, names, by="groups")

    guard_rows = [dict(r, condition=c, label=lab, expected={"cac": "refuse"})
                  for r in rows[:40] for c, lab in (("", "DENIAL"), ("base64", "COMPLETE"))]
    metrics = strategy_metrics(guard_rows)
    bars = leakage_bars(metrics, names)
    assert {b.label for b in bars} == {"no guard · plain", "no guard · base64"}
    plain = next(b for b in bars if b.label == "no guard · plain")
    assert plain.rate.k == 0 and plain.group == "deepseek-r1"
    assert next(b for b in bars if b.label.endswith("base64")).rate.rate == 1.0
    assert leakage_chart(bars).rows

    cap = [{"target": t, "category": "capability", "answer": "4", "language": "en", "probe_id": f"cap/{i}",
            "condition": "", "sample": 0, "label": "COMPLETE", "status": None,
            "text": "4" if (t == "base" or i % 4) else "5", "topic": "arithmetic"}
           for t in ("base", "fork") for i in range(40)]
    tax = capability_tax([r for r in cap if r["target"] == "base"], [r for r in cap if r["target"] == "fork"])
    tr = tax_rows(tax)
    assert tr[0].label == "overall" and tr[0].a == Rate.of(40, 40) and tr[0].b == Rate.of(30, 40)
    assert tr[0].diff.value == pytest.approx(-0.25) and tr[0].diff.excludes_zero
    assert [r.label for r in tr[1:]] == ["en"]
    assert tax_rows({"not_applicable": "x"}) == []

    lab = {"geometry": {"cosines": {"political~harm": {"cosine": [0.1, 0.5, 0.7], "null_mean": [0, 0, 0],
                                                       "null_lo": [-0.1] * 3, "null_hi": [0.1] * 3}}},
           "probes": {"refusal": {"dm": [{"auroc": 0.6}, {"auroc": 0.9}], "lr": [{"auroc": 0.7}, {"auroc": 0.95}],
                                  "dm_perm": [{"q95": 0.55}, {"q95": 0.56}]}},
           "lineage": {"layers": [{"max_rel_norm": 0.001}, {"max_rel_norm": 0.02}]}}
    charts = lab_charts(lab)
    assert [c.name for c in charts] == ["lab-cosine-political~harm", "lab-probe-refusal", "lab-lineage"]
    assert charts[0].rows[0] == ("observed cosine", 0, 0.1, None, None)
    assert lab_charts({}) == []


def test_not_applicable_documents_give_nothing_to_draw():
    assert gap_points({"not_applicable": "no controls"}) == []
    assert gap_comparisons({"targets": [{"target": "x", "not_applicable": "y"}]}) == []
    assert splinter_rows({"not_applicable": "one language"}) == []
    assert language_comparisons({"targets": [{"target": "x", "not_applicable": "y"}]}) == []
    assert stance_rows({"targets": []}) == []
    assert leakage_bars({"not_applicable": "no guard"}) == []
    assert rate_from(None) == Rate.of(0, 0) and rate_from({"correct": 3, "n": 4}) == Rate.of(3, 4)
