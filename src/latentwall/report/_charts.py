"""Charts of the analyses as pure functions of small typed inputs.

Each chart function takes a few frozen records (defined here, close to what the analyses
compute: verdict counts, `Rate`s with Wilson intervals, gaps with their interval and test)
and returns a `Chart`: its title, caption, the numbers behind it (CSV columns and rows)
and a drawing function. Nothing is drawn until `_render.chart_svg` / `chart_png` is
called, so building charts needs no matplotlib; rendering does (the `report` extra).

Every string that comes from a model, a target or a topic goes through `label_text`
before it reaches matplotlib (visible marks for bidi overrides and control characters,
one line, at most `MAX_LABEL` characters; mathtext is off in the style), and tooltips are
escaped by the SVG writer, which also checks the result.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from latentwall.analysis import Rate
from latentwall.report import _style as S
from latentwall.report._format import neutralise
from latentwall.report._names import shorten

__all__ = [
    "Chart",
    "DumbbellRow",
    "Estimate",
    "GapPoint",
    "LayerSeries",
    "RateBar",
    "StanceRow",
    "TaxRow",
    "VerdictRow",
    "capability_chart",
    "gap_chart",
    "label_text",
    "layer_chart",
    "leakage_chart",
    "rate_chart",
    "splinter_chart",
    "stance_chart",
    "verdict_chart",
]

Cell = str | int | float | None
_SURROGATE = re.compile("[\ud800-\udfff]")
BAR = 0.62  # bar thickness, in row units
Tips = dict[str, str]


# ---------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class Estimate:
    """A difference (in proportion units, -1..1) with its 95% interval and, if any, its test.

    From the analyses: a paired-control gap block (`gap`, `lo`, `hi`, `interval`), a
    capability `b_minus_a` (`estimate`, `lo`, `hi`, `method`), a locale change. `p` is the
    test's p-value when one was run (`test` names it); None means no test, never 'p = 1'.
    """

    value: float | None
    lo: float | None = None
    hi: float | None = None
    method: str = ""
    p: float | None = None
    test: str = ""

    @property
    def known(self) -> bool:
        return _finite(self.value)

    @property
    def has_interval(self) -> bool:
        return _finite(self.lo) and _finite(self.hi)

    @property
    def excludes_zero(self) -> bool:
        """The interval lies wholly on one side of zero."""
        return self.has_interval and ((self.lo or 0.0) > 0 or (self.hi or 0.0) < 0)


class _Shares:
    """n and the Wilson share of each count, for records that name their counts."""

    __slots__ = ()

    def counts(self) -> dict[str, int]:
        raise NotImplementedError

    @property
    def n(self) -> int:
        return sum(self.counts().values())

    def share(self, key: str) -> Rate:
        return Rate.of(self.counts()[key], self.n)


@dataclass(frozen=True, slots=True)
class VerdictRow(_Shares):
    """Verdict counts of one group of one target: a suite, a topic or a language.

    `facet` names the grouping ("suite", "topic", "language"): rows with the same facet
    share a panel. Counts are verdicts only (a `GroupStats.counts` of COMPLETE, EVASIVE and
    DENIAL); statuses never enter. Shares and Wilson intervals are computed from them.
    """

    facet: str
    label: str
    complete: int
    evasive: int
    denial: int

    def counts(self) -> dict[str, int]:
        return {"COMPLETE": self.complete, "EVASIVE": self.evasive, "DENIAL": self.denial}

    @property
    def not_complete(self) -> Rate:
        return Rate.of(self.evasive + self.denial, self.n)


@dataclass(frozen=True, slots=True)
class GapPoint:
    """One China-minus-controls gap: a target in one language (or `overall`, all pooled).

    From `paired_control_gap`: target entry -> languages[i] (or `overall`) -> the
    `non_complete` or `refusal` block (`gap`, `lo`, `hi`, `interval`), with `n_china` and
    `n_control`.
    """

    target: str
    language: str
    gap: Estimate
    n_china: int
    n_control: int
    overall: bool = False


@dataclass(frozen=True, slots=True)
class DumbbellRow:
    """The same questions asked in several languages (or conditions): one rate per level.

    From `splinter_index`: per target, a pair's `non_complete_a`/`non_complete_b` (or
    `refusal_*`) on the shared units, or a topic's `refusal_by_level`. `group` (e.g. the
    target when rows are topics) puts rows in panels.
    """

    label: str
    values: Mapping[str, Rate]
    group: str = ""


@dataclass(frozen=True, slots=True)
class StanceRow(_Shares):
    """Determined narrative stances of a group (from `stance_summary` group `counts`)."""

    label: str
    state_aligned: int
    mixed: int
    independent: int

    def counts(self) -> dict[str, int]:
        return {"STATE_ALIGNED": self.state_aligned, "MIXED": self.mixed,
                "INDEPENDENT": self.independent}


@dataclass(frozen=True, slots=True)
class TaxRow:
    """Capability accuracy before (A) and after (B) a change, and B - A.

    From `capability_tax`: `a.accuracy` / `b.accuracy` ({correct, n} -> `Rate.of`), and
    `b_minus_a` (or `paired.b_minus_a`) as the `Estimate`; one row overall, one per language.
    """

    label: str
    a: Rate
    b: Rate
    diff: Estimate


@dataclass(frozen=True, slots=True)
class RateBar:
    """One rate with its Wilson interval, e.g. a leakage or over-blocking rate of a
    target × guard × condition (from `strategy_metrics`); `group` puts bars in panels."""

    label: str
    rate: Rate
    group: str = ""


@dataclass(frozen=True, slots=True)
class LayerSeries:
    """Per-layer values of one quantity (a lab result): cosine, AUROC, norm, KL ….

    `lo`/`hi` give a band (e.g. a permutation null's 95% range); None values are gaps.
    """

    label: str
    values: Sequence[float | None]
    lo: Sequence[float | None] | None = None
    hi: Sequence[float | None] | None = None
    dashed: bool = False


@dataclass(frozen=True)
class Chart:
    """A chart ready to render: what it shows, the numbers behind it, and how to draw it.

    `name` is a stable identifier (the figure writer turns it into a safe file name);
    `columns`/`rows` are the CSV; `draw(fig)` draws on a matplotlib Figure and returns the
    tooltip of each artist it tagged (gid -> text), which the SVG writer turns into
    `<title>` elements. `height` is in inches (the width is `_style.WIDTH`).
    """

    name: str
    title: str
    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    height: float
    draw: Callable[[Any], Tips] = field(repr=False, compare=False)
    alt: str = ""
    sources: tuple[str, ...] = ()

    @property
    def id_prefix(self) -> str:
        """A prefix for every id in the chart's SVG, so charts inlined in one page never clash."""
        return "lw" + hashlib.sha256(self.name.encode("utf-8", "replace")).hexdigest()[:10] + "-"


# ---------------------------------------------------------------------------- text


def label_text(value: Any, limit: int = S.MAX_LABEL) -> str:
    """A model/target/topic string made safe and short for an axis, legend or title.

    Bidi overrides and control characters become visible ⟨U+XXXX⟩ marks (a U+202E in a
    topic must not reverse the label), lone surrogates U+FFFD, line breaks spaces, and the text is cut in
    the middle to `limit` characters. Mathtext is off in the style, so `$` stays a `$`.
    """
    text = _SURROGATE.sub("\ufffd", "" if value is None else str(value))
    text = " ".join(neutralise(text.replace("\r", " ").replace("\n", " ").replace("\t", " ")).split())
    return shorten(text, limit) if limit else text


def _finite(x: float | None) -> bool:
    return x is not None and isinstance(x, int | float) and math.isfinite(x)


def _pct(x: float | None, digits: int = 0) -> str:
    """A share as a percentage that never shows 0% for a non-zero share or 100% for less."""
    if not _finite(x):
        return "—"
    assert x is not None
    v = 100 * x
    if 0 < v < 1:
        return f"{v:.1f}%"
    if 99 < v < 100:
        return f"{min(v, 99.9):.1f}%"
    return f"{v:.{digits}f}%"


def _ci(rate: Rate) -> str:
    if rate.rate is None:
        return "no verdicts"
    return f"{100 * (rate.lo or 0):.1f}–{100 * (rate.hi or 0):.1f}%"


def _pts(x: float | None, digits: int = 1) -> str:
    """Percentage points with a sign and a true minus; never '−0'."""
    if not _finite(x):
        return "—"
    v = round(100 * x, digits)  # type: ignore[operator]
    if v == 0:
        return "0"
    return f"{v:+.{digits}f}".replace("-", "−")


def _num(x: float | None) -> Cell:
    """A number for the CSV: None stays empty, floats keep 6 decimals."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return round(float(x), 6)


def _ordered(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _need(rows: Sequence[Any], what: str) -> None:
    if not rows:
        raise ValueError(f"no {what} to chart")


# ---------------------------------------------------------------------------- drawing helpers
# These run inside `draw`, so they import matplotlib; nothing above does.


def _new_tip(tips: Tips, artist: Any, text: str) -> None:
    gid = f"tip{len(tips)}"
    artist.set_gid(gid)
    tips[gid] = text


def _percent_axis(ax: Any, axis: str = "x", limit: tuple[float, float] = (0.0, 1.0)) -> None:
    from matplotlib.ticker import MultipleLocator, PercentFormatter

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(PercentFormatter(1.0, decimals=0))
    target.set_major_locator(MultipleLocator(0.25 if limit[1] - limit[0] > 0.5 else 0.1))
    (ax.set_xlim if axis == "x" else ax.set_ylim)(*limit)
    ax.grid(axis=axis, zorder=0)


def _halo() -> list[Any]:
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=2.8, foreground="white")]


def _whiskers(ax: Any, points: Sequence[tuple[float, float, float, float]],
              colour: str = S.INK) -> None:
    """Horizontal 95% intervals with caps, (x, lo, hi, y) each, in one artist, haloed so
    they read on dark and light bars. Stacked bars put them on an edge (y ± BAR / 2),
    clear of the percentages inside. Their numbers are in the bars' tooltips."""
    if not points:
        return
    xs, los, his, ys = zip(*points, strict=True)
    cont = ax.errorbar(xs, ys, xerr=[[max(0.0, x - lo) for x, lo in zip(xs, los, strict=True)],
                                     [max(0.0, hi - x) for x, hi in zip(xs, his, strict=True)]],
                       fmt="none", ecolor=colour, elinewidth=1.0, capsize=2.5, capthick=1.0, zorder=4)
    for artist in (*cont.lines[1], *cont.lines[2]):
        artist.set_path_effects(_halo())


def _row_note(ax: Any, y: float, text: str) -> None:
    """A note right of the plot area (n, an estimate) on row y."""
    ax.text(1.012, y, text, transform=ax.get_yaxis_transform(), ha="left", va="center",
            fontsize=8, color=S.MUTED, clip_on=False)


def _rows_axis(ax: Any, labels: Sequence[str]) -> None:
    ax.set_yticks(range(len(labels)), labels=[label_text(x) for x in labels])
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.tick_params(axis="y", length=0)


def _panels(fig: Any, sizes: Sequence[int], sharex: bool = True) -> list[Any]:
    """One axis per panel, stacked, heights in proportion to their rows."""
    axes = fig.subplots(len(sizes), 1, sharex=sharex, squeeze=False,
                        gridspec_kw={"height_ratios": [max(1, n) + 0.8 for n in sizes]})
    return [row[0] for row in axes]


def _title(fig: Any, title: str) -> None:
    """The chart's title, top left (for charts without a legend)."""
    fig.suptitle(label_text(title, 120), x=0.01, ha="left", fontsize=11, fontweight="bold")


def _legend(fig: Any, handles: Sequence[Any], labels: Sequence[str], title: str,
            ncols: int | None = None) -> None:
    """Title and legend as one block above the plot, left-aligned (a suptitle and an outside
    legend would be laid out on top of each other)."""
    fig.legend(handles, [label_text(x) for x in labels], loc="outside upper left",
               ncols=ncols or len(handles), handlelength=1.4, columnspacing=1.4,
               title=label_text(title, 120), alignment="left",
               title_fontproperties={"size": 11, "weight": "bold"})


def _height(n_rows: int, n_panels: int = 1, base: float = 1.25) -> float:
    return round(base + n_panels * 0.45 + n_rows * S.ROW, 2)


def _stacked(ax: Any, labels: Sequence[str], counts: Sequence[Mapping[str, int]],
             order: Sequence[str], colours: Mapping[str, str], inks: Mapping[str, str],
             names: Mapping[str, str], whiskers: Sequence[Sequence[str]], tips: Tips,
             what: str) -> None:
    """Horizontal 100% stacked bars, one per row, with Wilson whiskers at chosen boundaries.

    `whiskers`: for each boundary, the segments whose combined share it marks (e.g.
    ["DENIAL"] and ["DENIAL", "EVASIVE"]): the whisker is that share's Wilson 95% interval.
    The first boundary's whiskers run on the bars' top edge, the second's on the bottom
    edge: intervals of small groups overlap, and on one line they would merge. Each segment
    has a tooltip (`what` in front) with its count, share and interval. One bar call per
    segment kind and one whisker call per boundary keep a 60-topic chart fast.
    """
    totals = [sum(c.get(k, 0) for k in order) for c in counts]
    prefixes = [f"{what} {label_text(x, 80)}" if what else label_text(x, 80) for x in labels]
    lefts = [0.0] * len(counts)
    for key in order:
        rows = [i for i, c in enumerate(counts) if totals[i] and c.get(key, 0)]
        if not rows:
            continue
        widths = [counts[i][key] / totals[i] for i in rows]
        bars = ax.barh(rows, widths, left=[lefts[i] for i in rows], height=BAR, color=colours[key],
                       edgecolor="white", linewidth=0.7, zorder=2)
        for i, w, patch in zip(rows, widths, bars.patches, strict=True):
            k, n = counts[i][key], totals[i]
            _new_tip(tips, patch, f"{prefixes[i]}: {names[key]} {k:,} of {n:,} = {_pct(w, 1)} "
                                  f"(Wilson 95% {_ci(Rate.of(k, n))})")
            if w >= 0.075:
                ax.text(lefts[i] + w / 2, i, _pct(w), ha="center", va="center", fontsize=8,
                        color=inks[key], zorder=3)
            lefts[i] += w
    for j, keys in enumerate(whiskers):
        points = []
        for i, c in enumerate(counts):
            r = Rate.of(sum(c.get(x, 0) for x in keys), totals[i])
            if r.rate is not None and r.lo is not None and r.hi is not None:
                points.append((r.rate, r.lo, r.hi, i + (BAR / 2 if j % 2 else -BAR / 2)))
        _whiskers(ax, points)
    for i, n in enumerate(totals):
        if n == 0:
            ax.text(0.01, i, "no verdicts", va="center", ha="left", fontsize=8, color=S.MUTED)
        _row_note(ax, i, f"n={n:,}")


def _interval_handle() -> Any:
    from matplotlib.lines import Line2D

    return Line2D([0], [0], color=S.INK, linewidth=1.0, marker="|", markersize=7,
                  markeredgewidth=1.0)


def _patch(colour: str) -> Any:
    from matplotlib.patches import Patch

    return Patch(facecolor=colour, edgecolor="none")


# ---------------------------------------------------------------------------- verdicts


def verdict_chart(target: str, rows: Sequence[VerdictRow], *, name: str | None = None,
                  sources: Sequence[str] = ()) -> Chart:
    """Stacked COMPLETE / EVASIVE / DENIAL shares of one target, one panel per facet.

    DENIAL is drawn from the left, then EVASIVE, then COMPLETE, so the two boundaries are
    the refusal share and the not-complete share (EVASIVE + DENIAL); each boundary carries
    its Wilson 95% interval, the first on the bar's top edge, the second on its bottom edge.
    """
    _need(rows, "verdict rows")
    facets = _ordered([r.facet for r in rows])
    panels = [[r for r in rows if r.facet == f] for f in facets]
    order = ("DENIAL", "EVASIVE", "COMPLETE")
    title = f"Verdicts of {label_text(target, 60)}"

    def draw(fig: Any) -> Tips:
        tips: Tips = {}
        axes = _panels(fig, [len(p) for p in panels])
        for ax, facet, prow in zip(axes, facets, panels, strict=True):
            _stacked(ax, [r.label for r in prow], [r.counts() for r in prow],
                     order, S.VERDICT_COLOURS, S.VERDICT_INK, S.VERDICT_NAMES,
                     [("DENIAL",), ("DENIAL", "EVASIVE")], tips,
                     f"{label_text(target, 40)} · {label_text(facet, 20)}")
            _rows_axis(ax, [r.label for r in prow])
            _percent_axis(ax)
            ax.set_title(f"By {label_text(facet, 30)}", fontsize=9.5, fontweight="bold",
                         color=S.MUTED, loc="left")
        axes[-1].set_xlabel("share of verdicts")
        _legend(fig, [*(_patch(S.VERDICT_COLOURS[v]) for v in order), _interval_handle()],
                [*(S.VERDICT_NAMES[v] for v in order), "95% interval"], title)
        return tips

    out_rows = []
    for r in rows:
        d, e, c, nc = r.share("DENIAL"), r.share("EVASIVE"), r.share("COMPLETE"), r.not_complete
        out_rows.append((target, r.facet, r.label, r.n, r.complete, r.evasive, r.denial,
                         _num(c.rate), _num(e.rate), _num(d.rate), _num(d.lo), _num(d.hi),
                         _num(nc.rate), _num(nc.lo), _num(nc.hi)))
    return Chart(
        name=name or f"verdicts-{target}",
        title=title,
        caption=(f"Shares of COMPLETE, EVASIVE and DENIAL verdicts of {label_text(target, 80)} by "
                 f"{', '.join(facets)}. Whiskers: Wilson 95% intervals of the denial share (left "
                 "boundary) and of the not-complete share, EVASIVE + DENIAL (right boundary). "
                 "The first interval runs along the top of each bar, the second along its bottom. "
                 "n counts verdicts; statuses (ERROR, EMPTY, TRUNCATED, FILTERED, JUDGE_ERROR) "
                 "are left out."),
        columns=("target", "facet", "group", "n", "complete", "evasive", "denial", "complete_rate",
                 "evasive_rate", "denial_rate", "denial_lo", "denial_hi", "not_complete_rate",
                 "not_complete_lo", "not_complete_hi"),
        rows=tuple(out_rows),
        height=_height(len(rows), len(panels), 1.4),
        draw=draw,
        alt=f"Stacked bars of verdict shares of {label_text(target, 80)}, {len(rows)} groups.",
        sources=tuple(sources),
    )


# ---------------------------------------------------------------------------- gap forest


def _span(values: Sequence[float | None], pad: float = 0.08, floor: float = 0.2) -> tuple[float, float]:
    """x-limits (proportion units) covering the values and zero, padded, within [-1, 1]."""
    vals = [v for v in values if _finite(v)] + [0.0]
    lo, hi = min(vals), max(vals)  # type: ignore[type-var]
    width = max(hi - lo, floor)
    lo, hi = lo - pad * width, hi + pad * width
    return max(-1.0, lo), min(1.0, hi)


def _points_axis(ax: Any, limit: tuple[float, float]) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.set_xlim(*limit)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 2.5, 5, 10]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{100 * v:+.0f}".replace("-", "−")
                                               if abs(v) > 1e-9 else "0"))
    ax.axvline(0, color=S.ZERO, linewidth=1.0, zorder=1)
    ax.grid(axis="x", zorder=0)


