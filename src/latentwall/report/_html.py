"""One self-contained HTML report: the analyses document rendered section by section, plus a
JS explorer over every response.

The page is built from the analyses document of the results (each section draws one
analysis's typed result, `report/sections/`), as inspect_ai renders its log and garak its
digest: analysis computes, the report renders.

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
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import IO, Any

from latentwall.analysis import DEFAULT_BY, AnalysisOptions, Summary, analyses_document
from latentwall.errors import LatentwallError
from latentwall.judges.stance import with_stance
from latentwall.labels import STATUSES, VERDICTS
from latentwall.records import Result, as_results
from latentwall.report._format import blob_json, esc, fmt_value, neutralise
from latentwall.report._names import DisplayName, TargetIdentity, display_names
from latentwall.report.sections import (
    Rendered,
    ReportContext,
    Section,
    render_sections,
    sections,
)

__all__ = ["BLOB_FIELDS", "SECTION_IDS", "blob_json", "esc", "neutralise", "options_from_extras", "write_report"]

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
# Beyond this many responses the page inlines only the first ones and points to
# `latentwall view` (paged from the store) for the rest: the file stays small and opens fast.
MAX_INLINE_RESPONSES = 20_000
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


def _blob_row(row: Result, limit: int) -> list[Any]:
    out = []
    for name in BLOB_FIELDS:
        if name == "label":
            out.append(neutralise(row.label or UNJUDGED))
        elif name == "condition":
            out.append(neutralise(str(row.condition or "")))
        else:
            out.append(_blob_value(name, getattr(row, name), limit))
    return out


# ---------------------------------------------------------------- names


def target_names(results: Iterable[Result], given: Mapping[str, str] | None = None) -> dict[str, DisplayName]:
    """Display names of the results' models (bare targets, without a guard suffix): the
    user's `--name`, else the one model the rows record, else the spec shortened."""
    models: dict[str, dict[str, None]] = {}
    for r in results:
        seen = models.setdefault(r.bare_target, {})
        if r.model and str(r.model) != r.bare_target:  # a model that is its spec says nothing more
            seen.setdefault(str(r.model), None)
    given = dict(given or {})
    # A model recorded by several targets (one model under several settings) names none of
    # them: their specs tell them apart.
    shared = {m for spec, ms in models.items() for m in ms
              if sum(m in other for other in models.values()) > 1}
    idents = [TargetIdentity(spec, tuple(m for m in ms if m not in shared), given.get(spec))
              for spec, ms in models.items()]
    return display_names(idents)


# Repeated per row and interned by `Slim`; the answer text is not.
_SHARED_STR = ("run_id", "target", "probe_id", "suite", "topic", "language", "category", "kind", "group",
               "jurisdiction", "risk_code", "hazard", "answer", "condition", "finish_reason", "status", "model",
               "judge_label", "judge", "guard_spec", "stance")
# What the analyses read of a stored stance's detail (analysis/_stance.py).
_STANCE_KEYS = ("label", "scorer", "reason", "fabrication")


class Slim:
    """The compact copy of each result the report's analyses keep, sharing what rows repeat.

    Rows read from the store carry fresh copies of every target, topic, language and
    `expected` mapping; at 100,000 responses those copies are most of the report's memory.
    Here equal values are one object and the stance detail keeps only what the analyses read.
    """

    def __init__(self) -> None:
        self._strings: dict[str, str] = {}
        self._shared: dict[str, Any] = {}

    def _str(self, value: Any) -> Any:
        return self._strings.setdefault(value, value) if isinstance(value, str) else value

    def _same(self, value: Any) -> Any:
        if not value:
            return value
        try:
            key = repr(sorted(value.items())) if isinstance(value, Mapping) else repr(value)
        except TypeError:
            return value
        return self._shared.setdefault(key, value)

    def __call__(self, r: Result) -> Result:
        detail = r.stance_detail
        if isinstance(detail, Mapping):
            detail = self._same({k: detail[k] for k in _STANCE_KEYS if k in detail})
        changes: dict[str, Any] = {f: self._str(getattr(r, f)) for f in _SHARED_STR}
        return replace(r.compact(), **changes, expected=self._same(r.expected), tags=self._same(r.tags),
                       stance_detail=detail)


