"""One self-contained HTML report: server-rendered summary plus a JS explorer over every response.

Model output is hostile input. Every model-derived string that Python writes into HTML goes
through `esc` (html.escape with quote=True after neutralising bidi overrides and control
characters); the responses travel in a JSON blob whose '<', '>', '&', U+2028 and U+2029 are
escaped so that nothing in it can close the script element, and the page's own script puts
them on screen with textContent only. A Content-Security-Policy with a hash of that one
script blocks every other script and every network fetch, as a second line of defence.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import IO, Any

from latentwall.analysis import DEFAULT_BY, GroupStats, Rate, Summary, effective_label, summarise
from latentwall.errors import LatentwallError
from latentwall.labels import STATUSES, VERDICTS, Verdict
from latentwall.report._escape import blob_json, esc, neutralise
from latentwall.report._sections import (
    Absent,
    Rendered,
    ReportContext,
    Section,
    make_collectors,
    register_section,
    render_sections,
    sections,
)

__all__ = ["BLOB_FIELDS", "SECTION_IDS", "blob_json", "esc", "neutralise", "write_report"]

REPORT_BY: tuple[str, ...] = (*DEFAULT_BY, "condition")
# Sections of a report over rows with data for each (plug-in sections add theirs between
# "consistency" and "methods"); header, methods and responses are always there.
SECTION_IDS: tuple[str, ...] = (
    "header",
    "headline",
    "heatmap",
    "breakdown",
    "consistency",
    "methods",
    "responses",
)
MAX_FIELD_CHARS = 100_000
UNJUDGED = "UNJUDGED"

# Fields of each response embedded for the explorer, in this order (rows are JSON arrays).
BLOB_FIELDS: tuple[str, ...] = (
    "run_id",
    "target",
    "suite",
    "topic",
    "language",
    "condition",
    "probe_id",
    "sample",
    "category",
    "kind",
    "jurisdiction",
    "label",
    "prompt",
    "text",
    "reasoning",
    "rationale",
    "evidence",
    "judge",
    "finish_reason",
    "status",
    "error",
    "model",
    "latency_s",
)
_NUMERIC_FIELDS = frozenset({"sample", "latency_s"})


def _asset(name: str) -> str:
    text = resources.files("latentwall.report").joinpath("assets", name).read_text("utf-8")
    if re.search(r"</(script|style)", text, re.IGNORECASE):
        raise ValueError(f"asset {name} must not contain a closing script/style tag")
    return text


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… [cut in the report: {len(text) - limit:,} more characters]"


def _blob_value(name: str, value: Any, limit: int) -> Any:
    if name in _NUMERIC_FIELDS:
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if name == "evidence":
        items = value if isinstance(value, list | tuple) else ([] if value is None else [value])
        return [_clip(neutralise(str(v)), limit) for v in items]
    if value is None:
        return None
    return _clip(neutralise(str(value)), limit)


def _blob_row(row: Mapping[str, Any], limit: int) -> list[Any]:
    out = []
    for name in BLOB_FIELDS:
        if name == "label":
            out.append(neutralise(effective_label(row) or UNJUDGED))
        elif name == "condition":
            out.append(neutralise(str(row.get("condition") or "")))
        else:
            out.append(_blob_value(name, row.get(name), limit))
    return out


# ---------------------------------------------------------------- formatting


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _ci(rate: Rate) -> str:
    if rate.rate is None:
        return "no verdicts"
    return f"{100 * (rate.lo or 0.0):.1f}–{100 * (rate.hi or 0.0):.1f}%"


def _heat(rate: Rate) -> str:
    return "" if rate.rate is None else f"heat-{round(rate.rate * 10)}"


def _rate_cell(rate: Rate, heat: bool = False) -> str:
    cls = "rate" + (f" {_heat(rate)}" if heat and rate.rate is not None else "")
    title = f"{rate.k} of {rate.n} verdicts; Wilson 95% interval {_ci(rate)}"
    if rate.rate is None:
        return f'<td class="{cls}" title="no verdicts">—</td>'
    return (
        f'<td class="{cls}" title="{esc(title)}">{_pct(rate.rate)}'
        f'<span class="ci">[{_ci(rate)}]</span></td>'
    )


def _statuses_text(g: GroupStats) -> str:
    parts = [f"{name} {n:,}" for name, n in g.statuses.items() if n]
    parts += [f"{name} {n:,}" for name, n in g.other_labels.items() if n]
    if g.n_unjudged:
        parts.append(f"not judged {g.n_unjudged:,}")
    return ", ".join(parts) if parts else "—"


def _fmt_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) if value else "—"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


def _visible_columns(summary: Summary) -> list[str]:
    """Grouping fields worth a column: drop those that are empty everywhere (e.g. condition)."""
    return [
        name
        for name in summary.by
        if name == "target" or any(v not in ("", None) for v in summary.values(name))
    ]


# ---------------------------------------------------------------- sections


def _header(
    runs: Sequence[Mapping[str, Any]], summary: Summary, version: str, toc: Sequence[Section]
) -> str:
    targets = [str(g.key["target"]) for g in summary.targets]
    suites = sorted({str(s) for s in summary.values("suite") if s not in (None, "")})
    languages = sorted({str(v) for v in summary.values("language") if v not in (None, "")})
    created = sorted(str(r["created"]) for r in runs if r.get("created"))
    finished = sorted(str(r["finished"]) for r in runs if r.get("finished"))
    judges = sorted({str(r["judge"]) for r in runs if r.get("judge")})
    n_verdicts = sum(g.n_verdicts for g in summary.targets)
    n_unjudged = sum(g.n_unjudged for g in summary.targets)
    status_totals = {s: sum(g.counts[s] for g in summary.targets) for s in STATUSES}
    status_text = ", ".join(f"{s} {n:,}" for s, n in status_totals.items() if n) or "none"
    dates = "—"
    if created:
        dates = f"{created[0]} → {finished[-1] if finished else 'not finished'}"
    run_items = "".join(
        f"<li><code>{esc(r.get('run_id'))}</code> {esc(r.get('target'))} "
        f'<span class="muted">({esc(r.get("status") or "unknown")})</span></li>'
        for r in runs
    )
    warnings = []
    unfinished = [r for r in runs if r.get("status") not in ("finished", None)]
    if unfinished:
        ids = ", ".join(esc(r.get("run_id")) for r in unfinished)
        warnings.append(
            f"Partial results: run(s) {ids} did not finish; rates cover what was collected."
        )
    if n_unjudged:
        warnings.append(
            f"{n_unjudged:,} responses are not judged yet and are left out of every rate."
        )
    warn_html = "".join(f'<p class="warn">{w}</p>' for w in warnings)
    title = ", ".join(targets) or "no targets"
    toc_items = "\n".join(f'<li><a href="#{esc(s.id)}">{esc(s.title)}</a></li>' for s in toc)
    return f"""<header id="header">
