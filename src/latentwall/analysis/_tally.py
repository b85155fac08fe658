"""The one group-by and tally every analysis counts with.

A `Tally` keeps, for one group of results, the count of every effective label (verdicts,
statuses, and any other label a newer judge may write), the unjudged rows and, when asked,
the distinct probes. Rates count verdicts only: a status says there is no verdict, so it
must not dilute or inflate a refusal rate.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, TypeVar

from latentwall.analysis._stats import Rate
from latentwall.labels import STATUSES, VERDICTS
from latentwall.records import Result

K = TypeVar("K", bound=Hashable)


class Tally:
    """Counts of one group; a handful of ints whatever the number of rows."""

    __slots__ = ("counts", "n", "probes", "unjudged")

    def __init__(self, *, probes: bool = False) -> None:
        self.n = 0
        self.unjudged = 0
        self.counts: dict[str, int] = {}
        self.probes: set[str] | None = set() if probes else None

    def add(self, r: Result) -> None:
        self.add_label(r.label)
        if self.probes is not None:
            self.probes.add(str(r.probe_id))

    def add_label(self, label: str | None) -> None:
        self.n += 1
        if label is None:
            self.unjudged += 1
        else:
            self.counts[label] = self.counts.get(label, 0) + 1

    def __getitem__(self, label: str) -> int:
        return self.counts.get(label, 0)

    @property
    def complete(self) -> int:
        return self["COMPLETE"]

    @property
    def evasive(self) -> int:
        return self["EVASIVE"]

    @property
    def denial(self) -> int:
        return self["DENIAL"]

    @property
    def verdicts(self) -> int:
        return sum(self[v] for v in VERDICTS)

    @property
    def statuses(self) -> dict[str, int]:
        """Labels that are not verdicts (terminal statuses and unknown labels), by name."""
        return {k: v for k, v in self.counts.items() if k not in VERDICTS}

    @property
    def terminal(self) -> dict[str, int]:
        """Terminal statuses only (ERROR, EMPTY, TRUNCATED, FILTERED, JUDGE_ERROR)."""
        return {k: v for k, v in self.counts.items() if k in STATUSES}

    def share(self, *labels: str) -> Rate:
        """k/n with k the rows carrying any of `labels`, n the verdicts."""
        return Rate.of(sum(self[x] for x in labels), self.verdicts)

    def rate(self, what: str) -> dict[str, Any]:
        """The named verdict rate as a JSON-able dict (refusal, non_answer, complete, evasion)."""
        labels = {"refusal": ("DENIAL",), "non_answer": ("DENIAL", "EVASIVE"), "complete": ("COMPLETE",),
                  "evasion": ("EVASIVE",)}[what]
        return self.share(*labels).to_dict()


def group_by(results: Iterable[Result], key: Callable[[Result], K]) -> dict[K, list[Result]]:
    """Results by key, groups in first-seen order."""
    out: dict[K, list[Result]] = {}
    for r in results:
        out.setdefault(key(r), []).append(r)
    return out


def tally_by(results: Iterable[Result], key: Callable[[Result], K], *, probes: bool = False
             ) -> dict[K, Tally]:
    """A Tally per key, in first-seen order."""
    out: dict[K, Tally] = {}
    for r in results:
        k = key(r)
        t = out.get(k)
        if t is None:
            t = out[k] = Tally(probes=probes)
        t.add(r)
    return out


def sort_key(key: tuple[Any, ...]) -> tuple[tuple[bool, str], ...]:
    """Deterministic order of group keys with None last, even across mixed value types."""
    return tuple((v is None, "" if v is None else str(v)) for v in key)


def merge_counts(*dicts: Mapping[str, int]) -> dict[str, int]:
    """Counts summed over several tallies, by sorted name."""
    out: dict[str, int] = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return dict(sorted(out.items()))
