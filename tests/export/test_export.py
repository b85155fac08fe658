"""Exports round-trip: JSONL, CSV, Parquet and the DataFrame give back what the store holds;
the summary document validates against its shipped JSON Schema."""

from __future__ import annotations

import copy
import json

import pytest

from latentwall.analysis import build_json_summary
from latentwall.errors import ConfigError
from latentwall.export import (
    FIELDS,
    SummaryValidationError,
    export_run,
    iter_export_rows,
    load_dataframe,
    read_csv_rows,
    read_parquet_rows,
    summary_document,
    summary_schema,
    validate,
    validate_summary,
)
from latentwall.judges import Judgement
from latentwall.store import ResultRecord, Store
from latentwall.suites import Probe
from latentwall.targets import Response
from latentwall.testing import write_synthetic_run

NASTY = [
    "=HYPERLINK(\"http://evil.example\",\"click\")",
    "+1+1",
    "-2",
    "@SUM(A1)",
    "'quoted",
    "line1\nline2,\"comma\"",
    "中文 \u202e rtl",
    "",
]


def nasty_store(tmp_path):
    """A run with hostile texts, nulls, lists, mappings, statuses, reasoning and conditions."""
    with Store.open(tmp_path) as store:
        store.create_run("r1", "openai:x@http://h", {"judge": "markers", "suites": ["s"],
                                                     "samples": 2, "target_label": "tgt"})
        probes = [
            Probe(id=f"s/t{i}/q/en", suite="s", text=f"q {i}", language="en", topic=f"t{i % 2}",
                  category="political", kind="factual", group=f"s/t{i}/q",
                  expected={"open": "answer", "cac": "refuse"}, tags=("a", "b") if i else (),
                  jurisdiction="CN" if i % 2 else None)
            for i in range(len(NASTY))
        ]
        store.add_probes("r1", list(enumerate(probes)))
        records = []
        for i, text in enumerate(NASTY):
            status = "ERROR" if i == 3 else None
            resp = Response(text=text, reasoning=text or None, finish_reason="stop",
                            status=status, error="boom" if status else None, model="m",
                            latency_s=0.5 * i)
            label = "ERROR" if status else ("DENIAL", "COMPLETE", "EVASIVE")[i % 3]
            records.append(ResultRecord("r1", probes[i].id, "loc" if i % 2 else "", i % 2,
                                        f"k{i}", f"prompt {text}", resp,
                                        Judgement(label, f"why {text}", (text, "x"),
                                                  extra={"stance": "MIXED"} if i == 1 else {}),
                                        "markers"))
        store.write_results(records)
        # one response with no judgement at all (a run cut before judging)
        store.conn.execute("DELETE FROM judgements WHERE probe_id='s/t2/q/en'")
        store.conn.commit()
        write_synthetic_run(store, "r2", "other", 10)
    return tmp_path


@pytest.fixture
def store_dir(tmp_path):
    return nasty_store(tmp_path / "runs")


def expected_rows(store_dir, run_id="r1"):
    return list(iter_export_rows(store_dir, run_id))


def test_rows_contract(store_dir):
    rows = expected_rows(store_dir)
    assert len(rows) == len(NASTY)
    assert all(list(r) == list(FIELDS) for r in rows)
    by_id = {r["probe_id"]: r for r in rows}
    assert by_id["s/t3/q/en"]["effective_label"] == "ERROR"
    assert by_id["s/t2/q/en"]["label"] is None and by_id["s/t2/q/en"]["effective_label"] is None
    assert by_id["s/t1/q/en"]["judge_extra"] == {"stance": "MIXED"}
    assert by_id["s/t1/q/en"]["expected"] == {"cac": "refuse", "open": "answer"}
    assert by_id["s/t0/q/en"]["tags"] == [] and by_id["s/t1/q/en"]["tags"] == ["a", "b"]
    assert len(list(iter_export_rows(store_dir))) == len(NASTY) + 10  # every run
    assert len(list(iter_export_rows(store_dir, ["r2", "r1"]))) == len(NASTY) + 10


def test_jsonl_round_trip(store_dir, tmp_path):
    out = tmp_path / "x" / "out.jsonl"
    assert export_run(store_dir, "r1", out) == len(NASTY)
    back = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert back == expected_rows(store_dir)


@pytest.mark.parametrize("excel_safe", [True, False])
def test_csv_round_trip(store_dir, tmp_path, excel_safe):
    out = tmp_path / "out.csv"
    assert export_run(store_dir, "r1", out, "csv", excel_safe=excel_safe) == len(NASTY)
    back = list(read_csv_rows(out, excel_safe=excel_safe))
    want = expected_rows(store_dir)
    for r in want:  # CSV cannot tell "" from null in optional fields: documented
        for k, v in r.items():
            if v == "" and k not in ("text", "prompt", "condition"):
                r[k] = None
    assert back == want