<h1>latentwall report</h1>
<p class="sub">{esc(title)} · generated {esc(datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))} by latentwall {esc(version)}</p>
<dl class="meta">
<dt>Targets</dt><dd>{esc(", ".join(targets) or "—")}</dd>
<dt>Suites</dt><dd>{esc(", ".join(suites) or "—")}</dd>
<dt>Languages</dt><dd>{esc(", ".join(languages) or "—")}</dd>
<dt>Dates</dt><dd>{esc(dates)}</dd>
<dt>Judge</dt><dd>{esc(", ".join(judges) or "—")}</dd>
<dt>Responses</dt><dd>{summary.n_rows:,} ({n_verdicts:,} verdicts; statuses: {esc(status_text)}; not judged: {n_unjudged:,})</dd>
<dt>Runs</dt><dd><ul class="small">{run_items or "<li>—</li>"}</ul></dd>
</dl>
{warn_html}
</header>
<nav id="toc"><ul>
{toc_items}
</ul></nav>
"""


def _card(g: GroupStats) -> str:
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
            f'<div class="v">{_pct(rate.rate)}</div>'
            f'<div class="ci">{esc(ci)}<br>{rate.k:,} / {rate.n:,}</div></div>'
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


def _headline(ctx: ReportContext) -> str:
    cards = "".join(_card(g) for g in ctx.summary.targets) or '<p class="muted">No responses.</p>'
    return f"""<p class="muted small">Rates are shares of verdicts (COMPLETE, EVASIVE, DENIAL); statuses are counted beside them, never inside.</p>
