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
from typing import Any

from latentwall.analysis._tests import newcombe_diff, newcombe_paired_diff


def _b_minus_a(k_a: int, n_a: int, k_b: int, n_b: int) -> tuple[float, float, float] | None:
    """(pB - pA, lo, hi), Newcombe hybrid score interval for independent samples."""
    if n_a <= 0 or n_b <= 0:
        return None
    d, lo, hi = newcombe_diff(k_b, n_b, k_a, n_a)
    return None if d is None or lo is None or hi is None else (d, lo, hi)


def _b_minus_a_paired(both: int, a_only: int, b_only: int, neither: int) -> tuple[float, float, float] | None:
    """(pB - pA, lo, hi), Newcombe's paired interval (method 10, with his n/2 adjustment)."""
    d, lo, hi = newcombe_paired_diff(both, b_only, a_only, neither)
    return None if d is None or lo is None or hi is None else (d, lo, hi)


def _scored(rows: Iterable[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], dict[tuple[str, str, int], bool]]:
    """(capability rows, correctness per (probe, condition, sample) of scored replies)."""
    from latentwall.labels import STATUSES
    from latentwall.suites import score_answer

    cap = [r for r in rows if r.get("category") == "capability" and r.get("answer")]
    correct: dict[tuple[str, str, int], bool] = {}
    for r in cap:
        status, label, text = r.get("status"), r.get("label"), r.get("text")
        if status in STATUSES or label in STATUSES or text is None or not str(text).strip():
            continue
        ok, _ = score_answer(str(text), str(r["answer"]), r.get("language"))
        correct[(str(r.get("probe_id")), str(r.get("condition") or ""), int(r.get("sample") or 0))] = ok
    return cap, correct


def _diff_dict(res: tuple[float, float, float] | None, method: str) -> dict[str, Any] | None:
    if res is None:
        return None
    d, lo, hi = res
    return {"estimate": d, "lo": lo, "hi": hi, "method": method,
            "significant": lo > 0 or hi < 0}