def test_csv_formula_cells_are_defused(store_dir, tmp_path):
    out = tmp_path / "out.csv"
    export_run(store_dir, "r1", out)
    cells = raw_cells(out)
    assert "'=HYPERLINK(\"http://evil.example\",\"click\")" in cells
    assert {"'+1+1", "'-2", "''quoted", "prompt @SUM(A1)"} <= cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]
    export_run(store_dir, "r1", out, excel_safe=False)
    assert NASTY[0] in raw_cells(out)


def raw_cells(path):
    import csv

    with open(path, encoding="utf-8", newline="") as fh:
        return {cell for row in csv.reader(fh) for cell in row}


def test_parquet_round_trip(store_dir, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "out.parquet"
    assert export_run(store_dir, None, out, chunk_rows=3) == len(NASTY) + 10
    assert pq.ParquetFile(out).metadata.num_row_groups == 6  # written in chunks
    assert list(read_parquet_rows(out)) == list(iter_export_rows(store_dir))


def test_dataframe(store_dir):
    pytest.importorskip("pandas")
    df = load_dataframe(store_dir, "r1")
    assert list(df.columns) == list(FIELDS)
    assert len(df) == len(NASTY)
    assert str(df["sample"].dtype) == "int64" and str(df["latency_s"].dtype) == "float64"
    rows = expected_rows(store_dir)
    assert df["text"].tolist() == [r["text"] for r in rows]
    assert df["evidence"].tolist() == [r["evidence"] for r in rows]
    assert df["judge_extra"].tolist() == [r["judge_extra"] for r in rows]
    import pandas as pd

    labels = [None if pd.isna(v) else v for v in df["effective_label"].tolist()]
    assert labels == [r["effective_label"] for r in rows]  # pandas shows a missing label as NA
    assert len(load_dataframe(store_dir / "latentwall.db")) == len(NASTY) + 10
    # a prefix selects a run, like the CLI
    assert len(load_dataframe(store_dir, "r2")) == 10


def test_empty_store_dataframe(tmp_path):
    pytest.importorskip("pandas")
    Store.open(tmp_path).close()
    df = load_dataframe(tmp_path)
    assert list(df.columns) == list(FIELDS) and len(df) == 0


def test_errors(store_dir, tmp_path):
    with pytest.raises(ConfigError, match="no run"):
        export_run(store_dir, "nope", tmp_path / "a.jsonl")
    with pytest.raises(ConfigError, match="format"):
        export_run(store_dir, "r1", tmp_path / "a.txt")
    with pytest.raises(ConfigError, match="several runs"):
        export_run(store_dir, "r", tmp_path / "a.jsonl")
    assert not list(tmp_path.glob("*.jsonl")) and not list(tmp_path.glob(".*part"))


# ---------------------------------------------------------------- summary schema


def test_summary_document_validates(store_dir, tmp_path):
    doc = summary_document(store_dir)
    assert validate(doc, summary_schema()) == []
    assert doc["schema"] == "latentwall.summary/1" and len(doc["runs"]) == 2
    out = tmp_path / "summary.json"
    assert export_run(store_dir, "r1", out) == len(NASTY)
    assert validate(json.loads(out.read_text("utf-8")), summary_schema()) == []


def test_build_json_summary_validates_with_cli_meta_and_outcome():
    """The exact shape `latentwall run --json` prints, including odd but legal values."""
    from test_report import basic_rows, run

    doc = build_json_summary([run(), run(run_id="r2", languages=["en"], target_info={})],
                             basic_rows(), by=("target", "topic", "condition"))
    doc["outcome"] = {"run_id": "r1", "status": "finished", "store": "/x", "total": 4,
                      "already_done": 0, "new": 4, "cached": 0, "errors": 1, "elapsed_s": 0.5}
    validate_summary(doc)
    empty = build_json_summary([], [])
    validate_summary(empty)


def test_validator_catches_drift():
    from test_report import basic_rows, run

    good = build_json_summary([run()], basic_rows())
    cases = []
    d = copy.deepcopy(good)
    d["schema"] = "latentwall.summary/2"
    cases.append((d, "must be"))
    d = copy.deepcopy(good)
    d["targets"][0]["rates"]["DENIAL"]["rate"] = 1.5
    cases.append((d, "maximum"))
    d = copy.deepcopy(good)
    del d["groups"][0]["counts"]["ERROR"]
    cases.append((d, "missing required property 'ERROR'"))
    d = copy.deepcopy(good)
    d["new_top_level_key"] = 1
    cases.append((d, "unexpected property 'new_top_level_key'"))
    d = copy.deepcopy(good)
    d["n_rows"] = True
    cases.append((d, "expected integer"))
    d = copy.deepcopy(good)
    d["runs"][0]["samples"] = "2"
    cases.append((d, "expected integer or null"))
    for doc, msg in cases:
        with pytest.raises(SummaryValidationError, match=msg):
            validate_summary(doc)
    with pytest.raises(ValueError, match="not supported"):
        validate({}, {"patternProperties": {}})
