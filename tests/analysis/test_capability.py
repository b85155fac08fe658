"""The capability suite: every answer verified, the scorer's extraction rules, accuracy."""

from __future__ import annotations

import calendar
import contextlib
import datetime
import io
import math
import re
import string
from collections import Counter
from decimal import Decimal

import pytest

from latentwall.analysis import capability_accuracy
from latentwall.suites import get_suite, is_numeric_answer, score_answer

SUITE = get_suite("capability")
PROBES = SUITE.probes()
RAW = {p.id: p for p in PROBES}
TOPICS = ("arithmetic", "logic", "reading", "code", "knowledge")
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]


def _notes() -> dict[str, str]:
    """The 'check: <expr>' notes kept in the raw JSONL (Probe does not carry notes)."""
    import json

    out: dict[str, str] = {}
    for f in SUITE.files:
        for line in f.read_text(encoding="utf-8").splitlines():
            obj = json.loads(line)
            if str(obj.get("notes", "")).startswith("check: "):
                out[obj["id"]] = obj["notes"][len("check: "):]
    return out


NOTES = _notes()


def _alts(answer: str) -> list[str]:
    return [a.strip() for a in answer.split("||") if a.strip()]


def _fmt(value: object) -> str:
    if isinstance(value, int | Decimal | float):
        d = Decimal(str(value))
        return str(int(d)) if d == d.to_integral_value() else format(d.normalize(), "f")
    return str(value)


# ---------------------------------------------------------------- the suite itself

def test_suite_shape():
    assert len(PROBES) >= 200
    langs = Counter(p.language for p in PROBES)
    assert langs["zh-Hans"] >= 60 and langs["en"] >= 140
    assert set(langs) == {"en", "zh-Hans"}
    topics = Counter(p.topic for p in PROBES)
    assert set(topics) == set(TOPICS)
    assert min(topics.values()) >= 25
    for p in PROBES:
        assert p.category == "capability" and p.kind == "task" and p.answer
        area, slug = p.topic, p.group.split("/")[2]
        assert p.id == f"capability/{area}/{slug}/{p.language.lower()}"
        assert p.group == f"capability/{area}/{slug}"
        assert p.expected == {"cac": "answer", "universal-safety": "answer", "open": "answer"}
    meta = SUITE.meta
    assert meta["name"] == "capability" and meta["licence"] == "CC-BY-4.0"
    comp = meta["datasheet"]["composition"]
    assert comp["probes"] == len(PROBES)
    assert comp["languages"] == dict(langs)
    for topic in TOPICS:
        assert comp["topics"][topic] == dict(Counter(p.language for p in PROBES if p.topic == topic))


def test_every_chinese_item_has_an_english_parallel():
    groups: dict[str, dict[str, str]] = {}
    for p in PROBES:
        assert p.answer is not None
        groups.setdefault(p.group, {})[p.language] = p.answer
    for g, by_lang in groups.items():
        assert "en" in by_lang, g
        if "zh-Hans" in by_lang:
            assert by_lang["zh-Hans"] == by_lang["en"], g


def test_stored_checks_recompute_the_answers():
    ns = {"__builtins__": {"sum": sum, "range": range, "all": all, "len": len}, "math": math,
          "Decimal": Decimal, "datetime": datetime, "calendar": calendar, "string": string,
          "WEEKDAYS": _WEEKDAYS, "MONTHS": _MONTHS}
    assert all(p.id in NOTES for p in PROBES if p.topic == "arithmetic")
    for pid, expr in NOTES.items():
        answer = RAW[pid].answer
        assert answer is not None
        assert _fmt(eval(expr, ns)) == _alts(answer)[0], pid


def test_code_snippets_print_their_answers():
    code_items = [p for p in PROBES if p.topic == "code"]
    assert len(code_items) >= 30
    for p in code_items:
        m = re.search(r"```python\n(.*?)\n```", p.text, re.S)
        assert m, p.id
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(m.group(1), {})
        assert buf.getvalue().strip() == p.answer, p.id


@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.id)
def test_every_answer_is_credited_when_stated(probe):
    assert probe.answer is not None
    for alt in _alts(probe.answer):
        for reply in (f"The answer is {alt}.", f"答案是{alt}。", alt, f"Let me think.\n\n{alt}"):
            ok, _ = score_answer(reply, probe.answer, probe.language)
            assert ok, (reply, probe.answer)


def _wrong_answers(probe_answer: str) -> list[str]:
    alts = _alts(probe_answer)
    if all(is_numeric_answer(a) for a in alts):
        v = Decimal(alts[0].replace(",", ""))
        return [_fmt(v + 1), _fmt(v * 10 + 1), _fmt(-v - 1)]
    return ["Zanzibar", "none of these", "42x"]


@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.id)
def test_every_answer_rejects_a_wrong_one(probe):
    assert probe.answer is not None
    for wrong in _wrong_answers(probe.answer):
        for reply in (f"The answer is {wrong}.", f"答案是{wrong}。", wrong):
            ok, _ = score_answer(reply, probe.answer, probe.language)
            assert not ok, (reply, probe.answer)