def capability_tax(rows_a: Iterable[Mapping[str, Any]], rows_b: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Accuracy of A and B on capability probes and the difference B - A with 95% intervals.

    Shape: {"analysis": "capability_tax", "not_applicable": None | reason, "a": {"target",
    "accuracy": capability_accuracy overall {n, correct, accuracy, lo, hi, refused, ...},
    "by_language": {...}}, "b": {...}, "b_minus_a": {"estimate", "lo", "hi", "method",
    "significant"}, "paired": None | {"n", "both", "a_only", "b_only", "neither",
    "b_minus_a": {...}}, "by_language": [{"language", "a", "b", "b_minus_a"}], "summary": str}.
    A negative b_minus_a is a tax paid by B.
    """
    from latentwall.suites import capability_accuracy

    out: dict[str, Any] = {"analysis": "capability_tax", "not_applicable": None, "a": None, "b": None,
                           "b_minus_a": None, "paired": None, "by_language": [], "summary": ""}
    sides: dict[str, tuple[list[Mapping[str, Any]], dict[tuple[str, str, int], bool], dict[str, Any]]] = {}
    for name, rows in (("a", rows_a), ("b", rows_b)):
        rows = list(rows)
        if not rows:
            out["not_applicable"] = f"side {name.upper()} has no rows: the run is empty or the target is missing"
            return out
        targets = sorted({str(r.get("target")) for r in rows})
        if len(targets) > 1:
            out["not_applicable"] = (f"side {name.upper()} holds {len(targets)} targets ({', '.join(targets)}); "
                                     "pass one target's rows per side")
            return out
        cap, correct = _scored(rows)
        if not cap:
            out["not_applicable"] = (f"target {targets[0]} (side {name.upper()}) has no capability probes: "
                                     "run the capability suite (-s capability) for both targets")
            return out
        acc = capability_accuracy(cap)[targets[0]]
        if acc["overall"]["n"] == 0:
            out["not_applicable"] = (f"target {targets[0]} (side {name.upper()}) has no scorable capability "
                                     f"answers (all {acc['overall']['n_terminal']} ended in a status)")
            return out
        out[name] = {"target": targets[0], "accuracy": acc["overall"], "by_language": acc["by_language"],
                     "by_topic": acc["by_topic"]}
        sides[name] = (cap, correct, acc)
    a, b = out["a"]["accuracy"], out["b"]["accuracy"]
    if out["a"]["target"] == out["b"]["target"]:
        out["note"] = "both sides are the same target name (e.g. two conditions or two runs of one model)"
    out["b_minus_a"] = _diff_dict(_b_minus_a(a["correct"], a["n"], b["correct"], b["n"]),
                                  "newcombe hybrid score (independent samples)")
    ca, cb = sides["a"][1], sides["b"][1]
    common = sorted(set(ca) & set(cb))
    if common:
        both = sum(ca[k] and cb[k] for k in common)
        a_only = sum(ca[k] and not cb[k] for k in common)
        b_only = sum(cb[k] and not ca[k] for k in common)
        neither = len(common) - both - a_only - b_only
        out["paired"] = {"n": len(common), "both": both, "a_only": a_only, "b_only": b_only, "neither": neither,
                         "b_minus_a": _diff_dict(_b_minus_a_paired(both, a_only, b_only, neither),
                                                 "newcombe method 10 (paired)")}
    else:
        out["paired"] = {"not_applicable": "the two sides share no scored (probe, condition, sample)"}
    langs = sorted(set(out["a"]["by_language"]) | set(out["b"]["by_language"]))
    for lang in langs:
        la, lb = out["a"]["by_language"].get(lang), out["b"]["by_language"].get(lang)
        entry: dict[str, Any] = {"language": lang, "a": la, "b": lb, "b_minus_a": None}
        if la and lb and la["n"] and lb["n"]:
            entry["b_minus_a"] = _diff_dict(_b_minus_a(la["correct"], la["n"], lb["correct"], lb["n"]),
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
    return out


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def capability_section_html(results: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> str | None:
    """One table row per comparison (accuracy A, B, difference with interval); None if empty."""
    from latentwall.analysis._stance import rate_html
    from latentwall.report._escape import esc

    items = [results] if isinstance(results, Mapping) else list(results)
    if not items:
        return None
    rows, notes = [], []
    for r in items:
        if r.get("not_applicable"):
            notes.append(f"<li>{esc(r['not_applicable'])}</li>")
            continue
        a, b = r["a"], r["b"]
        primary = r["paired"]["b_minus_a"] if r.get("primary") == "paired" else r["b_minus_a"]

        def acc(side: Mapping[str, Any]) -> str:
            x = side["accuracy"]
            return rate_html({"k": x["correct"], "n": x["n"], "rate": x["accuracy"], "lo": x["lo"], "hi": x["hi"]})

        diff = (f'{100 * primary["estimate"]:+.1f} pts <span class="muted small">[{100 * primary["lo"]:+.1f}, '
                f'{100 * primary["hi"]:+.1f}] {esc(r.get("primary"))}</span>')
        style = "color:var(--denial)" if primary["significant"] and primary["estimate"] < 0 else ""
        rows.append(f"<tr><td>{esc(a['target'])}</td><td>{acc(a)}</td><td>{esc(b['target'])}</td><td>{acc(b)}</td>"
                    f'<td style="{style}">{diff}</td><td class="small">{esc(r["summary"])}</td></tr>')
    table = ""
    if rows:
        table = ('<div class="tablewrap"><table><thead><tr><th scope="col">A</th><th scope="col">Accuracy A</th>'
                 '<th scope="col">B</th><th scope="col">Accuracy B</th><th scope="col">B − A</th>'
                 f'<th scope="col">Reading</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>')
    return ('<p class="muted small">Accuracy on the capability suite (strict rule-based scoring; statuses excluded, '
            "refusals wrong), Wilson 95% intervals; B − A with a Newcombe 95% interval (paired when both answered "
            "the same probes).</p>" + table + (f'<ul class="small">{"".join(notes)}</ul>' if notes else ""))


class CapabilityCollector:
    """Report collector: capability rows only, with the fields the scorer reads."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, row: Mapping[str, Any]) -> None:
        if row.get("category") == "capability":
            self.rows.append({k: row.get(k) for k in ("target", "probe_id", "condition", "sample", "category",
                                                      "answer", "text", "label", "status", "language", "topic")})


def capability_report_section(ctx: Any) -> Any:
    """Report section renderer (collector: CapabilityCollector): every target against the first
    (or ctx.extras["capability_baseline"] when given)."""
    from latentwall.report import Absent

    col = ctx.collector("capability")
    if col is None or not col.rows:
        return Absent("no capability probes in these runs (run -s capability)")
    targets = list(dict.fromkeys(r["target"] for r in col.rows))
    if len(targets) < 2:
        return Absent(f"capability tax needs two targets; these runs have one ({targets[0]})")
    base = ctx.extras.get("capability_baseline") or targets[0]
    if base not in targets:
        return Absent(f"baseline target '{base}' has no capability rows")
    rows_a = [r for r in col.rows if r["target"] == base]
    results = [capability_tax(rows_a, [r for r in col.rows if r["target"] == t]) for t in targets if t != base]
    return capability_section_html(results)
