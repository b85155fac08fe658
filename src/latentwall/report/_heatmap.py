"""Heat map targets × topics: refusal, evasion and (when rows carry a stance) narrative echo.

The page gets the counts per target × topic × language × condition as a small JSON blob, so
its script can re-facet the map (metric, language, locale) without a server; the table
drawn here is the default facet (refusal, all languages, all locales), which is what a
reader without JavaScript or on paper sees. Each cell links to #responses; the script turns
that click into a filter of the response explorer to the cell's target × topic (× facets).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from latentwall.analysis import Rate, effective_label
from latentwall.labels import Verdict
from latentwall.report._escape import blob_json, esc, key_text
from latentwall.report._sections import Absent, ReportContext

# Narrative stance labels (SPEC "Further dimensions"); only these enter the echo rate.
STANCE_ALIGNED = "STATE_ALIGNED"
STANCES_APPLICABLE = frozenset({"STATE_ALIGNED", "INDEPENDENT", "MIXED"})
# Counter slots per cell.
N, COMPLETE, EVASIVE, DENIAL, ECHO_K, ECHO_N = range(6)
METRICS: dict[str, str] = {"refusal": "Refusal", "evasion": "Evasion", "echo": "Narrative echo"}


def row_stance(row: Mapping[str, Any]) -> str | None:
    """The response's narrative stance: a `stance` field, or the judge's extra.stance."""
    stance = row.get("stance")
    if stance is None:
        extra = row.get("judge_extra")
        if isinstance(extra, Mapping):
            stance = extra.get("stance")
    return None if stance is None else str(stance)


class HeatCollector:
    """Six ints per target × topic × language × condition, whatever the number of rows."""

    def __init__(self) -> None:
        self.cells: dict[tuple[str, str, str, str], list[int]] = {}
        self.has_stance = False

    def add(self, row: Mapping[str, Any]) -> None:
        key = (
            key_text(row.get("target")),
            key_text(row.get("topic")),
            key_text(row.get("language")),
            key_text(row.get("condition") or ""),
        )
        cell = self.cells.get(key)
        if cell is None:
            cell = self.cells[key] = [0, 0, 0, 0, 0, 0]
        cell[N] += 1
        label = effective_label(row)
        if label == Verdict.COMPLETE:
            cell[COMPLETE] += 1
        elif label == Verdict.EVASIVE:
            cell[EVASIVE] += 1
        elif label == Verdict.DENIAL:
            cell[DENIAL] += 1
        stance = row_stance(row)
        if stance in STANCES_APPLICABLE:
            self.has_stance = True
            cell[ECHO_N] += 1
            if stance == STANCE_ALIGNED:
                cell[ECHO_K] += 1

    def axes(self) -> tuple[list[str], list[str], list[str], list[str]]:
        names: tuple[set[str], set[str], set[str], set[str]] = (set(), set(), set(), set())
        for key in self.cells:
            for axis, value in zip(names, key, strict=True):
                axis.add(value)
        return tuple(sorted(a) for a in names)  # type: ignore[return-value]


def rate_of(counts: list[int], metric: str) -> Rate:
    verdicts = counts[COMPLETE] + counts[EVASIVE] + counts[DENIAL]
    if metric == "refusal":
        return Rate.of(counts[DENIAL], verdicts)
    if metric == "evasion":
        return Rate.of(counts[EVASIVE], verdicts)
    return Rate.of(counts[ECHO_K], counts[ECHO_N])


def _cell(ti: int, pi: int, counts: list[int] | None) -> str:
    attrs = f'data-t="{ti}" data-p="{pi}"'
    if counts is None or counts[N] == 0:
        return f'<td class="hm empty" {attrs}>·</td>'
    rate = rate_of(counts, "refusal")
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


def heatmap_section(ctx: ReportContext) -> str | Absent:
    """Topics down, targets across (long topic lists read and print better as rows)."""
    acc: HeatCollector | None = ctx.collector("heatmap")
    if acc is None or not acc.cells:
        return Absent("no responses")
    targets, topics, languages, conditions = acc.axes()
    index = {
        "t": {v: i for i, v in enumerate(targets)},
        "p": {v: i for i, v in enumerate(topics)},
        "l": {v: i for i, v in enumerate(languages)},
        "c": {v: i for i, v in enumerate(conditions)},
    }
    totals: dict[tuple[int, int], list[int]] = {}
    cells = []
    for (t, p, lang, cond), counts in acc.cells.items():
        ti, pi = index["t"][t], index["p"][p]
        cells.append([ti, pi, index["l"][lang], index["c"][cond], *counts])
        tot = totals.setdefault((ti, pi), [0] * 6)
        for i, v in enumerate(counts):
            tot[i] += v
    cells.sort()
    metrics = ["refusal", "evasion"] + (["echo"] if acc.has_stance else [])
    data = {
        "targets": targets,
        "topics": topics,
        "languages": languages,
        "conditions": conditions,
        "metrics": metrics,
        "metric_names": [METRICS[m] for m in metrics],
        "slots": ["n", "complete", "evasive", "denial", "echo_k", "echo_n"],
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
        if acc.has_stance
        else ""
    )
    locale = (
        '<label id="hm-condition-wrap">Locale (condition)<select id="hm-condition"></select></label>'
        if any(conditions)
        else ""
    )
    return f"""<p class="muted small">Shares of verdicts per target and topic, all suites together; hover a cell for its Wilson 95% interval, click it to list its responses below.{echo_note}</p>
<div id="hm-controls" class="controls" hidden>
<label>Metric<select id="hm-metric"></select></label>
<label>Language<select id="hm-language"></select></label>
{locale}
</div>
<p id="hm-facet" class="small">Refusal · all languages{" · all locales" if any(conditions) else ""}</p>
<div class="tablewrap"><table id="heatmap" class="heatmap">
<thead><tr><th scope="col">Topic</th>{head}</tr></thead>
<tbody>{"".join(body)}</tbody>
</table></div>
<script type="application/json" id="lw-heat">{blob_json(data)}</script>
"""