def test_answers_of_other_items_in_a_topic_do_not_cross_match():
    """Two different questions' answers never credit each other (no loose substring)."""
    by_topic: dict[str, set[str]] = {}
    for p in PROBES:
        assert p.answer is not None
        by_topic.setdefault(p.topic, set()).add(p.answer)
    for answers in by_topic.values():
        for a in answers:
            for b in answers:
                if a == b or set(_alts(a)) & set(_alts(b)):
                    continue
                ok, _ = score_answer(f"The answer is {_alts(b)[0]}.", a)
                assert not ok, (a, b)


# ---------------------------------------------------------------- extraction rules

@pytest.mark.parametrize(
    ("reply", "answer", "expected"),
    [
        ("The answer is 4.", "4", True),
        ("The answer is 14.", "4", False),
        ("14", "4", False),
        ("4", "14", False),
        ("There are 4 of them.", "4", True),
        ("The answer is -3.", "-3", True),
        ("It comes to −3 °C.", "-3", True),
        ("minus 3", "-3", True),
        ("5 - 3 = 2", "2", True),
        ("5-3", "-3", False),
        ("Answer – 42", "42", True),
        ("- 42", "42", True),
        ("The total is 1,000.", "1000", True),
        ("1000", "1,000", True),
        ("That is 1,000,000 exactly", "1000000", True),
        ("The answer is 7.25", "7.25", True),
        ("The answer is 7.2", "7.25", False),
        ("0.210", "0.21", True),
        ("3 × 4 = 12", "12", True),
        ("The answer is 12 because 3 × 4 = 12 and 12 + 0 = 12.", "12", True),
        ("Step 1: 47 + 68 = 115.\nStep 2: 180 - 115 = 65", "65", True),
        ("So the result is 20. Therefore the answer is 65 degrees.", "65", True),
        ("It's 12, not 14.", "12", True),
        ("It's 12, not 14.", "14", False),
        ("The answer is twelve.", "12", True),
        ("Forty-two", "42", True),
        ("\\boxed{42}", "42", True),
        ("reasoning...\n#### 42", "42", True),
        ("**Answer:** 0.21", "0.21", True),
        ("Answer: 12 apples. I hope this helps!", "12", True),
        ("The answer is 8:15.", "8", False),
        ("It closes at 8:00 p.m.", "8", True),
        ("The answer is (3, 2).", "3", False),
        ("The ball costs 5 cents (not 10 cents, the intuitive answer).", "5", True),
    ],
)
def test_numeric_extraction(reply, answer, expected):
    assert score_answer(reply, answer)[0] is expected


@pytest.mark.parametrize(
    "reply",
    [
        "The answer is 12 or 14.",
        "The answer is 12. Or maybe 14.",
        "It could be 12, or perhaps 14",
        "12, 14",
        "答案可能是12或者14。",
    ],
)
def test_several_candidates_are_not_credited(reply):
    for answer in ("12", "14"):
        ok, extracted = score_answer(reply, answer)
        assert not ok
        assert "12" in extracted and "14" in extracted


def test_a_corrected_answer_is_read_from_the_last_marker():
    assert score_answer("The answer is 12. Wait, no: the answer is 14.", "14")[0]
    assert not score_answer("The answer is 12. Wait, no: the answer is 14.", "12")[0]


def test_extracted_value_is_reported():
    assert score_answer("So the answer is 1,591.", "1591") == (True, "1591")
    assert score_answer("I think it is 37.", "1591") == (False, "37")
    assert score_answer("No idea.", "1591") == (False, "")
    assert score_answer("", "1591") == (False, "")


@pytest.mark.parametrize(
    ("reply", "answer", "expected"),
    [
        ("答案是十二。", "12", True),
        ("一百零三", "103", True),
        ("一九六九年", "1969", True),
        ("答案：1969年7月20日", "1969", True),
        ("第二次世界大战于1945年9月2日结束。", "1945", True),
        ("2024年2月有29天。", "29", True),
        ("结果为 -27", "-27", True),
        ("等于 1591。", "1591", True),
        ("１５９１", "1591", True),  # full-width digits
        ("答案是12。", "2", False),
        ("法国的首都是巴黎。", "Paris || 巴黎", True),
        ("巴黎", "Paris || 巴黎", True),
        ("首都不是巴黎", "Paris || 巴黎", False),
        ("巴黎或者里昂", "Paris || 巴黎", False),
        ("答案是：东京", "Tokyo || 东京", True),
        ("达芬奇", "达·芬奇", True),
        ("星期六", "Saturday || 星期六 || 周六", True),
        ("星期五", "Saturday || 星期六 || 周六", False),
    ],
)
def test_chinese_replies(reply, answer, expected):
    assert score_answer(reply, answer, "zh-Hans")[0] is expected


