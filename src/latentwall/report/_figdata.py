"""Chart inputs and finding comparisons from the analysis documents of today.

The analyses return JSON-able documents (`latentwall analyse --json` prints them; each
typed result of issue 11 keeps the same shape in `to_dict()`). These adapters read the
fields each chart and sentence needs, so the report can build figures from either. They
take `names` (spec -> display name, from `_names.display_names`) so every chart and
sentence uses the display name, never the spec.

Field map (what feeds what) is in docs/report-v2-integration.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from latentwall.analysis import Rate, mcnemar, newcombe_paired_diff
from latentwall.report._charts import (
    Chart,
    DumbbellRow,
    Estimate,
    GapPoint,
    LayerSeries,
    RateBar,
    StanceRow,
    TaxRow,
    VerdictRow,
    layer_chart,
)
from latentwall.report._findings import Comparison, Finding, Side, overview

__all__ = [
    "corrected_lookup",
    "gap_comparisons",
    "gap_points",
    "lab_charts",
    "language_comparisons",
    "leakage_bars",
    "overviews",
    "rate_from",
    "splinter_rows",
    "stance_rows",
    "tax_rows",
    "verdict_rows",
]

Doc = Mapping[str, Any]
VERDICT_FACETS: tuple[str, ...] = ("suite", "language", "topic")


def _name(names: Mapping[str, str] | None, spec: Any) -> str:
    spec = "" if spec is None else str(spec)
    return (names or {}).get(spec, spec)


def rate_from(d: Mapping[str, Any] | None) -> Rate:
    """A `Rate` from an analysis' {k, n, rate, lo, hi} (or {correct, n}); empty when absent."""
    if not d:
        return Rate.of(0, 0)
    k = d.get("k", d.get("correct", 0)) or 0
    n = d.get("n", 0) or 0
    return Rate.of(int(k), int(n))


def _estimate(d: Mapping[str, Any] | None, *, value: str = "gap", flip: bool = False,
              method: str = "") -> Estimate | None:
    if not d or d.get(value) is None:
        return None
    s = -1.0 if flip else 1.0
    lo, hi = d.get("lo"), d.get("hi")
    lo, hi = (None if hi is None else s * hi, None if lo is None else s * lo) if flip else (lo, hi)
    return Estimate(s * float(d[value]), lo, hi, method or str(d.get("interval") or d.get("method") or ""))


def corrected_lookup(entries: Iterable[Mapping[str, Any]] | None, *fields: str) -> dict[tuple[Any, ...], Any]:
    """Entries of the `corrected` analysis by their key fields (from `entry["key"]`, or the
    entry itself), so a table or a sentence finds the corrected figure of what it shows."""
    out: dict[tuple[Any, ...], Any] = {}
    for e in entries or ():
        key = e.get("key", e)
        out[tuple(key.get(f) for f in fields)] = e
    return out


# ---------------------------------------------------------------------------- verdicts


def verdict_rows(groups: Iterable[Any], target: str,
                 facets: Sequence[str] = VERDICT_FACETS) -> list[VerdictRow]:
    """Verdict counts of one target per suite, language and topic, summed over the other keys.

    `groups`: `Summary.groups` (GroupStats, or their `to_dict()`), grouped by at least
    target and the facets.
    """
    sums: dict[tuple[str, str], list[int]] = {}
    for g in groups:
        key = g.key if hasattr(g, "key") else g["key"]
        counts = g.counts if hasattr(g, "counts") else g["counts"]
        if str(key.get("target")) != target:
            continue
        for facet in facets:
            if facet not in key:
                continue
            value = key.get(facet)
            cell = sums.setdefault((facet, "—" if value in (None, "") else str(value)), [0, 0, 0])
            cell[0] += int(counts.get("COMPLETE", 0))
            cell[1] += int(counts.get("EVASIVE", 0))
            cell[2] += int(counts.get("DENIAL", 0))
    order = {f: i for i, f in enumerate(facets)}
    return [VerdictRow(f, v, *c) for (f, v), c in sorted(sums.items(), key=lambda x: (order[x[0][0]], x[0][1]))]


