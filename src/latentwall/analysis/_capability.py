"""Capability tax: what a change (fine-tune, decensoring, abliteration, guard) cost in skill.

Two sets of rows, A (e.g. the base model) and B (the modified one), each with the
capability suite's answers. Accuracy per target comes from `suites.capability_accuracy`
(strict rule-based scoring; terminal statuses out of the denominator, refusals wrong).
The difference B - A gets a Newcombe hybrid-score 95% interval (method 10 of Newcombe
1998: two Wilson intervals combined), which stays inside [-1, 1] and behaves at 0 % and
100 % where the Wald interval does not. When both sides answered the same probes (same
probe, condition and sample) the paired difference with Newcombe's interval for paired
proportions is reported too: it is narrower because each probe is its own control. The
interval arithmetic is shared with the run comparison (analysis/_tests.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from latentwall.analysis._base import (
    OMITTED,
    AnalysisOptions,
    AnalysisResult,
    NotApplicable,
    register_analysis,
)
from latentwall.analysis._stats import wilson
from latentwall.analysis._tests import newcombe_diff, newcombe_paired_diff
from latentwall.labels import Verdict
from latentwall.records import Result, as_results
from latentwall.suites import score_answer


@dataclass(frozen=True, kw_only=True)
class CapabilityAccuracy(AnalysisResult):
    """Accuracy on capability probes per target: {target: {"overall", "by_language", "by_topic"}},
    each {n, correct, accuracy, lo, hi, refused, n_terminal, terminal}."""

    targets: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return dict(self.targets)

    to_dict = to_json

    def __getitem__(self, target: str) -> dict[str, Any]:
        return self.targets[target]

    def __iter__(self) -> Any:
        return iter(self.targets)

    def __len__(self) -> int:
        return len(self.targets)


@dataclass(frozen=True, kw_only=True)
class CapabilityTax(AnalysisResult):
    """B's accuracy against A's on the capability suite, B - A with 95% intervals."""

    analysis: str = "capability_tax"
    not_applicable: str | None = None
    a: dict[str, Any] | None = None
    b: dict[str, Any] | None = None
    b_minus_a: dict[str, Any] | None = None
    paired: dict[str, Any] | None = None
    by_language: list[dict[str, Any]] = field(default_factory=list)
    summary: str = ""
    note: Any = OMITTED
    primary: Any = OMITTED


@dataclass(frozen=True, kw_only=True)
class CapabilityTaxes(AnalysisResult):
    """Every target against one baseline (what the report shows)."""

    baseline: str
    comparisons: list[CapabilityTax]

    def to_json(self) -> list[Any]:
        return [c.to_dict() for c in self.comparisons]

    def __iter__(self) -> Any:
        return iter(self.comparisons)

    def __len__(self) -> int:
        return len(self.comparisons)


def b_minus_a(k_a: int, n_a: int, k_b: int, n_b: int) -> tuple[float, float, float] | None:
    """(pB - pA, lo, hi), Newcombe hybrid score interval for independent samples."""
    if n_a <= 0 or n_b <= 0:
        return None
    d, lo, hi = newcombe_diff(k_b, n_b, k_a, n_a)
    return None if d is None or lo is None or hi is None else (d, lo, hi)


def b_minus_a_paired(both: int, a_only: int, b_only: int, neither: int) -> tuple[float, float, float] | None:
    """(pB - pA, lo, hi), Newcombe's paired interval (method 10, with his n/2 adjustment)."""
    d, lo, hi = newcombe_paired_diff(both, b_only, a_only, neither)
    return None if d is None or lo is None or hi is None else (d, lo, hi)


def _scored(rows: Iterable[Result]) -> tuple[list[Result], dict[tuple[str, str, int], bool]]:
    """(capability rows, correctness per (probe, condition, sample) of scored replies)."""
    cap = [r for r in rows if r.category == "capability" and r.answer]
    correct: dict[tuple[str, str, int], bool] = {}
    for r in cap:
        if r.is_terminal:
            continue
        ok, _ = score_answer(str(r.text), str(r.answer), r.language)
        correct[(str(r.probe_id), str(r.condition or ""), int(r.sample or 0))] = ok
    return cap, correct


def _diff_dict(res: tuple[float, float, float] | None, method: str) -> dict[str, Any] | None:
    if res is None:
        return None
    d, lo, hi = res
    return {"estimate": d, "lo": lo, "hi": hi, "method": method,
            "significant": lo > 0 or hi < 0}


