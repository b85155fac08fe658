from __future__ import annotations

import sqlite3

import pytest

from latentwall.judges import Judgement
from latentwall.store import ResultRecord, Store, StoreError
from latentwall.suites import Probe
from latentwall.targets import Response


def _probe(i: int) -> Probe:
    return Probe(id=f"s/p{i}/en", suite="s", text=f"question {i}", language="en", topic="t",
                 category="benign", kind="factual", group=f"s/p{i}", expected={"open": "answer"})


def _record(run_id: str, i: int, status: str | None = None) -> ResultRecord:
    resp = Response(text=f"answer {i}", status=status, model="m")
    return ResultRecord(run_id, f"s/p{i}/en", "", 0, f"key{i}", f"question {i}", resp,
                        Judgement("COMPLETE" if status is None else status, "because"), "markers")


def test_roundtrip_and_wal(tmp_path):
    with Store.open(tmp_path) as store:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        store.create_run("r1", "openai:x@http://h", {"judge": "markers", "suites": ["s"]})
        store.add_probes("r1", [(i, _probe(i)) for i in range(3)])
        store.write_results([_record("r1", 0), _record("r1", 1, "ERROR")])
        rows = list(store.iter_results("r1"))
        assert [r.probe_id for r in rows] == ["s/p0/en", "s/p1/en"]
        assert rows[0].label == "COMPLETE" and rows[0].text == "answer 0"
        assert rows[1].status == "ERROR"
        # ERROR responses are not done (a re-run retries them) and are never cached.
        assert store.done_keys("r1", ["s/p0/en", "s/p1/en", "s/p2/en"]) == {("s/p0/en", "", 0)}
        assert set(store.cache_get(["key0", "key1"])) == {"key0"}
        assert store.counts("r1")["COMPLETE"] == 1


def test_disk_full_is_a_one_line_store_error_and_rolls_back(tmp_path):
    store = Store.open(tmp_path)
    store.create_run("r1", "t", {"judge": "markers"})
    store.add_probes("r1", [(i, _probe(i)) for i in range(200)])
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count={pages + 1}")
    big = [_record("r1", i) for i in range(200)]
    for r in big:
        r.response.text = "x" * 5000
    with pytest.raises(StoreError, match="disk full"):
        store.write_results(big)
    assert store.conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 0
    store.close()


def test_corrupt_file_is_a_store_error(tmp_path):
    (tmp_path / "latentwall.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError):
        Store.open(tmp_path)


def test_concurrent_reader_sees_committed_rows(tmp_path):
    with Store.open(tmp_path) as store:
        store.create_run("r1", "t", {"judge": "markers"})
        store.add_probes("r1", [(0, _probe(0))])
        store.write_results([_record("r1", 0)])
        other = sqlite3.connect(store.path)
        assert other.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 1
        other.close()