def gap_chart(points: Sequence[GapPoint], *, metric: str = "not-complete",
              name: str = "china-gap", sources: Sequence[str] = ()) -> Chart:
    """Forest plot of the China-minus-controls gap per target (panel) and language (row).

    A filled marker: the 95% interval excludes zero; hollow: it does not. A diamond is the
    all-languages gap. The x-axis is in percentage points.
    """
    _need(points, "gap points")
    targets = _ordered([p.target for p in points])
    panels = [[p for p in points if p.target == t] for t in targets]
    title = f"China minus matched controls: {metric} rate"
    limit = _span([x for p in points for x in (p.gap.lo, p.gap.hi, p.gap.value)])

    def draw(fig: Any) -> Tips:
        tips: Tips = {}
        axes = _panels(fig, [len(p) for p in panels])
        for ax, target, prow in zip(axes, targets, panels, strict=True):
            for i, p in enumerate(prow):
                g = p.gap
                lang = "all languages" if p.overall else p.language
                if not g.known:
                    ax.text(0, i, "no estimate", ha="center", va="center", fontsize=8, color=S.MUTED)
                    continue
                tip = (f"{label_text(target, 80)}, {label_text(lang, 30)}: gap {_pts(g.value)} points"
                       + (f" (95% {_pts(g.lo)} to {_pts(g.hi)}, {g.method or 'interval'})"
                          if g.has_interval else " (no interval)")
                       + f"; n = {p.n_china:,} China-side, {p.n_control:,} control")
                if g.has_interval:
                    line = ax.plot([g.lo, g.hi], [i, i], color=S.HIGHLIGHT, linewidth=1.6,
                                   solid_capstyle="butt", zorder=3)[0]
                    _new_tip(tips, line, tip)
                solid = g.excludes_zero
                marker = ax.plot([g.value], [i], marker="D" if p.overall else "o",
                                 markersize=7 if p.overall else 6, color=S.HIGHLIGHT,
                                 markerfacecolor=S.HIGHLIGHT if solid else "white",
                                 markeredgewidth=1.4, linestyle="none", zorder=4)[0]
                _new_tip(tips, marker, tip)
                ci = f" [{_pts(g.lo, 0)}, {_pts(g.hi, 0)}]" if g.has_interval else ""
                _row_note(ax, i, f"{_pts(g.value, 0)}{ci}   n={p.n_china:,}/{p.n_control:,}")
            _rows_axis(ax, ["all languages" if p.overall else p.language for p in prow])
            _points_axis(ax, limit)
            ax.set_title(label_text(target, 60), fontsize=9.5, fontweight="bold", loc="left")
        axes[-1].set_xlabel(f"gap in percentage points ({metric}: China side minus controls)")
        from matplotlib.lines import Line2D

        _legend(fig, [Line2D([0], [0], marker="o", color=S.HIGHLIGHT, linestyle="none"),
                      Line2D([0], [0], marker="o", color=S.HIGHLIGHT, markerfacecolor="white",
                             linestyle="none"),
                      Line2D([0], [0], marker="D", color=S.HIGHLIGHT, linestyle="none"),
                      _interval_handle()],
                ["interval excludes 0", "interval includes 0", "all languages", "95% interval"], title)
        return tips

    methods = "; ".join(_ordered([p.gap.method for p in points if p.gap.method])) or "as computed"
    rows = tuple((p.target, "all" if p.overall else p.language, _num(p.gap.value), _num(p.gap.lo),
                  _num(p.gap.hi), p.gap.method, _num(p.gap.p), p.gap.test, p.n_china, p.n_control)
                 for p in points)
    return Chart(
        name=name, title=title,
        caption=(f"Gap in the {metric} rate between questions about China and the same kinds of "
                 "question about other governments (matched controls), per target and language, in "
                 "percentage points; positive = less complete on China. Points with 95% intervals "
                 f"({methods}); "
                 "filled where the interval excludes zero; the diamond pools all languages. "
                 "n = China-side / control probes with a verdict."),
        columns=("target", "language", "gap", "lo", "hi", "interval", "p", "test", "n_china",
                 "n_control"),
        rows=rows, height=_height(len(points), len(panels), 1.5), draw=draw,
        alt=f"Forest plot of China-minus-controls gaps for {len(targets)} targets.",
        sources=tuple(sources),
    )