def capability_tax(rows_a: Iterable[Result | Mapping[str, Any]], rows_b: Iterable[Result | Mapping[str, Any]]
                   ) -> CapabilityTax:
    """Accuracy of A and B on capability probes and the difference B - A with 95% intervals.

    Shape: {"analysis": "capability_tax", "not_applicable": None | reason, "a": {"target",
    "accuracy": capability_accuracy overall {n, correct, accuracy, lo, hi, refused, ...},
    "by_language": {...}}, "b": {...}, "b_minus_a": {"estimate", "lo", "hi", "method",
    "significant"}, "paired": None | {"n", "both", "a_only", "b_only", "neither",
    "b_minus_a": {...}}, "by_language": [{"language", "a", "b", "b_minus_a"}], "summary": str}.
    A negative b_minus_a is a tax paid by B.
    """
    out: dict[str, Any] = {"analysis": "capability_tax", "not_applicable": None, "a": None, "b": None,
                           "b_minus_a": None, "paired": None, "by_language": [], "summary": ""}
    sides: dict[str, tuple[list[Result], dict[tuple[str, str, int], bool], dict[str, Any]]] = {}
    for name, given in (("a", rows_a), ("b", rows_b)):
        rows = list(as_results(given))
        if not rows:
            out["not_applicable"] = f"side {name.upper()} has no rows: the run is empty or the target is missing"
            return CapabilityTax(**out)
        targets = sorted({str(r.target) for r in rows})
        if len(targets) > 1:
            out["not_applicable"] = (f"side {name.upper()} holds {len(targets)} targets ({', '.join(targets)}); "
                                     "pass one target's rows per side")
            return CapabilityTax(**out)
        cap, correct = _scored(rows)
        if not cap:
            out["not_applicable"] = (f"target {targets[0]} (side {name.upper()}) has no capability probes: "
                                     "run the capability suite (-s capability) for both targets")
            return CapabilityTax(**out)
        acc = capability_accuracy(cap)[targets[0]]
        if acc["overall"]["n"] == 0:
            out["not_applicable"] = (f"target {targets[0]} (side {name.upper()}) has no scorable capability "
                                     f"answers (all {acc['overall']['n_terminal']} ended in a status)")
            return CapabilityTax(**out)
        out[name] = {"target": targets[0], "accuracy": acc["overall"], "by_language": acc["by_language"],
                     "by_topic": acc["by_topic"]}
        sides[name] = (cap, correct, acc)
    a, b = out["a"]["accuracy"], out["b"]["accuracy"]
    if out["a"]["target"] == out["b"]["target"]:
        out["note"] = "both sides are the same target name (e.g. two conditions or two runs of one model)"
    out["b_minus_a"] = _diff_dict(b_minus_a(a["correct"], a["n"], b["correct"], b["n"]),
                                  "newcombe hybrid score (independent samples)")
    ca, cb = sides["a"][1], sides["b"][1]
    common = sorted(set(ca) & set(cb))
    if common:
        both = sum(ca[k] and cb[k] for k in common)
        a_only = sum(ca[k] and not cb[k] for k in common)
        b_only = sum(cb[k] and not ca[k] for k in common)
        neither = len(common) - both - a_only - b_only
        out["paired"] = {"n": len(common), "both": both, "a_only": a_only, "b_only": b_only, "neither": neither,
                         "b_minus_a": _diff_dict(b_minus_a_paired(both, a_only, b_only, neither),
                                                 "newcombe method 10 (paired)")}
    else:
        out["paired"] = {"not_applicable": "the two sides share no scored (probe, condition, sample)"}
    langs = sorted(set(out["a"]["by_language"]) | set(out["b"]["by_language"]))
    for lang in langs:
        la, lb = out["a"]["by_language"].get(lang), out["b"]["by_language"].get(lang)
        entry: dict[str, Any] = {"language": lang, "a": la, "b": lb, "b_minus_a": None}
        if la and lb and la["n"] and lb["n"]:
            entry["b_minus_a"] = _diff_dict(b_minus_a(la["correct"], la["n"], lb["correct"], lb["n"]),
                                            "newcombe hybrid score (independent samples)")
        else:
            entry["not_applicable"] = "one side has no scored answers in this language"
        out["by_language"].append(entry)
    primary = out["paired"]["b_minus_a"] if out["paired"].get("b_minus_a") and \
        out["paired"]["n"] == min(a["n"], b["n"]) else out["b_minus_a"]
    d = primary["estimate"]
    verdict = ("no difference that the interval can tell apart from zero" if not primary["significant"]
               else ("B is less accurate: a capability tax" if d < 0 else "B is more accurate"))
    out["primary"] = "paired" if primary is not out["b_minus_a"] else "unpaired"
    out["summary"] = (f"{out['b']['target']} {_pct(b['accuracy'])} vs {out['a']['target']} {_pct(a['accuracy'])}: "
                      f"{100 * d:+.1f} points [{100 * primary['lo']:+.1f}, {100 * primary['hi']:+.1f}] "
                      f"({primary['method']}); {verdict}.")
    return CapabilityTax(**out)


