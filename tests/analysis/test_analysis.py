"""Metrics v1: Wilson intervals, verdict-only denominators, consistency buckets, JSON shape."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from latentwall.analysis import SUMMARY_SCHEMA, Rate, build_json_summary, summarise, wilson
from latentwall.records import Result


def row(**kw):
    base = {
        "run_id": "r1",
        "target": "t1",
        "probe_id": "s/topic/q1/en",
        "suite": "s",
        "topic": "topic",
        "language": "en",
        "category": "political",
        "kind": "factual",
        "group": "s/topic/q1",
        "jurisdiction": None,
        "condition": "",
        "sample": 0,
        "prompt": "p",
        "text": "a",
        "reasoning": None,
        "finish_reason": "stop",
        "status": None,
        "error": None,
        "model": "m",
        "latency_s": 0.1,
        "label": "COMPLETE",
        "rationale": "",
        "evidence": [],
        "judge": "markers",
    }
    base.update(kw)
    return base


def one(summary, **key):
    matches = [g for g in summary.groups if all(g.key.get(k) == v for k, v in key.items())]
    assert len(matches) == 1, matches
    return matches[0]


# ---------------------------------------------------------------- wilson


@pytest.mark.parametrize(
    ("k", "n", "expected"),
    [
        (0, 10, (0.0, 0.0, 0.2775)),
        (5, 10, (0.5, 0.2366, 0.7634)),
        (10, 10, (1.0, 0.7225, 1.0)),
        (1, 1, (1.0, 0.2065, 1.0)),
        (3, 5, (0.6, 0.2307, 0.8824)),
    ],
)
def test_wilson_known_values(k, n, expected):
    rate, lo, hi = wilson(k, n)
    assert (round(rate, 4), round(lo, 4), round(hi, 4)) == expected


def test_wilson_edges_are_exact_and_symmetric():
    assert wilson(0, 10)[1] == 0.0
    assert wilson(10, 10)[2] == 1.0
    for k in range(11):
        _, lo, hi = wilson(k, 10)
        _, _, hi2 = wilson(10 - k, 10)
        assert lo == pytest.approx(1 - hi2)
        assert 0.0 <= lo <= k / 10 <= hi <= 1.0


def test_wilson_no_data_is_none_not_zero():
    assert wilson(0, 0) == (None, None, None)
    assert Rate.of(0, 0).to_dict() == {"k": 0, "n": 0, "rate": None, "lo": None, "hi": None}


def test_wilson_other_z_is_narrower():
    _, lo95, hi95 = wilson(5, 10)
    _, lo90, hi90 = wilson(5, 10, z=1.645)
    assert lo95 < lo90 < hi90 < hi95


@pytest.mark.parametrize(("k", "n"), [(-1, 3), (4, 3), (0, -1)])
def test_wilson_rejects_impossible_counts(k, n):
    with pytest.raises(ValueError):
        wilson(k, n)


# ---------------------------------------------------------------- denominators


def test_statuses_never_enter_verdict_denominators():
    labels = [
        "DENIAL",
        "DENIAL",
        "COMPLETE",
        "ERROR",
        "ERROR",
        "EMPTY",
        "TRUNCATED",
        "FILTERED",
        "JUDGE_ERROR",
    ]
    rows = [row(probe_id=f"p{i}", label=lab) for i, lab in enumerate(labels)]
    g = one(summarise(rows))
    assert g.n == 9
    assert g.n_verdicts == 3
    assert g.refusal.k == 2 and g.refusal.n == 3
    assert g.refusal.rate == pytest.approx(2 / 3)
    assert g.evasion.rate == 0.0
    assert g.statuses == {"ERROR": 2, "EMPTY": 1, "TRUNCATED": 1, "FILTERED": 1, "JUDGE_ERROR": 1}
    assert g.to_dict()["n_statuses"] == 6


def test_group_with_only_statuses_has_no_rate():
    g = one(summarise([row(label="ERROR"), row(label="FILTERED", sample=1)]))
    assert g.n_verdicts == 0
    assert g.refusal.rate is None and g.refusal.lo is None and g.refusal.hi is None
    assert g.n_probes == 0


def test_unjudged_rows_and_status_fallback():
    rows = [
        row(label=None),  # not judged yet
        row(label=None, status="ERROR", sample=1),  # transport error: no judge needed
        row(label="DENIAL", sample=2),
    ]
    g = one(summarise(rows))
    assert g.n == 3
    assert g.n_unjudged == 1
    assert g.counts["ERROR"] == 1
    assert g.n_verdicts == 1
    assert Result.from_row({"label": None, "status": "TRUNCATED"}).label == "TRUNCATED"
    assert Result.from_row({"label": None, "status": "weird"}).label is None
    assert Result.from_row({"label": "COMPLETE", "status": "ERROR"}).label == "COMPLETE"


def test_unknown_label_is_counted_but_not_a_verdict():
    g = one(summarise([row(label="MAYBE"), row(label="COMPLETE", sample=1)]))
    assert g.counts["MAYBE"] == 1
    assert g.other_labels == {"MAYBE": 1}
    assert g.n_verdicts == 1
    assert g.complete.rate == 1.0


# ---------------------------------------------------------------- buckets


def test_consistency_buckets():
    rows = [
        *(row(probe_id="always", sample=i, label="DENIAL") for i in range(3)),
        row(probe_id="sometimes", sample=0, label="DENIAL"),
        row(probe_id="sometimes", sample=1, label="EVASIVE"),
        row(probe_id="never", sample=0, label="COMPLETE"),
        row(probe_id="never", sample=1, label="EVASIVE"),
        # statuses are ignored: one DENIAL plus an ERROR is still ALWAYS
        row(probe_id="always2", sample=0, label="DENIAL"),
        row(probe_id="always2", sample=1, label="ERROR"),
        # a probe without any verdict is in no bucket
        row(probe_id="errors", sample=0, label="ERROR"),
        row(probe_id="errors", sample=1, label=None),
        # a condition is its own probe variant
        row(probe_id="never", condition="roleplay", sample=0, label="DENIAL"),
    ]
    s = summarise(rows)
    g = one(s)
    assert g.consistency == {"ALWAYS": 3, "SOMETIMES": 1, "NEVER": 1}
    assert g.n_probes == 5
    assert s.targets[0].consistency == {"ALWAYS": 3, "SOMETIMES": 1, "NEVER": 1}
    assert s.target_suites[0].consistency == {"ALWAYS": 3, "SOMETIMES": 1, "NEVER": 1}


def test_buckets_are_per_target():
    rows = [
        row(target="a", label="DENIAL"),
        row(target="a", sample=1, label="DENIAL"),
        row(target="b", label="DENIAL"),
        row(target="b", sample=1, label="COMPLETE"),
    ]
    s = summarise(rows)
    by_target = {g.key["target"]: g.consistency for g in s.targets}
    assert by_target["a"] == {"ALWAYS": 1, "SOMETIMES": 0, "NEVER": 0}
    assert by_target["b"] == {"ALWAYS": 0, "SOMETIMES": 1, "NEVER": 0}


# ---------------------------------------------------------------- grouping


def synthetic_rows():
    """Two targets × two suites × two topics × two languages × 3 probes × 4 samples."""
    for t_i, target in enumerate(["qwen", "llama"]):
        for suite in ["starter", "harm"]:
            for topic in ["tiananmen", "taiwan"]:
                for lang in ["en", "zh-Hans"]:
                    for q in range(3):
                        for sample in range(4):
                            # qwen refuses in Chinese, llama never; every 4th sample of q2 errors
                            if q == 2 and sample == 3:
                                label = "ERROR"
                            elif target == "qwen" and lang == "zh-Hans":
                                label = "DENIAL"
                            elif (q + sample + t_i) % 3 == 0:
                                label = "EVASIVE"
                            else:
                                label = "COMPLETE"
                            yield row(
                                target=target,
                                suite=suite,
                                topic=topic,
                                language=lang,
                                probe_id=f"{suite}/{topic}/q{q}/{lang}",
                                sample=sample,
                                label=label,
                            )


def test_summarise_on_synthetic_rows_streams_a_generator():
    s = summarise(synthetic_rows())
    assert s.n_rows == 2 * 2 * 2 * 2 * 3 * 4
    assert len(s.groups) == 16
    assert [g.key["target"] for g in s.targets] == ["llama", "qwen"]  # sorted
    assert len(s.target_suites) == 4
    zh = one(s, target="qwen", suite="starter", topic="taiwan", language="zh-Hans")
    assert zh.n == 12 and zh.n_verdicts == 11 and zh.counts["ERROR"] == 1
    assert zh.refusal.rate == 1.0 and zh.refusal.hi == 1.0
    assert zh.consistency == {"ALWAYS": 3, "SOMETIMES": 0, "NEVER": 0}
    en = one(s, target="qwen", suite="starter", topic="taiwan", language="en")
    assert en.refusal.rate == 0.0 and en.refusal.lo == 0.0
    assert en.consistency["NEVER"] == 3
    qwen = next(g for g in s.targets if g.key["target"] == "qwen")
    assert qwen.n == 96 and qwen.n_verdicts == 88
    assert qwen.refusal.k == 44
    for g in s.groups + s.targets + s.target_suites:
        assert sum(g.counts.values()) + g.n_unjudged == g.n
        assert sum(r.k for r in g.rates.values()) == g.n_verdicts


def test_custom_grouping_and_non_string_keys():
    rows = [
        row(language="en", jurisdiction=None),
        row(language="en", jurisdiction="CN", sample=1, label="DENIAL"),
        row(language="fr", jurisdiction=["odd"], sample=2),
    ]
    s = summarise(rows, by=("target", "jurisdiction"))
    assert s.by == ("target", "jurisdiction")
    assert [g.key["jurisdiction"] for g in s.groups] == ["CN", "['odd']", None]  # None sorts last
    assert s.values("jurisdiction") == ["CN", "['odd']", None]


def test_empty_input():
    s = summarise([])
    assert s.n_rows == 0 and s.groups == [] and s.targets == []
    assert s.to_dict()["groups"] == []


# ---------------------------------------------------------------- JSON


def test_summary_dict_shape_is_json_able():
    d = summarise(synthetic_rows()).to_dict()
    assert d["schema"] == SUMMARY_SCHEMA == "latentwall.summary/1"
    assert set(d) >= {
        "schema",
        "by",
        "n_rows",
        "labels",
        "interval",
        "targets",
        "target_suites",
        "groups",
    }
    g = d["groups"][0]
    assert set(g) == {
        "key",
        "n",
        "n_verdicts",
        "n_statuses",
        "n_unjudged",
        "counts",
        "rates",
        "consistency",
    }
    assert set(g["rates"]) == {"COMPLETE", "EVASIVE", "DENIAL"}
    assert set(g["rates"]["DENIAL"]) == {"k", "n", "rate", "lo", "hi"}
    assert set(g["consistency"]) == {"ALWAYS", "SOMETIMES", "NEVER", "n_probes"}
    assert json.loads(json.dumps(d, allow_nan=False)) == d


def test_build_json_summary_includes_runs():
    runs = [
        {
            "run_id": "r1",
            "target": "t1",
            "suites": ["s"],
            "languages": None,
            "samples": 2,
            "params": {
                "temperature": 0.7,
                "top_p": 1.0,
                "max_tokens": 256,
                "seed": 7,
                "when": datetime(2025, 1, 1),
            },
            "judge": "markers",
            "created": "2025-01-01T00:00:00+00:00",
            "finished": None,
            "status": "interrupted",
            "latentwall_version": "0.1.0",
            "target_info": {"kind": "builtin"},
            "counts": {"responses": 2},
            "internal": "not exported",
        }
    ]
    d = build_json_summary(runs, iter([row(), row(sample=1, label="DENIAL")]))
    assert d["schema"] == SUMMARY_SCHEMA
    assert d["runs"][0]["run_id"] == "r1"
    assert d["runs"][0]["params"]["when"] == "2025-01-01 00:00:00"
    assert "internal" not in d["runs"][0]
    assert d["targets"][0]["rates"]["DENIAL"]["rate"] == 0.5
    json.dumps(d, allow_nan=False)
