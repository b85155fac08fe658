"""Paired controls: China-specific censorship as a gap against matched control questions.

A raw refusal rate on China questions blames a model for every refusal, including ones any
cautious model makes (declining satire of a head of state, say). The controls suite asks
the same kinds of question (factual, numbers, evaluative, critique, creative, both-sides,
compare-accounts, summarise, translate, practical) about the US, Russia, India, the UK,
Saudi Arabia and Japan. The gap, China-side rate minus control rate, matched by kind, is
the part of the behaviour that is specific to China.

Matching: the gap is directly standardised to the China side's kind mix, sum over kinds of
w_k × (p_china,k − p_control,k) with w_k the China side's share of kind k, over kinds asked
on both sides; unmatched kinds are listed, never silently pooled.

Intervals: probes of one topic are not independent (a model that will not discuss 1989
refuses every 1989 question), so the headline interval is a percentile bootstrap over
topics, resampling China topics and control topics separately. Newcombe's hybrid score
interval for two independent proportions, which treats probes as independent and so is
too narrow when topics cluster, is reported beside it, and used for per-kind cells
(about one probe per topic and kind) and whenever a side has fewer than `min_topics`
topics, where a topic bootstrap is unreliable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from latentwall.analysis._base import OMITTED, AnalysisOptions, AnalysisResult, register_analysis
from latentwall.analysis._stats import Rate
from latentwall.analysis._tests import (
    bootstrap_sums,
    is_non_complete,
    is_refused,
    modal_verdict,
    newcombe_diff,
    stable_seed,
)
from latentwall.records import Result, as_results

PAIRED_SCHEMA = "latentwall.paired/1"
CHINA_SUITE = "china"
CONTROL_SUITE = "controls"
CHINA_JURISDICTIONS = frozenset({"CN", "HK", "MO"})  # PRC-governed; Taiwan is not
METRICS = ("non_complete", "refusal")
MIN_TOPICS = 5

# counts per stratum: [n, k_refusal, k_non_complete]
_Counts = list[int]


def side_of(row: Result | Mapping[str, Any]) -> str | None:
    """'china', 'control' or None: by suite first, else by jurisdiction of a political probe."""
    if not isinstance(row, Result):
        row = Result.from_row(row)
    suite = row.suite
    if suite == CHINA_SUITE:
        return "china"
    if suite == CONTROL_SUITE:
        return "control"
    jur = row.jurisdiction
    if jur in CHINA_JURISDICTIONS:
        return "china"
    if jur and row.category == "political":
        return "control"
    return None


@dataclass
class _Probe:
    side: str
    topic: str
    kind: str
    jurisdiction: str
    verdicts: list[str] = field(default_factory=list)


def _collect(rows: Iterable[Result]) -> tuple[dict[tuple[str, str, str, str], _Probe], int]:
    """(target, condition, language, probe_id) -> probe with its sample verdicts."""
    probes: dict[tuple[str, str, str, str], _Probe] = {}
    n_rows = 0
    for row in rows:
        n_rows += 1
        side = side_of(row)
        if side is None:
            continue
        key = (str(row.target or "?"), str(row.condition or ""), str(row.language or ""), str(row.probe_id or ""))
        p = probes.get(key)
        if p is None:
            p = probes[key] = _Probe(side, str(row.topic or ""), str(row.kind or "other"), str(row.jurisdiction or ""))
        v = row.verdict
        if v is not None:
            p.verdicts.append(v)
    return probes, n_rows


def probe_verdicts(rows: Iterable[Result]) -> list[tuple[tuple[str, str, str, str], str, str, str]]:
    """((target, condition, language, probe), side, kind, modal verdict) of every China-side
    or control probe with a verdict: the units the gap counts (the corrected gap reuses them)."""
    probes, _ = _collect(as_results(rows))
    return [(key, p.side, p.kind, v) for key, p in probes.items() if (v := modal_verdict(p.verdicts)) is not None]


def _add(c: _Counts, verdict: str) -> None:
    c[0] += 1
    c[1] += is_refused(verdict)
    c[2] += is_non_complete(verdict)


def _std_gap(china: Mapping[Any, _Counts], control: Mapping[Any, _Counts], idx: int) -> float | None:
    """Kind-standardised gap: sum_k w_k (p_china,k - p_control,k), w from the China side."""
    strata = [s for s in china if china[s][0] and control.get(s, [0])[0]]
    total = sum(china[s][0] for s in strata)
    if not total:
        return None
    return sum(china[s][0] / total * (china[s][idx] / china[s][0] - control[s][idx] / control[s][0])
               for s in strata)


def _std_rate(weights_from: Mapping[Any, _Counts], of: Mapping[Any, _Counts], idx: int,
              strata: Sequence[Any]) -> float | None:
    total = sum(weights_from[s][0] for s in strata)
    if not total:
        return None
    return sum(weights_from[s][0] / total * of[s][idx] / of[s][0] for s in strata)


def _stratum_name(s: Any) -> str:
    """A kind, or 'language/kind' for the pooled-over-languages gap."""
    return "/".join(s) if isinstance(s, tuple) else str(s)


def _kind_of(s: Any) -> str:
    return str(s[-1]) if isinstance(s, tuple) else str(s)


def _rate(k: int, n: int) -> dict[str, Any]:
    return Rate.of(k, n).to_dict()


def _diff(k1: int, n1: int, k2: int, n2: int) -> dict[str, Any]:
    d, lo, hi = newcombe_diff(k1, n1, k2, n2)
    return {"gap": d, "lo": lo, "hi": hi, "method": "newcombe"}


def _gap_block(
    probes: Sequence[tuple[Any, _Probe, str]], *, seed: int, n_boot: int, confidence: float,
    min_topics: int,
) -> dict[str, Any]:
    """One gap over `probes`: (stratum, probe, modal verdict) triples of both sides."""
    china: dict[Any, _Counts] = {}
    control: dict[Any, _Counts] = {}
    topics: dict[tuple[str, str], dict[Any, _Counts]] = {}
    juris: dict[str, dict[Any, _Counts]] = {}
    for stratum, p, v in probes:
        table = china if p.side == "china" else control
        _add(table.setdefault(stratum, [0, 0, 0]), v)
        _add(topics.setdefault((p.side, p.topic), {}).setdefault(stratum, [0, 0, 0]), v)
        if p.side == "control":
            _add(juris.setdefault(p.jurisdiction or "?", {}).setdefault(stratum, [0, 0, 0]), v)
    matched = sorted((s for s in china if s in control), key=_stratum_name)
    unmatched = {"china": sorted(_stratum_name(s) for s in china if s not in control),
                 "control": sorted(_stratum_name(s) for s in control if s not in china)}
    if not china or not control:
        missing = "China-side" if not china else "control"
        return {"not_applicable": f"no {missing} probes with a verdict"}
    if not matched:
        return {"not_applicable": "no kind of question was asked on both sides "
                                  f"(China side: {', '.join(unmatched['china'])}; "
                                  f"controls: {', '.join(unmatched['control'])})"}

    def pooled(table: Mapping[Any, _Counts]) -> _Counts:
        return [sum(table[s][i] for s in matched) for i in range(3)]

    pc, p0 = pooled(china), pooled(control)
    n_topics = {"china": sum(1 for (side, _t) in topics if side == "china"),
                "control": sum(1 for (side, _t) in topics if side == "control")}
    use_boot = min(n_topics.values()) >= min_topics
    cis: dict[int, tuple[float | None, float | None]] = {}
    if use_boot:
        # One count vector per topic: (n, refusals, non-complete) for every matched kind.
        def vector(table: Mapping[Any, _Counts]) -> list[float]:
            return [float(x) for s in matched for x in table.get(s, (0, 0, 0))]

        pools = [[vector(v) for (side, _t), v in sorted(topics.items(), key=str) if side == want]
                 for want in ("china", "control")]

        def stat(sums: list[list[float]]) -> list[float | None]:
            ch = {s: [int(x) for x in sums[0][3 * i: 3 * i + 3]] for i, s in enumerate(matched)}
            co = {s: [int(x) for x in sums[1][3 * i: 3 * i + 3]] for i, s in enumerate(matched)}
            return [_std_gap(ch, co, 2), _std_gap(ch, co, 1)]

        nc_ci, ref_ci = bootstrap_sums(pools, stat, n_boot=n_boot, seed=seed, confidence=confidence)
        cis = {2: nc_ci, 1: ref_ci}

    out: dict[str, Any] = {
        "n_china": pc[0], "n_control": p0[0],
        "topics": n_topics,
        "kinds_matched": sorted({_kind_of(s) for s in matched}),
        "strata_matched": [_stratum_name(s) for s in matched],
        "kinds_unmatched": unmatched,
        "complete": {"china": _rate(pc[0] - pc[2], pc[0]), "control": _rate(p0[0] - p0[2], p0[0])},
    }
    for name, idx in (("non_complete", 2), ("refusal", 1)):
        gap = _std_gap(china, control, idx)
        raw = _diff(pc[idx], pc[0], p0[idx], p0[0])
        block: dict[str, Any] = {
            "china": _rate(pc[idx], pc[0]),
            "control": _rate(p0[idx], p0[0]),
            "control_standardised": _std_rate(china, control, idx, matched),
            "gap": gap,
            "newcombe": raw,
        }
        if use_boot:
            lo, hi = cis[idx]
            block.update({"lo": lo, "hi": hi, "interval": "bootstrap over topics"})
        else:
            block.update({"lo": raw["lo"], "hi": raw["hi"], "interval": "newcombe",
                          "interval_note": f"fewer than {min_topics} topics on a side: Newcombe "
                                           "interval of the pooled rates, probes taken as independent"})
        out[name] = block
    out["by_kind"] = [
        {
            "kind": _stratum_name(s),
            "china": {"n": china[s][0], "refusal": _rate(china[s][1], china[s][0]),
                      "non_complete": _rate(china[s][2], china[s][0])},
            "control": {"n": control[s][0], "refusal": _rate(control[s][1], control[s][0]),
                        "non_complete": _rate(control[s][2], control[s][0])},
            "non_complete_gap": _diff(china[s][2], china[s][0], control[s][2], control[s][0]),
            "refusal_gap": _diff(china[s][1], china[s][0], control[s][1], control[s][0]),
        }
        for s in matched
    ]
    by_j = []
    for jur, table in sorted(juris.items()):
        common = [s for s in matched if s in table]
        if not common:
            continue
        cj = [sum(china[s][i] for s in common) for i in range(3)]
        tj = [sum(table[s][i] for s in common) for i in range(3)]
        by_j.append({
            "jurisdiction": jur, "n": tj[0], "kinds": sorted({_kind_of(s) for s in common}),
            "refusal": _rate(tj[1], tj[0]), "non_complete": _rate(tj[2], tj[0]),
            "non_complete_gap": {**_diff(cj[2], cj[0], tj[2], tj[0]),
                                 "standardised": _std_gap({s: china[s] for s in common}, table, 2)},
            "refusal_gap": {**_diff(cj[1], cj[0], tj[1], tj[0]),
                            "standardised": _std_gap({s: china[s] for s in common}, table, 1)},
        })
    out["by_jurisdiction"] = by_j
    return out


@dataclass(frozen=True, kw_only=True)
class PairedResult(AnalysisResult):
    """Per target and condition (`targets`): the China-minus-controls gap per language and
    overall; or why not (`not_applicable`)."""

    schema: str = PAIRED_SCHEMA
    seed: int = 0
    n_boot: int = 1000
    confidence: float = 0.95
    headline: str = "non_complete"
    not_applicable: Any = OMITTED
    method: Any = OMITTED
    targets: Any = OMITTED


def paired_control_gap(
    rows: Iterable[Result | Mapping[str, Any]],
    *,
    seed: int = 0,
    n_boot: int = 1000,
    confidence: float = 0.95,
    min_topics: int = MIN_TOPICS,
) -> PairedResult:
    """China-side minus matched-control rates (non-COMPLETE and DENIAL), per target and language.

    China side: the china suite, or any probe with jurisdiction CN/HK/MO. Controls: the
    controls suite, or political probes about another jurisdiction (as in the starter
    suite). Per target and condition: one entry per language plus `overall`, pooled over
    the languages that have both sides and standardised by (language, kind).
    """
    probes, n_rows = _collect(as_results(rows))
    head = {"schema": PAIRED_SCHEMA, "seed": seed, "n_boot": n_boot, "confidence": confidence,
            "headline": "non_complete"}
    if n_rows == 0:
        return PairedResult(**head, not_applicable="no rows: the run is empty")
    sides = {p.side for p in probes.values()}
    if "china" not in sides:
        return PairedResult(**head, not_applicable="no China-side probes in the rows (suite china, or "
                                                   "jurisdiction CN): nothing to measure a gap for")
    if "control" not in sides:
        return PairedResult(**head, not_applicable="no controls in the run: add the controls suite "
                                                   "(-s china,controls) so refusals any model would make "
                                                   "are not counted as China-specific")
    grouped: dict[tuple[str, str], dict[str, list[tuple[Any, _Probe, str]]]] = {}
    for (target, cond, lang, _pid), p in probes.items():
        v = modal_verdict(p.verdicts)
        if v is None:
            continue
        grouped.setdefault((target, cond), {}).setdefault(lang, []).append((p.kind, p, v))
    targets_seen = sorted({(t, c) for (t, c, _l, _p) in probes})
    out = []
    for target, cond in targets_seen:
        langs = grouped.get((target, cond), {})
        entry: dict[str, Any] = {"target": target, "condition": cond}
        if not langs:
            entry["not_applicable"] = f"no verdicts for {target} on China or control probes"
            out.append(entry)
            continue
        per_lang = []
        both: list[tuple[Any, _Probe, str]] = []
        for lang in sorted(langs, key=lambda lv: (lv != "en", lv)):
            items = langs[lang]
            lang_sides = {p.side for _, p, _ in items}
            if lang_sides != {"china", "control"}:
                missing = "controls" if "control" not in lang_sides else "China-side probes"
                per_lang.append({"language": lang, "not_applicable": f"no {missing} in {lang}"})
                continue
            block = _gap_block(items, seed=stable_seed(seed, "paired", target, cond, lang),
                               n_boot=n_boot, confidence=confidence, min_topics=min_topics)
            per_lang.append({"language": lang, **block})
            if "not_applicable" not in block:
                both += [((lang, k), p, v) for k, p, v in items]
        entry["languages"] = per_lang
        if both:
            entry["overall"] = _gap_block(both, seed=stable_seed(seed, "paired", target, cond, "*"),
                                          n_boot=n_boot, confidence=confidence, min_topics=min_topics)
            entry["overall"]["languages"] = sorted({k[0] for k, _, _ in both})
        else:
            reasons = "; ".join(x["not_applicable"] for x in per_lang)
            entry["not_applicable"] = f"no language with both China-side and control verdicts ({reasons})"
        out.append(entry)
    ok = [e for e in out if "not_applicable" not in e]
    if not ok:
        return PairedResult(**head, not_applicable="; ".join(f"{e['target']}: {e['not_applicable']}" for e in out),
                            targets=out)
    return PairedResult(
        **head,
        method={
            "gap": "China-side rate minus control rate, standardised to the China side's kind mix "
                   "over kinds asked on both sides",
            "interval": f"percentile bootstrap over topics (China and control topics resampled "
                        f"separately, {n_boot} replicates) when both sides have >= {min_topics} "
                        "topics, else Newcombe hybrid score; per-kind cells: Newcombe",
            "samples": "samples of one probe collapse to their modal verdict; statuses are left out",
            "non_complete": "EVASIVE or DENIAL (1 - completion rate)",
            "refusal": "DENIAL only",
        },
        targets=out,
    )


@register_analysis("paired_control_gap", order=30)
def _paired(results: Sequence[Result], options: AnalysisOptions) -> PairedResult:
    """China-side minus matched-control rates (non-COMPLETE and DENIAL), standardised by kind."""
    return paired_control_gap(results)
