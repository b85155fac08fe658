"""Splinter index across languages (and across conditions when the runs have several)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from latentwall.analysis import NotApplicable, SplinterResult, to_json
from latentwall.report._charts import splinter_chart
from latentwall.report._figdata import corrected_lookup, splinter_rows
from latentwall.report._figure import figures
from latentwall.report._format import corrected_html, esc, fmt_p, pct, pct_ci
from latentwall.report.sections import Absent, ReportContext, register

_TEST_NAMES = {"mcnemar": "McNemar", "cochran-q": "Cochran's Q"}


def _rate_td(r: Mapping[str, Any], corrected: Mapping[str, Any] | None = None) -> str:
    if r.get("rate") is None:
        return '<td class="rate">—</td>'
    return (f'<td class="rate" title="{esc(r["k"])} of {esc(r["n"])}">{pct(r["rate"])}'
            f'<span class="ci">[{pct_ci(r["lo"], r["hi"])}]</span>{corrected_html(corrected)}</td>')


def _stat_td(s: Mapping[str, Any]) -> str:
    if s.get("value") is None:
        return '<td class="rate">—</td>'
    return (f'<td class="rate" title="{esc(s["k"])} of {esc(s["n"])}">{pct(s["value"])}'
            f'<span class="ci">[{pct_ci(s["lo"], s["hi"])}]</span></td>')


def _na_section(sid: str, title: str, reason: str) -> str:
    return (f'<section id="{sid}"><h2>{esc(title)}</h2>'
            f'<p class="muted">Not applicable: {esc(reason)}</p></section>\n')


def splinter_section_html(result: Mapping[str, Any] | None,
                          corrected: Sequence[Mapping[str, Any]] | None = None) -> str | None:
    """The report section for a splinter result (escaped, no external resources).

    None only when there is no result at all; a not-applicable result renders as one line,
    so a reader sees why the section is empty rather than a silent zero. With `corrected`
    (the `corrected` analysis' pairs of this axis), each pair's refusal rates also show their
    misclassification-corrected values.
    """
    result = to_json(result)  # a typed result, or its document
    found = corrected_lookup(corrected, "target", "a", "b")
    if not result:
        return None
    axis = str(result.get("axis", "language"))
    sid = f"splinter-{'language' if axis == 'language' else 'condition'}"
    title = f"Splinter index across {'languages' if axis == 'language' else 'conditions'}"
    if result.get("not_applicable"):
        return _na_section(sid, title, str(result["not_applicable"]))
    parts = [f'<section id="{sid}"><h2>{esc(title)}</h2>',
             '<p class="muted small">Share of parallel questions whose verdict (COMPLETE, EVASIVE, '
             'DENIAL) differs between levels; samples collapse to their modal verdict; statuses are '
             f'left out. Intervals: bootstrap over question groups ({esc(result.get("n_boot"))} '
             'replicates). Tests on refused vs not: McNemar or Cochran\'s Q, Holm-adjusted.</p>']
    for t in result.get("targets", []):
        parts.append(f'<h3>{esc(t.get("target"))}</h3>')
        if t.get("not_applicable"):
            parts.append(f'<p class="muted">Not applicable: {esc(t["not_applicable"])}</p>')
            continue
        idx, test = t["index"], t["test"]
        drivers = ", ".join(f'{d["topic"]} ({d["n_divergent"]} of {d["n_units"]})' for d in t["drivers"])
        parts.append(
            f'<p><strong>{pct(idx["value"])}</strong> '
            f'<span class="muted">[{pct_ci(idx["lo"], idx["hi"])}]</span> of {esc(idx["n"])} parallel '
            f'units change verdict across {esc(", ".join(t["levels"]))} '
            f'({esc(idx["k"])} divergent). {esc(_TEST_NAMES.get(test.get("test", ""), ""))}: '
            f'p = {esc(fmt_p(test.get("p")))}, '
            f'Holm p = {esc(fmt_p(test.get("p_holm")))}.'
            + (f' Driven by: {esc(drivers)}.' if drivers else "") + '</p>')
        if t.get("stance"):
            s = t["stance"]["index"]
            parts.append(f'<p class="small">Stance divergence: {pct(s["value"])} '
                         f'[{pct_ci(s["lo"], s["hi"])}] of {esc(s["n"])} units with a stance.</p>')
        else:
            parts.append(f'<p class="small muted">{esc(t.get("stance_note") or "")}</p>')
        rows = []
        for p in t["pairs"]:
            m = p["mcnemar"]
            cp = found.get((t.get("target"), p["a"], p["b"])) or {}
            rows.append(
                f'<tr><td>{esc(p["a"])} vs {esc(p["b"])}</td>{_stat_td(p["discordant"])}'
                f'{_rate_td(p["refusal_a"], cp.get("refusal_a"))}{_rate_td(p["refusal_b"], cp.get("refusal_b"))}'
                f'<td class="num">{esc(m["b"])} / {esc(m["c"])}</td>'
                f'<td class="num">{esc(fmt_p(m["p"]))}</td>'
                f'<td>{esc(p["more_refused_in"] or "—")}</td></tr>')
        parts.append(
            '<div class="tablewrap"><table><caption>Per pair of levels: discordance with bootstrap '
            '95% interval, refusal rates on the shared units (Wilson 95%), McNemar discordant '
            'counts (refused only in the first / only in the second) and p.</caption>'
            '<thead><tr><th scope="col">Pair</th><th scope="col">Verdict differs</th>'
            '<th scope="col">Refusal (first)</th><th scope="col">Refusal (second)</th>'
            '<th scope="col" class="num">b / c</th><th scope="col" class="num">p</th>'
            '<th scope="col">More refused in</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')
        moved = [tp for tp in t["topics"] if tp["n_divergent"] > 0]
        if not moved:
            parts.append('<p class="small muted">No topic changes verdict across levels.</p>')
            continue
        trows = []
        for tp in moved[:15]:
            test_t = tp["test"] or {}
            trows.append(
                f'<tr><td>{esc(tp["topic"])}</td><td class="num">{esc(tp["n_divergent"])} / '
                f'{esc(tp["n_units"])}</td>{_rate_td(tp["rate"])}'
                f'<td class="num">{pct(tp["share_of_divergence"])}</td>'
                f'<td class="num">{esc(fmt_p(test_t.get("p")))}</td>'
                f'<td class="num">{esc(fmt_p(test_t.get("p_holm")))}</td></tr>')
        parts.append(
            '<div class="tablewrap"><table><caption>Topics with divergent units, most first'
            + (f' (first 15 of {len(moved)})' if len(moved) > 15 else '')
            + f'; {len(t["topics"]) - len(moved)} other topic(s) never diverge'
            + '; share = the topic\'s part of all divergent units; p on refused vs not, '
            'Holm-adjusted across every target and topic.</caption>'
            '<thead><tr><th scope="col">Topic</th><th scope="col" class="num">Divergent / units</th>'
            '<th scope="col">Rate [95% CI]</th><th scope="col" class="num">Share</th>'
            '<th scope="col" class="num">p</th><th scope="col" class="num">Holm p</th></tr></thead>'
            f'<tbody>{"".join(trows)}</tbody></table></div>')
    parts.append("</section>\n")
    return "\n".join(parts)


@register("splinter", "Splinter index", order=100, needs=("splinter_language", "splinter_condition"))
def render(ctx: ReportContext) -> str | Absent | None:
    parts: list[str] = []
    reasons: list[str] = []
    axes = ["language"] + (["condition"] if len(ctx.conditions) > 1 else [])
    for axis in axes:
        res: SplinterResult | NotApplicable = ctx.document[f"splinter_{axis}"]
        if res.reason:
            reasons.append(f"{axis}: {res.reason}")
            continue
        doc = res.to_dict()
        html = splinter_section_html(doc, ((ctx.corrected or {}).get("splinter") or {}).get(axis))
        if html:
            rows = splinter_rows(doc)
            chart = splinter_chart(rows, axis=axis, name=f"splinter-{axis}") if rows else None
            parts.append(figures([chart], ctx) + html)
    if not parts:
        return Absent("; ".join(reasons) or "no parallel groups in these runs")
    return "\n".join(parts)
