"""The splinter index: how much a model's behaviour on the same question changes with the
language it is asked in, or with the condition (locale, wrapper) it is asked under.

A model that answers a question in English and refuses the same question in Chinese is
not one policy but several; the index is the share of parallel units whose verdicts
differ between levels. Units are parallel texts (`group`) for the language axis, and the
same probe for the condition axis. Repeated samples collapse to their modal verdict
first, so sampling noise is not counted as splintering twice. Statuses (ERROR, FILTERED,
…) are never verdicts and never count as divergence.

Intervals resample question groups (clusters), not rows: the languages of one group, and
the conditions of one probe, are correlated. Paired tests on refusal: McNemar for two
levels (exact binomial for few discordant pairs), Cochran's Q for more; Holm across
targets and across (target, topic) tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from latentwall.analysis._base import (
    OMITTED,
    AnalysisOptions,
    AnalysisResult,
    NotApplicable,
    register_analysis,
)
from latentwall.analysis._stats import Rate
from latentwall.analysis._tests import (
    bootstrap_ratios,
    cochran_q,
    holm,
    is_non_complete,
    is_refused,
    mcnemar,
    modal_verdict,
    stable_seed,
)
from latentwall.records import Result, as_results

SPLINTER_SCHEMA = "latentwall.splinter/1"
AXES = ("language", "condition")
PLAIN = "plain"  # how the empty condition ('' = the probe as written) is shown
NO_STANCE = frozenset({"NOT_APPLICABLE", ""})
MAX_DRIVERS = 5
DRIVER_SHARE = 0.5  # drivers: the fewest topics that explain at least half of the divergence

def level_name(axis: str, level: str) -> str:
    return PLAIN if axis == "condition" and level == "" else level


@dataclass
class _Unit:
    """One parallel unit: its verdicts (and stances) per level, across samples."""

    topic: str
    cluster: str
    verdicts: dict[str, list[str]] = field(default_factory=dict)
    stances: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class _Target:
    units: dict[tuple[Any, ...], _Unit] = field(default_factory=dict)
    n_rows: int = 0
    n_status: int = 0
    has_stance: bool = False


def unit_of(row: Result, axis: str) -> tuple[tuple[Any, ...], str]:
    """(parallel unit, level) of a row: (question group, condition) and its language, or
    the probe and its condition. The corrected rates (`_corrected.py`) pair rows the same way."""
    if axis == "language":
        return (str(row.group or row.probe_id or ""), str(row.condition or "")), str(row.language or "")
    return (str(row.probe_id or ""),), str(row.condition or "")


Units = list[tuple[tuple[Any, ...], dict[str, str]]]


def parallel_verdicts(rows: Iterable[Result], axis: str) -> dict[str, tuple[list[str], Units]]:
    """Per target: its levels in order, and each parallel unit's modal verdict per level
    (units seen in two levels or more), as the index below counts them."""
    out = {}
    for name, acc in sorted(_collect(as_results(rows), axis).items()):
        levels = _sort_levels(axis, {lv for u in acc.units.values() for lv in u.verdicts})
        units = []
        for key, unit in acc.units.items():
            verdicts = _modal(unit, levels)
            if len(verdicts) >= 2:
                units.append((key, verdicts))
        out[name] = (levels, units)
    return out


def _collect(rows: Iterable[Result], axis: str) -> dict[str, _Target]:
    targets: dict[str, _Target] = {}
    for row in rows:
        target = str(row.target or "?")
        acc = targets.get(target)
        if acc is None:
            acc = targets[target] = _Target()
        acc.n_rows += 1
        group = str(row.group or row.probe_id or "")
        key, level = unit_of(row, axis)
        verdict = row.verdict
        if verdict is None:
            acc.n_status += 1
            continue
        unit = acc.units.get(key)
        if unit is None:
            unit = acc.units[key] = _Unit(str(row.topic or ""), group)
        unit.verdicts.setdefault(level, []).append(verdict)
        stance = row.stance
        if stance is not None and str(stance) not in NO_STANCE:
            acc.has_stance = True
            unit.stances.setdefault(level, []).append(str(stance))
    return targets


def _modal(unit: _Unit, levels: Sequence[str]) -> dict[str, str]:
    """The unit's modal verdict per level it has verdicts in."""
    return {lv: v for lv in levels if (v := modal_verdict(unit.verdicts.get(lv, ()))) is not None}