def renamed(r: Result, names: Mapping[str, str]) -> Result:
    """The result under its target's display name (a guard suffix kept as the runner writes it)."""
    bare = r.bare_target
    short = names.get(bare)
    if short is None or short == bare:
        return r
    target = str(r.target or "")
    return replace(r, target=short + target[len(bare):], guard_spec=r.guard_spec)




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


def _absent_notes(absent: Sequence[Rendered]) -> str:
    if not absent:
        return ""
    items = "".join(
        f"<li><strong>{esc(r.section.title)}</strong>: not available: {esc(r.why)}.</li>"
        for r in absent
    )
    return f'<h3>Not available in this report</h3>\n<ul id="not-available" class="small">{items}</ul>\n'


def _names_table(names: Mapping[str, DisplayName]) -> str:
    if not names:
        return ""
    source = {"name": "given with --name", "model": "the model the responses record", "spec": "the spec, shortened"}
    rows = "".join(f"<tr><td>{esc(d.short)}</td><td><code>{esc(d.full)}</code></td><td>{esc(source.get(d.source, d.source))}</td></tr>"
                   for d in sorted(names.values(), key=lambda d: d.short.casefold()))
    return f"""<h3>Target names</h3>
<p class="small muted">Tables and charts name each target by its display name; the spec it was run with is kept here.</p>
<div class="tablewrap"><table class="small"><thead><tr><th scope="col">Name</th><th scope="col">Target spec</th><th scope="col">Name from</th></tr></thead>
<tbody>{rows}</tbody></table></div>
"""


