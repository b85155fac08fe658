"""Findings in words, at the top: per target, its overall shares, then the differences the
data support (China questions vs matched controls, the same questions across languages),
each with its interval and test; where the data do not support a claim, it says so."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from latentwall.analysis import Summary
from latentwall.report._figdata import gap_comparisons, language_comparisons, overviews
from latentwall.report._findings import findings, findings_html
from latentwall.report.sections import Absent, ReportContext, register


def _correction_note(corr: Mapping[str, Any] | None) -> str:
    if corr is None:
        return ""
    return ('\n<p class="muted small">Each finding is also re-checked after correcting for the judge\'s errors, '
            f"estimated from {int(corr.get('n_labels') or 0):,} random-sample human labels: it "
            "<strong>changes</strong> when the corrected difference points the other way or gains or loses its 95% "
            "significance, <strong>holds</strong> otherwise; the corrected interval covers both the run's sampling "
            "error and the judge's confusion (docs/review.md).</p>")


@register("findings", "Findings", analysis="summary", order=5, needs=("paired_control_gap", "splinter_language"))
def render(summary: Summary, ctx: ReportContext) -> str | Absent:
    if not summary.n_rows:
        return Absent("no responses")
    comparisons = []
    # With a random human sample, each sentence also says what correction for the judge's
    # errors does to it (docs/review.md); without one, `corr` is None and nothing changes.
    corr = ctx.corrected
    paired = ctx.document.get("paired_control_gap") if "paired_control_gap" not in ctx.document.errors else None
    if paired is not None and not getattr(paired, "reason", None):
        comparisons += gap_comparisons(paired.to_dict(), corrected=None if corr is None else corr.get("paired") or [])
    splinter = ctx.document.get("splinter_language") if "splinter_language" not in ctx.document.errors else None
    if splinter is not None and not getattr(splinter, "reason", None):
        comparisons += language_comparisons(
            splinter.to_dict(), corrected=None if corr is None else (corr.get("splinter") or {}).get("language") or [])
    targets = None if corr is None else (corr.get("summary") or {}).get("targets") or []
    words = findings(comparisons, overviews=overviews(summary.targets, corrected=targets), per_target=4)
    note = ("" if comparisons else
            '<p class="muted small">No paired controls or parallel languages in these runs: no comparison to state.</p>')
    return f"""<p class="muted small">Generated from the analyses below. A difference is stated only when both sides have
at least 10 answers with a verdict, the difference's 95% interval excludes zero, its test (where one was run) gives
p &lt; 0.05 and the two rates' own intervals do not overlap; otherwise the sentence says there is no clear difference.</p>{_correction_note(corr)}
<div class="findings">{findings_html(words)}</div>
{note}"""