def _mode(values: list[str]) -> str | None:
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return max(sorted(counts), key=lambda v: counts[v]) if counts else None


def _sort_levels(axis: str, levels: Iterable[str]) -> list[str]:
    # The plain condition first; English first among languages (it is the usual reference).
    first = "" if axis == "condition" else "en"
    return sorted(levels, key=lambda lv: (lv != first, lv))


def _rate(k: int, n: int) -> dict[str, Any]:
    return Rate.of(k, n).to_dict()


def _divergent(values: Mapping[str, str]) -> bool:
    return len(set(values.values())) > 1


def _pair_share(values: Mapping[str, str]) -> float:
    """Share of level pairs of one unit whose values differ."""
    keys = list(values)
    pairs = list(combinations(keys, 2))
    if not pairs:
        return 0.0
    return sum(1 for a, b in pairs if values[a] != values[b]) / len(pairs)


def _binary_test(units: Sequence[Mapping[str, str]], levels: Sequence[str]) -> dict[str, Any]:
    """McNemar (two levels) or Cochran's Q (more) on refused-vs-not, over complete blocks."""
    if len(levels) == 2:
        a, b = levels
        both = [u for u in units if a in u and b in u]
        nb = sum(1 for u in both if is_refused(u[a]) and not is_refused(u[b]))
        nc = sum(1 for u in both if is_refused(u[b]) and not is_refused(u[a]))
        out = mcnemar(nb, nc)
        out.update({"test": "mcnemar", "outcome": "refusal", "levels": list(levels),
                    "n_pairs": len(both)})
        return out
    blocks = [[1 if is_refused(u[lv]) else 0 for lv in levels]
              for u in units if all(lv in u for lv in levels)]
    out = cochran_q(blocks)
    out.update({"test": "cochran-q", "outcome": "refusal", "levels": list(levels)})
    return out


def _topic_levels(units: Sequence[Mapping[str, str]], levels: Sequence[str]) -> list[str]:
    present = {lv for u in units for lv in u}
    return [lv for lv in levels if lv in present]