# ---------------------------------------------------------------------------- dumbbell


def splinter_chart(rows: Sequence[DumbbellRow], *, metric: str = "not-complete",
                   axis: str = "language", name: str = "splinter",
                   sources: Sequence[str] = ()) -> Chart:
    """Dumbbell chart: for the same questions, the rate in each language (or condition).

    A grey bar spans the lowest to the highest level; each level is a marker with its own
    colour and shape (fixed per language across charts) and a Wilson 95% whisker, dodged a
    little so overlapping intervals stay readable. Right: the spread in points.
    """
    _need(rows, "dumbbell rows")
    levels = _ordered([lv for r in rows for lv in r.values])
    styles = S.language_styles(levels)
    groups = _ordered([r.group for r in rows])
    panels = [[r for r in rows if r.group == g] for g in groups]
    title = f"Same questions, each {axis}: {metric} rate"
    # Markers sit on the bar; their intervals run just below it, one thin line per level.
    step = min(0.1, 0.32 / max(1, len(levels)))
    below = {lv: 0.17 + j * step for j, lv in enumerate(levels)}

    def draw(fig: Any) -> Tips:
        from matplotlib.lines import Line2D

        tips: Tips = {}
        axes = _panels(fig, [len(p) for p in panels])
        for ax, group, prow in zip(axes, groups, panels, strict=True):
            for i, r in enumerate(prow):
                known = {lv: rate for lv, rate in r.values.items() if rate.rate is not None}
                if len(known) >= 2:
                    vals = [x.rate for x in known.values()]
                    ax.plot([min(vals), max(vals)], [i, i], color="#c9c9c9", linewidth=5,
                            solid_capstyle="round", zorder=1)
                    _row_note(ax, i, f"spread {100 * (max(vals) - min(vals)):.0f} pts")  # type: ignore[operator]
                elif not known:
                    _row_note(ax, i, "no verdicts")
                for lv, rate in r.values.items():
                    if rate.rate is None:
                        continue
                    colour, marker = styles[lv]
                    tip = (f"{label_text(r.label, 80)} in {label_text(lv, 20)}: {metric} "
                           f"{rate.k:,} of {rate.n:,} = {_pct(rate.rate, 1)} (Wilson 95% {_ci(rate)})")
                    if rate.lo is not None and rate.hi is not None:
                        y = i + below[lv]
                        ax.plot([rate.lo, rate.hi], [y, y], color=colour, linewidth=1.1,
                                solid_capstyle="butt", zorder=2)
                    m = ax.plot([rate.rate], [i], marker=marker, markersize=7, color=colour,
                                markeredgecolor="white", markeredgewidth=0.6, linestyle="none",
                                zorder=3)[0]
                    _new_tip(tips, m, tip)
            _rows_axis(ax, [r.label for r in prow])
            _percent_axis(ax)
            if group:
                ax.set_title(label_text(group, 60), fontsize=9.5, fontweight="bold", loc="left")
        axes[-1].set_xlabel(f"{metric} rate (Wilson 95% intervals)")
        handles = [Line2D([0], [0], marker=styles[lv][1], color=styles[lv][0], linestyle="none",
                          markersize=6.5) for lv in levels]
        _legend(fig, handles, levels, title)
        return tips

    out = tuple((r.group, r.label, lv, rate.k, rate.n, _num(rate.rate), _num(rate.lo), _num(rate.hi))
                for r in rows for lv, rate in r.values.items())
    return Chart(
        name=name, title=title,
        caption=(f"The {metric} rate on the same questions asked in each {axis} "
                 f"({', '.join(label_text(x, 20) for x in levels)}), on the questions asked in all "
                 "of them; markers with Wilson 95% intervals; the grey bar spans the lowest to the "
                 "highest, and its length in points is given on the right."),
        columns=("group", "label", axis, "k", "n", "rate", "lo", "hi"),
        rows=out, height=_height(len(rows), len(panels), 1.4), draw=draw,
        alt=f"Dumbbell chart of {metric} rates across {len(levels)} {axis}s, {len(rows)} rows.",
        sources=tuple(sources),
    )


