"""From rows and human labels to what a reader needs: corrected rates, the judge's confusion,
agreement (human vs machine, reviewer vs reviewer, judge vs second judge), and what was
left out of the estimate and why."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from latentwall.judges._evaluate import agreement
from latentwall.labels import VERDICTS
from latentwall.review._estimate import DRAWS, Cell, Correction, Validation, correct_rates
from latentwall.review._records import HumanLabel, ReviewRow, RowKey
from latentwall.review._sampling import DEFAULT_STRATA

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
