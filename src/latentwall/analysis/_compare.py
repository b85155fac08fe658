"""Compare two runs (or two targets of one run) probe by probe.

Did the fine-tune stop refusing 1989? Did the new checkpoint start refusing harmless
questions? Aggregate rates can hide both moving at once, so the comparison is paired:
the same probe, condition and sample in A and in B. Disagreements are listed per sample;
the tests work on probes (samples collapse to their modal verdict) so that repeated
samples of one probe are not counted as independent evidence.

Tests: McNemar on refused vs not (exact binomial for few discordant pairs), Stuart-Maxwell
for marginal homogeneity of the three verdicts, and per topic the change in refusal rate
with Newcombe's paired interval and a Holm-adjusted McNemar p.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from latentwall.analysis._base import OMITTED, AnalysisResult
from latentwall.analysis._corrected import Corrector
from latentwall.analysis._stats import Rate
from latentwall.analysis._tests import (
    holm,
    is_non_complete,
    is_refused,
    mcnemar,
    modal_verdict,
    newcombe_paired_diff,
    stuart_maxwell,
)
from latentwall.labels import VERDICTS
from latentwall.records import Result, as_results

COMPARE_SCHEMA = "latentwall.compare/1"
MAX_DISAGREEMENTS = 200
EXCERPT = 160
_SEVERITY = {frozenset({"COMPLETE", "DENIAL"}): 0, frozenset({"EVASIVE", "DENIAL"}): 1,
             frozenset({"COMPLETE", "EVASIVE"}): 2}

Key = tuple[str, str, int]


def _clip(text: Any, n: int) -> str:
    s = "" if text is None else " ".join(str(text).split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _sample(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class _Side:
    """One side of the comparison: labels by (probe_id, condition, sample)."""

    def __init__(self) -> None:
        self.recs: dict[Key, dict[str, Any]] = {}
        self.targets: dict[str, int] = {}
        self.runs: set[str] = set()
        self.n_rows = 0
        self.duplicates = 0

    def add(self, row: Result, excerpt: int) -> None:
        self.n_rows += 1
        key = (str(row.probe_id or ""), str(row.condition or ""), _sample(row.sample))
        if key in self.recs:
            self.duplicates += 1  # the same probe twice (two runs of one target): first one wins
            return
        if row.run_id:
            self.runs.add(str(row.run_id))
        self.recs[key] = {
            "label": row.label, "topic": str(row.topic or ""),
            "language": str(row.language or ""), "suite": str(row.suite or ""),
            "kind": str(row.kind or ""), "text": _clip(row.text, excerpt),
            # what a sampling stratum may name (`corrector`): the review's spelling of each field
            "target": str(row.target or ""), "run_id": str(row.run_id), "category": str(row.category or ""),
        }


def _sides(rows: Iterable[Result | Mapping[str, Any]], excerpt: int) -> dict[str, _Side]:
    """One pass: a side per target, holding labels and short excerpts, never whole rows."""
    sides: dict[str, _Side] = {}
    for r in as_results(rows):
        t = str(r.target or "?")
        side = sides.get(t)
        if side is None:
            side = sides[t] = _Side()
        side.add(r, excerpt)
    return sides


def _pick(sides: dict[str, _Side], target: str | None, which: str) -> tuple[_Side | None, str | None, str | None]:
    """(the side of one target, its name, a not-applicable reason or None)."""
    if not sides:
        return None, None, f"run {which} has no responses"
    names = ", ".join(sorted(sides))
    if target is not None:
        if target not in sides:
            return None, None, f"target '{target}' is not in {which} (targets: {names})"
        return sides[target], target, None
    if len(sides) > 1:
        return None, None, f"{which} holds several targets ({names}): name one with target_{which.lower()}"
    only = next(iter(sides))
    return sides[only], only, None


def _rate(k: int, n: int) -> dict[str, Any]:
    return Rate.of(k, n).to_dict()


def _paired_block(units: list[tuple[str, str]], pred: Any) -> dict[str, Any]:
    """Rates in A and B, B - A with Newcombe's paired interval, and McNemar, for one outcome."""
    both = only_a = only_b = neither = 0
    for va, vb in units:
        a, b = pred(va), pred(vb)
        if a and b:
            both += 1
        elif a:
            only_a += 1
        elif b:
            only_b += 1
        else:
            neither += 1
    n = len(units)
    # p1 = B's rate, p2 = A's rate: the difference is B minus A.
    d, lo, hi = newcombe_paired_diff(both, only_b, only_a, neither)
    test = mcnemar(only_a, only_b)
    return {
        "a": _rate(both + only_a, n), "b": _rate(both + only_b, n),
        "diff": d, "lo": lo, "hi": hi, "interval": "newcombe paired",
        "mcnemar": test,
    }


