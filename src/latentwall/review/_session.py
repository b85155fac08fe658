"""A review session: one reviewer working through one queue, over any label backend.

The web page and the terminal mode are views of a `ReviewSession`; the session is the
same whether labels live in the store (`StoreBackend`, real use) or in memory (tests,
merges). It is resumable by construction: a row this reviewer has labelled (including
SKIP) is never shown again, and the queue is a pure function of the rows and the seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from latentwall.errors import ConfigError
from latentwall.records import (
    NOTE_MAX,
    QUEUES,
    REVIEW_LABELS,
    HumanLabel,
    ReviewItem,
    ReviewRow,
    RowKey,
    now_iso,
)
from latentwall.review._sampling import DEFAULT_STRATA, random_sample, triage_order


class LabelBackend(Protocol):
    """Where rows come from and one reviewer's labels go."""

    def rows(self) -> list[ReviewRow]:
        """Every response under review, as it is now (a run may still be adding rows)."""
        ...

    def item(self, row: ReviewRow) -> ReviewItem:
        ...

    def labels(self) -> dict[RowKey, HumanLabel]:
        """This reviewer's labels."""
        ...

    def write(self, label: HumanLabel) -> None:
        ...

    def delete(self, key: RowKey) -> None:
        ...

    def live(self) -> bool:
        """Whether rows may still be added (a run in progress): then the queue is re-read."""
        ...


class ReviewConflict(ConfigError):
    """A label for a response that is not the one on screen (a stale page, a double key)."""


@dataclass
class MemoryBackend:
    """Rows, items and labels in memory: tests, and merging label files."""

    row_list: list[ReviewRow]
    items: dict[RowKey, ReviewItem] = field(default_factory=dict)
    label_map: dict[RowKey, HumanLabel] = field(default_factory=dict)

    def rows(self) -> list[ReviewRow]:
        return list(self.row_list)

    def item(self, row: ReviewRow) -> ReviewItem:
        return self.items.get(row.key) or ReviewItem(row=row, prompt="", text="")

    def labels(self) -> dict[RowKey, HumanLabel]:
        return dict(self.label_map)

    def write(self, label: HumanLabel) -> None:
        self.label_map[label.key] = label

    def delete(self, key: RowKey) -> None:
        self.label_map.pop(key, None)

    def live(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class Progress:
    queue: str
    done: int
    total: int
    counts: dict[str, int]
    reviewer: str
    can_undo: bool

    def to_dict(self) -> dict[str, object]:
        return {"queue": self.queue, "done": self.done, "total": self.total, "counts": dict(self.counts),
                "reviewer": self.reviewer, "can_undo": self.can_undo}


class ReviewSession:
    """next / label / undo / progress over a backend. `size`: random-sample size (None: enough
    for ±5 points per cell); `refresh_s`: how often the rows are re-read while a run is in
    progress (a finished run's rows are read once, and again when the queue runs out)."""

    def __init__(self, backend: LabelBackend, *, reviewer: str, queue: str = "random", seed: int = 0,
                 size: int | None = None, strata: Sequence[str] = DEFAULT_STRATA, blind: bool = False,
                 part: tuple[int, int] | None = None, refresh_s: float = 5.0,
                 clock: Callable[[], str] = now_iso) -> None:
        if queue not in QUEUES:
            raise ConfigError(f"queue must be one of {', '.join(QUEUES)}, not {queue!r}")
        self.backend, self.reviewer, self.queue = backend, reviewer, queue
        self.seed, self.size, self.strata, self.blind, self.part = seed, size, tuple(strata), blind, part
        self.refresh_s, self.clock = refresh_s, clock
        self._history: list[tuple[RowKey, HumanLabel | None]] = []
        self._order: list[ReviewRow] = []
        self._labels: dict[RowKey, HumanLabel] = {}
        self._loaded = -1e18
        self._live = False
        self._current: ReviewItem | None = None
        self.refresh()

    # -- the queue --------------------------------------------------------------------

    def refresh(self) -> None:
        rows = self.backend.rows()
        if self.queue == "random":
            self._order = random_sample(rows, seed=self.seed, size=self.size, strata=self.strata, part=self.part)
        else:
            self._order = triage_order(rows, seed=self.seed, part=self.part)
        self._labels = self.backend.labels()
        self._live = self.backend.live()
        self._loaded = time.monotonic()

    def _next_row(self) -> ReviewRow | None:
        for row in self._order:
            have = self._labels.get(row.key)
            if have is None:
                return row
            if self.queue == "random" and have.sample is None:
                # labelled from the triage queue and drawn into the random sample: the label
                # is as good as any (the draw ignored content), so it joins the sample.
                joined = replace(have, sample=self.seed)
                self.backend.write(joined)
                self._labels[row.key] = joined
        return None

    def pending(self) -> list[ReviewRow]:
        """The rows of the queue still without this reviewer's label, in queue order."""
        return [r for r in self._order if r.key not in self._labels]

    def current(self) -> ReviewItem | None:
        """The response to label now, or None when the queue is done."""
        if self._live and time.monotonic() - self._loaded > self.refresh_s:
            self.refresh()  # a run in progress: new responses join the queue
        row = self._next_row()
        if row is None and time.monotonic() - self._loaded > 0.5:  # done? a live run may have more
            self.refresh()
            row = self._next_row()
        if row is None:
            self._current = None
        elif self._current is None or self._current.row.key != row.key:
            self._current = self.backend.item(row)
        return self._current

    # -- labelling --------------------------------------------------------------------

    def label(self, key: RowKey, label: str, note: str = "") -> HumanLabel:
        """Label the response on screen; `key` must be it (else ReviewConflict)."""
        if label not in REVIEW_LABELS:
            raise ConfigError(f"label must be one of {', '.join(REVIEW_LABELS)}, not {label!r}")
        if len(note) > NOTE_MAX:
            raise ConfigError(f"a note holds at most {NOTE_MAX} characters")
        cur = self.current()
        if cur is None or cur.row.key != tuple(key):
            raise ReviewConflict("that response is no longer the one to label (reload)")
        out = HumanLabel(key=cur.row.key, reviewer=self.reviewer, label=label, time=self.clock(),
                         queue=self.queue, note=note.strip(),
                         sample=self.seed if self.queue == "random" else None,
                         machine=cur.row.verdict, blind=self.blind)
        self._history.append((out.key, self._labels.get(out.key)))
        self.backend.write(out)
        self._labels[out.key] = out
        self._current = None
        return out

    def undo(self) -> RowKey | None:
        """Take back this sitting's last label; its response comes back on screen."""
        if not self._history:
            return None
        key, before = self._history.pop()
        if before is None:
            self.backend.delete(key)
            self._labels.pop(key, None)
        else:
            self.backend.write(before)
            self._labels[key] = before
        self._current = None
        return key

    def progress(self) -> Progress:
        counts: dict[str, int] = {}
        done = 0
        for row in self._order:
            lab = self._labels.get(row.key)
            if lab is not None:
                done += 1
                counts[lab.label] = counts.get(lab.label, 0) + 1
        return Progress(self.queue, done, len(self._order), counts, self.reviewer, bool(self._history))