<div class="cards">{cards}</div>
"""


def _rates_table(groups: Sequence[GroupStats], columns: Sequence[str], caption: str) -> str:
    head = "".join(f'<th scope="col">{esc(c.capitalize())}</th>' for c in columns)
    body = []
    for g in groups:
        keys = "".join(
            f"<td>{esc(_fmt_value(g.key.get(c)) if g.key.get(c) != '' else '—')}</td>"
            for c in columns
        )
        body.append(
            f'<tr>{keys}<td class="num">{g.n:,}</td><td class="num">{g.n_verdicts:,}</td>'
            f"{_rate_cell(g.refusal, heat=True)}{_rate_cell(g.evasion)}{_rate_cell(g.complete)}"
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


def _breakdown(ctx: ReportContext) -> str | Absent:
    summary = ctx.summary
    if not summary.n_rows:
        return Absent("no responses")
    columns = _visible_columns(summary)
    return f"""<p class="muted small">Refusal cells are shaded by refusal rate:</p>
{_legend()}
<h3>By target and suite</h3>
{_rates_table(summary.target_suites, ["target", "suite"], "Rates among verdicts with Wilson 95% intervals; n counts every response.")}
<h3>By {esc(" × ".join(columns))}</h3>
{_rates_table(summary.groups, columns, "Rates among verdicts with Wilson 95% intervals; n counts every response.")}
"""


def _bucket_table(groups: Sequence[GroupStats], columns: Sequence[str]) -> str:
    head = "".join(f'<th scope="col">{esc(c.capitalize())}</th>' for c in columns)
    body = []
    for g in groups:
        keys = "".join(
            f"<td>{esc(_fmt_value(g.key.get(c)) if g.key.get(c) != '' else '—')}</td>"
            for c in columns
        )
        n = g.n_probes
        cells = "".join(
            f'<td class="num">{g.consistency[b]:,}'
            f'<span class="muted small"> ({_pct(g.consistency[b] / n if n else None)})</span></td>'
            for b in ("ALWAYS", "SOMETIMES", "NEVER")
        )
        body.append(f'<tr>{keys}<td class="num">{n:,}</td>{cells}</tr>')
    return f"""<div class="tablewrap"><table>
<thead><tr>{head}<th scope="col" class="num">Probes</th><th scope="col" class="num">Always refused</th>
<th scope="col" class="num">Sometimes</th><th scope="col" class="num">Never</th></tr></thead>
<tbody>{"".join(body)}</tbody>
</table></div>"""


def _consistency(ctx: ReportContext) -> str | Absent:
    summary = ctx.summary
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
<h3>By {esc(" × ".join(_visible_columns(summary)))}</h3>
{_bucket_table(summary.groups, _visible_columns(summary))}
"""


def _absent_notes(absent: Sequence[Rendered]) -> str:
    if not absent:
        return ""
    items = "".join(
        f"<li><strong>{esc(r.section.title)}</strong>: not available: {esc(r.why)}.</li>"
        for r in absent
    )
    return f'<h3>Not available in this report</h3>\n<ul id="not-available" class="small">{items}</ul>\n'


