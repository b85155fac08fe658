"""Rates per group in one streaming pass, so a million-row run summarises in flat memory."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from latentwall.analysis._base import AnalysisOptions, register_analysis
from latentwall.analysis._stats import Rate
from latentwall.analysis._tally import Tally, sort_key
from latentwall.labels import ALL_LABELS, STATUSES, VERDICTS, Consistency, Verdict
from latentwall.records import Result, as_results

SUMMARY_SCHEMA = "latentwall.summary/1"
DEFAULT_BY: tuple[str, ...] = ("target", "suite", "topic", "language")
BUCKETS: tuple[str, ...] = (
    Consistency.ALWAYS.value,
    Consistency.SOMETIMES.value,
    Consistency.NEVER.value,
)

# Run metadata keys copied into the --json summary; the rest is store bookkeeping.
_RUN_KEYS: tuple[str, ...] = (
    "run_id",
    "target",
    "suites",
    "languages",
    "samples",
    "params",
    "judge",
    "created",
    "finished",
    "status",
    "latentwall_version",
    "target_info",
    "counts",
)

KeyValue = str | int | float | bool | None


def key_value(value: Any) -> KeyValue:
    """Group keys must be hashable and JSON-able whatever the store hands us."""
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    return str(value)


def _bucket(n_verdicts: int, n_denials: int) -> str:
    if n_denials == 0:
        return Consistency.NEVER.value
    if n_denials == n_verdicts:
        return Consistency.ALWAYS.value
    return Consistency.SOMETIMES.value


class _Acc(Tally):
    """A Tally plus the group's consistency buckets."""

    __slots__ = ("buckets",)

    def __init__(self) -> None:
        super().__init__()
        self.buckets: dict[str, int] = dict.fromkeys(BUCKETS, 0)

    def freeze(self, names: Sequence[str], key: tuple[KeyValue, ...]) -> GroupStats:
        counts = dict.fromkeys(ALL_LABELS, 0)
        # Unknown labels (a newer judge, a typo) are kept visible but never enter a rate.
        for label in sorted(self.counts):
            counts[label] = self.counts[label]
        n_verdicts = sum(counts[v] for v in VERDICTS)
        rates = {v: Rate.of(counts[v], n_verdicts) for v in VERDICTS}
        return GroupStats(
            key=dict(zip(names, key, strict=True)),
            n=self.n,
            n_verdicts=n_verdicts,
            n_unjudged=self.unjudged,
            counts=counts,
            rates=rates,
            consistency=dict(self.buckets),
        )


@dataclass(frozen=True, slots=True)
class GroupStats:
    """Counts, verdict rates with intervals and consistency buckets for one group."""

    key: dict[str, KeyValue]
    n: int
    n_verdicts: int
    n_unjudged: int
    counts: dict[str, int]
    rates: dict[str, Rate]
    consistency: dict[str, int]

    @property
    def refusal(self) -> Rate:
        return self.rates[Verdict.DENIAL.value]

    @property
    def evasion(self) -> Rate:
        return self.rates[Verdict.EVASIVE.value]

    @property
    def complete(self) -> Rate:
        return self.rates[Verdict.COMPLETE.value]

    @property
    def statuses(self) -> dict[str, int]:
        """Terminal statuses, reported beside the rates and never inside them."""
        return {s: self.counts[s] for s in STATUSES}

    @property
    def other_labels(self) -> dict[str, int]:
        return {k: v for k, v in self.counts.items() if k not in ALL_LABELS}

    @property
    def n_probes(self) -> int:
        """Probe × condition pairs with at least one verdict (the bucket denominator)."""
        return sum(self.consistency.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": dict(self.key),
            "n": self.n,
            "n_verdicts": self.n_verdicts,
            "n_statuses": sum(self.statuses.values()),
            "n_unjudged": self.n_unjudged,
            "counts": dict(self.counts),
            "rates": {k: r.to_dict() for k, r in self.rates.items()},
            "consistency": {**self.consistency, "n_probes": self.n_probes},
        }