def overviews(targets: Iterable[Any], names: Mapping[str, str] | None = None,
              corrected: Sequence[Mapping[str, Any]] | None = None) -> list[Finding]:
    """The opening sentence per target from `Summary.targets` (GroupStats or dicts); with
    `corrected` (the `corrected` analysis' per-target entries), its corrected shares too."""
    found = corrected_lookup(corrected, "target")
    out = []
    for g in targets:
        key = g.key if hasattr(g, "key") else g["key"]
        counts = g.counts if hasattr(g, "counts") else g["counts"]
        entry = found.get((key.get("target"),))
        out.append(overview(_name(names, key.get("target")), int(counts.get("COMPLETE", 0)),
                            int(counts.get("EVASIVE", 0)), int(counts.get("DENIAL", 0)),
                            corrected=None if entry is None else entry.get("rates")))
    return out


# ---------------------------------------------------------------------------- paired-control gap


def _gap_entries(paired: Doc) -> Iterable[tuple[Doc, str, Doc, bool]]:
    """(target entry, language, block, overall) for every applicable gap block."""
    for t in paired.get("targets", []) or []:
        if t.get("not_applicable"):
            continue
        for e in t.get("languages", []) or []:
            if not e.get("not_applicable"):
                yield t, str(e.get("language")), e, False
        ov = t.get("overall")
        if ov and not ov.get("not_applicable"):
            yield t, "all", ov, True


def _target_label(t: Doc, names: Mapping[str, str] | None) -> str:
    label = _name(names, t.get("target"))
    return f"{label} [{t['condition']}]" if t.get("condition") else label


def gap_points(paired: Doc, names: Mapping[str, str] | None = None,
               metric: str = "non_complete") -> list[GapPoint]:
    """Forest-plot points from `paired_control_gap`: per target, each language and overall."""
    out = []
    for t, lang, block, overall in _gap_entries(paired):
        est = _estimate(block.get(metric))
        if est is None:
            continue
        out.append(GapPoint(_target_label(t, names), lang, est, int(block.get("n_china", 0)),
                            int(block.get("n_control", 0)), overall))
    return out


def gap_comparisons(paired: Doc, names: Mapping[str, str] | None = None, *,
                    subject: str = "questions", corrected: Sequence[Mapping[str, Any]] | None = None
                    ) -> list[Comparison]:
    """Completion on China questions vs matched controls, one comparison per target and
    language (and pooled): the gap is the kind-standardised one, sign flipped to completion.
    With `corrected` (the `corrected` analysis' paired entries) each carries its corrected gap."""
    found = corrected_lookup(corrected, "target", "condition", "language")
    out = []
    for t, lang, block, overall in _gap_entries(paired):
        entry = found.get((t.get("target"), t.get("condition") or "", lang)) if corrected is not None else None
        comp = block.get("complete") or {}
        where = " (all languages)" if overall else f" in {lang}"
        out.append(Comparison(
            _target_label(t, names), "complete",
            Side(f"{subject} about China{where}", rate_from(comp.get("china"))),
            Side("of matched questions about other governments", rate_from(comp.get("control"))),
            _estimate(block.get("non_complete"), flip=True),
            _after(entry, "complete_gap", corrected)))
    return out


def _after(entry: Mapping[str, Any] | None, field: str, corrected: Sequence[Any] | None) -> Mapping[str, Any] | None:
    """A comparison's corrected difference: None without a random human sample; "too small
    to tell" when the sample has nothing for this comparison."""
    if corrected is None:
        return None
    if entry is None or entry.get(field) is None:
        return {"status": "too_small", "reason": "no corrected figure for it (no labelled verdicts in its groups)"}
    return entry[field]