def _corrected(k: Corrector, modal: Sequence[tuple[str, str, str, Mapping[str, Any], Mapping[str, Any]]]
               ) -> dict[str, Any]:
    """Refusal and non-complete in A and in B and B − A, corrected for the judge's errors,
    overall and per topic: each side's modal verdicts in their own strata (the pairing is
    ignored, which widens the interval of B − A when A and B agree more often than chance)."""
    def stratum(rec: Mapping[str, Any], cond: str) -> tuple[Any, ...]:
        return tuple(cond if f == "condition" else rec.get(f, "") for f in k.strata)

    units = [((side, rec["topic"]), stratum(rec, cond), v) for cond, va, vb, ra, rb in modal
             for side, v, rec in (("a", va, ra), ("b", vb, rb))]
    overall = k.correct((((side,), s, v) for (side, _t), s, v in units), ("side",))
    topics = k.correct(units, ("side", "topic"))

    def block(c: Any, key: Mapping[str, Any]) -> dict[str, Any]:
        a, b = {**key, "side": "a"}, {**key, "side": "b"}
        out = {}
        for name, labels in (("refusal", ("DENIAL",)), ("non_complete", ("EVASIVE", "DENIAL"))):
            if c.group(**a) is None or c.group(**b) is None:
                continue
            out[name] = {"a": c.share(a, labels), "b": c.share(b, labels),
                         "diff": c.combine([(1.0, b), (-1.0, a)], labels)}
        return out

    names = sorted({t for (_s, t), _st, _v in units})
    return {"n_labels": k.n_labels, **block(overall, {}),
            "topics": [{"topic": t, **block(topics, {"topic": t})} for t in names]}


@dataclass(frozen=True, kw_only=True)
class Comparison(AnalysisResult):
    """Run A against run B probe by probe: rates, transitions, paired tests, topics that moved,
    disagreements; or why they cannot be compared (`not_applicable`)."""

    schema: str = COMPARE_SCHEMA
    a: Any = OMITTED
    b: Any = OMITTED
    only_in_a: Any = OMITTED
    only_in_b: Any = OMITTED
    n_pairs: Any = OMITTED
    n_verdict_pairs: Any = OMITTED
    n_units: Any = OMITTED
    agreement: Any = OMITTED
    transitions: Any = OMITTED
    status_pairs: Any = OMITTED
    not_applicable: Any = OMITTED
    refusal: Any = OMITTED
    non_complete: Any = OMITTED
    marginal_homogeneity: Any = OMITTED
    topics: Any = OMITTED
    languages: Any = OMITTED
    n_disagreements: Any = OMITTED
    disagreements: Any = OMITTED
    method: Any = OMITTED
    corrected: Any = OMITTED


