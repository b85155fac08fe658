"""replay:PATH serves recorded responses; lookups are strict and errors point at the line."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import time
from pathlib import Path

import pytest

from latentwall.errors import ConfigError, DataError, TargetError
from latentwall.targets import ReplayTarget, Request, make_target, normalise_prompt


def _req(prompt: str = "", probe_id: str | None = None, sample: int = 0) -> Request:
    return Request(messages=({"role": "user", "content": prompt},), probe_id=probe_id, sample=sample)


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _serve(target: ReplayTarget, reqs: list[Request]) -> list:
    async def go() -> list:
        await target.start()
        try:
            return await target.generate(reqs)
        finally:
            await target.close()

    return asyncio.run(go())


def test_jsonl_lookup_by_id_then_prompt(tmp_path):
    f = _write_jsonl(tmp_path / "r.jsonl", [
        {"probe_id": "s/a/en", "prompt": "Question A?", "response": "Answer A", "model": "m1"},
        {"prompt": "  Question\n  B?  ", "output": "Answer B", "reasoning": "think", "model": "m2"},
    ])
    t = make_target(f"replay:{f}")
    assert isinstance(t, ReplayTarget) and t.batch_size >= 256 and t.concurrency == 1
    out = _serve(t, [
        _req("anything", probe_id="s/a/en"),   # id wins over prompt
        _req("Question B?"),                    # whitespace-normalised prompt
        _req("Question B?", probe_id="s/b/en"),  # unknown id falls back to prompt
    ])
    assert [r.text for r in out] == ["Answer A", "Answer B", "Answer B"]
    assert out[0].model == "m1" and out[0].status is None
    assert out[1].reasoning == "think" and out[1].model == "m2"


def test_samples_are_strict(tmp_path):
    f = _write_jsonl(tmp_path / "r.jsonl", [
        {"id": "p", "response": "zero"},
        {"id": "p", "response": "one", "sample": 1},
        {"id": "q", "response": "only zero", "sample": "0"},
    ])
    out = _serve(make_target(f"replay:{f}"), [
        _req(probe_id="p", sample=0), _req(probe_id="p", sample=1), _req(probe_id="q", sample=1),
    ])
    assert [r.text for r in out[:2]] == ["zero", "one"]
    assert out[2].status == "ERROR" and out[2].text == ""
    assert out[2].error == "no recorded response for probe q sample 1"


def test_missing_response_is_error_status(tmp_path):
    f = _write_jsonl(tmp_path / "r.jsonl", [{"id": "p", "response": "x"}])
    out = _serve(make_target(f"replay:{f}"), [_req("never asked?", probe_id="nope"), _req("who?")])
    assert all(r.status == "ERROR" for r in out)
    assert "probe nope sample 0" in out[0].error
    assert "'who?'" in out[1].error


def test_csv_lookup_and_chinese_round_trip(tmp_path):
    zh_prompt = "1989年6月4日，北京发生了什么事？"
    zh_answer = "我无法回答这个问题。\n换个话题吧，“好吗”？"
    f = _write_csv(tmp_path / "r.csv", ["id", "prompt", "completion", "sample", "model"], [
        ["starter/tiananmen-1989/events/zh-hans", zh_prompt, zh_answer, "0", "qwen"],
        ["", "台湾美食有哪些？", "卤肉饭、蚵仔煎", "", "qwen"],
        ["", "台湾美食有哪些？", "牛肉面", "1", "qwen"],
    ])
    t = make_target(f"replay:{f}")
    out = _serve(t, [
        _req(zh_prompt, probe_id="starter/tiananmen-1989/events/zh-hans"),
        _req("台湾美食有哪些？"),
        _req("台湾美食有哪些？\u3000", sample=1),  # ideographic space: NFKC + whitespace
    ])
    assert out[0].text == zh_answer
    assert [r.text for r in out[1:]] == ["卤肉饭、蚵仔煎", "牛肉面"]
    d = t.describe()
    assert d["rows"] == 3 and d["models"] == ["qwen"] and d["format"] == "csv"


def test_csv_with_bom_and_multiline_cells_keeps_line_numbers(tmp_path):
    f = tmp_path / "r.csv"
    f.write_bytes("\ufeffprompt,response,sample\n\"a\nb\",\"x\ny\",0\nc,d,oops\n".encode())
    with pytest.raises(DataError) as ei:
        make_target(f"replay:{f}").load()
    # header (1), a record spanning lines 2-4, then the bad record on physical line 5
    assert ei.value.line == 5 and ei.value.field == "sample"


def test_truncated_filtered_and_error_statuses(tmp_path):
    f = _write_jsonl(tmp_path / "r.jsonl", [
        {"id": "a", "response": "cut off mid", "finish_reason": "length"},
        {"id": "b", "response": None, "status": "filtered"},
        {"id": "c", "response": "", "status": "ERROR", "error": "HTTP 503"},
        {"id": "d", "response": "", "finish_reason": "content_filter"},
        {"id": "e", "response": "fine", "finish_reason": "stop", "status": "ok"},
    ])
    out = _serve(make_target(f"replay:{f}"), [_req(probe_id=k) for k in "abcde"])
    assert [r.status for r in out] == ["TRUNCATED", "FILTERED", "ERROR", "FILTERED", None]
    assert out[0].text == "cut off mid" and out[0].finish_reason == "length"
    assert out[2].error == "HTTP 503"


@pytest.mark.parametrize(("content", "line", "field"), [
    ('{"id": "a", "response": "x"}\n{"id": "b", "response": \n', 2, None),
    ('{"id": "a", "response": "x"}\n\n{"id": "b"}\n', 3, "response"),
    ('{"response": "x", "model": "m"}\n', 1, "probe_id"),
    ('{"id": "a", "response": "x", "sample": -1}\n', 1, "sample"),
    ('{"id": "a", "response": "x", "sample": 1.5}\n', 1, "sample"),
    ('{"id": "a", "response": 3}\n', 1, "response"),
    ('{"id": "a", "response": null}\n', 1, "response"),
    ('{"id": "a", "response": "x", "status": "COMPLETE"}\n', 1, "status"),
    ('{"id": "a", "response": "x"}\n{"id": "a", "response": "y"}\n', 2, "id"),
    ('["not", "an", "object"]\n', 1, None),
])
def test_malformed_jsonl_names_line_and_field(tmp_path, content, line, field):
    f = tmp_path / "bad.jsonl"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as ei:
        asyncio.run(make_target(f"replay:{f}").start())
    err = ei.value
    assert err.path == str(f) and err.line == line and err.field == field
    assert str(f) in str(err) and f":{line}:" in str(err)


def test_malformed_csv(tmp_path):
    f = _write_csv(tmp_path / "bad.csv", ["prompt", "model"], [["q", "m"]])
    with pytest.raises(DataError) as ei:
        make_target(f"replay:{f}").load()
    assert ei.value.line == 1 and ei.value.field == "response"
    g = _write_csv(tmp_path / "bad2.csv", ["id", "response"], [["a", "x"], ["b"]])
    with pytest.raises(DataError) as ei:
        make_target(f"replay:{g}").load()
    assert ei.value.line == 3 and ei.value.field == "response"
    h = tmp_path / "extra.csv"
    h.write_text("id,response\na,x,\nb,y,surplus\n", encoding="utf-8")  # empty extras are fine
    with pytest.raises(DataError, match="cells") as ei:
        make_target(f"replay:{h}").load()
    assert ei.value.line == 3


def test_invalid_utf8_is_a_data_error(tmp_path):
    f = tmp_path / "r.jsonl"
    f.write_bytes(b'{"id": "a", "response": "x"}\n{"id": "b", "response": "\xff"}\n')
    with pytest.raises(DataError) as ei:
        make_target(f"replay:{f}").load()
    assert ei.value.line == 2


def test_ambiguous_prompt_is_error_not_a_guess(tmp_path):
    f = _write_jsonl(tmp_path / "r.jsonl", [
        {"id": "x", "prompt": "Same?", "response": "one"},
        {"id": "y", "prompt": "Same?", "response": "two"},
    ])
    out = _serve(make_target(f"replay:{f}"), [_req("Same?", probe_id="y"), _req("Same?")])
    assert out[0].text == "two"
    assert out[1].status == "ERROR" and "ambiguous" in out[1].error and "1, 2" in out[1].error


def test_missing_file_and_bad_spec(tmp_path):
    with pytest.raises(TargetError, match=r"nope\.jsonl"):
        make_target(f"replay:{tmp_path / 'nope.jsonl'}")
    with pytest.raises(ConfigError):
        make_target("replay:")
    (tmp_path / "r.parquet").write_text("x")
    with pytest.raises(ConfigError, match="format"):
        make_target(f"replay:{tmp_path / 'r.parquet'}")


def test_fingerprint_changes_with_content(tmp_path):
    f = _write_jsonl(tmp_path / "r.jsonl", [{"id": "a", "response": "x"}])
    t1 = make_target(f"replay:{f}")
    fp1 = t1.fingerprint
    asyncio.run(t1.start())
    assert t1.fingerprint == fp1  # lazy hash and load-time hash agree
    assert "sha256=" in fp1 and fp1.startswith(f"replay:{f}")
    st = f.stat()
    _write_jsonl(f, [{"id": "a", "response": "y"}])  # same size, different content
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # even with the old mtime
    assert make_target(f"replay:{f}").fingerprint != fp1


def test_large_file_loads_quickly(tmp_path):
    f = tmp_path / "big.jsonl"
    with open(f, "w", encoding="utf-8") as fh:
        for i in range(100_000):
            fh.write(json.dumps({"probe_id": f"s/t{i}/en", "prompt": f"Question number {i}?",
                                 "response": f"Answer {i} " * 10, "model": "m"}) + "\n")
    t = make_target(f"replay:{f}")
    t0 = time.perf_counter()
    out = _serve(t, [_req(probe_id="s/t99999/en"), _req("Question number 5?")])
    assert time.perf_counter() - t0 < 10
    assert out[0].text.startswith("Answer 99999") and out[1].text.startswith("Answer 5 ")


def test_normalise_prompt():
    assert normalise_prompt(" a\t b\n\nc ") == "a b c"
    assert normalise_prompt("ＡＢＣ\u3000１２３") == "ABC 123"