# ---------------------------------------------------------------------------- splinter


def _pair_cells(pair: Doc, metric: str) -> tuple[int, int, int, int] | None:
    """(both, a only, b only, neither) of a language pair for `metric`, from its transitions."""
    if metric == "refusal":
        bad = ("DENIAL",)
    else:
        bad = ("DENIAL", "EVASIVE")
    ka, kb = pair.get(f"{metric}_a") or {}, pair.get(f"{metric}_b") or {}
    n = int(ka.get("n") or 0)
    if not n:
        return None
    a_only = b_only = 0
    for move, count in (pair.get("transitions") or {}).items():
        va, _, vb = str(move).partition("->")
        a_only += count * ((va in bad) and (vb not in bad))
        b_only += count * ((vb in bad) and (va not in bad))
    both = int(ka.get("k") or 0) - a_only
    neither = n - both - a_only - b_only
    # The cells must give back both margins; anything else is a document we do not understand.
    if both < 0 or neither < 0 or both + b_only != int(kb.get("k") or 0) or int(kb.get("n") or 0) != n:
        return None
    return both, a_only, b_only, neither


def splinter_rows(splinter: Doc, names: Mapping[str, str] | None = None,
                  metric: str = "non_complete") -> list[DumbbellRow]:
    """Dumbbell rows from `splinter_index`: one per target and pair of levels, each level's
    rate on the units asked in both (a target with two languages has one row)."""
    out = []
    for t in splinter.get("targets", []) or []:
        if t.get("not_applicable"):
            continue
        name = _name(names, t.get("target"))
        pairs = t.get("pairs", []) or []
        for p in pairs:
            label = name if len(pairs) == 1 else f"{name}: {p['a']} vs {p['b']}"
            out.append(DumbbellRow(label, {str(p["a"]): rate_from(p.get(f"{metric}_a")),
                                           str(p["b"]): rate_from(p.get(f"{metric}_b"))}))
    return out


_MEASURE = {"non_complete": "not_complete", "refusal": "refuse"}


def language_comparisons(splinter: Doc, names: Mapping[str, str] | None = None,
                         metric: str = "non_complete", corrected: Sequence[Mapping[str, Any]] | None = None
                         ) -> list[Comparison]:
    """The same questions in two languages, paired: rate in B vs in A (A is usually English),
    with Newcombe's paired interval and McNemar's test on the discordant units. With
    `corrected` (the `corrected` analysis' language pairs) each carries its corrected B − A."""
    found = corrected_lookup(corrected, "target", "a", "b")
    out = []
    for t in splinter.get("targets", []) or []:
        if t.get("not_applicable"):
            continue
        name = _name(names, t.get("target"))
        for p in t.get("pairs", []) or []:
            cells = _pair_cells(p, metric)
            est = None
            if cells is not None:
                both, a_only, b_only, neither = cells
                d, lo, hi = newcombe_paired_diff(both, b_only, a_only, neither)  # B − A
                test = mcnemar(b_only, a_only)
                if d is not None:
                    est = Estimate(d, lo, hi, "Newcombe paired", test.get("p"), "McNemar")
            entry = found.get((t.get("target"), p["a"], p["b"]))
            out.append(Comparison(
                name, _MEASURE[metric],
                Side(f"the questions in {p['b']}", rate_from(p.get(f"{metric}_b"))),
                Side(f"in {p['a']}", rate_from(p.get(f"{metric}_a"))), est,
                _after(entry, f"{metric}_gap", corrected)))
    return out


# ---------------------------------------------------------------------------- stance, tax, guards


