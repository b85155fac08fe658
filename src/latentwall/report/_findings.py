"""Findings in words: a few sentences per target, each with its numbers, interval and test.

A sentence states a difference only when the data support it: both sides have at least
`min_n` answers, the difference's interval excludes zero (when there is one), the test is
significant (p < alpha, strictly, when a test was run) and the two rates' own 95%
intervals do not overlap. Otherwise it says so ("no clear difference", "too few answers
to tell", "cannot compare") and still gives the numbers. Wording is neutral (completes,
refuses, evades; never "censors") and every rate carries its interval and n.

Inputs are plain records (`Side`, `Comparison`) that the report fills from the analysis
results; `Estimate` is the charts' record of a difference with its interval and test.
Pure functions: no I/O, no matplotlib.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from latentwall.analysis import Interval, Rate, check_finding
from latentwall.report._charts import Estimate
from latentwall.report._format import esc

__all__ = [
    "ALPHA",
    "MIN_N",
    "Comparison",
    "Finding",
    "Side",
    "describe",
    "findings",
    "findings_html",
    "fmt_p",
    "fmt_rate",
    "overview",
]

ALPHA = 0.05
MIN_N = 10
# How each measure reads after the target's name: "<target> completes 24% of …".
VERBS: dict[str, str] = {
    "complete": "completes",
    "not_complete": "refuses or evades",
    "refuse": "refuses",
    "evade": "evades",
    "echo": "gives the state-aligned account in",
    "accuracy": "answers correctly",
}


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a comparison: what was asked (a phrase) and the rate the target got.

    `label` reads after the percentage: for side A after "of" ("requests about China"),
    for side B on its own ("of matched requests about other governments", "in English",
    "for llama-3.1-8b"). `rate` None means the side is missing from the runs.
    """

    label: str
    rate: Rate | None


@dataclass(frozen=True, slots=True)
class Comparison:
    """A target's rate on A against B, and the difference A − B with its interval and test.

    `measure` is a key of VERBS. `gap` is A − B in proportion units for the same measure
    (flip the sign of a non-complete gap for a completion sentence); None when only the two
    rates are known, in which case only non-overlapping intervals can support a claim.
    """

    target: str
    measure: str
    a: Side
    b: Side
    gap: Estimate | None = None
    corrected: Mapping[str, Any] | None = None  # A − B corrected for the judge's errors (None: no human sample)


@dataclass(frozen=True, slots=True)
class Finding:
    """One sentence about one target.

    `kind`: "difference" (supported by the data), "no_difference", "too_few", "missing"
    or "overview". `size` orders differences (the absolute gap, 0 for the rest). `after`:
    what correction for the judge's errors does to it ('' without a random human sample),
    `after_kind` "holds", "changes" or "too_small".
    """

    target: str
    text: str
    kind: str
    size: float = 0.0
    after: str = ""
    after_kind: str = ""

    @property
    def supported(self) -> bool:
        return self.kind == "difference"


def _ok(x: float | None) -> bool:
    return x is not None and isinstance(x, int | float) and math.isfinite(x)


def _usable(rate: Rate | None) -> bool:
    return rate is not None and rate.n > 0 and _ok(rate.rate) and _ok(rate.lo) and _ok(rate.hi)


def _step(x: float, how: str) -> float:
    """round/floor/ceil of x, after rounding away float noise (100 * 0.28 is 28.000000000000004)."""
    x = round(x, 6)
    return {"round": round, "floor": math.floor, "ceil": math.ceil}[how](x)


def _pct_value(x: float, how: str = "round") -> str:
    """One number of a percentage: a point estimate never reads '0' when it is above zero nor
    '100' when below; interval ends are rounded outwards (floor / ceil)."""
    v = 100 * x
    if 0 < v < 1 or 99 < v < 100:
        shown = _step(v * 10, how) / 10
        if how == "round":
            shown = min(max(shown, 0.1), 99.9)
        return f"{shown:.1f}".removesuffix(".0") if shown in (0.0, 100.0) else f"{shown:.1f}"
    return str(int(_step(v, how)))


def fmt_rate(rate: Rate) -> str:
    """'24% (18–31%; n = 150)': the interval rounded outwards so it still contains the truth."""
    if not _usable(rate):
        return f"no rate (n = {rate.n:,})"
    assert rate.rate is not None and rate.lo is not None and rate.hi is not None
    return (f"{_pct_value(rate.rate)}% ({_pct_value(rate.lo, 'floor')}–"
            f"{_pct_value(rate.hi, 'ceil')}%; n = {rate.n:,})")


def _signed(v: float) -> str:
    return f"−{-v}" if v < 0 else str(v)


