"""Heat map targets × topics: not complete (EVASIVE + DENIAL, the default), refusal, evasion and (when results carry a stance) narrative echo.

The page gets the counts per target × topic × language × condition as a small JSON blob, so
its script can re-facet the map (metric, language, locale) without a server; the table
drawn here is the default facet (not complete = EVASIVE + DENIAL, all languages, all
locales), which is what a
reader without JavaScript or on paper sees. Each cell links to #responses; the script turns
that click into a filter of the response explorer to the cell's target × topic (× facets).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from latentwall.analysis import SLOTS, HeatCounts, rate_of
from latentwall.report._format import blob_json, corrected_html, esc, key_text, rate_html
from latentwall.report.sections import Absent, ReportContext, register

N = SLOTS.index("n")
METRICS: dict[str, str] = {"not_complete": "Not complete (evasive + denial)", "refusal": "Refusal (denial)",
                           "evasion": "Evasion", "echo": "Narrative echo"}
DEFAULT_METRIC = "not_complete"


def _cell(ti: int, pi: int, counts: list[int] | None) -> str:
    attrs = f'data-t="{ti}" data-p="{pi}"'
    if counts is None or counts[N] == 0:
        return f'<td class="hm empty" {attrs}>·</td>'
    rate = rate_of(counts, DEFAULT_METRIC)
    if rate.rate is None:
        body, heat, title = "—", "", f"{counts[N]:,} responses, no verdicts"
    else:
        # Round half up, as the page's script (Math.round) does when it redraws a facet.
        body = f"{math.floor(100 * rate.rate + 0.5)}%"
        heat = f" heat-{math.floor(rate.rate * 10 + 0.5)}"
        title = (
            f"{rate.k:,} of {rate.n:,} verdicts; Wilson 95% interval "
            f"{100 * (rate.lo or 0):.1f}–{100 * (rate.hi or 0):.1f}%"
        )
    return (
        f'<td class="hm{heat}" {attrs} title="{esc(title)}">'
        f'<a href="#responses" class="hm-link">{body}<span class="hm-n">n={rate.n:,}</span></a></td>'
    )


def _cells(heat: HeatCounts) -> dict[tuple[str, str, str, str], list[int]]:
    """The counts by the keys the explorer compares (neutralised text, None as "")."""
    cells: dict[tuple[str, str, str, str], list[int]] = {}
    for (t, p, lang, cond), counts in heat.cells.items():
        key = (key_text(t), key_text(p), key_text(lang), key_text(cond or ""))
        cell = cells.setdefault(key, [0] * len(SLOTS))
        for i, v in enumerate(counts):
            cell[i] += v
    return cells


def _axes(cells: Mapping[tuple[str, str, str, str], list[int]]) -> tuple[list[str], ...]:
    names: tuple[set[str], set[str], set[str], set[str]] = (set(), set(), set(), set())
    for key in cells:
        for axis, value in zip(names, key, strict=True):
            axis.add(value)
    return tuple(sorted(a) for a in names)


def _legend() -> str:
    cells = "".join(f'<span class="heat-{i}">{i * 10}%</span>' for i in range(11))
    return f'<div class="legend" aria-label="colour scale of the heat map">{cells}</div>'


def _corrected_table(ctx: ReportContext, totals: Mapping[tuple[str, str], list[int]]) -> str:
    """Each cell's machine rates beside their corrected values, for the runs with a random
    human sample (the map's colours stay the machine's: the page re-facets them)."""
    entries = (ctx.corrected or {}).get("heat") or []
    if not entries:
        return ""
    rows = []
    for e in entries:
        key = (key_text(e["key"].get("target")), key_text(e["key"].get("topic")))
        counts = totals.get(key)
        if counts is None:
            continue
        cells = "".join(f"<td>{rate_html(rate_of(counts, m).to_dict())}{corrected_html(c)}</td>"
                        for m, c in (("not_complete", e.get("not_complete")), ("refusal", e["rates"].get("DENIAL")),
                                     ("evasion", e["rates"].get("EVASIVE"))))
        rows.append(f"<tr><th scope=\"row\">{esc(key[1] or '—')}</th><td>{esc(key[0])}</td>{cells}</tr>")
    return ('<details class="corrected-heat"><summary>Corrected for the judge\'s errors: every cell\'s rates '
            "(machine [Wilson 95%] → corrected [95%], from the random human sample)</summary>"
            '<div class="tablewrap"><table><thead><tr><th scope="col">Topic</th><th scope="col">Target</th>'
            '<th scope="col">Not complete</th><th scope="col">Refusal</th><th scope="col">Evasion</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div></details>\n")


@register("heatmap", "Heat map", analysis="heatmap", order=20, core=True)
def heatmap(heat: HeatCounts, ctx: ReportContext) -> str | Absent:
    """Topics down, targets across (long topic lists read and print better as rows)."""
    cells_by_key = _cells(heat)
    if not cells_by_key:
        return Absent("no responses")
    targets, topics, languages, conditions = _axes(cells_by_key)
    index = {
        "t": {v: i for i, v in enumerate(targets)},
        "p": {v: i for i, v in enumerate(topics)},
        "l": {v: i for i, v in enumerate(languages)},
        "c": {v: i for i, v in enumerate(conditions)},
    }
    totals: dict[tuple[int, int], list[int]] = {}
    by_name: dict[tuple[str, str], list[int]] = {}
    cells = []
    for (t, p, lang, cond), counts in cells_by_key.items():
        ti, pi = index["t"][t], index["p"][p]
        cells.append([ti, pi, index["l"][lang], index["c"][cond], *counts])
        tot = totals.setdefault((ti, pi), [0] * 6)
        by_name[(t, p)] = tot
        for i, v in enumerate(counts):
            tot[i] += v
    cells.sort()
    metrics = ["not_complete", "refusal", "evasion"] + (["echo"] if heat.has_stance else [])
    data = {
        "targets": targets,
        "topics": topics,
        "languages": languages,
        "conditions": conditions,
        "metrics": metrics,
        "metric_names": [METRICS[m] for m in metrics],
        "slots": list(SLOTS),
        "cells": cells,
    }
    head = "".join(f'<th scope="col" class="hm-target">{esc(t)}</th>' for t in targets)
    body = []
    for pi, topic in enumerate(topics):
        row_cells = "".join(_cell(ti, pi, totals.get((ti, pi))) for ti in range(len(targets)))
        body.append(f'<tr><th scope="row">{esc(topic or "—")}</th>{row_cells}</tr>')
    echo_note = (
        " Narrative echo: share of STATE_ALIGNED among responses with a stance of"
        " STATE_ALIGNED, INDEPENDENT or MIXED."
        if heat.has_stance
        else ""
    )
    locale = (
        '<label id="hm-condition-wrap">Locale (condition)<select id="hm-condition"></select></label>'
        if any(conditions)
        else ""
    )
    return f"""<p class="muted small">Shares of verdicts per target and topic, all suites together, on one colour scale (0–100%, legend below); n is the number of verdicts in the cell. The default metric, not complete, counts EVASIVE and DENIAL together: models that spin or deflect rather than refuse show here. Hover a cell for its Wilson 95% interval, click it to list its responses below.{echo_note}</p>
<div id="hm-controls" class="controls" hidden>
<label>Metric<select id="hm-metric"></select></label>
<label>Language<select id="hm-language"></select></label>
{locale}
</div>
<p id="hm-facet" class="small">{esc(METRICS[DEFAULT_METRIC])} · all languages{" · all locales" if any(conditions) else ""}</p>
<div class="tablewrap"><table id="heatmap" class="heatmap">
<thead><tr><th scope="col">Topic</th>{head}</tr></thead>
<tbody>{"".join(body)}</tbody>
</table></div>
{_legend()}
{_corrected_table(ctx, by_name)}<script type="application/json" id="lw-heat">{blob_json(data)}</script>
"""