def _methods(runs: Sequence[Mapping[str, Any]], version: str, absent: Sequence[Rendered],
             names: Mapping[str, DisplayName] | None = None) -> str:
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
            fmt_value(r.get("suites")),
            fmt_value(r.get("languages") or "all"),
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
        rows.append("<tr>" + "".join(f"<td>{esc(fmt_value(c))}</td>" for c in cells) + "</tr>")
    infos = []
    for r in runs:
        info = r.get("target_info")
        if isinstance(info, Mapping) and info:
            items = "".join(
                f"<dt>{esc(k)}</dt><dd>{esc(fmt_value(v)[:2000])}</dd>" for k, v in info.items()
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
{_names_table(names or {})}{"".join(infos)}
<p>The heat map shows, per target and topic, the share of EVASIVE + DENIAL (not complete, the default), DENIAL (refusal) or EVASIVE (evasion)
among verdicts, summed over suites; its language and locale facets restrict it to one probe language or
one condition (the locale or persona a probe was put in). Where responses carry a narrative stance, the
narrative-echo metric is the share of STATE_ALIGNED among responses whose stance is STATE_ALIGNED,
INDEPENDENT or MIXED.</p>
{_absent_notes(absent)}<p class="small muted">Report generated by latentwall {esc(version)}.</p>
</section>
"""


def _responses_section(n_rows: int, n_inline: int | None = None, runs: Sequence[Mapping[str, Any]] = ()) -> str:
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
{_cap_note(n_rows, n_inline, runs)}<noscript><p class="warn">The response explorer needs JavaScript; every response is also in the run's store and exports.</p></noscript>
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


def _cap_note(n_rows: int, n_inline: int | None, runs: Sequence[Mapping[str, Any]]) -> str:
    if n_inline is None or n_inline >= n_rows:
        return ""
    ids = " ".join(str(r.get("run_id")) for r in runs if r.get("run_id"))[:400]
    return (f'<p class="warn" id="resp-capped">This file holds the first {n_inline:,} of {n_rows:,} responses (the rates, '
            f"charts and heat map above count all of them). Browse every response, paged from the store, with "
            f"<code>latentwall view {esc(ids)}</code>; raise the limit with <code>latentwall report --max-responses N</code>.</p>\n")


# ---------------------------------------------------------------- assembly


def _write_blob(fh: IO[str], rows: Iterable[Result], limit: int, cap: int | None = None) -> int:
    """Stream the response rows into the page as JSON arrays (at most `cap`); memory stays flat."""
    fh.write('<script type="application/json" id="lw-data">{"fields":')
    fh.write(blob_json(list(BLOB_FIELDS)))
    fh.write(',"rows":[')
    n = 0
    for row in rows:
        if cap is not None and n >= cap:
            break
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


def options_from_extras(extras: Mapping[str, Any]) -> AnalysisOptions:
    """The analysis options a report's extras ask for: the regime reference (target names,
    comma-separated), the capability baseline, embedding dispersion."""
    wanted = extras.get("regime_reference")
    names = tuple(n.strip() for n in (wanted.split(",") if isinstance(wanted, str) else wanted or ()) if n.strip())
    return AnalysisOptions(by_condition=True, embeddings=bool(extras.get("diversity_embeddings")),
                           regime_reference=names or None,
                           capability_baseline=extras.get("capability_baseline") or None,
                           summary_by=REPORT_BY)


def _wrap(rendered: Rendered) -> str:
    s = rendered.section
    return f'<section id="{esc(s.id)}">\n<h2>{esc(s.title)}</h2>\n{rendered.html}</section>\n'


def write_report(
    runs: list[dict[str, Any]],
    rows_factory: Callable[[], Iterable[Result | Mapping[str, Any]]],
    path: str | os.PathLike[str],
    *,
    max_field_chars: int = MAX_FIELD_CHARS,
    extras: Mapping[str, Any] | None = None,
    section_list: Sequence[Section] | None = None,
    names: Mapping[str, str] | None = None,
    max_responses: int | None = MAX_INLINE_RESPONSES,
    figures_dir: str | os.PathLike[str] | None = None,
    charts: bool = True,
) -> Path:
    """Write one self-contained HTML report and return its path.

    `rows_factory` is called twice: once for the analyses (which keep a compact copy of
    each result: no prompt, trace or rationale), then for the embedded responses, streamed.
    Results without a stored narrative stance are scored offline on the way. The file is
    written beside its destination and renamed into place, so a failed render never leaves
    a half report behind. `extras` carries what is not in the rows ("lab": a white-box lab
    result; "regime_reference", "capability_baseline", "diversity_embeddings": analysis
    options); `section_list` overrides the registered sections.
    """
    from latentwall import __version__

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    chosen = list(sections() if section_list is None else section_list)
    extras = dict(extras or {})
    slim = Slim()
    results = [slim(r) for r in with_stance(rows_factory())]
    display = target_names(results, names)
    short = {spec: d.short for spec, d in display.items()}
    for i, r in enumerate(results):  # in place: no second list of 100,000 results
        results[i] = renamed(r, short)
    del slim
    for key in ("regime_reference", "capability_baseline"):  # given as specs or as names
        if isinstance(extras.get(key), str):
            extras[key] = ",".join(short.get(v.strip(), v.strip()) for v in extras[key].split(","))
    options = options_from_extras(extras)
    # "corrected": every table's corrected rates, when the runs have a random human sample.
    needed = list(dict.fromkeys(["summary", *(a for s in chosen for a in s.analyses), "corrected"]))
    document = analyses_document(results, options, names=needed, keep_going=True)
    if "summary" in document.errors:
        raise RuntimeError(f"summary failed: {document.errors['summary']}")
    summary: Summary = document["summary"]
    ctx = ReportContext(runs, summary, __version__, extras, results, document, options, names=short,
                        draw_charts=charts)
    rendered = render_sections(ctx, chosen)
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
            fh.write(_methods(runs, __version__, absent, display))
            fh.write(_responses_section(summary.n_rows, max_responses, runs))
            fh.write("</main>\n")
            fh.write(
                f"<footer>latentwall {esc(__version__)} · labels: {', '.join(VERDICTS)} (verdicts); {', '.join(STATUSES)} (statuses)</footer>\n"
            )
            _write_blob(fh, (renamed(r, short) for r in as_results(rows_factory())), max_field_chars, max_responses)
            fh.write(f"<script>{script}</script>\n</body>\n</html>\n")
        os.replace(tmp, out)
    except OSError as exc:  # a full disk: one line, and no partial report left behind
        tmp.unlink(missing_ok=True)
        raise LatentwallError(f"cannot write {out}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if figures_dir is not None:
        from latentwall.report._figures import write_figures

        write_figures(ctx.charts, figures_dir, sources=[str(r.get("run_id")) for r in runs if r.get("run_id")])
    return out


def _no_render(ctx: ReportContext) -> None:
    """Placeholder renderer for the fixed sections listed in the table of contents."""
    return None
