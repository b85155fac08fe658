"""Capability tax: every target's accuracy on the capability suite against a baseline target."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from latentwall.analysis import CapabilityTaxes, to_json
from latentwall.report._charts import capability_chart
from latentwall.report._figdata import tax_rows
from latentwall.report._figure import figures
from latentwall.report._format import esc, rate_html
from latentwall.report.sections import Absent, ReportContext, register


def capability_section_html(results: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> str | None:
    """One table row per comparison (accuracy A, B, difference with interval); None if empty."""
    results = to_json(results)  # a typed result, or its document
    items = [results] if isinstance(results, Mapping) else list(results)
    if not items:
        return None
    rows, notes = [], []
    for r in items:
        if r.get("not_applicable"):
            notes.append(f"<li>{esc(r['not_applicable'])}</li>")
            continue
        a, b = r["a"], r["b"]
        primary = r["paired"]["b_minus_a"] if r.get("primary") == "paired" else r["b_minus_a"]

        def acc(side: Mapping[str, Any]) -> str:
            x = side["accuracy"]
            return rate_html({"k": x["correct"], "n": x["n"], "rate": x["accuracy"], "lo": x["lo"], "hi": x["hi"]})

        diff = (f'{100 * primary["estimate"]:+.1f} pts <span class="muted small">[{100 * primary["lo"]:+.1f}, '
                f'{100 * primary["hi"]:+.1f}] {esc(r.get("primary"))}</span>')
        style = "color:var(--denial)" if primary["significant"] and primary["estimate"] < 0 else ""
        rows.append(f"<tr><td>{esc(a['target'])}</td><td>{acc(a)}</td><td>{esc(b['target'])}</td><td>{acc(b)}</td>"
                    f'<td style="{style}">{diff}</td><td class="small">{esc(r["summary"])}</td></tr>')
    table = ""
    if rows:
        table = ('<div class="tablewrap"><table><thead><tr><th scope="col">A</th><th scope="col">Accuracy A</th>'
                 '<th scope="col">B</th><th scope="col">Accuracy B</th><th scope="col">B − A</th>'
                 f'<th scope="col">Reading</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>')
    return ('<p class="muted small">Accuracy on the capability suite (strict rule-based scoring; statuses excluded, '
            "refusals wrong), Wilson 95% intervals; B − A with a Newcombe 95% interval (paired when both answered "
            "the same probes).</p>" + table + (f'<ul class="small">{"".join(notes)}</ul>' if notes else ""))


@register("capability", "Capability tax", analysis="capability_tax", order=70)
def render(result: CapabilityTaxes, ctx: ReportContext) -> str | Absent | None:
    if result.reason:
        return Absent(result.reason)
    html = capability_section_html(result.to_json())
    charts = []
    for c in result.comparisons:
        d = c.to_dict()
        rows = tax_rows(d)
        if rows:
            a, b = str(d.get("a", {}).get("target")), str(d.get("b", {}).get("target"))
            charts.append(capability_chart(rows, a_name=a, b_name=b, name=f"capability-{b}"))
    return None if html is None else figures(charts, ctx) + html
