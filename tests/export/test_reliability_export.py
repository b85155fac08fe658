"""Issue 17, point 2: exports stay safe. A bare carriage return in an answer cannot split a
CSV row (nor carry a formula past the spreadsheet guard), and no JSONL line holds a
character that `str.splitlines()` splits on."""

from __future__ import annotations

import csv
import json

import pytest

from latentwall.export import FIELDS, export_run, iter_export_rows, read_csv_rows
from latentwall.judges import Judgement
from latentwall.store import ResultRecord, Store
from latentwall.suites import Probe
from latentwall.targets import Response

BREAKERS = [
    "first part\r=HYPERLINK(\"http://evil.example\",\"x\")",  # bare CR, then a formula
    "a\rb\rc",
    "crlf\r\n+1+1",
    "lf\n-2",
    "unicode line\u2028separator\u2029paragraph\x85next line",
    "vertical\x0btab\x0cform feed\x1cfile sep",
    "=1+1",
    "plain",
]


@pytest.fixture()
def store_dir(tmp_path):
    run_dir = tmp_path / "runs"
    with Store.open(run_dir) as store:
        store.create_run("r1", "t", {"judge": "markers", "suites": ["s"], "target_label": "tgt"})
        probes = [Probe(id=f"s/p{i}/en", suite="s", text=f"q{i}", language="en", topic="t",
                        category="benign", kind="factual", group=f"s/p{i}", expected={})
                  for i in range(len(BREAKERS))]
        store.add_probes("r1", list(enumerate(probes)))
        store.write_results([
            ResultRecord("r1", probes[i].id, "", 0, f"k{i}", f"prompt {t}", Response(text=t, reasoning=t),
                         Judgement("COMPLETE", f"rationale {t}", (t,)), "markers")
            for i, t in enumerate(BREAKERS)])
    return run_dir


def test_csv_rows_survive_bare_carriage_returns(store_dir, tmp_path):
    out = tmp_path / "out.csv"
    assert export_run(store_dir, "r1", out) == len(BREAKERS)
    with open(out, encoding="utf-8", newline="") as fh:
        table = list(csv.reader(fh))
    assert len(table) == 1 + len(BREAKERS)  # as a spreadsheet reads it: one row per answer
    assert all(len(row) == len(FIELDS) for row in table)
    text_col = FIELDS.index("text")
    assert [row[text_col] for row in table[1:]][:3] == [
        BREAKERS[0], BREAKERS[1], BREAKERS[2]]
    # The formula guard holds for every cell, wherever the answer's line breaks fall.
    assert not [c for row in table for c in row if c[:1] in ("=", "+", "-", "@")]
    assert [r["text"] for r in read_csv_rows(out)] == BREAKERS


def test_csv_read_by_pandas_keeps_every_row(store_dir, tmp_path):
    pd = pytest.importorskip("pandas")
    out = tmp_path / "out.csv"
    export_run(store_dir, "r1", out, excel_safe=False)
    frame = pd.read_csv(out, keep_default_na=False)
    assert len(frame) == len(BREAKERS) and list(frame.columns) == list(FIELDS)
    assert list(frame["text"]) == BREAKERS


def test_jsonl_has_one_row_per_line_for_any_line_splitter(store_dir, tmp_path):
    out = tmp_path / "out.jsonl"
    export_run(store_dir, "r1", out)
    body = out.read_text(encoding="utf-8")
    for ch in ("\u2028", "\u2029", "\x85", "\r", "\x0b", "\x0c", "\x1c"):
        assert ch not in body
    lines = body.splitlines()
    assert len(lines) == len(BREAKERS)
    assert [json.loads(line) for line in lines] == list(iter_export_rows(store_dir, "r1"))
