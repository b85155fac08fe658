"""Trust in the numbers: from machine verdicts, human labels and second judges to corrected
rates, the judge's confusion, agreement (human vs machine, reviewer vs reviewer, judge vs
second judge) and the findings that change after correction (docs/review.md).

The `review` analysis reads each `Result`'s `other_labels` (reviewers' `human:NAME` labels
and second judges' verdicts, read with `iter_results(others=True)`). Only labels of the
random sample enter the estimate; triage labels (chosen for looking wrong) never do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from latentwall.analysis._base import AnalysisOptions, AnalysisResult, register_analysis
from latentwall.analysis._correction import DRAWS, Cell, Correction, Validation, correct_rates
from latentwall.judges import agreement
from latentwall.labels import VERDICTS
from latentwall.records import DEFAULT_STRATA, HUMAN_PREFIX, HumanLabel, Result, ReviewRow, RowKey

DEFAULT_BY: tuple[str, ...] = ("target", "language")


def estimate_inputs(rows: Iterable[ReviewRow], labels: Iterable[HumanLabel], *, by: Sequence[str],
                    strata: Sequence[str]) -> tuple[list[Cell], list[Validation], dict[str, int]]:
    """Run counts per (group, stratum, verdict), the random-sample validations and what was
    excluded. A response several people labelled counts once (each verdict 1/k)."""
    row_by_key: dict[RowKey, ReviewRow] = {}
    counts: Counter[tuple[tuple[Any, ...], tuple[Any, ...], str]] = Counter()
    for r in rows:
        row_by_key[r.key] = r
        if r.has_verdict:
            counts[(tuple(r.get(f) for f in by), tuple(r.get(f) for f in strata), r.verdict or "")] += 1
    excluded: Counter[str] = Counter()
    per_row: dict[RowKey, list[str]] = {}
    for lab in labels:
        row = row_by_key.get(lab.key)
        if row is None:
            excluded["not_in_runs"] += 1
        elif lab.label not in VERDICTS:
            excluded[lab.label.lower()] += 1
        elif lab.sample is None:
            excluded["triage"] += 1
        elif not row.has_verdict:
            excluded["no_machine_verdict"] += 1
        else:
            per_row.setdefault(lab.key, []).append(lab.label)
    validations = []
    for key, truths in per_row.items():
        row = row_by_key[key]
        stratum = tuple(row.get(f) for f in strata)
        validations += [Validation(stratum, row.verdict or "", t, 1 / len(truths)) for t in truths]
    cells = [Cell(g, s, v, n) for (g, s, v), n in counts.items()]
    return cells, validations, dict(excluded)


@dataclass(frozen=True)
class ReviewSummary:
    """Everything `review --stats` shows and the report section renders."""

    correction: Correction
    human_vs_machine: dict[str, Any] | None
    human_by: dict[str, dict[str, Any]]
    reviewers: dict[str, Any] | None
    triage: dict[str, int]
    n_labels: int
    n_rows: int

    def to_dict(self) -> dict[str, Any]:
        return {"n_rows": self.n_rows, "n_labels": self.n_labels, "correction": self.correction.to_dict(),
                "human_vs_machine": self.human_vs_machine, "human_vs_machine_by": self.human_by,
                "reviewers": self.reviewers, "triage": dict(self.triage)}


def _pairs_by(pairs: Sequence[tuple[ReviewRow, str]], field_name: str, other: str) -> dict[str, Any]:
    groups: dict[str, list[tuple[ReviewRow, str]]] = {}
    for row, lab in pairs:
        groups.setdefault(str(row.get(field_name)), []).append((row, lab))
    return {k: agreement([r.verdict or "" for r, _ in v], [lab for _, lab in v], other)
            for k, v in sorted(groups.items())}


def summarise_review(rows: Sequence[ReviewRow], labels: Sequence[HumanLabel], *,
                     by: Sequence[str] = DEFAULT_BY, strata: Sequence[str] = DEFAULT_STRATA,
                     draws: int = DRAWS, seed: int = 0) -> ReviewSummary:
    cells, validations, excluded = estimate_inputs(rows, labels, by=by, strata=strata)
    correction = correct_rates(cells, validations, by=by, strata=strata, draws=draws, seed=seed,
                               excluded=excluded)
    row_by_key = {r.key: r for r in rows}
    # machine vs person on the random sample, one pair per (response, reviewer). Unweighted:
    # the sample over-represents rare verdicts; the weighted accuracy is in the confusion.
    pairs = [(row_by_key[lab.key], lab.label) for lab in labels
             if lab.sample is not None and lab.label in VERDICTS and lab.key in row_by_key
             and row_by_key[lab.key].has_verdict]
    hvm = agreement([r.verdict or "" for r, _ in pairs], [h for _, h in pairs], "human") if pairs else None
    by_fields = {f: _pairs_by(pairs, f, "human") for f in ("language", "target")} if pairs else {}
    # reviewer vs reviewer where two people gave a verdict on the same response
    by_key: dict[RowKey, dict[str, str]] = {}
    for lab in labels:
        if lab.label in VERDICTS:
            by_key.setdefault(lab.key, {})[lab.reviewer] = lab.label
    doubles = [sorted(v.items()) for v in by_key.values() if len(v) >= 2]
    reviewers = (agreement([d[0][1] for d in doubles], [d[1][1] for d in doubles], "second reviewer")
                 if doubles else None)
    triage = [lab for lab in labels if lab.queue == "triage" and lab.label in VERDICTS and lab.key in row_by_key]
    found = sum(1 for lab in triage if row_by_key[lab.key].verdict != lab.label)
    return ReviewSummary(correction, hvm, by_fields, reviewers,
                         {"labelled": len(triage), "judge_wrong": found}, len(labels), len(rows))


def agreement_summary(rows: Sequence[ReviewRow], other: str) -> dict[str, Any]:
    """The run judge against a second judge (`ReviewRow.second`) on every response both
    labelled: overall, by language and by target."""
    both = [r for r in rows if r.verdict is not None and r.second is not None]
    if not both:
        return {"other": other, "n": 0, "not_applicable": "no response has both judges' labels"}
    pairs = [(r, r.second or "") for r in both]
    return {**agreement([r.verdict or "" for r in both], [r.second or "" for r in both], other),
            "by": {f: _pairs_by(pairs, f, other) for f in ("language", "target")},
            "disagreements": sum(1 for r in both if r.verdict != r.second)}


def confusion_rows(conf: Mapping[str, Mapping[str, float | None]]) -> list[list[str]]:
    """A confusion mapping as table rows of percentages (for terminal and HTML renderers)."""
    return [[h, *("–" if conf[h][v] is None else f"{conf[h][v]:.0%}" for v in VERDICTS)] for h in VERDICTS]


# ------------------------------------------------------------------ the registered analysis

FINDING_LABELS: tuple[str, ...] = ("COMPLETE", "DENIAL")


def human_labels(results: Sequence[Result]) -> list[HumanLabel]:
    out = []
    for r in results:
        for judge, lab in r.other_labels.items():
            if judge.startswith(HUMAN_PREFIX):
                out.append(HumanLabel.from_extra((str(r.run_id), *r.key), judge[len(HUMAN_PREFIX):],
                                                 str(lab.get("label")), dict(lab.get("extra") or {}),
                                                 str(lab.get("created") or "")))
    return out


def _second_judges(results: Sequence[Result]) -> list[str]:
    names = {j for r in results for j, lab in r.other_labels.items()
             if not j.startswith(HUMAN_PREFIX) and lab.get("label") in VERDICTS}
    return sorted(names)


def _findings(correction: Correction) -> list[dict[str, Any]]:
    """Every comparison the report states between groups of the correction (two targets in
    one language, two languages of one target), before and after correction."""
    out = []
    groups = correction.groups
    for i, a in enumerate(groups):
        for b in groups[i + 1:]:
            same = [f for f in correction.by if a.key.get(f) == b.key.get(f)]
            if len(same) != len(correction.by) - 1 or not (a.n and b.n):
                continue
            for label in FINDING_LABELS:
                check = correction.difference(a.key, b.key, label)
                out.append(check.to_dict())
    return out


def _rate_flags(correction: Correction) -> list[dict[str, Any]]:
    """Rates whose corrected estimate leaves the machine rate's 95% interval, or whose
    group is too small to correct."""
    out = []
    for g in correction.groups:
        for label, r in g.rates.items():
            c, m = r.corrected, r.machine
            if not g.ok or c.estimate is None or m.lo is None or m.hi is None:
                continue
            if not m.lo <= c.estimate <= m.hi:
                out.append({"key": dict(g.key), "label": label, "machine": m.to_dict(),
                            "corrected": c.to_dict(),
                            "message": f"{label} moves outside the machine rate's 95% interval after correction"})
    return out


@dataclass(frozen=True, kw_only=True)
class ReviewAnalysis(AnalysisResult):
    """Agreement with people and second judges, and the corrected rates, for the report and
    `summary --json`."""

    summary: dict[str, Any] = field(default_factory=dict)
    second_judges: dict[str, Any] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)
    rate_flags: list[dict[str, Any]] = field(default_factory=list)
    sample_note: str | None = None
    not_applicable: str | None = None


def review_analysis(results: Iterable[Result], *, by: Sequence[str] = DEFAULT_BY,
                    strata: Sequence[str] = DEFAULT_STRATA, draws: int = DRAWS, seed: int = 0) -> ReviewAnalysis:
    """The review result of runs: needs human labels or a second judge in the store."""
    rows_r = list(results)
    labels = human_labels(rows_r)
    seconds = _second_judges(rows_r)
    if not labels and not seconds:
        return ReviewAnalysis(not_applicable="no human labels and no second judge (see docs/review.md: "
                                             "`latentwall review`, `latentwall rejudge`)")
    agreements = {}
    for name in seconds:
        rows2 = [ReviewRow.from_result(r, (r.other_labels.get(name) or {}).get("label")) for r in rows_r]
        agreements[name] = agreement_summary(rows2, name)
    rows = [ReviewRow.from_result(r) for r in rows_r]
    summary = summarise_review(rows, labels, by=by, strata=strata, draws=draws, seed=seed)
    c = summary.correction
    random_n = sum(1 for lab in labels if lab.sample is not None and lab.label in VERDICTS)
    note = None
    if labels and not any(g.ok for g in c.groups):
        note = (f"the random human sample ({random_n} verdicts) is too small to tell: no group has enough "
                "labels for a corrected rate (`latentwall review --plan` shows the size needed)")
    elif not labels:
        note = "no random human sample: no corrected rates (`latentwall review` takes one)"
    return ReviewAnalysis(summary=summary.to_dict() if labels else {}, second_judges=agreements,
                          findings=_findings(c) if labels else [], rate_flags=_rate_flags(c) if labels else [],
                          sample_note=note)


@register_analysis("review", order=900)
def _review(results: Sequence[Result], options: AnalysisOptions) -> ReviewAnalysis:
    """Human review and second judges: agreement, the judge's confusion, corrected rates."""
    return review_analysis(results)
