"""The store side of review: reading rows, items and labels, and writing labels.

Reading goes through two functions, `read_review_rows` and `read_review_item`, over the
typed `Result`s of the store's query module (`Store.iter_results`, `Store.results_for`).

Labels are judgements of the judge `human:NAME` (time, queue, note, sample seed, machine
verdict and blindness in `extra`); the run's machine verdicts are never touched.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from latentwall.judges import Judgement
from latentwall.labels import VERDICTS
from latentwall.records import (
    HUMAN_PREFIX,
    HumanLabel,
    Result,
    ReviewItem,
    ReviewRow,
    RowKey,
    reviewer_judge,
)
from latentwall.store import Store, run_judge


def review_row(r: Result, second: str | None = None) -> ReviewRow:
    """A typed store row as the queues and statistics see it."""
    return ReviewRow.from_result(r, second)


def read_review_rows(store: Store, run_id: str, *, second_judge: str | None = None) -> list[ReviewRow]:
    """Every response of a run with its machine verdict (and a second judge's, if named)."""
    seconds: dict[tuple[str, str, int], str] = {}
    if second_judge:
        seconds = {(p, c, s): label for p, c, s, label, *_ in store.judgements_of(run_id, second_judge)}
    return [review_row(r, seconds.get(r.key)) for r in store.iter_results(run_id)]


def read_review_item(store: Store, row: ReviewRow, *, second_judge: str | None = None) -> ReviewItem:
    """Everything a reviewer is shown for one response."""
    found = store.results_for(row.key[0], [row.key[1:]])
    if not found:
        return ReviewItem(row=row, prompt="", text="", rationale="(this response is no longer in the store)")
    r = found[0]
    return ReviewItem(row=row, prompt=r.prompt or "", text=r.text or "", rationale=r.rationale or "",
                      reasoning=r.reasoning, probe_text=r.probe_text or "", kind=r.kind or "",
                      status=r.status, finish_reason=r.finish_reason, judge=r.judge or "",
                      second_judge=second_judge, extra=dict(r.judge_extra))


def verdict_judges(store: Store, run_id: str) -> list[str]:
    """Judges other than the run's own and people that gave verdicts on this run (second
    judges from `latentwall rejudge`; a stance scorer's labels are not verdicts)."""
    run = store.get_run(run_id) or {"config": {}}
    own = run_judge(run)
    out = []
    for j in store.judges_of(run_id):
        if j == own or j.startswith(HUMAN_PREFIX):
            continue
        if any(label in VERDICTS for _, _, _, label, *_ in store.judgements_of(run_id, j)):
            out.append(j)
    return out


def read_human_labels(store: Store, run_id: str, reviewer: str | None = None) -> list[HumanLabel]:
    """A run's human labels: one reviewer's, or every reviewer's."""
    judges = [reviewer_judge(reviewer)] if reviewer else [
        j for j in store.judges_of(run_id) if j.startswith(HUMAN_PREFIX)]
    out = []
    for j in judges:
        for p, c, s, label, _rationale, extra, created in store.judgements_of(run_id, j):
            out.append(HumanLabel.from_extra((run_id, p, c, s), j[len(HUMAN_PREFIX):], label, extra, created))
    return out


def write_human_labels(store: Store, labels: Sequence[HumanLabel]) -> None:
    """Store labels as `human:NAME` judgements (a relabel by the same person replaces theirs)."""
    by_run: dict[tuple[str, str], list[tuple[str, str, int, Judgement]]] = {}
    for lab in labels:
        judge = reviewer_judge(lab.reviewer)
        j = Judgement(lab.label, lab.note, (), judge, lab.extra())
        by_run.setdefault((lab.key[0], judge), []).append((lab.key[1], lab.key[2], lab.key[3], j))
    for (run_id, judge), items in by_run.items():
        store.write_judgements(run_id, judge, items)


@dataclass(frozen=True, slots=True)
class RunSource:
    """A run in some store (the CLI resolves RUN arguments to these)."""

    db: Path
    run_id: str


class StoreBackend:
    """A `LabelBackend` over one or more runs, possibly in several stores. Opens each store
    read-write (labels are written), and re-reads rows on `rows()`, so a run that is still
    going shows its new responses."""

    def __init__(self, sources: Sequence[RunSource], reviewer: str, *, second_judge: str | None = None,
                 readonly: bool = False) -> None:
        self.sources = list(sources)
        self.readonly = readonly
        self.reviewer = reviewer
        self.judge = reviewer_judge(reviewer)
        self._stores: dict[Path, Store] = {}
        self._run_db = {s.run_id: s.db for s in self.sources}
        self._lock = threading.RLock()
        self.second_judge = second_judge
        self._seconds: dict[str, str | None] = {}
        for s in self.sources:
            store = self._store(s.db)
            if second_judge is None:
                found = verdict_judges(store, s.run_id)
                self._seconds[s.run_id] = found[0] if found else None
            else:
                self._seconds[s.run_id] = second_judge

    def _store(self, db: Path) -> Store:
        if db not in self._stores:
            self._stores[db] = Store(db, readonly=self.readonly)
        return self._stores[db]

    def store_of(self, run_id: str) -> Store:
        return self._store(self._run_db[run_id])

    def rows(self) -> list[ReviewRow]:
        with self._lock:
            out: list[ReviewRow] = []
            for s in self.sources:
                out += read_review_rows(self._store(s.db), s.run_id, second_judge=self._seconds[s.run_id])
            return out

    def item(self, row: ReviewRow) -> ReviewItem:
        with self._lock:
            return read_review_item(self.store_of(row.key[0]), row, second_judge=self._seconds.get(row.key[0]))

    def labels(self) -> dict[RowKey, HumanLabel]:
        with self._lock:
            return {lab.key: lab for s in self.sources
                    for lab in read_human_labels(self._store(s.db), s.run_id, self.reviewer)}

    def write(self, label: HumanLabel) -> None:
        with self._lock:
            write_human_labels(self.store_of(label.key[0]), [label])

    def delete(self, key: RowKey) -> None:
        with self._lock:
            self.store_of(key[0]).delete_judgements(key[0], self.judge, [key[1:]])

    def live(self) -> bool:
        """Some run is being run right now (its process holds the run lock)."""
        with self._lock:
            return any((self.store_of(s.run_id).get_run(s.run_id) or {}).get("status") == "running"
                       for s in self.sources)

    def close(self) -> None:
        with self._lock:
            for store in self._stores.values():
                store.close()
            self._stores.clear()

    def __enter__(self) -> StoreBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