def stance_rows(stance: Doc, names: Mapping[str, str] | None = None,
                by: str = "targets") -> list[StanceRow]:
    """From `stance_summary`: one row per target (`by="targets"`) or per group (`"groups"`)."""
    out = []
    for g in stance.get(by, []) or []:
        counts = g.get("counts") or {}
        key = g.get("key") or {}
        parts = [_name(names, key.get("target"))] + [str(v) for k, v in key.items()
                                                     if k != "target" and v not in (None, "")]
        out.append(StanceRow(" · ".join(parts), int(counts.get("STATE_ALIGNED", 0)),
                             int(counts.get("MIXED", 0)), int(counts.get("INDEPENDENT", 0))))
    return [r for r in out if r.n]


def tax_rows(tax: Doc) -> list[TaxRow]:
    """From `capability_tax`: overall (paired difference when it is the primary one) and per language."""
    if tax.get("not_applicable"):
        return []
    a, b = tax["a"]["accuracy"], tax["b"]["accuracy"]
    paired = tax.get("paired") or {}
    primary = paired.get("b_minus_a") if tax.get("primary") == "paired" else tax.get("b_minus_a")
    rows = [TaxRow("overall", rate_from(a), rate_from(b),
                   _estimate(primary, value="estimate") or Estimate(None))]
    for e in tax.get("by_language", []) or []:
        if e.get("a") and e.get("b"):
            rows.append(TaxRow(str(e["language"]), rate_from(e["a"]), rate_from(e["b"]),
                               _estimate(e.get("b_minus_a"), value="estimate") or Estimate(None)))
    return rows


def leakage_bars(metrics: Doc, names: Mapping[str, str] | None = None,
                 kind: str = "leakage") -> list[RateBar]:
    """From `strategy_metrics`: all-topics leakage (or over-blocking) per target × guard × condition."""
    table = metrics.get("leakage" if kind == "leakage" else "overblocking", []) or []
    out = []
    for r in table:
        if r.get("topic") is not None:
            continue
        label = f"{r.get('guard') or 'no guard'} · {r.get('condition') or 'plain'}"
        out.append(RateBar(label, rate_from(r.get(kind)), _name(names, r.get("target"))))
    return out


# ---------------------------------------------------------------------------- lab


def lab_charts(result: Doc) -> list[Chart]:
    """Line charts of a `latentwall lab` result: geometry cosines against their null band,
    probe AUROC by layer, lineage weight change by layer."""
    charts = []
    geo = result.get("geometry") or {}
    for key, c in (geo.get("cosines") or {}).items():
        charts.append(layer_chart(
            [LayerSeries("observed cosine", c.get("cosine") or []),
             LayerSeries("shuffled labels (mean, 95% band)", c.get("null_mean") or [],
                         c.get("null_lo"), c.get("null_hi"), dashed=True)],
            name=f"lab-cosine-{key}", title=f"Cosine by layer: {key}", ylabel="cosine", ref=0.0,
            y_range=(-1.0, 1.0),
            caption=("Cosine between the two directions at each layer; the band is the 95% range "
                     "of the same cosine with shuffled labels (permutation null).")))
    for task, t in (result.get("probes") or {}).items():
        charts.append(layer_chart(
            [LayerSeries("difference of means", [m.get("auroc") for m in t.get("dm", [])]),
             LayerSeries("logistic", [m.get("auroc") for m in t.get("lr", [])]),
             LayerSeries("shuffled labels (q95)", [m.get("q95") for m in t.get("dm_perm", [])],
                         dashed=True)],
            name=f"lab-probe-{task}", title=f"Linear probe AUROC by layer: {task}", ylabel="AUROC",
            ref=0.5, y_range=(0.0, 1.0),
            caption="Held-out-topic AUROC of linear probes at each layer; dotted line: chance."))
    layers = (result.get("lineage") or {}).get("layers") or []
    if layers:
        charts.append(layer_chart(
            [LayerSeries("max ‖Δ‖/‖W‖", [r.get("max_rel_norm") for r in layers])],
            name="lab-lineage", title="Relative weight change by layer", ylabel="relative norm",
            kind="bar", caption="Largest relative change of a weight matrix at each layer (B against A)."))
    return charts