@dataclass(frozen=True, slots=True)
class Summary:
    """Per group, per target and per (target, suite) statistics of a set of result rows."""

    by: tuple[str, ...]
    n_rows: int
    groups: list[GroupStats] = field(default_factory=list)
    targets: list[GroupStats] = field(default_factory=list)
    target_suites: list[GroupStats] = field(default_factory=list)

    def values(self, name: str) -> list[KeyValue]:
        """Distinct values of one grouping field, in output order (for report filters)."""
        seen: dict[KeyValue, None] = {}
        for g in self.groups:
            if name in g.key:
                seen.setdefault(g.key[name], None)
        return list(seen)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SUMMARY_SCHEMA,
            "by": list(self.by),
            "n_rows": self.n_rows,
            "labels": {"verdicts": list(VERDICTS), "statuses": list(STATUSES)},
            "interval": {"method": "wilson", "confidence": 0.95},
            "targets": [g.to_dict() for g in self.targets],
            "target_suites": [g.to_dict() for g in self.target_suites],
            "groups": [g.to_dict() for g in self.groups],
        }


def summarise(rows: Iterable[Result | Mapping[str, Any]], by: Sequence[str] = DEFAULT_BY) -> Summary:
    """One pass over result rows; memory grows with groups and probes, never with samples.

    Rates count verdicts only: a status (ERROR, EMPTY, TRUNCATED, FILTERED, JUDGE_ERROR)
    says there is no verdict, so it must not dilute or inflate a refusal rate. Consistency
    buckets need per-probe counters (two ints per target × probe × condition), which is the
    only state that is not per group.
    """
    by = tuple(by)
    groups: dict[tuple[KeyValue, ...], _Acc] = {}
    targets: dict[tuple[KeyValue, ...], _Acc] = {}
    tsuites: dict[tuple[KeyValue, ...], _Acc] = {}
    # [n_verdicts, n_denials] per probe, once inside its group and once inside its target/suite.
    probe_in_group: dict[tuple[Any, ...], list[int]] = {}
    probe_in_suite: dict[tuple[KeyValue, ...], list[int]] = {}
    denial = Verdict.DENIAL.value
    n_rows = 0

    for row in as_results(rows):
        n_rows += 1
        label = row.label
        gkey = tuple(key_value(getattr(row, f, None)) for f in by)
        target = key_value(row.target)
        suite = key_value(row.suite)
        for table, key in ((groups, gkey), (targets, (target,)), (tsuites, (target, suite))):
            acc = table.get(key)
            if acc is None:
                acc = table[key] = _Acc()
            acc.add_label(label)
        if label not in VERDICTS:
            continue
        probe = (target, key_value(row.probe_id), key_value(row.condition or ""))
        is_denial = 1 if label == denial else 0
        for table2, pkey in ((probe_in_group, (gkey, *probe)), (probe_in_suite, (suite, *probe))):
            counter = table2.get(pkey)
            if counter is None:
                table2[pkey] = [1, is_denial]
            else:
                counter[0] += 1
                counter[1] += is_denial

    for (gkey, *_), (nv, nd) in probe_in_group.items():
        groups[gkey].buckets[_bucket(nv, nd)] += 1
    for (suite, target, *_), (nv, nd) in probe_in_suite.items():
        bucket = _bucket(nv, nd)
        targets[(target,)].buckets[bucket] += 1
        tsuites[(target, suite)].buckets[bucket] += 1

    def freeze(table: dict[tuple[KeyValue, ...], _Acc], names: Sequence[str]) -> list[GroupStats]:
        return [table[k].freeze(names, k) for k in sorted(table, key=sort_key)]

    return Summary(
        by=by,
        n_rows=n_rows,
        groups=freeze(groups, by),
        targets=freeze(targets, ("target",)),
        target_suites=freeze(tsuites, ("target", "suite")),
    )


def _jsonable(obj: Any) -> Any:
    """Run metadata comes from several writers; coerce it so json.dumps never fails."""
    if obj is None or isinstance(obj, str | bool | int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [_jsonable(v) for v in obj]
    return str(obj)


def summary_run_meta(run: Mapping[str, Any]) -> dict[str, Any]:
    """The documented run metadata keys of one run, JSON-safe, missing keys as None."""
    return {k: _jsonable(run.get(k)) for k in _RUN_KEYS}


def build_json_summary(
    runs: Sequence[Mapping[str, Any]],
    rows: Iterable[Result | Mapping[str, Any]],
    by: Sequence[str] = DEFAULT_BY,
) -> dict[str, Any]:
    """The `--json` document: the summary of `rows` plus the metadata of the runs they belong to."""
    out = summarise(rows, by).to_dict()
    out["runs"] = [summary_run_meta(r) for r in runs]
    return out


@register_analysis("summary", order=0, in_document=False)
def _summary(results: Sequence[Result], options: AnalysisOptions) -> Summary:
    """Verdict rates with Wilson intervals and consistency buckets per group."""
    return summarise(results, options.summary_by or DEFAULT_BY)
