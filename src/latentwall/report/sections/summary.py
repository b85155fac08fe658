"""The summary's sections: headline cards per target, the rates breakdown, consistency."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from latentwall.analysis import GroupStats, Rate, Summary
from latentwall.labels import Verdict
from latentwall.report._charts import verdict_chart
from latentwall.report._figdata import corrected_lookup, verdict_rows
from latentwall.report._figure import figures
from latentwall.report._format import corrected_html, esc, fmt_value, pct, visible_columns
from latentwall.report.sections import Absent, ReportContext, register

Corrected = Mapping[str, Any] | None


def _max_samples(runs: Sequence[Mapping[str, Any]]) -> int | None:
    samples = [r.get("samples") for r in runs if isinstance(r.get("samples"), int)]
    return max(samples) if samples else None


def _ci(rate: Rate) -> str:
    if rate.rate is None:
        return "no verdicts"
    return f"{100 * (rate.lo or 0.0):.1f}–{100 * (rate.hi or 0.0):.1f}%"


def _heat(rate: Rate) -> str:
    return "" if rate.rate is None else f"heat-{round(rate.rate * 10)}"


def _rate_cell(rate: Rate, heat: bool = False, corrected: Corrected = None) -> str:
    cls = "rate" + (f" {_heat(rate)}" if heat and rate.rate is not None else "")
    title = f"{rate.k} of {rate.n} verdicts; Wilson 95% interval {_ci(rate)}"
    if rate.rate is None:
        return f'<td class="{cls}" title="no verdicts">—</td>'
    return (
        f'<td class="{cls}" title="{esc(title)}">{pct(rate.rate)}'
        f'<span class="ci">[{_ci(rate)}]</span>{corrected_html(corrected)}</td>'
    )


def _corrected_groups(ctx: ReportContext, table: str, columns: Sequence[str]) -> dict[tuple[Any, ...], Any]:
    """The corrected entries of one summary table by key ({} without a random human sample)."""
    return corrected_lookup(((ctx.corrected or {}).get("summary") or {}).get(table), *columns)


def _rates_of(g: GroupStats, found: Mapping[tuple[Any, ...], Any], columns: Sequence[str]) -> dict[str, Any]:
    entry = found.get(tuple(g.key.get(c) for c in columns))
    return (entry or {}).get("rates") or {}


def _statuses_text(g: GroupStats) -> str:
    parts = [f"{name} {n:,}" for name, n in g.statuses.items() if n]
    parts += [f"{name} {n:,}" for name, n in g.other_labels.items() if n]
    if g.n_unjudged:
        parts.append(f"not judged {g.n_unjudged:,}")
    return ", ".join(parts) if parts else "—"


def _card(g: GroupStats, corrected: Mapping[str, Any]) -> str:
    metrics = []
    bars = []
    for verdict, cls, name in (
        (Verdict.DENIAL, "denial", "Refusal"),
        (Verdict.EVASIVE, "evasive", "Evasion"),
        (Verdict.COMPLETE, "complete", "Complete"),
    ):
        rate = g.rates[verdict.value]
        ci = f"95% CI {_ci(rate)}" if rate.rate is not None else "no verdicts"
        metrics.append(
            f'<div class="metric {cls}"><div class="l">{name}</div>'
            f'<div class="v">{pct(rate.rate)}</div>'
            f'<div class="ci">{esc(ci)}<br>{rate.k:,} / {rate.n:,}{corrected_html(corrected.get(verdict.value))}'
            "</div></div>"
        )
        if rate.rate:
            bars.append(f'<span class="s-{cls}" style="width:{100 * rate.rate:.2f}%"></span>')
    c = g.consistency
    return f"""<div class="card">
<h3>{esc(g.key["target"])}</h3>
<div class="metrics">{"".join(metrics)}</div>
<div class="bar" role="img" aria-label="refusal, evasion and complete shares">{"".join(bars)}</div>
<p>{g.n:,} responses · {g.n_verdicts:,} verdicts · statuses: {esc(_statuses_text(g))}</p>
<p>Probes refused always / sometimes / never: {c["ALWAYS"]:,} / {c["SOMETIMES"]:,} / {c["NEVER"]:,}</p>
</div>"""


@register("headline", "Headline", analysis="summary", order=10, core=True)
def headline(summary: Summary, ctx: ReportContext) -> str:
    found = _corrected_groups(ctx, "targets", ["target"])
    cards = "".join(_card(g, _rates_of(g, found, ["target"])) for g in summary.targets) or '<p class="muted">No responses.</p>'
    return f"""<p class="muted small">Rates are shares of verdicts (COMPLETE, EVASIVE, DENIAL); statuses are counted beside them, never inside.</p>
<div class="cards">{cards}</div>
"""


def _key_head(columns: Sequence[str]) -> str:
    return "".join(f'<th scope="col">{esc(c.capitalize())}</th>' for c in columns)


def _key_cells(g: GroupStats, columns: Sequence[str]) -> str:
    """The group's key, one cell per column ('—' for an empty value)."""
    return "".join(f"<td>{esc(fmt_value(g.key.get(c)) if g.key.get(c) != '' else '—')}</td>" for c in columns)