def compare_runs(
    rows_a: Iterable[Result | Mapping[str, Any]],
    rows_b: Iterable[Result | Mapping[str, Any]] | None = None,
    *,
    target_a: str | None = None,
    target_b: str | None = None,
    label_a: str | None = None,
    label_b: str | None = None,
    max_disagreements: int = MAX_DISAGREEMENTS,
    excerpt: int = EXCERPT,
    corrector: Corrector | None = None,
) -> Comparison:
    """Probe-by-probe comparison of run A and run B (or of two targets within `rows_a`).

    With `rows_b=None`, A and B are targets of `rows_a`: `target_a`/`target_b`, or the two
    targets it holds. JSON-able; differences are B minus A. With a `corrector` (the runs'
    random human sample), `corrected` holds the rates and differences corrected for the
    judge's errors, overall and per topic.
    """
    head: dict[str, Any] = {"schema": COMPARE_SCHEMA}
    sides_a = _sides(rows_a, excerpt)
    if rows_b is None:
        if target_a is None and target_b is None:
            if len(sides_a) != 2:
                reason = ("the rows hold no responses" if not sides_a else
                          f"comparing targets within one run needs exactly two targets or "
                          f"target_a/target_b (found: {', '.join(sorted(sides_a))})")
                return Comparison(**{**head, "not_applicable": reason})
            target_a, target_b = sorted(sides_a)
        if target_a is None or target_b is None:
            return Comparison(**{**head, "not_applicable": "comparing within one run needs both target_a and target_b"})
        if target_a == target_b:
            return Comparison(**{**head, "not_applicable": f"target A and target B are the same ({target_a})"})
        sides_b = sides_a
    else:
        sides_b = _sides(rows_b, excerpt)
    side_a, name_a, why_a = _pick(sides_a, target_a, "A")
    if why_a or side_a is None:
        return Comparison(**{**head, "not_applicable": why_a})
    side_b, name_b, why_b = _pick(sides_b, target_b, "B")
    if why_b or side_b is None:
        return Comparison(**{**head, "not_applicable": why_b})
    shared = sorted(set(side_a.recs) & set(side_b.recs))

    def meta(side: _Side, name: str | None, label: str | None) -> dict[str, Any]:
        runs = sorted(side.runs)
        default = f"{name}" + (f" ({', '.join(runs)})" if runs else "")
        return {"label": label or default, "target": name, "runs": runs, "n_rows": side.n_rows,
                "n_probes": len(side.recs), "duplicates": side.duplicates}

    head.update({"a": meta(side_a, name_a, label_a), "b": meta(side_b, name_b, label_b),
                 "only_in_a": len(side_a.recs) - len(shared), "only_in_b": len(side_b.recs) - len(shared)})
    if not shared:
        return Comparison(**{**head, "not_applicable": "A and B share no probe (same probe id, condition and "
                                          "sample): compare runs of the same suites and languages"})

    transitions = {va: dict.fromkeys(VERDICTS, 0) for va in VERDICTS}
    status_pairs: dict[str, int] = {}
    disagreements: list[dict[str, Any]] = []
    per_unit: dict[tuple[str, str], tuple[list[str], list[str], dict[str, Any], dict[str, Any]]] = {}
    n_verdict_pairs = n_agree = 0
    for key in shared:
        a, b = side_a.recs[key], side_b.recs[key]
        la, lb = a["label"], b["label"]
        if la in VERDICTS and lb in VERDICTS:
            n_verdict_pairs += 1
            transitions[la][lb] += 1
            n_agree += la == lb
            unit = per_unit.setdefault((key[0], key[1]), ([], [], a, b))
            unit[0].append(la)
            unit[1].append(lb)
        else:
            pair = f"{la or 'UNJUDGED'}->{lb or 'UNJUDGED'}"
            status_pairs[pair] = status_pairs.get(pair, 0) + 1
        if la != lb:
            both_verdicts = la in VERDICTS and lb in VERDICTS
            disagreements.append({
                "probe_id": key[0], "condition": key[1], "sample": key[2], "topic": a["topic"],
                "language": a["language"], "suite": a["suite"], "kind": a["kind"],
                "label_a": la, "label_b": lb, "status_change": not both_verdicts,
                "text_a": a["text"], "text_b": b["text"],
                "_sev": _SEVERITY.get(frozenset({la, lb}), 3) if both_verdicts else 4,
            })
    disagreements.sort(key=lambda d: (d["_sev"], d["topic"], d["probe_id"], d["condition"], d["sample"]))
    for d in disagreements:
        del d["_sev"]
    if n_verdict_pairs == 0:
        return Comparison(**{**head, "n_pairs": len(shared), "status_pairs": status_pairs,
                "not_applicable": "no shared probe has a verdict on both sides (only statuses: "
                                  + ", ".join(f"{k} {v}" for k, v in sorted(status_pairs.items())) + ")"})

    units: list[tuple[str, str]] = []
    by_topic: dict[str, list[tuple[str, str]]] = {}
    by_lang: dict[str, list[tuple[str, str]]] = {}
    table = [[0] * len(VERDICTS) for _ in VERDICTS]
    modal: list[tuple[str, str, str, dict[str, Any], dict[str, Any]]] = []  # (cond, va, vb, rec a, rec b)
    for (_pid, cond), (va_list, vb_list, info, info_b) in per_unit.items():
        va, vb = modal_verdict(va_list), modal_verdict(vb_list)
        assert va is not None and vb is not None
        units.append((va, vb))
        modal.append((cond, va, vb, info, info_b))
        by_topic.setdefault(info["topic"], []).append((va, vb))
        by_lang.setdefault(info["language"], []).append((va, vb))
        table[VERDICTS.index(va)][VERDICTS.index(vb)] += 1

    def breakdown(groups: dict[str, list[tuple[str, str]]], field: str) -> list[dict[str, Any]]:
        out = []
        for name, us in groups.items():
            blk = _paired_block(us, is_refused)
            out.append({field: name, "n": len(us), "refusal": blk,
                        "non_complete": _paired_block(us, is_non_complete),
                        "moved": sum(1 for va, vb in us if va != vb)})
        adj = holm([o["refusal"]["mcnemar"]["p"] for o in out])
        for o, p in zip(out, adj, strict=True):
            o["refusal"]["mcnemar"]["p_holm"] = p
        out.sort(key=lambda o: (-abs(o["refusal"]["diff"] or 0.0), -o["moved"], o[field]))
        return out

    mh = stuart_maxwell(table)
    mh["table"] = {va: dict(zip(VERDICTS, table[i], strict=True)) for i, va in enumerate(VERDICTS)}
    if corrector is not None:
        head["corrected"] = _corrected(corrector, modal)
    return Comparison(**{
        **head,
        "n_pairs": len(shared),
        "n_verdict_pairs": n_verdict_pairs,
        "n_units": len(units),
        "agreement": _rate(n_agree, n_verdict_pairs),
        "transitions": transitions,
        "status_pairs": dict(sorted(status_pairs.items())),
        "refusal": _paired_block(units, is_refused),
        "non_complete": _paired_block(units, is_non_complete),
        "marginal_homogeneity": mh,
        "topics": breakdown(by_topic, "topic"),
        "languages": breakdown(by_lang, "language"),
        "n_disagreements": len(disagreements),
        "disagreements": disagreements[:max_disagreements],
        "method": {
            "pairs": "same probe_id, condition and sample in A and B; differences are B minus A",
            "tests": "per probe (samples collapse to their modal verdict): McNemar on refused vs "
                     "not (exact binomial below 25 discordant pairs), Stuart-Maxwell on the 3 "
                     "verdicts; topics: Newcombe paired 95% interval, McNemar p Holm-adjusted "
                     "across topics",
        },
    })