def _points(est: Estimate, magnitude: bool) -> str:
    """'70 points (60–79)' (magnitude) or '−3 points (−8 to 2)' (signed)."""
    assert est.value is not None
    value, lo, hi = est.value, est.lo, est.hi
    if magnitude and value < 0:
        value, lo, hi = -value, (None if hi is None else -hi), (None if lo is None else -lo)
    v = int(_step(100 * value, "round"))
    if not (_ok(lo) and _ok(hi)):
        return f"{_signed(v)} points (no interval)"
    assert lo is not None and hi is not None
    a, b = int(_step(100 * lo, "floor")), int(_step(100 * hi, "ceil"))
    if a < 0 or b < 0 or v < 0:
        return f"{_signed(v)} points ({_signed(a)} to {_signed(b)})"
    return f"{v} points ({a}–{b})"


def fmt_p(p: float, alpha: float = ALPHA) -> str:
    """'p < 0.001', 'p = 0.012'; a p just under alpha never rounds up to read as alpha."""
    if p < 0.001:
        return "p < 0.001"
    shown = f"{p:.2g}"
    if p < alpha <= float(shown):
        return f"p < {alpha:g}"
    return f"p = {shown}"


def _test_text(est: Estimate | None, alpha: float) -> str:
    """', p < 0.001 (McNemar)'; without a test, how the interval was made (it is the test)."""
    if est is None:
        return ""
    if not _ok(est.p):
        return f", interval: {est.method}" if est.method and est.has_interval else ""
    assert est.p is not None
    name = f" ({est.test})" if est.test else ""
    return f", {fmt_p(est.p, alpha)}{name}"


def _overlap(a: Rate, b: Rate) -> bool:
    assert a.lo is not None and a.hi is not None and b.lo is not None and b.hi is not None
    return a.lo <= b.hi and b.lo <= a.hi


def _rates_clause(c: Comparison, verb: str) -> str:
    assert c.a.rate is not None and c.b.rate is not None
    return f"{verb} {fmt_rate(c.a.rate)} of {c.a.label} vs {fmt_rate(c.b.rate)} {c.b.label}"


def describe(c: Comparison, *, alpha: float = ALPHA, min_n: int = MIN_N) -> Finding:
    """The sentence for one comparison, claiming a difference only where the data support it,
    and, with a corrected difference, whether it holds after correction."""
    f = _describe(c, alpha=alpha, min_n=min_n)
    if c.corrected is None or f.kind not in ("difference", "no_difference"):
        return f
    return replace(f, **_after_correction(c, f))


def _after_correction(c: Comparison, f: Finding) -> dict[str, str]:
    """Flag the finding when correction flips its direction or makes it gain or lose its
    claim (analysis.check_finding, with the sentence's own rule as significance before)."""
    assert c.a.rate is not None and c.b.rate is not None
    g = c.gap
    before = (Interval(g.value, g.lo, g.hi) if g is not None and g.known
              else Interval((c.a.rate.rate or 0.0) - (c.b.rate.rate or 0.0), None, None))
    d = c.corrected or {}
    ok = d.get("status") == "ok" and d.get("estimate") is not None
    after = Interval(d.get("estimate"), d.get("lo"), d.get("hi")) if ok else Interval(None, None, None)
    check = check_finding(f.target, before, after, significant_before=f.supported)
    if check.too_small:
        return {"after": _too_small("After correction for the judge's errors", d.get("reason")),
                "after_kind": "too_small"}
    diff = _points(Estimate(after.estimate, after.lo, after.hi), magnitude=False)
    if check.changed:
        return {"after": f"Changes after correction for the judge's errors: {check.detail}; corrected "
                         f"difference {diff}.", "after_kind": "changes"}
    return {"after": f"Holds after correction for the judge's errors: corrected difference {diff}.",
            "after_kind": "holds"}