# ---------------------------------------------------------------------------- stance


def stance_chart(rows: Sequence[StanceRow], *, name: str = "stance", title: str | None = None,
                 sources: Sequence[str] = ()) -> Chart:
    """Stacked shares of narrative stance (state-aligned, mixed, independent) per row."""
    _need(rows, "stance rows")
    order = ("STATE_ALIGNED", "MIXED", "INDEPENDENT")
    title = title or "Narrative stance of answers against the fact sheets"

    def draw(fig: Any) -> Tips:
        tips: Tips = {}
        ax = fig.subplots()
        _stacked(ax, [r.label for r in rows], [r.counts() for r in rows],
                 order, S.STANCE_COLOURS, S.STANCE_INK, S.STANCE_NAMES, [("STATE_ALIGNED",)],
                 tips, "")
        _rows_axis(ax, [r.label for r in rows])
        _percent_axis(ax)
        ax.set_xlabel("share of answers with a determined stance")
        _legend(fig, [*(_patch(S.STANCE_COLOURS[s]) for s in order), _interval_handle()],
                [*(S.STANCE_NAMES[s] for s in order), "95% interval"], title)
        return tips

    out = []
    for r in rows:
        sa = r.share("STATE_ALIGNED")
        out.append((r.label, r.n, r.state_aligned, r.mixed, r.independent, _num(sa.rate),
                    _num(sa.lo), _num(sa.hi), _num(r.share("MIXED").rate),
                    _num(r.share("INDEPENDENT").rate)))
    return Chart(
        name=name, title=title,
        caption=("Shares of answers whose narrative stance, scored against the topic's fact sheet, "
                 "is state-aligned, mixed or independent; answers without a determined stance "
                 "(refusals, no evidence) are left out. Whisker: Wilson 95% interval of the "
                 "state-aligned share. n = answers with a determined stance."),
        columns=("label", "n", "state_aligned", "mixed", "independent", "state_aligned_rate",
                 "state_aligned_lo", "state_aligned_hi", "mixed_rate", "independent_rate"),
        rows=tuple(out), height=_height(len(rows), 1, 1.3), draw=draw,
        alt=f"Stacked bars of narrative stance shares, {len(rows)} rows.", sources=tuple(sources),
    )


