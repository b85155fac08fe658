"""Charts placed in a report section: drawn as safe inline SVG, kept for `--figures`.

Sections call `figures(charts, ctx)`; without matplotlib (the `report` extra) the section
says how to get its charts instead of failing, and its tables are unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

from latentwall.report._charts import Chart
from latentwall.report._format import esc
from latentwall.report._render import chart_svg, matplotlib_available
from latentwall.report.sections import ReportContext

INSTALL_HINT = "Install the report extra for charts: pip install 'latentwall[report]' (pip install -e '.[report]' in a clone)."


def figures(charts: Sequence[Chart | None], ctx: ReportContext) -> str:
    """The charts as <figure>s with captions (recorded in ctx.charts for `--figures`);
    one install note for the lot when matplotlib is missing."""
    kept = [c for c in charts if c is not None]
    if not kept:
        return ""
    ctx.charts.extend(kept)
    if not ctx.draw_charts:
        return ""
    if not matplotlib_available():
        return f'<p class="note no-charts">{esc(INSTALL_HINT)}</p>\n'
    return "".join(
        f'<figure class="chart" data-chart="{esc(c.name)}">{chart_svg(c)}'
        f"<figcaption>{esc(c.caption)}</figcaption></figure>\n" for c in kept)