def _analyse_target(
    name: str, acc: _Target, axis: str, *, seed: int, n_boot: int, confidence: float
) -> dict[str, Any]:
    levels = _sort_levels(axis, {lv for u in acc.units.values() for lv in u.verdicts})
    shown = [level_name(axis, lv) for lv in levels]
    what = "languages" if axis == "language" else "conditions"
    if not acc.units:
        return {"target": name, "not_applicable": (
            f"no verdicts for {name} ({acc.n_status} of {acc.n_rows} rows are statuses or unjudged)")}
    if len(levels) < 2:
        only = ", ".join(shown) or "none"
        hint = ("ask the same probes in a second language (e.g. --lang en,zh)" if axis == "language"
                else "run with a second condition, e.g. a locale")
        return {"target": name, "levels": shown, "not_applicable": (
            f"{name} was run in one {what[:-1]} only ({only}): {hint}")}

    # Modal verdict per unit and level; keep units seen in >= 2 levels (the parallel ones).
    par: list[tuple[_Unit, dict[str, str], dict[str, str]]] = []
    for unit in acc.units.values():
        verdicts = _modal(unit, levels)
        if len(verdicts) < 2:
            continue
        stances = {lv: s for lv, vals in unit.stances.items() if (s := _mode(vals)) is not None}
        par.append((unit, verdicts, stances))
    if not par:
        unit_word = "question group" if axis == "language" else "probe"
        return {"target": name, "levels": shown, "not_applicable": (
            f"no parallel units for {name}: no {unit_word} has verdicts in two {what} "
            f"(levels seen: {', '.join(shown)})")}

    pairs = list(combinations(levels, 2))
    # Per cluster count vector: [n_units, n_divergent, sum_pair_share, stance_n, stance_k,
    #                             any_n, any_k, (pair_n, pair_k) * len(pairs)]
    base = 7
    clusters: dict[str, list[float]] = {}
    for unit, verdicts, stances in par:
        vec = clusters.get(unit.cluster)
        if vec is None:
            vec = clusters[unit.cluster] = [0.0] * (base + 2 * len(pairs))
        div = _divergent(verdicts)
        vec[0] += 1
        vec[1] += div
        vec[2] += _pair_share(verdicts)
        s_div = False
        if len(stances) >= 2:
            s_div = _divergent(stances)
            vec[3] += 1
            vec[4] += s_div
        vec[5] += 1
        vec[6] += div or s_div
        for i, (a, b) in enumerate(pairs):
            if a in verdicts and b in verdicts:
                vec[base + 2 * i] += 1
                vec[base + 2 * i + 1] += verdicts[a] != verdicts[b]
    vectors = list(clusters.values())
    ratios = [(1, 0), (2, 0), (4, 3), (6, 5)] + [(base + 2 * i + 1, base + 2 * i) for i in range(len(pairs))]
    cis = bootstrap_ratios(vectors, ratios, n_boot=n_boot, seed=stable_seed(seed, "splinter", axis, name),
                           confidence=confidence)
    totals = [sum(v[j] for v in vectors) for j in range(len(vectors[0]))]
    n_units, k_div = int(totals[0]), int(totals[1])

    def stat(k: float, n: float, ci: tuple[float | None, float | None]) -> dict[str, Any]:
        return {"k": int(k), "n": int(n), "value": (k / n) if n else None, "lo": ci[0], "hi": ci[1]}

    verdict_maps = [v for _, v, _ in par]
    pair_out = []
    for i, (a, b) in enumerate(pairs):
        n_ab, k_ab = totals[base + 2 * i], totals[base + 2 * i + 1]
        if n_ab == 0:
            continue
        both = [v for v in verdict_maps if a in v and b in v]
        transitions: dict[str, int] = {}
        for v in both:
            if v[a] != v[b]:
                key = f"{v[a]}->{v[b]}"
                transitions[key] = transitions.get(key, 0) + 1
        ref_a = sum(1 for v in both if is_refused(v[a]))
        ref_b = sum(1 for v in both if is_refused(v[b]))
        nc_a = sum(1 for v in both if is_non_complete(v[a]))
        nc_b = sum(1 for v in both if is_non_complete(v[b]))
        test = _binary_test(both, [a, b])
        more = None if ref_a == ref_b else level_name(axis, a if ref_a > ref_b else b)
        pair_out.append({
            "a": level_name(axis, a), "b": level_name(axis, b),
            "discordant": stat(k_ab, n_ab, cis[4 + i]),
            "refusal_a": _rate(ref_a, len(both)), "refusal_b": _rate(ref_b, len(both)),
            "non_complete_a": _rate(nc_a, len(both)), "non_complete_b": _rate(nc_b, len(both)),
            "more_refused_in": more, "transitions": dict(sorted(transitions.items())),
            "mcnemar": test,
        })
    for p, adj in zip(pair_out, holm([p["mcnemar"]["p"] for p in pair_out]), strict=True):
        p["mcnemar"]["p_holm_pairs"] = adj

    main = _binary_test(verdict_maps, levels)

    # Topics: who drives the divergence.
    by_topic: dict[str, list[dict[str, str]]] = {}
    for unit, verdicts, _ in par:
        by_topic.setdefault(unit.topic, []).append(verdicts)
    topics = []
    for topic, maps in by_topic.items():
        k = sum(1 for v in maps if _divergent(v))
        tl = _topic_levels(maps, levels)
        refusal = {level_name(axis, lv): _rate(sum(1 for v in maps if lv in v and is_refused(v[lv])),
                                                sum(1 for v in maps if lv in v)) for lv in tl}
        test = _binary_test(maps, tl) if len(tl) >= 2 else None
        topics.append({
            "topic": topic, "n_units": len(maps), "n_divergent": k,
            "rate": _rate(k, len(maps)),
            "share_of_divergence": (k / k_div) if k_div else 0.0,
            "refusal_by_level": refusal, "test": test,
        })
    topics.sort(key=lambda t: (-t["n_divergent"], -(t["rate"]["rate"] or 0.0), t["topic"]))
    drivers, covered = [], 0.0
    for t in topics:
        if t["n_divergent"] == 0 or len(drivers) >= MAX_DRIVERS or covered >= DRIVER_SHARE:
            break
        drivers.append({"topic": t["topic"], "n_divergent": t["n_divergent"],
                        "n_units": t["n_units"], "share": t["share_of_divergence"]})
        covered += t["share_of_divergence"]

    stance = None
    if acc.has_stance:
        stance = {
            "index": stat(totals[4], totals[3], cis[2]),
            "verdict_or_stance": stat(totals[6], totals[5], cis[3]),
            "note": "stance divergence over units with a stance in two or more levels "
                    "(NOT_APPLICABLE stances, e.g. of refusals, are left out)",
        }
    return {
        "target": name,
        "levels": shown,
        "units_by_level": {level_name(axis, lv): sum(1 for v in verdict_maps if lv in v) for lv in levels},
        "n_units": n_units,
        "n_clusters": len(vectors),
        "n_rows": acc.n_rows,
        "n_status_rows": acc.n_status,
        "index": stat(k_div, n_units, cis[0]),
        "mean_pairwise": {"n": n_units, "value": totals[2] / n_units, "lo": cis[1][0], "hi": cis[1][1]},
        "pairs": pair_out,
        "test": main,
        "topics": topics,
        "drivers": drivers,
        "stance": stance,
        "stance_note": None if acc.has_stance else "rows carry no stance: verdicts only",
    }