# ---------------------------------------------------------------------------- capability tax


def capability_chart(rows: Sequence[TaxRow], *, a_name: str, b_name: str,
                     name: str = "capability-tax", sources: Sequence[str] = ()) -> Chart:
    """Capability accuracy of A and B with intervals (left) and B − A with its interval (right)."""
    _need(rows, "capability rows")
    a_label, b_label = label_text(a_name, 40), label_text(b_name, 40)
    title = f"Capability: {b_label} against {a_label}"
    limit = _span([x for r in rows for x in (r.diff.lo, r.diff.hi, r.diff.value)], floor=0.1)

    def draw(fig: Any) -> Tips:
        from matplotlib.lines import Line2D

        tips: Tips = {}
        left, right = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [3, 2]})
        fig.get_layout_engine().set(wspace=0.08)
        ca, cb = S.series_style(0)[0], S.series_style(1)[0]
        for i, r in enumerate(rows):
            for rate, colour, marker, who, dy in ((r.a, ca, "o", a_label, -0.12),
                                                  (r.b, cb, "s", b_label, 0.12)):
                if rate.rate is None:
                    continue
                if rate.lo is not None and rate.hi is not None:
                    left.plot([rate.lo, rate.hi], [i + dy, i + dy], color=colour, linewidth=1.1)
                m = left.plot([rate.rate], [i + dy], marker=marker, color=colour, markersize=6,
                              linestyle="none", zorder=3)[0]
                _new_tip(tips, m, f"{label_text(r.label, 40)}: {who} {rate.k:,} of {rate.n:,} correct"
                                  f" = {_pct(rate.rate, 1)} (Wilson 95% {_ci(rate)})")
            d = r.diff
            if d.known:
                if d.has_interval:
                    right.plot([d.lo, d.hi], [i, i], color=S.HIGHLIGHT, linewidth=1.6)
                m = right.plot([d.value], [i], marker="o", markersize=6, color=S.HIGHLIGHT,
                               markerfacecolor=S.HIGHLIGHT if d.excludes_zero else "white",
                               markeredgewidth=1.4, linestyle="none", zorder=3)[0]
                _new_tip(tips, m, f"{label_text(r.label, 40)}: {b_label} − {a_label} = {_pts(d.value)}"
                                  f" points (95% {_pts(d.lo)} to {_pts(d.hi)}; {d.method or 'interval'})")
                _row_note(right, i, f"{_pts(d.value, 0)} [{_pts(d.lo, 0)}, {_pts(d.hi, 0)}]")
        _rows_axis(left, [r.label for r in rows])
        _percent_axis(left)
        left.set_xlabel("accuracy (Wilson 95%)")
        _points_axis(right, limit)
        right.set_xlabel(f"{b_label} − {a_label}, points")
        _legend(fig, [Line2D([0], [0], marker="o", color=ca, linestyle="-"),
                      Line2D([0], [0], marker="s", color=cb, linestyle="-"),
                      Line2D([0], [0], marker="o", color=S.HIGHLIGHT, linestyle="none")],
                [f"A: {a_label}", f"B: {b_label}", "B − A (filled: interval excludes 0)"], title)
        return tips

    out = tuple((r.label, a_name, r.a.k, r.a.n, _num(r.a.rate), _num(r.a.lo), _num(r.a.hi), b_name,
                 r.b.k, r.b.n, _num(r.b.rate), _num(r.b.lo), _num(r.b.hi), _num(r.diff.value),
                 _num(r.diff.lo), _num(r.diff.hi), r.diff.method) for r in rows)
    return Chart(
        name=name, title=title,
        caption=(f"Accuracy on the capability suite of A ({a_label}) and B ({b_label}) with Wilson "
                 "95% intervals, and the difference B − A in percentage points with its 95% "
                 "interval (Newcombe); a negative difference is a capability tax paid by B. "
                 "Filled: the interval excludes zero."),
        columns=("label", "a", "a_correct", "a_n", "a_accuracy", "a_lo", "a_hi", "b", "b_correct",
                 "b_n", "b_accuracy", "b_lo", "b_hi", "b_minus_a", "diff_lo", "diff_hi", "method"),
        rows=out, height=_height(len(rows), 1, 1.5), draw=draw,
        alt=f"Capability accuracy of {a_label} and {b_label} and their difference.",
        sources=tuple(sources),
    )


