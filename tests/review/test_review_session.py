"""The review session over an in-memory backend and over the real store: label, undo,
progress, resume, triage labels joining the random sample, live runs, machine verdicts
untouched, and the statistics read back from the store."""

from __future__ import annotations

import pytest
from _review_fixtures import make_store, write_run

from latentwall.review import (
    HumanLabel,
    MemoryBackend,
    ReviewConflict,
    ReviewRow,
    ReviewSession,
    RunSource,
    StoreBackend,
    read_human_labels,
    read_review_rows,
    summarise_review,
)
from latentwall.store import Store


def mem_rows(n=30):
    v = ("COMPLETE", "EVASIVE", "DENIAL")
    return [ReviewRow(("r", f"p{i}", "", 0), "t", "en", v[i % 3], confidence=(i % 10) / 10) for i in range(n)]


def clock():
    clock.t += 1
    return f"2026-01-01T00:00:{clock.t % 60:02d}+00:00"


clock.t = 0


def test_label_undo_progress_and_resume_in_memory():
    backend = MemoryBackend(mem_rows())
    s = ReviewSession(backend, reviewer="ann", size=9, clock=clock)
    assert s.progress().total == 9 and s.progress().done == 0
    first = s.current().row.key
    lab = s.label(first, "EVASIVE", note="  official line  ")
    assert lab.note == "official line" and lab.sample == 0 and lab.queue == "random" and lab.machine
    second = s.current().row.key
    assert second != first
    s.label(second, "SKIP")
    p = s.progress()
    assert p.done == 2 and p.counts == {"EVASIVE": 1, "SKIP": 1} and p.can_undo
    assert s.undo() == second and s.current().row.key == second
    assert s.undo() == first and s.current().row.key == first and backend.label_map == {}
    assert s.undo() is None
    s.label(first, "DENIAL")
    # a new session (a restart) resumes where this one stopped and cannot undo the old labels
    s2 = ReviewSession(backend, reviewer="ann", size=9, clock=clock)
    assert s2.current().row.key == second and s2.progress().done == 1 and not s2.progress().can_undo


def test_a_stale_or_bad_label_is_refused():
    s = ReviewSession(MemoryBackend(mem_rows()), reviewer="ann", size=5)
    with pytest.raises(ReviewConflict):
        s.label(("r", "nope", "", 0), "COMPLETE")
    with pytest.raises(Exception, match="label must be one of"):
        s.label(s.current().row.key, "MAYBE")
    with pytest.raises(Exception, match="at most"):
        s.label(s.current().row.key, "COMPLETE", note="x" * 3000)


def test_a_triage_label_joins_the_random_sample_when_the_random_queue_reaches_it():
    from latentwall.review import random_sample

    rows = mem_rows()
    backend = MemoryBackend(rows)
    t = ReviewSession(backend, reviewer="ann", queue="triage", clock=clock)
    key = t.current().row.key
    t.label(key, "COMPLETE")
    assert backend.label_map[key].sample is None  # triage: never in an estimate by itself
    order = [r.key for r in random_sample(rows, size=30)]
    pos = order.index(key)
    r = ReviewSession(backend, reviewer="ann", size=30, clock=clock)
    for _ in range(pos):  # label up to it: it is not shown again ...
        assert r.current().row.key != key
        r.label(r.current().row.key, "COMPLETE")
    assert r.current().row.key == order[pos + 1]
    # ... and, reached at random, it counts as a sample label (its queue stays triage)
    assert backend.label_map[key].sample == 0 and backend.label_map[key].queue == "triage"


def test_the_triage_queue_starts_with_the_least_sure():
    s = ReviewSession(MemoryBackend(mem_rows()), reviewer="ann", queue="triage")
    assert s.current().row.confidence == 0.0
    assert s.progress().total == 30