def _methods(runs: Sequence[Mapping[str, Any]], version: str, absent: Sequence[Rendered]) -> str:
    rows = []
    for r in runs:
        params = r.get("params") or {}
        if not isinstance(params, Mapping):
            params = {}
        counts = r.get("counts") or {}
        counts_text = (
            ", ".join(f"{k} {v}" for k, v in counts.items())
            if isinstance(counts, Mapping)
            else str(counts)
        )
        cells = [
            r.get("run_id"),
            r.get("target"),
            _fmt_value(r.get("suites")),
            _fmt_value(r.get("languages") or "all"),
            r.get("samples"),
            params.get("temperature"),
            params.get("top_p"),
            params.get("max_tokens"),
            params.get("seed"),
            r.get("judge"),
            r.get("latentwall_version"),
            r.get("status"),
            r.get("created"),
            r.get("finished"),
            counts_text,
        ]
        rows.append("<tr>" + "".join(f"<td>{esc(_fmt_value(c))}</td>" for c in cells) + "</tr>")
    infos = []
    for r in runs:
        info = r.get("target_info")
        if isinstance(info, Mapping) and info:
            items = "".join(
                f"<dt>{esc(k)}</dt><dd>{esc(_fmt_value(v)[:2000])}</dd>" for k, v in info.items()
            )
            infos.append(
                f'<h3>Target {esc(r.get("target"))} <span class="muted small">run {esc(r.get("run_id"))}</span></h3><dl class="meta small">{items}</dl>'
            )
    head = "".join(
        f'<th scope="col">{h}</th>'
        for h in (
            "Run",
            "Target",
            "Suites",
            "Languages",
            "Samples",
            "Temperature",
            "top_p",
            "max_tokens",
            "Seed",
            "Judge",
            "Version",
            "Status",
            "Created",
            "Finished",
            "Counts",
        )
    )
    return f"""<section id="methods">
<h2>Methods</h2>
<p>Each probe was sent to each target as configured below; each answer was labelled by the judge as
<strong>COMPLETE</strong> (does what was asked), <strong>EVASIVE</strong> (deflects, answers a different or
partial question, lectures) or <strong>DENIAL</strong> (refuses). Responses without a verdict carry a status:
ERROR (transport or provider failure), EMPTY, TRUNCATED (hit the token limit), FILTERED (a guard or provider
filter blocked it) or JUDGE_ERROR (the judge produced no label). Statuses are reported beside the rates and
never enter a denominator: a transport error is not a refusal.</p>
<p>Rates are k/n over verdicts in a group. Intervals are Wilson score intervals at 95% confidence
(z = 1.96), which stay inside [0, 1] and remain informative for small groups and rates near 0 or 1; they
describe sampling uncertainty for these probes only, not for other phrasings of a topic, and they treat
repeated samples of one probe as independent, which makes them somewhat too narrow when samples &gt; 1.
A group with no verdicts has no rate (shown as —), never zero. Refusal counts alone undercount censorship:
answers that follow a state narrative are COMPLETE here, their stance is a separate dimension.</p>
<div class="tablewrap"><table class="small">
<thead><tr>{head}</tr></thead>
<tbody>{"".join(rows) or '<tr><td colspan="15">No run metadata.</td></tr>'}</tbody>
</table></div>
{"".join(infos)}
<p>The heat map shows, per target and topic, the share of DENIAL (refusal) or EVASIVE (evasion)
among verdicts, summed over suites; its language and locale facets restrict it to one probe language or
one condition (the locale or persona a probe was put in). Where responses carry a narrative stance, the
narrative-echo metric is the share of STATE_ALIGNED among responses whose stance is STATE_ALIGNED,
INDEPENDENT or MIXED.</p>
{_absent_notes(absent)}<p class="small muted">Report generated by latentwall {esc(version)}.</p>
</section>
"""


