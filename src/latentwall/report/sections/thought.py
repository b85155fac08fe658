"""Thought suppression: reasoning trace present, absent, short per group."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from latentwall.analysis import SHORT_FRACTION, ThoughtSuppression, to_json
from latentwall.report._format import chars, esc, rate_html
from latentwall.report.sections import Absent, ReportContext, register


def thought_section_html(result: Mapping[str, Any]) -> str | None:
    """Table of trace present / absent / short per group; a clear note when not applicable."""
    result = to_json(result)  # a typed result, or its document
    if not result:
        return None
    if result.get("not_applicable"):
        return f'<p class="warn">Thought suppression: {esc(result["not_applicable"])}</p>'
    by = list(result.get("by") or [])
    notes = []
    for t, info in result.get("targets", {}).items():
        if info.get("not_applicable"):
            notes.append(f"<li>{esc(t)}: {esc(info['not_applicable'])}</li>")
        else:
            cm = ", ".join(f"{k}: {v:,.0f}" for k, v in info["control_median_chars"].items()) or "none"
            notes.append(
                f"<li>{esc(t)}: trace absent on controls {rate_html(info['controls']['absent'])}; "
                f"control median trace length (chars) {esc(cm)}"
                + (f" — {esc(info['note'])}" if info.get("note") else "") + "</li>")
    head = "".join(f'<th scope="col">{esc(b)}</th>' for b in by)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(g['key'].get(b))}</td>" for b in by)
        + f'<td class="num">{g["n"]:,}</td><td>{rate_html(g["present"])}</td><td>{rate_html(g["absent"])}</td>'
        f"<td>{rate_html(g['short'])}</td><td>{rate_html(g['suppressed'])}</td>"
        f'<td class="num">{chars(g["median_chars"])}</td></tr>'
        for g in result.get("groups", [])
    )
    frac = float(result.get("short_fraction", SHORT_FRACTION))
    return (
        f'<p class="muted small">Reasoning trace per response: absent = no or empty trace; short = under '
        f"{frac:.0%} of the same target's median trace length on control questions in the same language; "
        f"suppressed = absent or short. Wilson 95% intervals.</p>"
        f'<ul class="small">{"".join(notes)}</ul>'
        f'<div class="tablewrap"><table><thead><tr>{head}<th scope="col" class="num">n</th>'
        f'<th scope="col">Trace present</th><th scope="col">Absent</th><th scope="col">Short</th>'
        f'<th scope="col">Suppressed</th><th scope="col" class="num">Median chars</th></tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


@register("thought", "Thought suppression", analysis="thought_suppression", order=80)
def render(result: ThoughtSuppression, ctx: ReportContext) -> str | Absent | None:
    if not ctx.results:
        return Absent("no responses")
    if result.not_applicable:
        return Absent(result.not_applicable)
    return thought_section_html(result.to_dict())