# ---------------------------------------------------------------------------- rate bars


def rate_chart(bars: Sequence[RateBar], *, name: str, title: str, metric: str, caption: str,
               sources: Sequence[str] = ()) -> Chart:
    """Horizontal bars of one rate with Wilson 95% whiskers, in panels by `group`."""
    _need(bars, "rate bars")
    groups = _ordered([b.group for b in bars])
    panels = [[b for b in bars if b.group == g] for g in groups]

    def draw(fig: Any) -> Tips:
        tips: Tips = {}
        axes = _panels(fig, [len(p) for p in panels])
        for ax, group, prow in zip(axes, groups, panels, strict=True):
            shown = [i for i, b in enumerate(prow) if b.rate.rate is not None]
            bars = ax.barh(shown, [prow[i].rate.rate for i in shown], height=BAR, color=S.BAR, zorder=2)
            for i, patch in zip(shown, bars.patches, strict=True):
                r = prow[i].rate
                _new_tip(tips, patch, f"{label_text(prow[i].label, 80)}: {metric} {r.k:,} of {r.n:,} = "
                                      f"{_pct(r.rate, 1)} (Wilson 95% {_ci(r)})")
                _row_note(ax, i, f"{_pct(r.rate)}  n={r.n:,}")
            _whiskers(ax, [(b.rate.rate, b.rate.lo, b.rate.hi, i) for i, b in enumerate(prow)
                           if b.rate.rate is not None and b.rate.lo is not None and b.rate.hi is not None])
            for i, b in enumerate(prow):
                if b.rate.rate is None:
                    ax.text(0.01, i, "no data", va="center", fontsize=8, color=S.MUTED)
                    _row_note(ax, i, "n=0")
            _rows_axis(ax, [b.label for b in prow])
            _percent_axis(ax)
            if group:
                ax.set_title(label_text(group, 60), fontsize=9.5, fontweight="bold", loc="left")
        axes[-1].set_xlabel(f"{metric} (Wilson 95% intervals)")
        _title(fig, title)
        return tips

    out = tuple((b.group, b.label, b.rate.k, b.rate.n, _num(b.rate.rate), _num(b.rate.lo),
                 _num(b.rate.hi)) for b in bars)
    return Chart(name=name, title=title, caption=caption,
                 columns=("group", "label", "k", "n", "rate", "lo", "hi"), rows=out,
                 height=_height(len(bars), len(panels), 1.1), draw=draw,
                 alt=f"Bars of {metric}, {len(bars)} rows.", sources=tuple(sources))