def test_store_backed_session_writes_human_judgements_and_never_machine_ones(tmp_path):
    db = make_store(tmp_path)
    sources = [RunSource(db, "run-a"), RunSource(db, "run-b")]
    with Store(db) as store:
        before = list(store.iter_results("run-a"))
    with StoreBackend(sources, "ann") as backend:
        s = ReviewSession(backend, reviewer="ann", size=12, refresh_s=0)
        item = s.current()
        assert item.text.startswith("Answer number") and item.prompt.startswith("prompt")
        assert item.rationale.startswith("rationale") and item.row.confidence is not None
        keys = []
        for label in ("COMPLETE", "EVASIVE", "DENIAL", "UNSURE"):
            keys.append(s.current().row.key)
            s.label(keys[-1], label, note="n" if label == "DENIAL" else "")
        s.undo()
    # after a restart, the labels are in the store as judge human:ann
    with Store(db, readonly=True) as store:
        assert "human:ann" in store.judges_of(keys[0][0])
        labels = {lab.key: lab for src in sources for lab in read_human_labels(store, src.run_id)}
        assert [labels[k].label for k in keys[:3]] == ["COMPLETE", "EVASIVE", "DENIAL"]
        assert keys[3] not in labels  # undone
        assert labels[keys[2]].note == "n" and labels[keys[2]].time.startswith("20")
        assert all(lab.queue == "random" and lab.sample == 0 for lab in labels.values())
        assert list(store.iter_results("run-a")) == before  # the machine verdicts are untouched
    with pytest.raises(ValueError, match="only human labels"):
        with Store(db) as store:
            store.delete_judgements("run-a", "markers", [keys[0][1:]])


def test_a_run_that_is_still_going_shows_its_new_rows(tmp_path):
    from latentwall.store import RunLock

    with Store.open(tmp_path) as store:
        write_run(store, "live", "model-a", 6, status="running")
        db = store.path
    with RunLock(db, "live"), StoreBackend([RunSource(db, "live")], "ann") as backend:  # a runner at work
        assert backend.live()
        s = ReviewSession(backend, reviewer="ann", queue="triage", refresh_s=0)
        for _ in range(5):
            s.label(s.current().row.key, "COMPLETE")
        with Store.open(tmp_path) as store:  # the runner writes more while the page is open
            write_run(store, "live", "model-a", 4, start=6, status="running")
        s.label(s.current().row.key, "COMPLETE")
        assert s.current() is not None and s.progress().total == 10 and s.progress().done == 6
    with StoreBackend([RunSource(db, "live")], "ann") as backend:
        assert not backend.live()  # its process is gone: read once


def test_statistics_from_the_store(tmp_path):
    db = make_store(tmp_path, n=60)
    sources = [RunSource(db, "run-a"), RunSource(db, "run-b")]
    with StoreBackend(sources, "ann") as backend:
        s = ReviewSession(backend, reviewer="ann", size=60, strata=("target",), refresh_s=60)
        while (item := s.current()) is not None:
            # the person disagrees with every second COMPLETE verdict
            truth = item.row.verdict
            if truth == "COMPLETE" and int(item.row.key[1].split("/q")[1].split("/")[0]) % 2:
                truth = "EVASIVE"
            s.label(item.row.key, truth)
        rows = backend.rows()
        with Store(db, readonly=True) as store:
            labels = [lab for src in sources for lab in read_human_labels(store, src.run_id)]
    summary = summarise_review(rows, labels, by=("target",), strata=("target",), draws=500)
    g = summary.correction.group(target="model-a")
    assert g.ok and g.n == 60 and g.n_labels == 30
    assert g.rates["COMPLETE"].corrected.estimate < g.rates["COMPLETE"].machine.estimate
    assert summary.human_vs_machine["n"] == 60 and summary.human_vs_machine["agreement"] < 1
    assert summary.to_dict()["correction"]["groups"][0]["status"] == "ok"


def test_second_judge_verdicts_come_with_the_rows(tmp_path):
    from latentwall.judges import Judgement

    db = make_store(tmp_path, n=10)
    with Store(db) as store:
        keys = [d.key for d in store.iter_results("run-a")]
        store.write_judgements("run-a", "other", [(*k, Judgement("DENIAL", "x")) for k in keys[:3]])
        rows = read_review_rows(store, "run-a", second_judge="other")
        typed = list(store.iter_results("run-a", others=True))  # what the review analysis reads
        plain = list(store.iter_results("run-a"))
    assert [r.second for r in rows[:4]] == ["DENIAL", "DENIAL", "DENIAL", None]
    assert [r.other_labels.get("other", {}).get("label") for r in typed[:4]] == ["DENIAL"] * 3 + [None]
    assert not any(r.other_labels for r in plain)  # read only when asked
    with StoreBackend([RunSource(db, "run-a")], "ann") as backend:  # found without being named
        assert backend.rows()[0].second == "DENIAL"
    assert isinstance(HumanLabel.from_extra(rows[0].key, "a", "COMPLETE", {"sample": True}), HumanLabel)
