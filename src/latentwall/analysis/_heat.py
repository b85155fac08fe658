"""Counts for the heat map: per target × topic × language × condition, the responses, the
three verdicts and the narrative-echo tally (STATE_ALIGNED among determined stances). Six
ints per cell, whatever the number of rows; the page re-facets them (metric, language,
locale) without a server."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from latentwall.analysis._base import AnalysisOptions, AnalysisResult, register_analysis
from latentwall.analysis._stats import Rate
from latentwall.labels import Verdict
from latentwall.records import Result

STANCE_ALIGNED = "STATE_ALIGNED"
STANCES_APPLICABLE = frozenset({"STATE_ALIGNED", "INDEPENDENT", "MIXED"})
# Counter slots per cell.
N, COMPLETE, EVASIVE, DENIAL, ECHO_K, ECHO_N = range(6)
SLOTS: tuple[str, ...] = ("n", "complete", "evasive", "denial", "echo_k", "echo_n")

CellKey = tuple[Any, Any, Any, str]


@dataclass(frozen=True, kw_only=True)
class HeatCounts(AnalysisResult):
    """Counts per (target, topic, language, condition); `has_stance` when any response has a
    determined stance (only then is narrative echo a metric)."""

    cells: dict[CellKey, list[int]] = field(default_factory=dict)
    has_stance: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"slots": list(SLOTS), "has_stance": self.has_stance,
                "cells": [[*k, *v] for k, v in self.cells.items()]}

    to_dict = to_json


def add_counts(cell: list[int], other: Sequence[int]) -> None:
    for i, v in enumerate(other):
        cell[i] += v


def rate_of(counts: Sequence[int], metric: str) -> Rate:
    """Not complete (EVASIVE + DENIAL), refusal or evasion among verdicts, or narrative echo
    among determined stances."""
    verdicts = counts[COMPLETE] + counts[EVASIVE] + counts[DENIAL]
    if metric == "not_complete":
        return Rate.of(counts[EVASIVE] + counts[DENIAL], verdicts)
    if metric == "refusal":
        return Rate.of(counts[DENIAL], verdicts)
    if metric == "evasion":
        return Rate.of(counts[EVASIVE], verdicts)
    return Rate.of(counts[ECHO_K], counts[ECHO_N])


def heat_counts(results: Sequence[Result]) -> HeatCounts:
    cells: dict[CellKey, list[int]] = {}
    has_stance = False
    for r in results:
        key = (r.target, r.topic, r.language, r.condition or "")
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = [0, 0, 0, 0, 0, 0]
        cell[N] += 1
        label = r.label
        if label == Verdict.COMPLETE:
            cell[COMPLETE] += 1
        elif label == Verdict.EVASIVE:
            cell[EVASIVE] += 1
        elif label == Verdict.DENIAL:
            cell[DENIAL] += 1
        if r.stance in STANCES_APPLICABLE:
            has_stance = True
            cell[ECHO_N] += 1
            if r.stance == STANCE_ALIGNED:
                cell[ECHO_K] += 1
    return HeatCounts(cells=cells, has_stance=has_stance)


@register_analysis("heatmap", order=1, in_document=False)
def _heat(results: Sequence[Result], options: AnalysisOptions) -> HeatCounts:
    """Refusal, evasion and narrative echo counts per target, topic, language and condition."""
    return heat_counts(results)