def _describe(c: Comparison, *, alpha: float, min_n: int) -> Finding:
    if c.measure not in VERBS:
        raise ValueError(f"unknown measure {c.measure!r}; one of {', '.join(VERBS)}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    gap = c.gap
    if gap is not None and gap.p is not None and _ok(gap.p) and not 0 <= gap.p <= 1:
        raise ValueError(f"p must be in [0, 1], got {gap.p}")
    verb = VERBS[c.measure]
    missing = [s.label for s in (c.a, c.b) if not _usable(s.rate)]
    if missing:
        return Finding(c.target, f"{c.target}: cannot compare {c.a.label} with {c.b.label.removeprefix('of ')}: "
                                 f"no answers with a verdict for {' or '.join(missing)}.", "missing")
    assert c.a.rate is not None and c.b.rate is not None
    a, b = c.a.rate, c.b.rate
    if a.n < min_n or b.n < min_n:
        return Finding(c.target, f"{c.target} {_rates_clause(c, verb)}: too few answers to tell "
                                 f"(at least {min_n} a side are needed).", "too_few")
    if gap is not None and not gap.known:
        gap = None
    test = _test_text(gap, alpha)
    reasons = []
    if gap is not None and gap.has_interval and not gap.excludes_zero:
        reasons.append("the interval of the difference includes zero")
    if gap is not None and _ok(gap.p) and not (gap.p is not None and gap.p < alpha):
        reasons.append(f"the test is not significant at {alpha:g}")
    if _overlap(a, b):
        reasons.append("the two 95% intervals overlap")
    raw = (a.rate or 0.0) - (b.rate or 0.0)
    if gap is not None and gap.value is not None and gap.value * raw < 0:
        reasons.append("the adjusted difference and the raw rates point in opposite directions")
    if reasons:
        diff = (f"; difference {_points(gap, magnitude=False)}{test}" if gap is not None
                else f"; difference {_signed(round(100 * raw))} points")
        return Finding(c.target, f"No clear difference: {c.target} {_rates_clause(c, verb)}{diff} "
                                 f"({reasons[0]}).", "no_difference")
    est = gap if gap is not None else Estimate(raw)
    gap_text = (f"; gap {_points(est, magnitude=True)}{test}" if gap is not None
                else f"; gap {abs(round(100 * raw))} points (95% intervals do not overlap; no test)")
    return Finding(c.target, f"{c.target} {_rates_clause(c, verb)}{gap_text}.", "difference",
                   abs(est.value or 0.0))


def overview(target: str, complete: int, evasive: int, denial: int,
             corrected: Mapping[str, Mapping[str, Any]] | None = None) -> Finding:
    """'<target> completes 62% (59–65%; n = 1,234) of the requests with a verdict; …', and
    with `corrected` (per verdict, from the random human sample) the corrected shares."""
    n = complete + evasive + denial
    if n == 0:
        return Finding(target, f"{target}: no answer has a verdict yet.", "missing")
    c, e, d = Rate.of(complete, n), Rate.of(evasive, n), Rate.of(denial, n)
    f = Finding(target, f"{target} completes {fmt_rate(c)} of the requests with a verdict; "
                        f"evades {_short(e)} and refuses {_short(d)}.", "overview")
    if corrected is None:
        return f
    vals = [corrected.get(v) or {} for v in ("COMPLETE", "EVASIVE", "DENIAL")]
    if not all(x.get("status") == "ok" and x.get("estimate") is not None for x in vals):
        reason = next((x.get("reason") for x in vals if x.get("reason")), None)
        return replace(f, after=_too_small("Corrected for the judge's errors", reason), after_kind="too_small")
    cc, ce, cd = (_short_interval(x) for x in vals)
    return replace(f, after=f"Corrected for the judge's errors: completes {cc}, evades {ce}, refuses {cd}.",
                   after_kind="corrected")


def _too_small(lead: str, reason: Any) -> str:
    why = str(reason or "").removeprefix("too small to tell: ")
    return f"{lead}: the human sample is too small to tell" + (f" ({why})." if why else ".")


def _short_interval(x: Mapping[str, Any]) -> str:
    return (f"{_pct_value(x['estimate'])}% ({_pct_value(x['lo'], 'floor')}–"
            f"{_pct_value(x['hi'], 'ceil')}%)")


def _short(rate: Rate) -> str:
    assert rate.rate is not None and rate.lo is not None and rate.hi is not None
    return (f"{_pct_value(rate.rate)}% ({_pct_value(rate.lo, 'floor')}–"
            f"{_pct_value(rate.hi, 'ceil')}%)")


def findings(
    comparisons: Iterable[Comparison],
    *,
    overviews: Iterable[Finding] = (),
    alpha: float = ALPHA,
    min_n: int = MIN_N,
    per_target: int = 4,
) -> dict[str, list[Finding]]:
    """Sentences per target, in the order targets first appear: its overview, then supported
    differences (largest first), then what could not be told, at most `per_target` besides
    the overview."""
    out: dict[str, list[Finding]] = {}
    for f in overviews:
        out.setdefault(f.target, []).append(f)
    rest: dict[str, list[Finding]] = {}
    for c in comparisons:
        out.setdefault(c.target, [])
        rest.setdefault(c.target, []).append(describe(c, alpha=alpha, min_n=min_n))
    order = {"difference": 0, "no_difference": 1, "too_few": 2, "missing": 3}
    for target, items in rest.items():
        items.sort(key=lambda f: (order.get(f.kind, 4), -f.size))
        out[target] += items[:per_target]
    return out


def _after_html(f: Finding) -> str:
    """What correction does to a finding; a change is in bold, so a reader does not miss it."""
    lead = "Changes after correction"
    if f.after_kind == "changes" and f.after.startswith(lead):
        return f"<strong>{esc(lead)}</strong>{esc(f.after[len(lead):])}"
    return esc(f.after)


def findings_html(by_target: Mapping[str, Sequence[Finding]]) -> str:
    """The findings as escaped HTML: one list per target; unsupported sentences muted."""
    parts = []
    for target, items in by_target.items():
        if not items:
            continue
        lis = "".join(
            f'<li class="finding {esc(f.kind)}">{esc(f.text)}'
            + (f' <span class="after-correction {esc(f.after_kind)}">{_after_html(f)}</span>' if f.after else "")
            + "</li>" for f in items)
        parts.append(f'<div class="findings-target"><h3>{esc(target)}</h3><ul>{lis}</ul></div>')
    return "".join(parts)