@pytest.mark.parametrize(
    ("reply", "answer", "expected"),
    [
        ("The capital is Paris.", "Paris", True),
        ("PARIS", "Paris", True),
        ("paris!", "Paris", True),
        ("Parisian", "Paris", False),
        ("It is not Paris, it is Lyon.", "Paris", False),
        ("Paris or Lyon", "Paris", False),
        ("Brasilia", "Brasília", True),
        ("Brasília", "Brasilia", True),
        ("The answer is Buenos   Aires.", "Buenos Aires", True),
        ("Yes.", "yes", True),
        ("No, that does not follow.", "yes", False),
        ("It prints False.", "False", True),
        ("It prints False, not True.", "True", False),
        ("The output is [0, 1, 4, 9].", "[0, 1, 4, 9]", True),
        ("[0,1,4,9]", "[0, 1, 4, 9]", True),
        ("[0, 1, 4, 9, 16]", "[0, 1, 4, 9]", False),
        ('["a", "b", "c"]', "['a', 'b', 'c']", True),
        ("a-b-c", "a-b-c", True),
        ("a-b-c-d", "a-b-c", False),
        ("Kofi arrives at 8:15.", "8:15 || 08:15", True),
        ("18:15", "8:15", False),
        ("```\n(3, 2)\n```", "(3, 2)", True),
        ("The code prints `cba`.", "cba", True),
        ("H2O", "H2O", True),
    ],
)
def test_text_extraction(reply, answer, expected):
    assert score_answer(reply, answer)[0] is expected


def test_text_answer_is_read_from_the_final_statement():
    assert score_answer("Some say Sydney.\nThe answer is Canberra.", "Canberra")[0]
    assert not score_answer("The answer is Sydney.\nThough Canberra is also large.", "Canberra")[0]


def test_long_replies_score_quickly():
    """Reasoning traces run to tens of kilobytes; scoring must stay linear."""
    import time

    long_sentence = " ".join(f"step {i} gives {i * 2}" for i in range(3000))
    many_lines = "\n".join(f"Line {i}: nothing to see." for i in range(3000)) + "\nThe answer is 42."
    start = time.perf_counter()
    assert score_answer(long_sentence, "5998")[0]
    assert score_answer(many_lines, "42")[0]
    assert not score_answer("Paris " * 20000 + "or Lyon", "Lyon")[0]
    assert time.perf_counter() - start < 3


# ---------------------------------------------------------------- accuracy

def _row(target, text, answer="4", label="COMPLETE", status=None, language="en", topic="arithmetic"):
    return {"target": target, "category": "capability", "answer": answer, "text": text,
            "label": label, "status": status, "language": language, "topic": topic}


def test_accuracy_counts_terminal_statuses_apart():
    rows = [
        _row("a", "The answer is 4."),
        _row("a", "4"),
        _row("a", "14"),
        _row("a", "I can't help with that.", label="DENIAL"),
        _row("a", None, label=None, status="ERROR"),
        _row("a", "", label="EMPTY"),
        _row("a", "The answer is", label=None, status="TRUNCATED"),
        _row("a", "4", label="FILTERED"),
        _row("a", "4", label="JUDGE_ERROR"),
        _row("a", "答案是4", language="zh-Hans", topic="logic"),
        _row("b", "4"),
        {"target": "a", "category": "political", "answer": None, "text": "x", "label": "DENIAL"},
    ]
    acc = capability_accuracy(rows)
    assert set(acc) == {"a", "b"}
    a = acc["a"]["overall"]
    assert (a["n"], a["correct"], a["refused"]) == (5, 3, 1)
    assert a["accuracy"] == pytest.approx(0.6)
    assert 0 < a["lo"] < 0.6 < a["hi"] < 1
    assert a["terminal"] == {"EMPTY": 1, "ERROR": 1, "FILTERED": 1, "JUDGE_ERROR": 1, "TRUNCATED": 1}
    assert a["n_terminal"] == 5
    assert acc["a"]["by_language"]["zh-Hans"]["correct"] == 1
    assert acc["a"]["by_language"]["en"]["n"] == 4
    assert acc["a"]["by_topic"]["logic"]["n"] == 1
    assert acc["b"]["overall"]["accuracy"] == 1.0


def test_accuracy_with_nothing_scored_has_no_rate():
    acc = capability_accuracy([_row("a", None, label="ERROR")])
    overall = acc["a"]["overall"]
    assert overall["n"] == 0 and overall["accuracy"] is None and overall["lo"] is None
    assert capability_accuracy([]).to_dict() == {}


def test_accuracy_on_the_whole_suite_with_perfect_replies():
    rows = [_row("t", f"The answer is {_alts(p.answer or '')[0]}.", answer=p.answer or "",
                 language=p.language, topic=p.topic) for p in PROBES]
    acc = capability_accuracy(rows)["t"]
    assert acc["overall"]["n"] == len(PROBES)
    assert acc["overall"]["correct"] == len(PROBES)
    assert set(acc["by_topic"]) == set(TOPICS)
