"""White-box figures of `latentwall lab` results, when the report is given one (--lab)."""

from __future__ import annotations

from latentwall.lab import lab_sections_html
from latentwall.report._figdata import lab_charts
from latentwall.report._figure import figures
from latentwall.report.sections import Absent, ReportContext, register


@register("whitebox", "White-box figures", order=1000)
def render(ctx: ReportContext) -> str | Absent:
    """Figures of `latentwall lab` results passed as extras["lab"] (one result or a list)."""
    lab = ctx.extras.get("lab")
    if not lab:
        return Absent("no white-box lab result was given for this report (latentwall lab)")
    results = lab if isinstance(lab, list | tuple) else [lab]
    # lab_sections_html escapes every string it writes (with the one HTML escaper).
    charts = [c for r in results for c in lab_charts(dict(r))]
    return figures(charts, ctx) + "".join(lab_sections_html(dict(r)) for r in results)