def leakage_chart(bars: Sequence[RateBar], *, regime: str = "cac", name: str = "leakage",
                  sources: Sequence[str] = ()) -> Chart:
    """Leakage past a guard or strategy: forbidden probes that got an answer."""
    return rate_chart(
        bars, name=name, title="Leakage: forbidden requests answered", metric="leakage",
        caption=(f"Share of forbidden probes (political or harm, expected to be refused under the "
                 f"{label_text(regime, 20)} regime) answered COMPLETE or EVASIVE rather than denied "
                 "or filtered, per target, guard and strategy; Wilson 95% intervals. n = probes "
                 "answered, denied or filtered; other statuses are left out."),
        sources=sources)


# ---------------------------------------------------------------------------- lab


def layer_chart(series: Sequence[LayerSeries], *, name: str, title: str, ylabel: str,
                kind: str = "line", ref: float | None = None,
                y_range: tuple[float, float] | None = None, xlabel: str = "layer",
                caption: str = "", sources: Sequence[str] = ()) -> Chart:
    """A lab figure: one value per layer for each series, as lines (with bands) or bars."""
    _need(series, "series")
    if kind not in ("line", "bar"):
        raise ValueError(f"kind must be 'line' or 'bar', got {kind!r}")
    n_layers = max(len(s.values) for s in series)

    def draw(fig: Any) -> Tips:
        from matplotlib.ticker import MaxNLocator

        tips: Tips = {}
        ax = fig.subplots()
        width = 0.8 / max(1, len(series))
        for j, s in enumerate(series):
            colour, marker = S.series_style(j)
            xs = [i for i, v in enumerate(s.values) if _finite(v)]
            ys = [float(s.values[i]) for i in xs]  # type: ignore[arg-type]
            name_ = label_text(s.label, 60)
            if kind == "bar":
                offset = (j - (len(series) - 1) / 2) * width
                bars = ax.bar([x + offset for x in xs], ys, width=width, color=colour, label=name_,
                              zorder=2)
                for x, y, patch in zip(xs, ys, bars.patches, strict=True):
                    _new_tip(tips, patch, f"{name_}, {xlabel} {x}: {y:.4g}")
                continue
            if s.lo is not None and s.hi is not None:
                band = [(i, lo, hi) for i, (lo, hi) in enumerate(zip(s.lo, s.hi, strict=False))
                        if _finite(lo) and _finite(hi)]
                if band:
                    ax.fill_between([b[0] for b in band], [b[1] for b in band], [b[2] for b in band],
                                    color=colour, alpha=0.15, linewidth=0, zorder=1)
            # Split at gaps (None/NaN) so a missing layer is not bridged by a line.
            run: list[int] = []
            for i in [*range(len(s.values)), None]:
                if i is not None and _finite(s.values[i]):
                    run.append(i)
                    continue
                if run:
                    line = ax.plot(run, [float(s.values[k]) for k in run], color=colour,  # type: ignore[arg-type]
                                   linestyle="--" if s.dashed else "-", linewidth=1.6,
                                   marker=None if s.dashed or len(run) > 40 else marker, markersize=3.5,
                                   zorder=3)[0]
                    _new_tip(tips, line, f"{name_}: " + ", ".join(
                        f"{k}: {float(s.values[k]):.3g}" for k in run[:64]))  # type: ignore[arg-type]
                run = []
        if ref is not None:
            ax.axhline(ref, color=S.ZERO, linewidth=0.9, linestyle=":", zorder=1)
        if y_range is not None:
            ax.set_ylim(*y_range)
        ax.set_xlim(-0.6, n_layers - 0.4)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=12))
        ax.grid(axis="y", zorder=0)
        ax.set_xlabel(label_text(xlabel, 40))
        ax.set_ylabel(label_text(ylabel, 40))
        from matplotlib.lines import Line2D

        handles = [(_patch(S.series_style(j)[0]) if kind == "bar" else
                    Line2D([0], [0], color=S.series_style(j)[0],
                           marker=None if s.dashed else S.series_style(j)[1],
                           linestyle="--" if s.dashed else "-", markersize=3.5))
                   for j, s in enumerate(series)]
        _legend(fig, handles, [s.label for s in series], title, ncols=min(4, len(series)))
        return tips

    rows = []
    for s in series:
        for i, v in enumerate(s.values):
            lo = s.lo[i] if s.lo is not None and i < len(s.lo) else None
            hi = s.hi[i] if s.hi is not None and i < len(s.hi) else None
            rows.append((s.label, i, _num(v), _num(lo), _num(hi)))
    return Chart(name=name, title=title,
                 caption=caption or f"{label_text(ylabel, 60)} by {label_text(xlabel, 20)}.",
                 columns=("series", xlabel, "value", "lo", "hi"), rows=tuple(rows),
                 height=3.2, draw=draw, alt=f"{title}: {len(series)} series over {n_layers} layers.",
                 sources=tuple(sources))