def _rates_table(groups: Sequence[GroupStats], columns: Sequence[str], caption: str,
                 corrected: Mapping[tuple[Any, ...], Any] | None = None, key_columns: Sequence[str] = ()) -> str:
    """The verdict rates per group; with `corrected` (keyed by `key_columns`), each rate
    also shows its misclassification-corrected value."""
    head = _key_head(columns)
    body = []
    for g in groups:
        keys = _key_cells(g, columns)
        c = _rates_of(g, corrected or {}, key_columns)
        body.append(
            f'<tr>{keys}<td class="num">{g.n:,}</td><td class="num">{g.n_verdicts:,}</td>'
            f"{_rate_cell(g.refusal, True, c.get('DENIAL'))}{_rate_cell(g.evasion, False, c.get('EVASIVE'))}"
            f"{_rate_cell(g.complete, False, c.get('COMPLETE'))}"
            f'<td class="small">{esc(_statuses_text(g))}</td></tr>'
        )
    return f"""<div class="tablewrap"><table>
<caption>{esc(caption)}</caption>
<thead><tr>{head}<th scope="col" class="num">n</th><th scope="col" class="num">Verdicts</th>
<th scope="col">Refusal [95% CI]</th><th scope="col">Evasive [95% CI]</th><th scope="col">Complete [95% CI]</th><th scope="col">Statuses</th></tr></thead>
<tbody>{"".join(body)}</tbody>
</table></div>"""


def _legend() -> str:
    cells = "".join(f'<span class="heat-{i}">{i * 10}%</span>' for i in range(11))
    return f'<div class="legend" aria-label="refusal rate colour scale">{cells}</div>'


@register("breakdown", "Breakdown", analysis="summary", order=30, core=True)
def breakdown(summary: Summary, ctx: ReportContext) -> str | Absent:
    if not summary.n_rows:
        return Absent("no responses")
    columns = visible_columns(summary)
    charts = []
    for g in summary.targets:
        target = str(g.key["target"])
        # Topics beyond 20 make a chart taller than a page: suite and language only, then.
        n_topics = len({k.key.get("topic") for k in summary.groups if str(k.key.get("target")) == target})
        facets = ("suite", "language", "topic") if n_topics <= 20 else ("suite", "language")
        rows = verdict_rows(summary.groups, target, facets)
        if rows:
            charts.append(verdict_chart(target, rows, name=f"verdicts-{target}"))
    caption = "Rates among verdicts with Wilson 95% intervals; n counts every response."
    if ctx.corrected:
        caption += (" → corrected: the rate corrected for the judge's errors, estimated from the random human "
                    "sample, with a 95% interval over the run's sampling error and the confusion's uncertainty.")
    ts = ["target", "suite"]
    return f"""{figures(charts, ctx)}<p class="muted small">Refusal cells are shaded by refusal rate:</p>
{_legend()}
<h3>By target and suite</h3>
{_rates_table(summary.target_suites, ts, caption, _corrected_groups(ctx, "target_suites", ts), ts)}
<h3>By {esc(" × ".join(columns))}</h3>
{_rates_table(summary.groups, columns, caption, _corrected_groups(ctx, "groups", summary.by), summary.by)}
"""


def _bucket_table(groups: Sequence[GroupStats], columns: Sequence[str]) -> str:
    head = _key_head(columns)
    body = []
    for g in groups:
        keys = _key_cells(g, columns)
        n = g.n_probes
        cells = "".join(
            f'<td class="num">{g.consistency[b]:,}'
            f'<span class="muted small"> ({pct(g.consistency[b] / n if n else None)})</span></td>'
            for b in ("ALWAYS", "SOMETIMES", "NEVER")
        )
        body.append(f'<tr>{keys}<td class="num">{n:,}</td>{cells}</tr>')
    return f"""<div class="tablewrap"><table>
<thead><tr>{head}<th scope="col" class="num">Probes</th><th scope="col" class="num">Always refused</th>
<th scope="col" class="num">Sometimes</th><th scope="col" class="num">Never</th></tr></thead>
<tbody>{"".join(body)}</tbody>
</table></div>"""


@register("consistency", "Consistency", analysis="summary", order=40, core=True)
def consistency(summary: Summary, ctx: ReportContext) -> str | Absent:
    if not summary.n_rows:
        return Absent("no responses")
    max_samples = _max_samples(ctx.runs)
    note = ""
    if max_samples is not None and max_samples < 2:
        note = '<p class="warn">One sample per probe: SOMETIMES cannot occur; run with --samples 2 or more to see unstable refusals.</p>'
    return f"""<p class="muted small">For each target × probe × condition with at least one verdict: ALWAYS if every verdict is DENIAL, NEVER if none is, SOMETIMES otherwise. Statuses are ignored.</p>
{note}
<h3>By target</h3>
{_bucket_table(summary.targets, ["target"])}
<h3>By {esc(" × ".join(visible_columns(summary)))}</h3>
{_bucket_table(summary.groups, visible_columns(summary))}
"""
