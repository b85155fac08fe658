"""Narrative stance: the echo table beside refusal, per target, topic and language."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from latentwall.analysis import StanceSummary, to_json
from latentwall.judges.stance import INDEPENDENT, JUDGE_ERROR, MIXED, NOT_APPLICABLE, STATE_ALIGNED
from latentwall.report._charts import stance_chart
from latentwall.report._figdata import corrected_lookup, stance_rows
from latentwall.report._figure import figures
from latentwall.report._format import corrected_html, esc, rate_html
from latentwall.report.sections import Absent, ReportContext, register


def stance_section_html(summary: Mapping[str, Any], corrected: Sequence[Mapping[str, Any]] | None = None
                        ) -> str | None:
    """The narrative-stance table (echo next to refusal); None when nothing to show. With
    `corrected` (the `corrected` analysis' stance groups), refusal also shows its corrected
    value (echo is a share of stances, which the human sample does not check)."""
    summary = to_json(summary)  # a typed result, or its document
    if not summary or not summary.get("groups"):
        return None
    if summary.get("not_applicable"):
        return f'<p class="warn">Narrative stance not measured: {esc(summary["not_applicable"])}</p>'
    by = list(summary.get("by") or [])
    found = corrected_lookup(corrected, *by)
    head = "".join(f'<th scope="col">{esc(b)}</th>' for b in by)
    body = []
    for g in summary["groups"]:
        if not g["n_stance"] and not g["counts"].get(JUDGE_ERROR):
            continue
        keys = "".join(f"<td>{esc(g['key'].get(b))}</td>" for b in by)
        c = g["counts"]
        body.append(
            f"<tr>{keys}<td>{rate_html(g['refusal'])}"
            f"{corrected_html(_denial(found, tuple(g['key'].get(b) for b in by), corrected))}</td>"
            f"<td>{rate_html(g['echo'])}</td>"
            f"<td>{rate_html(g['independent'])}</td><td>{rate_html(g['mixed'])}</td>"
            f'<td class="num">{c.get(STATE_ALIGNED, 0):,} / {c.get(INDEPENDENT, 0):,} / {c.get(MIXED, 0):,}'
            f" / {c.get(NOT_APPLICABLE, 0):,} / {c.get(JUDGE_ERROR, 0):,}</td>"
            f"<td>{rate_html(g.get('fabrication'))}</td></tr>"
        )
    scorers = ", ".join(summary.get("scorers") or []) or "offline"
    return (
        f'<p class="muted small">Narrative echo = share of STATE_ALIGNED among answers with a determined '
        f"stance (STATE_ALIGNED, INDEPENDENT, MIXED) against the topic's fact sheet; Wilson 95% intervals. "
        f"Refusal = DENIAL share of verdicts in the same group. Scorer: {esc(scorers)}.</p>"
        f'<div class="tablewrap"><table><thead><tr>{head}<th scope="col">Refusal</th>'
        f'<th scope="col">Narrative echo</th><th scope="col">Independent</th><th scope="col">Mixed</th>'
        f'<th scope="col">SA / IND / MIX / N/A / error</th><th scope="col">Fabrication</th></tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _denial(found: Mapping[tuple[Any, ...], Any], key: tuple[Any, ...], corrected: Any) -> Any:
    if corrected is None:
        return None
    entry = found.get(key)
    return entry["rates"]["DENIAL"] if entry else {"status": "too_small", "reason": "no verdicts to correct"}


@register("stance", "Narrative stance", analysis="stance", order=50)
def render(summary: StanceSummary, ctx: ReportContext) -> str | Absent | None:
    if not ctx.results:
        return Absent("no responses")
    if summary.not_applicable:
        return Absent(f"narrative stance: {summary.not_applicable}")
    doc = summary.to_dict()
    html = stance_section_html(doc, (ctx.corrected or {}).get("stance") if ctx.corrected else None)
    rows = stance_rows(doc)
    return None if html is None else figures([stance_chart(rows)] if rows else [], ctx) + html
