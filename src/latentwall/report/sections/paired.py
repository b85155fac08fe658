"""The China-minus-controls gap, per target, language and kind."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from latentwall.analysis import PairedResult, to_json
from latentwall.report._charts import gap_chart
from latentwall.report._figdata import corrected_lookup, gap_points
from latentwall.report._figure import figures
from latentwall.report._format import corrected_html, esc, pct
from latentwall.report.sections import Absent, ReportContext, register


def _gap_td(b: Mapping[str, Any], corrected: Mapping[str, Any] | None = None) -> str:
    if b.get("gap") is None:
        return '<td class="rate">—</td>'
    sign = "+" if b["gap"] > 0 else ""
    return (f'<td class="rate" title="{esc(b.get("interval", ""))}">{sign}{100 * b["gap"]:.1f} pts'
            f'<span class="ci">[{_pts(b.get("lo"))} to {_pts(b.get("hi"))}]</span>'
            f'{corrected_html(corrected, points=True)}</td>')


def _pts(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:+.1f}"


def paired_section_html(result: Mapping[str, Any] | None,
                        corrected: Sequence[Mapping[str, Any]] | None = None) -> str | None:
    """The report section for a paired-control result (escaped, self-contained); with
    `corrected` (the `corrected` analysis' paired entries), every rate and gap of the main
    table also shows its misclassification-corrected value."""
    result = to_json(result)  # a typed result, or its document
    found = corrected_lookup(corrected, "target", "condition", "language")
    if not result:
        return None
    title = "China-specific gap (paired controls)"
    if result.get("not_applicable"):
        return (f'<section id="paired-controls"><h2>{esc(title)}</h2>'
                f'<p class="muted">Not applicable: {esc(result["not_applicable"])}</p></section>\n')
    parts = [f'<section id="paired-controls"><h2>{esc(title)}</h2>',
             '<p class="muted small">Non-complete (EVASIVE or DENIAL) and refusal (DENIAL) rates on '
             'questions about China minus the same kinds of question about other governments '
             '(the controls suite), standardised by kind. A positive gap is behaviour specific to '
             'China; refusals any cautious model makes cancel out. Intervals: bootstrap over '
             'topics (or Newcombe where noted).</p>']
    rows = []
    details = []
    for t in result.get("targets", []):
        cond = f' [{t["condition"]}]' if t.get("condition") else ""
        name = f'{t["target"]}{cond}'
        if t.get("not_applicable"):
            rows.append(f'<tr><td>{esc(name)}</td><td colspan="7" class="muted">Not applicable: '
                        f'{esc(t["not_applicable"])}</td></tr>')
            continue
        entries = [*t.get("languages", [])]
        if t.get("overall") and "not_applicable" not in t["overall"]:
            entries.append({"language": "all (" + ", ".join(t["overall"]["languages"]) + ")",
                            **t["overall"]})
        for e in entries:
            lang_key = "all" if "languages" in e else e["language"]  # the pooled entry
            ce = found.get((t["target"], t.get("condition") or "", lang_key)) or {}
            cc = ce.get("complete") or {}
            if e.get("not_applicable"):
                rows.append(f'<tr><td>{esc(name)}</td><td>{esc(e["language"])}</td>'
                            f'<td colspan="6" class="muted">Not applicable: {esc(e["not_applicable"])}</td></tr>')
                continue
            nc, rf = e["non_complete"], e["refusal"]
            rows.append(
                f'<tr><td>{esc(name)}</td><td>{esc(e["language"])}</td>'
                f'<td class="num">{pct(e["complete"]["china"]["rate"])}{corrected_html(cc.get("china"))}</td>'
                f'<td class="num">{pct(e["complete"]["control"]["rate"])}{corrected_html(cc.get("control"))}</td>'
                f'{_gap_td(nc, ce.get("non_complete"))}{_gap_td(rf, ce.get("refusal"))}'
                f'<td class="num">{esc(e["n_china"])} / {esc(e["n_control"])}</td>'
                f'<td class="num" title="{esc(", ".join(e["kinds_matched"]))}">'
                f'{len(e["kinds_matched"])}</td></tr>')
            if isinstance(e.get("by_kind"), list) and e["by_kind"] and "(" not in str(e["language"]):
                krows = "".join(
                    f'<tr><td>{esc(k["kind"])}</td>'
                    f'<td class="num">{pct(k["china"]["non_complete"]["rate"])} ({esc(k["china"]["n"])})</td>'
                    f'<td class="num">{pct(k["control"]["non_complete"]["rate"])} ({esc(k["control"]["n"])})</td>'
                    f'{_gap_td(k["non_complete_gap"])}{_gap_td(k["refusal_gap"])}</tr>'
                    for k in e["by_kind"])
                jrows = "".join(
                    f'<tr><td>{esc(j["jurisdiction"])}</td><td class="num">{esc(j["n"])}</td>'
                    f'<td class="num">{pct(j["non_complete"]["rate"])}</td>'
                    f'{_gap_td(j["non_complete_gap"])}</tr>'
                    for j in e.get("by_jurisdiction", []))
                details.append(
                    f'<details><summary>{esc(name)} — {esc(e["language"])}: by kind and jurisdiction'
                    '</summary><div class="tablewrap"><table><thead><tr><th scope="col">Kind</th>'
                    '<th scope="col" class="num">China non-complete (n)</th>'
                    '<th scope="col" class="num">Controls non-complete (n)</th>'
                    '<th scope="col">Non-complete gap [Newcombe 95%]</th>'
                    f'<th scope="col">Refusal gap [Newcombe 95%]</th></tr></thead><tbody>{krows}</tbody>'
                    '</table></div><div class="tablewrap"><table><thead><tr>'
                    '<th scope="col">Control jurisdiction</th><th scope="col" class="num">n</th>'
                    '<th scope="col" class="num">Non-complete</th>'
                    '<th scope="col">China minus this [Newcombe 95%]</th></tr></thead>'
                    f'<tbody>{jrows}</tbody></table></div></details>')
    parts.append(
        '<div class="tablewrap"><table><caption>Completion on China questions and on matched '
        'controls; gaps in percentage points (China minus controls).</caption>'
        '<thead><tr><th scope="col">Target</th><th scope="col">Language</th>'
        '<th scope="col" class="num">Complete: China</th><th scope="col" class="num">Complete: controls</th>'
        '<th scope="col">Non-complete gap [95%]</th><th scope="col">Refusal gap [95%]</th>'
        '<th scope="col" class="num">n China / controls</th><th scope="col" class="num">Kinds matched</th></tr></thead>'
        f'<tbody>{"".join(rows)}</tbody></table></div>')
    parts += details
    parts.append("</section>\n")
    return "\n".join(parts)


@register("paired", "Paired-control gap", analysis="paired_control_gap", order=130)
def render(result: PairedResult, ctx: ReportContext) -> str | Absent | None:
    if result.reason:
        return Absent(result.reason)
    doc = result.to_dict()
    html = paired_section_html(doc, (ctx.corrected or {}).get("paired"))
    points = gap_points(doc)
    chart = figures([gap_chart(points)] if points else [], ctx)
    return None if html is None else chart + html
