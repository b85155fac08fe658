"""Locale conditioning in numbers: refusal and narrative echo per target and condition
(the user placed in Beijing, Taipei, Moscow ...), and the change against a baseline
condition with Newcombe 95% intervals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from latentwall.analysis._base import AnalysisOptions, AnalysisResult, register_analysis
from latentwall.analysis._capability import b_minus_a
from latentwall.analysis._stats import Rate
from latentwall.judges.stance import DETERMINED, STATE_ALIGNED, with_stance
from latentwall.records import Result, as_results
from latentwall.strategies import parse_locale_condition


@dataclass(frozen=True, kw_only=True)
class LocaleEffects(AnalysisResult):
    """Per target, one entry per condition: {"condition", "place", "mode", "n", "refusal",
    "echo", "refusal_change", "echo_change"}; a change is None for the baseline itself or
    {"estimate", "lo", "hi", "significant"}."""

    analysis: str = "locale_effects"
    baseline: str = ""
    categories: list[str] | None = None
    not_applicable: str | None = None
    targets: list[dict[str, Any]] = field(default_factory=list)


def locale_effects(
    rows: Iterable[Result | Mapping[str, Any]], baseline: str = "", *,
    categories: Sequence[str] | None = ("political",),
) -> LocaleEffects:
    """Refusal and narrative echo per target × condition (e.g. locale:beijing, locale:taipei),
    and the change against a baseline condition ("" = the plain probe, or "locale:none"),
    with Newcombe 95% intervals (independent samples: conservative for shared probes).

    Shape: {"analysis": "locale_effects", "baseline", "categories", "not_applicable": None |
    reason, "targets": [{"target", "not_applicable": None | reason, "conditions": [{"condition",
    "place", "mode", "n", "refusal", "echo", "refusal_change", "echo_change"}]}]}, where a
    change is None for the baseline itself or {"estimate", "lo", "hi", "significant"}.
    """
    wanted = set(categories) if categories is not None else None
    acc: dict[str, dict[str, list[int]]] = {}  # target -> condition -> [verdicts, denials, stance_n, echo]
    n_rows = 0
    for row in with_stance(r for r in as_results(rows) if wanted is None or r.category in wanted):
        n_rows += 1
        c = acc.setdefault(str(row.target), {}).setdefault(str(row.condition or ""), [0, 0, 0, 0])
        verdict = row.verdict
        if verdict is not None:
            c[0] += 1
            c[1] += verdict == "DENIAL"
        if row.stance in DETERMINED:
            c[2] += 1
            c[3] += row.stance == STATE_ALIGNED
    out: dict[str, Any] = {"analysis": "locale_effects", "baseline": baseline,
                           "categories": None if wanted is None else sorted(wanted),
                           "not_applicable": None, "targets": []}
    if n_rows == 0:
        out["not_applicable"] = ("no responses" + (f" in categories {', '.join(sorted(wanted))}" if wanted else "")
                                 + ": nothing to compare across locales")
        return LocaleEffects(**out)
    conditions = sorted({c for per in acc.values() for c in per})
    if len(conditions) < 2:
        out["not_applicable"] = (f"locale comparison needs two or more conditions; these runs have only "
                                 f"'{conditions[0] or 'plain'}' (run with e.g. --locale beijing,taipei,none)")
        return LocaleEffects(**out)

    def change(k_a: int, n_a: int, k_b: int, n_b: int) -> dict[str, Any] | None:
        res = b_minus_a(k_a, n_a, k_b, n_b)
        if res is None:
            return None
        d, lo, hi = res
        return {"estimate": d, "lo": lo, "hi": hi, "significant": lo > 0 or hi < 0}

    for target in sorted(acc):
        per = acc[target]
        entry: dict[str, Any] = {"target": target, "not_applicable": None, "conditions": []}
        base = per.get(baseline)
        if base is None:
            entry["not_applicable"] = (f"baseline condition '{baseline or 'plain'}' was not run for this target "
                                       f"(conditions: {', '.join(c or 'plain' for c in sorted(per))})")
        for cond in sorted(per, key=lambda c: (c != baseline, c)):
            v, d, sn, se = per[cond]
            loc = parse_locale_condition(cond) or {}
            item = {"condition": cond, "place": loc.get("place"), "mode": loc.get("mode"), "n": v,
                    "refusal": Rate.of(d, v).to_dict(), "echo": Rate.of(se, sn).to_dict(),
                    "refusal_change": None, "echo_change": None}
            if base is not None and cond != baseline:
                item["refusal_change"] = change(base[1], base[0], d, v)
                item["echo_change"] = change(base[3], base[2], se, sn)
            entry["conditions"].append(item)
        out["targets"].append(entry)
    return LocaleEffects(**out)


@register_analysis("locale_effects", order=70)
def _locale(results: Sequence[Result], options: AnalysisOptions) -> LocaleEffects:
    """Refusal and narrative echo per locale condition, against the plain probe."""
    return locale_effects(results)
