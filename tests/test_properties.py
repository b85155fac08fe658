"""Property-based tests (hypothesis): arbitrary Unicode - lone surrogates, control
characters, line separators, formula starts - and odd JSON go through target parsing (in
process and over real HTTP), the data readers, the store, every export and the terminal
cleaner, and come back intact: exactly as sent where the text is valid, with lone
surrogates replaced by U+FFFD (and noted) where it is not. Nothing raises."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rich.console import Console

from latentwall.datafiles import iter_jsonl
from latentwall.export import (
    FIELDS,
    export_run,
    iter_export_rows,
    read_csv_rows,
    read_parquet_rows,
    summary_document,
    validate_summary,
)
from latentwall.judges import Judgement
from latentwall.report import safe_text
from latentwall.store import ResultRecord, Store
from latentwall.suites import Probe
from latentwall.targets import Request, Response, make_target, split_reasoning
from latentwall.testing import FakeOpenAIServer
from latentwall.text import json_line, repair, terminal_text

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
# The characters that break things: lone surrogates, C0/C1 controls, every line breaker,
# bidi overrides, BOM, quotes and separators, formula starts, markup and escapes.
HOSTILE = list("\ud800\udbff\udc00\udfff\x00\x07\x08\t\n\x0b\x0c\r\x1b\x1c\x1d\x1e\x7f\x85\x9b\x9d"
               "\u2028\u2029\u202e\u2066\u200f\ufeff\ufffd\"',;=+-@[]{}\\/<>&|%_* ")
ANY_CHAR = st.one_of(st.characters(), st.sampled_from(HOSTILE))  # st.characters() includes surrogates
ANY_TEXT = st.text(ANY_CHAR, max_size=40)
VALID_TEXT = st.text(st.one_of(st.characters(exclude_categories=["Cs"]),
                               st.sampled_from([c for c in HOSTILE if not 0xD800 <= ord(c) <= 0xDFFF])),
                     max_size=40)
ODD_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=15,
)


def valid(text: str | None) -> bool:
    return text is None or repair(text)[1] == 0


def fixed(text: str) -> str:
    return repair(text)[0]


_target = make_target("openai:m@http://127.0.0.1:9/v1")


def parse(obj: Any) -> Response:
    return _target._parse(json.dumps(obj, ensure_ascii=True).encode("ascii"))


# ------------------------------------------------------------------ target parsing


@SETTINGS
@given(ODD_JSON)
def test_any_json_body_parses_to_a_response(obj):
    resp = parse(obj)
    assert isinstance(resp, Response)
    assert all(valid(getattr(resp, f)) for f in ("text", "reasoning", "error", "model", "finish_reason"))
    assert resp.status in (None, "ERROR", "TRUNCATED", "FILTERED")
    if resp.status == "ERROR":
        assert resp.text == "" and resp.error


@SETTINGS
@given(st.binary(max_size=200))
def test_any_bytes_parse_to_a_response(body):
    resp = _target._parse(body)
    assert isinstance(resp, Response) and valid(resp.error)


@SETTINGS
@given(content=st.one_of(ANY_TEXT, ODD_JSON), reasoning=st.one_of(st.none(), ANY_TEXT, ODD_JSON),
       finish=ODD_JSON, model=ODD_JSON)
def test_completion_content_is_text_or_an_error(content, reasoning, finish, model):
    message = {"role": "assistant", "content": content}
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    resp = parse({"choices": [{"message": message, "finish_reason": finish}], "model": model})
    if isinstance(content, str):
        assert resp.status != "ERROR"
        answer = split_reasoning(content)[0]
        assert resp.text == fixed(answer)
        if not valid(answer):
            assert "in text" in " ".join(resp.notes)
        if all(valid(v) for v in (content, model, reasoning, finish) if isinstance(v, str)):
            assert resp.notes == []
    elif content is None:
        assert resp.text == ""
    elif isinstance(content, list) and all(
            isinstance(p, dict) and isinstance(p.get("text", ""), str) for p in content):
        assert resp.text == fixed(split_reasoning("".join(p.get("text", "") for p in content))[0])
    else:
        assert resp.status == "ERROR" and resp.error.startswith("malformed response: ")


@pytest.fixture(scope="module")
def server():
    answers: list[Any] = []
    with FakeOpenAIServer(responder=lambda messages: answers[-1]) as srv:
        yield srv, answers


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(content=st.one_of(ANY_TEXT, ODD_JSON))
def test_any_content_over_real_http(server, content):
    srv, answers = server
    answers.append(content)

    async def ask() -> Response:
        target = make_target(f"openai:fake@{srv.base_url}", retries=0)
        await target.start()
        try:
            return (await target.generate([Request(({"role": "user", "content": "q"},))]))[0]
        finally:
            await target.close()

    resp = asyncio.run(ask())
    if isinstance(content, str):
        assert resp.status is None and resp.text == fixed(split_reasoning(content)[0])
    else:
        assert resp.status in (None, "ERROR") and valid(resp.text)


# ------------------------------------------------------------------ data readers


@SETTINGS
@given(st.lists(st.dictionaries(ANY_TEXT, ODD_JSON, max_size=4), min_size=1, max_size=5), st.booleans())
def test_jsonl_readers_give_back_every_row(rows, bom):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.jsonl"
        body = "".join(json.dumps(r, ensure_ascii=True) + "\n" for r in rows).encode()
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + body)
        repairs: list[tuple[int, int]] = []
        back = [obj for _, obj in iter_jsonl(path, repairs=repairs)]
    want = [json.loads(json.dumps(r, ensure_ascii=True)) for r in rows]
    assert len(back) == len(want)
    for got, raw in zip(back, want, strict=True):
        assert json.dumps(got, ensure_ascii=False).encode("utf-8")  # valid text throughout
        if repair(json.dumps(raw, ensure_ascii=False))[1] == 0:
            assert got == raw
    assert all(n > 0 for _, n in repairs)


# ------------------------------------------------------------------ store and exports


_ids = itertools.count()


def _store_with(tmp: Path, rows: list[dict[str, Any]]) -> str:
    run_id = f"r{next(_ids)}"
    with Store.open(tmp) as store:
        store.create_run(run_id, "t", {"judge": "markers", "suites": ["s"], "target_label": "tgt"})
        probes = [Probe(id=f"s/p{i}/en", suite="s", text=f"q{i}", language="en", topic="t",
                        category="benign", kind="factual", group=f"s/p{i}", expected={}) for i in range(len(rows))]
        store.add_probes(run_id, list(enumerate(probes)))
        store.write_results([
            ResultRecord(run_id, probes[i].id, r["condition"], 0, f"k{run_id}-{i}", r["prompt"],
                         Response(text=r["text"], reasoning=r["reasoning"], model=r["model"],
                                  finish_reason="stop"),
                         Judgement("COMPLETE", r["rationale"], tuple(r["evidence"])), "markers")
            for i, r in enumerate(rows)])
    return run_id


ROW = st.fixed_dictionaries({
    "text": ANY_TEXT, "reasoning": st.one_of(st.none(), ANY_TEXT), "model": st.one_of(st.none(), ANY_TEXT),
    "prompt": VALID_TEXT, "rationale": VALID_TEXT, "evidence": st.lists(VALID_TEXT, max_size=3),
    "condition": st.sampled_from(["", "base64", "locale:beijing"]),
})


@SETTINGS
@given(st.lists(ROW, min_size=1, max_size=6))
def test_the_store_keeps_any_text(rows):
    with tempfile.TemporaryDirectory() as tmp:
        run_id = _store_with(Path(tmp), rows)
        with Store.open(tmp, readonly=True) as store:
            back = list(store.iter_results(run_id))
    assert len(back) == len(rows)
    by_seq = {int(str(r.probe_id).split("/p")[1].split("/")[0]): r for r in back}
    for i, r in enumerate(rows):
        got = by_seq[i]
        assert got.text == fixed(r["text"]) and got.prompt == r["prompt"]
        assert got.reasoning == (None if r["reasoning"] is None else fixed(r["reasoning"]))
        assert got.model == (None if r["model"] is None else fixed(r["model"]))
        assert got.rationale == r["rationale"] and list(got.evidence) == r["evidence"]
        assert bool(got.notes) == (not valid(r["text"]) or not valid(r["reasoning"]) or not valid(r["model"]))


@SETTINGS
@given(st.lists(ANY_TEXT, min_size=1, max_size=6))
def test_a_write_never_raises_even_behind_the_boundary(texts):
    """Text put on a Response after it was made (a plugin bug) is stored, or is an ERROR row."""
    with tempfile.TemporaryDirectory() as tmp, Store.open(tmp) as store:
        store.create_run("r", "t", {"judge": "markers"})
        probes = [Probe(id=f"s/p{i}/en", suite="s", text="q", language="en", topic="t", category="benign",
                        kind="factual", group=f"s/p{i}", expected={}) for i in range(len(texts))]
        store.add_probes("r", list(enumerate(probes)))
        records = []
        for i, t in enumerate(texts):
            resp = Response(text="x")
            resp.text = t
            records.append(ResultRecord("r", probes[i].id, "", 0, f"k{i}", "q", resp, Judgement("COMPLETE", "r"),
                                        "markers"))
        store.write_results(records)
        back = {r.probe_id: r for r in store.iter_results("r")}
    for i, t in enumerate(texts):
        row = back[f"s/p{i}/en"]
        if valid(t):
            assert row.text == t and row.status is None
        else:
            assert row.status == "ERROR" and str(row.error).startswith("answer could not be stored")


def _blank_optional(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CSV cannot tell "" from null in optional fields (documented): compare accordingly."""
    required = {"run_id", "target", "probe_id", "suite", "topic", "language", "category", "kind", "group",
                "condition", "prompt", "text"}
    return [{k: (None if v == "" and k not in required else v) for k, v in r.items()} for r in rows]