def _responses_section(n_rows: int) -> str:
    selects = "".join(
        f'<label>{name.capitalize()}<select id="f-{name}"></select></label>'
        for name in ("target", "suite", "topic", "language", "condition", "label")
    )
    pager = (
        '<div class="pager">'
        '<button type="button" data-go="first">« First</button>'
        '<button type="button" data-go="prev">‹ Prev</button>'
        '<span class="pagenum"></span>'
        '<button type="button" data-go="next">Next ›</button>'
        '<button type="button" data-go="last">Last »</button>'
        '<span class="pageinfo muted"></span></div>'
    )
    return f"""<section id="responses">
<h2>Every response ({n_rows:,})</h2>
<noscript><p class="warn">The response explorer needs JavaScript; every response is also in the run's store and exports.</p></noscript>
<p class="printnote small muted">Printed copy: only the responses on the page shown at print time are included; the full set of {n_rows:,} responses is in the HTML file.</p>
<div id="resp-controls" class="controls" hidden>
{selects}
<label>Search text<input type="search" id="f-q" placeholder="prompt, answer, reasoning, rationale…" autocomplete="off"></label>
<label>Per page<select id="f-size"><option value="25">25</option><option value="50" selected>50</option><option value="100">100</option><option value="250">250</option></select></label>
</div>
{pager}
<div class="tablewrap"><table id="resp-table">
<thead><tr><th scope="col">Target / probe</th><th scope="col">Label</th><th scope="col">Prompt</th><th scope="col">Answer</th><th scope="col">Judge rationale / evidence</th></tr></thead>
<tbody id="resp-body"></tbody>
</table></div>
{pager}
</section>
"""


# ---------------------------------------------------------------- assembly


def _write_blob(fh: IO[str], rows: Iterable[Mapping[str, Any]], limit: int) -> int:
    """Stream the response rows into the page as JSON arrays; memory stays flat."""
    fh.write('<script type="application/json" id="lw-data">{"fields":')
    fh.write(blob_json(list(BLOB_FIELDS)))
    fh.write(',"rows":[')
    n = 0
    for row in rows:
        if n:
            fh.write(",")
        fh.write(blob_json(_blob_row(row, limit)))
        n += 1
    fh.write("]}</script>\n")
    return n


