"""Narrative stance in numbers: the echo rate next to the refusal rate of the same group.

The narrative-echo rate is the share of STATE_ALIGNED among answers with a determined
stance (STATE_ALIGNED + INDEPENDENT + MIXED), with a Wilson interval, beside the refusal
rate of the same group. Stances come from a stored stance pass, or are scored offline
(`judges.stance`) for results that have none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from latentwall.analysis._base import AnalysisOptions, AnalysisResult, register_analysis
from latentwall.analysis._stats import Rate
from latentwall.analysis._tally import Tally
from latentwall.judges.stance import (
    DETERMINED,
    INDEPENDENT,
    JUDGE_ERROR,
    MIXED,
    REASONS,
    STANCES,
    STATE_ALIGNED,
    Sheets,
    score_result,
)
from latentwall.records import Result, as_results

DEFAULT_STANCE_BY: tuple[str, ...] = ("target", "topic", "language")


@dataclass(frozen=True, kw_only=True)
class StanceSummary(AnalysisResult):
    """Echo, independent and mixed shares and refusal per group and per target.

    A group is {"key", "n", "n_verdicts", "n_applicable", "n_stance", "counts",
    "not_applicable_reasons", "echo", "independent", "mixed", "refusal" (each {k, n, rate,
    lo, hi}), "fabrication"}."""

    analysis: str = "narrative_stance"
    by: list[str] = field(default_factory=list)
    n_rows: int = 0
    scorers: list[str] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    not_applicable: str | None = None


class _StanceAcc:
    """A verdict Tally of the group plus its stance counts, reasons and fabrication."""

    __slots__ = ("counts", "fab_k", "fab_n", "reasons", "tally")

    def __init__(self) -> None:
        self.tally = Tally()
        self.counts: dict[str, int] = dict.fromkeys((*STANCES, JUDGE_ERROR), 0)
        self.reasons: dict[str, int] = {}
        self.fab_k = 0
        self.fab_n = 0

    def add(self, row: Result, stance: str | None, detail: Mapping[str, Any]) -> None:
        self.tally.add(row)
        if stance is None:
            return
        self.counts[stance] = self.counts.get(stance, 0) + 1
        reason = detail.get("reason")
        if reason:
            self.reasons[str(reason)] = self.reasons.get(str(reason), 0) + 1
        fab = detail.get("fabrication")
        if isinstance(fab, bool):
            self.fab_n += 1
            self.fab_k += fab

    def to_dict(self, key: dict[str, Any]) -> dict[str, Any]:
        n_stance = sum(self.counts[s] for s in DETERMINED)
        out = {
            "key": key, "n": self.tally.n, "n_verdicts": self.tally.verdicts,
            "n_applicable": n_stance + self.reasons.get("no-evidence", 0)
            + self.reasons.get("llm-not-applicable", 0) + self.counts[JUDGE_ERROR],
            "n_stance": n_stance, "counts": dict(self.counts),
            "not_applicable_reasons": dict(sorted(self.reasons.items())),
            "echo": Rate.of(self.counts[STATE_ALIGNED], n_stance).to_dict(),
            "independent": Rate.of(self.counts[INDEPENDENT], n_stance).to_dict(),
            "mixed": Rate.of(self.counts[MIXED], n_stance).to_dict(),
            "refusal": self.tally.rate("refusal"),
            "fabrication": Rate.of(self.fab_k, self.fab_n).to_dict() if self.fab_n else None,
        }
        return out


def stance_summary(
    rows: Iterable[Result | Mapping[str, Any]], by: Sequence[str] = DEFAULT_STANCE_BY
) -> StanceSummary:
    """Narrative-echo rate (STATE_ALIGNED share of determined stances, Wilson 95%) next to the
    refusal rate, per group and per target. Rows without a "stance" are scored offline.

    Shape: {"analysis": "narrative_stance", "by": [...], "n_rows", "scorers": [...],
    "targets": [group], "groups": [group], "not_applicable": None | reason}, where a group
    is {"key", "n", "n_verdicts", "n_applicable", "n_stance", "counts", "not_applicable_reasons",
    "echo", "independent", "mixed", "refusal" (each {k, n, rate, lo, hi}), "fabrication"}.
    """
    by = tuple(by)
    groups: dict[tuple[Any, ...], _StanceAcc] = {}
    targets: dict[tuple[Any, ...], _StanceAcc] = {}
    scorers: set[str] = set()
    n_rows = 0
    sheets = Sheets()
    for row in as_results(rows):
        n_rows += 1
        stance = row.stance
        detail = row.stance_detail
        if stance is None:
            res = score_result(row, sheets)
            detail = res.to_dict()
            stance = res.label
        detail = detail if isinstance(detail, Mapping) else {}
        if detail.get("scorer"):
            scorers.add(str(detail["scorer"]))
        gkey = tuple(getattr(row, f, None) for f in by)
        for table, key in ((groups, gkey), (targets, (row.target,))):
            acc = table.get(key)
            if acc is None:
                acc = table[key] = _StanceAcc()
            acc.add(row, str(stance), detail)

    def order(k: tuple[Any, ...]) -> tuple[tuple[bool, str], ...]:
        return tuple((v is None, str(v)) for v in k)

    out = {
        "analysis": "narrative_stance", "by": list(by), "n_rows": n_rows, "scorers": sorted(scorers),
        "targets": [targets[k].to_dict({"target": k[0]}) for k in sorted(targets, key=order)],
        "groups": [groups[k].to_dict(dict(zip(by, k, strict=True))) for k in sorted(groups, key=order)],
        "not_applicable": None,
    }
    if n_rows == 0:
        out["not_applicable"] = "no responses: the runs are empty"
    elif not any(t["n_stance"] or t["counts"][JUDGE_ERROR] for t in out["targets"]):
        reasons: dict[str, int] = {}
        for acc in targets.values():
            for r, n in acc.reasons.items():
                reasons[r] = reasons.get(r, 0) + n
        top = ", ".join(f"{REASONS.get(r, r)} ({n})" for r, n in sorted(reasons.items(), key=lambda x: -x[1]))
        out["not_applicable"] = f"no answer has a determinable stance: {top or 'no rows'}"
    return StanceSummary(**out)


def by_condition(results: Sequence[Result], by: Sequence[str]) -> tuple[str, ...]:
    """`by`, plus condition when the results were asked under several conditions."""
    return (*by, "condition") if len({r.condition or "" for r in results}) > 1 else tuple(by)


@register_analysis("stance", order=40)
def _stance(results: Sequence[Result], options: AnalysisOptions) -> StanceSummary:
    """Narrative echo (STATE_ALIGNED share) beside refusal, per target, topic and language."""
    by = by_condition(results, DEFAULT_STANCE_BY) if options.by_condition else DEFAULT_STANCE_BY
    return stance_summary(results, by=by)