@SETTINGS
@given(st.lists(ROW, min_size=1, max_size=5))
def test_every_export_gives_back_what_the_store_holds(rows):
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        run_id = _store_with(tmp_path / "runs", rows)
        want = list(iter_export_rows(tmp_path / "runs", run_id))
        assert len(want) == len(rows)

        export_run(tmp_path / "runs", run_id, tmp_path / "x.jsonl")
        lines = (tmp_path / "x.jsonl").read_text(encoding="utf-8").splitlines()
        assert [json.loads(line) for line in lines] == want  # one row per line, for any splitter

        for excel_safe in (True, False):
            export_run(tmp_path / "runs", run_id, tmp_path / "x.csv", excel_safe=excel_safe)
            assert list(read_csv_rows(tmp_path / "x.csv", excel_safe=excel_safe)) == _blank_optional(want)
            with open(tmp_path / "x.csv", encoding="utf-8", newline="") as fh:
                table = list(csv.reader(fh))
            assert len(table) == len(rows) + 1 and all(len(r) == len(FIELDS) for r in table)
            if excel_safe:
                assert not [c for r in table for c in r if c[:1] in ("=", "+", "-", "@", "\t", "\r")]

        pytest.importorskip("pyarrow")
        export_run(tmp_path / "runs", run_id, tmp_path / "x.parquet")
        assert list(read_parquet_rows(tmp_path / "x.parquet")) == want

        export_run(tmp_path / "runs", run_id, tmp_path / "x.json")
        doc = json.loads((tmp_path / "x.json").read_text(encoding="utf-8"))
        validate_summary(doc)
        assert doc == json.loads(json.dumps(summary_document(tmp_path / "runs", run_id)))