@dataclass(frozen=True, kw_only=True)
class SplinterResult(AnalysisResult):
    """Per target (`targets`): the splinter index across the axis's levels, pairs, tests,
    topics and drivers; or why not (`not_applicable`)."""

    schema: str = SPLINTER_SCHEMA
    axis: str = "language"
    seed: int = 0
    n_boot: int = 1000
    confidence: float = 0.95
    not_applicable: Any = OMITTED
    unit: Any = OMITTED
    method: Any = OMITTED
    targets: Any = OMITTED


def splinter_index(
    rows: Iterable[Result | Mapping[str, Any]],
    axis: str = "language",
    seed: int = 0,
    *,
    n_boot: int = 1000,
    confidence: float = 0.95,
) -> SplinterResult:
    """Per target: the share of parallel units whose verdict changes across `axis` levels.

    `axis="language"`: units are question groups (the same question in several languages)
    within one condition. `axis="condition"`: units are probes asked under several
    conditions (locales, strategies). JSON-able; see docs in the module for the shape.
    """
    if axis not in AXES:
        raise ValueError(f"axis must be one of {', '.join(AXES)}, got {axis!r}")
    targets = _collect(as_results(rows), axis)
    head = {"schema": SPLINTER_SCHEMA, "axis": axis, "seed": seed, "n_boot": n_boot,
            "confidence": confidence}
    if not targets:
        return SplinterResult(**head, not_applicable="no rows: the run is empty")
    out = [_analyse_target(name, acc, axis, seed=seed, n_boot=n_boot, confidence=confidence)
           for name, acc in sorted(targets.items())]
    ok = [t for t in out if "not_applicable" not in t]
    if not ok:
        reasons = "; ".join(t["not_applicable"] for t in out)
        return SplinterResult(**head, not_applicable=reasons, targets=out)
    # Holm across targets (main tests) and across every (target, topic) test.
    for t, adj in zip(ok, holm([t["test"]["p"] for t in ok]), strict=True):
        t["test"]["p_holm"] = adj
    topic_tests = [tp["test"] for t in ok for tp in t["topics"] if tp["test"] is not None]
    for test, adj in zip(topic_tests, holm([x["p"] for x in topic_tests]), strict=True):
        test["p_holm"] = adj
    unit = ("question group × condition; levels are languages" if axis == "language"
            else "probe; levels are conditions ('plain' = the probe as written)")
    return SplinterResult(
        **head,
        unit=unit,
        method={
            "index": "share of parallel units whose modal verdicts are not all equal",
            "mean_pairwise": "mean over units of the share of level pairs with different verdicts",
            "interval": f"percentile bootstrap over question groups, {n_boot} replicates, seed {seed}",
            "tests": "refused vs not: McNemar (exact binomial below 25 discordant pairs) for two "
                     "levels, Cochran's Q for more; Holm across targets and across (target, topic)",
            "samples": "samples of one probe collapse to their modal verdict (ties: the more restrictive)",
        },
        targets=out,
    )


@register_analysis("splinter_language", order=10)
def _splinter_language(results: Sequence[Result], options: AnalysisOptions) -> SplinterResult:
    """Share of parallel questions whose verdict changes with the language they are asked in."""
    return splinter_index(results, axis="language")


@register_analysis("splinter_condition", order=20)
def _splinter_condition(results: Sequence[Result], options: AnalysisOptions) -> AnalysisResult:
    """Share of probes whose verdict changes with the condition (locale, strategy) they are asked under."""
    if len({r.condition or "" for r in results}) < 2:
        return NotApplicable(not_applicable="the runs have one condition only (add --strategy or --locale)")
    return splinter_index(results, axis="condition")