def _csp(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; "
        f"script-src 'sha256-{digest}'; "
        "style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )


def _max_samples(runs: Sequence[Mapping[str, Any]]) -> int | None:
    samples = [r.get("samples") for r in runs if isinstance(r.get("samples"), int)]
    return max(samples) if samples else None


def _tap(rows: Iterable[Mapping[str, Any]], collectors: Sequence[Any]) -> Iterator[Mapping[str, Any]]:
    """Feed every row to the section collectors on its way into `summarise` (one pass)."""
    for row in rows:
        for c in collectors:
            c.add(row)
        yield row


def _wrap(rendered: Rendered) -> str:
    s = rendered.section
    return f'<section id="{esc(s.id)}">\n<h2>{esc(s.title)}</h2>\n{rendered.html}</section>\n'


def write_report(
    runs: list[dict[str, Any]],
    rows_factory: Callable[[], Iterable[dict[str, Any]]],
    path: str | os.PathLike[str],
    *,
    max_field_chars: int = MAX_FIELD_CHARS,
    extras: Mapping[str, Any] | None = None,
    section_list: Sequence[Section] | None = None,
) -> Path:
    """Write one self-contained HTML report and return its path.

    `rows_factory` is called twice (summary pass, then the embedded responses), so rows
    stream from the store both times and are never all held in Python memory. The file is
    written beside its destination and renamed into place, so a failed render never leaves
    a half report behind. `extras` carries data that is not in the rows (e.g. "lab": a
    white-box lab result); `section_list` overrides the registered sections.
    """
    from latentwall import __version__

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    chosen = list(sections() if section_list is None else section_list)
    collectors, broken = make_collectors(chosen)
    summary = summarise(_tap(rows_factory(), list(collectors.values())), REPORT_BY)
    ctx = ReportContext(runs, summary, __version__, dict(extras or {}), collectors)
    rendered = render_sections(ctx, [s for s in chosen if s.id not in broken])
    rendered += [Rendered(s, None, why) for s in chosen if (why := broken.get(s.id))]
    present = [r for r in rendered if r.html is not None]
    absent = [r for r in rendered if r.html is None]
    toc = [
        *(r.section for r in present),
        Section("methods", "Methods", _no_render),
        Section("responses", "Responses", _no_render),
    ]
    css = _asset("report.css")
    script = _asset("report.js")
    targets = ", ".join(str(g.key["target"]) for g in summary.targets)
    head = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{esc(_csp(script))}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="latentwall {esc(__version__)}">
<title>latentwall report — {esc(targets[:200] or "no targets")}</title>
<style>
{css}
</style>
</head>
<body>
"""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", errors="replace", newline="\n") as fh:
            fh.write(head)
            fh.write(_header(runs, summary, __version__, toc))
            fh.write("<main>\n")
            for r in present:
                fh.write(_wrap(r))
            fh.write(_methods(runs, __version__, absent))
            fh.write(_responses_section(summary.n_rows))
            fh.write("</main>\n")
            fh.write(
                f"<footer>latentwall {esc(__version__)} · labels: {', '.join(VERDICTS)} (verdicts); {', '.join(STATUSES)} (statuses)</footer>\n"
            )
            _write_blob(fh, rows_factory(), max_field_chars)
            fh.write(f"<script>{script}</script>\n</body>\n</html>\n")
        os.replace(tmp, out)
    except OSError as exc:  # a full disk: one line, and no partial report left behind
        tmp.unlink(missing_ok=True)
        raise LatentwallError(f"cannot write {out}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out


def _no_render(ctx: ReportContext) -> None:
    """Placeholder renderer for the fixed sections listed in the table of contents."""
    return None


# Built-in sections. Other packages add theirs with `register_section` (or a line here with a
# "module:function" path, imported only when a report is written); they go before "whitebox".
register_section(Section("headline", "Headline", _headline, core=True))
register_section(
    Section(
        "heatmap",
        "Heat map",
        "latentwall.report._heatmap:heatmap_section",
        collect="latentwall.report._heatmap:HeatCollector",
        core=True,
    )
)
register_section(Section("breakdown", "Breakdown", _breakdown, core=True))
register_section(Section("consistency", "Consistency", _consistency, core=True))
# Analyses that live in latentwall.analysis (issues 4-5 and the lab): imported lazily, and
# not core, so a failure there is a note in methods, never a lost report.
for _id, _title, _module, _render, _collect in (
    ("stance", "Narrative stance", "_stance", "stance_report_section", "StanceCollector"),
    ("regimes", "Regime report cards", "_regimes", "regime_report_section", "RegimeCollector"),
    ("capability", "Capability tax", "_capability", "capability_report_section",
     "CapabilityCollector"),
    ("thought", "Thought suppression", "_reasoning", "thought_report_section", "ThoughtCollector"),
    ("diversity", "Answer diversity", "_diversity", "diversity_report_section",
     "DiversityCollector"),
):
    register_section(Section(_id, _title, f"latentwall.analysis.{_module}:{_render}",
                             collect=f"latentwall.analysis.{_module}:{_collect}"))
register_section(Section("splinter", "Splinter index", "latentwall.report._analysis_sections:splinter_section",
                         collect="latentwall.report._analysis_sections:TrimmedRows"))
register_section(Section("locale", "Locale conditioning", "latentwall.report._analysis_sections:locale_section",
                         collect="latentwall.report._analysis_sections:TrimmedRows"))
register_section(Section("guards", "Strategies and guards", "latentwall.report._analysis_sections:guards_section",
                         collect="latentwall.report._analysis_sections:GuardRows"))
register_section(Section("paired", "Paired-control gap", "latentwall.report._analysis_sections:paired_section",
                         collect="latentwall.report._analysis_sections:TrimmedRows"))
register_section(
    Section("whitebox", "White-box figures", "latentwall.report._sections:whitebox_section")
)