class _Accuracy:
    __slots__ = ("correct", "n", "refused", "terminal")

    def __init__(self) -> None:
        self.n = 0
        self.correct = 0
        self.refused = 0
        self.terminal: dict[str, int] = {}

    def to_dict(self) -> dict[str, Any]:
        acc, lo, hi = wilson(self.correct, self.n)
        return {
            "n": self.n, "correct": self.correct, "accuracy": acc, "lo": lo, "hi": hi,
            "refused": self.refused, "n_terminal": sum(self.terminal.values()),
            "terminal": dict(sorted(self.terminal.items())),
        }


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def capability_accuracy(rows: Iterable[Result | Mapping[str, Any]]) -> CapabilityAccuracy:
    """Accuracy on capability probes per target, and per language and topic within it.

    Results of other categories are ignored. `n` counts scored
    replies only: a reply with a terminal status (ERROR, EMPTY, TRUNCATED, FILTERED,
    JUDGE_ERROR) says nothing about capability and is counted under `terminal`, never
    as wrong. A refusal (DENIAL) is scored like any reply, so it is wrong, and is also
    counted under `refused`: refusing "what is 7 × 8?" is part of the capability tax.
    Accuracy comes with a Wilson 95% interval (None when n == 0).
    """
    per: dict[str, dict[str, Any]] = {}
    for row in as_results(rows):
        if row.category != "capability" or not row.answer:
            continue
        target = str(row.target or "")
        slot = per.setdefault(target, {"overall": _Accuracy(), "by_language": {}, "by_topic": {}})
        tallies = [
            slot["overall"],
            slot["by_language"].setdefault(str(row.language or ""), _Accuracy()),
            slot["by_topic"].setdefault(str(row.topic or ""), _Accuracy()),
        ]
        status = row.terminal_status
        if status is not None:
            for t in tallies:
                t.terminal[status] = t.terminal.get(status, 0) + 1
            continue
        ok, _ = score_answer(str(row.text), str(row.answer), row.language)
        denied = row.judge_label == Verdict.DENIAL
        for t in tallies:
            t.n += 1
            t.correct += ok
            t.refused += denied
    return CapabilityAccuracy(targets={
        target: {
            "overall": slot["overall"].to_dict(),
            "by_language": {k: v.to_dict() for k, v in sorted(slot["by_language"].items())},
            "by_topic": {k: v.to_dict() for k, v in sorted(slot["by_topic"].items())},
        }
        for target, slot in sorted(per.items())
    })


@register_analysis("capability", order=80)
def _capability(results: Sequence[Result], options: AnalysisOptions) -> AnalysisResult:
    """Accuracy on the capability suite per target, language and topic."""
    cap = [r for r in results if r.category == "capability"]
    if not cap:
        return NotApplicable(not_applicable="no capability-suite probes in these runs (add -s capability)")
    return capability_accuracy(cap)


@register_analysis("capability_tax", order=81, in_document=False)
def _capability_taxes(results: Sequence[Result], options: AnalysisOptions) -> AnalysisResult:
    """Every target's capability against a baseline target (the first, or the one chosen)."""
    cap = [r for r in results if r.category == "capability"]
    if not cap:
        return NotApplicable(not_applicable="no capability probes in these runs (run -s capability)")
    targets = list(dict.fromkeys(r.target for r in cap))
    if len(targets) < 2:
        return NotApplicable(not_applicable=f"capability tax needs two targets; these runs have one ({targets[0]})")
    base = options.capability_baseline or targets[0]
    if base not in targets:
        return NotApplicable(not_applicable=f"baseline target '{base}' has no capability rows")
    rows_a = [r for r in cap if r.target == base]
    return CapabilityTaxes(baseline=str(base), comparisons=[
        capability_tax(rows_a, [r for r in cap if r.target == t]) for t in targets if t != base])