@SETTINGS
@given(ODD_JSON)
def test_json_lines_are_one_line_and_round_trip(obj):
    fixed_obj = json.loads(json.dumps(obj, ensure_ascii=True))
    if repair(json.dumps(fixed_obj, ensure_ascii=False))[1]:
        return  # json_line writes UTF-8 text: lone surrogates are repaired before they get here
    line = json_line(fixed_obj)
    assert line.endswith("\n") and len(line.splitlines()) == 1
    assert json.loads(line) == fixed_obj


# ------------------------------------------------------------------ terminal


_SAFE_CATEGORIES = ("L", "M", "N", "P", "S")


def _printable(ch: str) -> bool:
    return ch == " " or (unicodedata.category(ch)[0] in _SAFE_CATEGORIES)


@SETTINGS
@given(ANY_TEXT)
def test_the_terminal_cleaner_leaves_nothing_a_terminal_acts_on(text):
    out = terminal_text(text)
    for ch in out:
        cat = unicodedata.category(ch)
        assert cat not in ("Cc", "Cs", "Zl", "Zp"), repr(ch)
        assert ch not in "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    out.encode("utf-8")  # printable on any UTF-8 terminal
    assert terminal_text(out) == out  # idempotent
    assert len(out.splitlines()) <= 1


@SETTINGS
@given(st.text(st.characters(exclude_categories=["C", "Z"]) | st.just(" "), max_size=60))
def test_the_terminal_cleaner_keeps_printable_text_intact(text):
    assert all(_printable(ch) for ch in text)
    assert terminal_text(text) == text


@SETTINGS
@given(ANY_TEXT)
@example("\\")  # a lone backslash: escaping for markup doubled it
@example("a\\[b] :smile:")
def test_rich_shows_exactly_the_cleaned_text(text):
    buf = io.StringIO()
    Console(file=buf, width=10_000, color_system=None, force_terminal=False, emoji=False,
            highlight=False).print(safe_text(text), end="", soft_wrap=True)
    assert buf.getvalue() == terminal_text(text)
