"""The typed row after the store (`records.Result`): what every reader derives from a row is
derived here once, the same way for the analyses, the report, the viewer and the exports."""

from __future__ import annotations

import json

import pytest

from latentwall.records import Result, as_results


def test_label_is_the_judges_else_the_targets_status(make_result):
    assert make_result(label="DENIAL").label == "DENIAL"
    # a transport error needs no judge: the status stands in, never a verdict
    err = make_result(label=None, status="ERROR", text="")
    assert err.label == "ERROR" and err.verdict is None and err.is_terminal
    assert make_result(label=None, status=None).label is None  # not judged yet
    assert make_result(label="JUDGE_ERROR").verdict is None


@pytest.mark.parametrize(("fields", "terminal"), [
    ({"label": "COMPLETE"}, None),
    ({"label": "COMPLETE", "status": "FILTERED"}, "FILTERED"),  # the target's status first
    ({"label": "TRUNCATED"}, "TRUNCATED"),
    ({"label": "COMPLETE", "text": "   "}, "EMPTY"),
    ({"label": "COMPLETE", "text": None}, "EMPTY"),
])
def test_terminal_status(make_result, fields, terminal):
    r = make_result(**fields)
    assert r.terminal_status == terminal and r.is_terminal == (terminal is not None)


def test_guard_from_the_run_or_the_target_label(make_result):
    bare = make_result(target="qwen")
    assert bare.guard == "" and bare.bare_target == "qwen"
    labelled = make_result(target="qwen [guard keyword:input]")
    assert labelled.guard == "keyword:input" and labelled.bare_target == "qwen"
    assert make_result(target="qwen", guard="regex:pattern=x").guard == "regex:pattern=x"


def test_key_and_compact(make_result):
    r = make_result(probe_id="s/t/q/en", condition="base64", sample=2, prompt="P", reasoning="R" * 10,
                    rationale="why", evidence=["e"])
    assert r.key == ("s/t/q/en", "base64", 2)
    slim = r.compact()
    assert slim.key == r.key and slim.label == r.label and slim.text == r.text
    assert (slim.prompt, slim.reasoning, slim.rationale, slim.evidence) == (None, None, None, ())
    assert slim.reasoning_chars == 10  # the trace's length survives its removal


def test_rows_round_trip_in_the_store_names(make_result):
    r = make_result(label="EVASIVE", guard="keyword", tags=["a"], expected={"cac": "refuse"},
                    judge_extra={"confidence": 0.9}, stance="MIXED", stance_detail={"label": "MIXED"})
    row = r.to_row()
    assert row["label"] == "EVASIVE" and row["guard"] == "keyword" and row["tags"] == ["a"]
    json.dumps(row)
    assert Result.from_row(row) == r
    assert list(as_results([row, r])) == [r, r]
    odd = Result.from_row({"probe_id": "p", "sample": "x", "condition": None, "cached": 1})
    assert odd.sample == 0 and odd.condition == "" and odd.cached is True
