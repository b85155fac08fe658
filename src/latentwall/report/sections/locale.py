"""Locale conditioning: refusal and narrative echo per condition, with the change against
the plain probe."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from latentwall.analysis import LocaleEffects, to_json
from latentwall.report._figdata import corrected_lookup
from latentwall.report._format import corrected_html, esc, rate_html
from latentwall.report.sections import Absent, ReportContext, register


def locale_section_html(result: Mapping[str, Any], corrected: Sequence[Mapping[str, Any]] | None = None) -> str | None:
    """Refusal and echo per condition with the change against the baseline; a note if N/A.
    With `corrected` (the `corrected` analysis' locale entries), refusal and its change also
    show their misclassification-corrected values (echo is a stance share: not corrected)."""
    result = to_json(result)  # a typed result, or its document
    found = corrected_lookup(corrected, "target", "condition")
    if not result:
        return None
    if result.get("not_applicable"):
        return f'<p class="warn">Locale effects: {esc(result["not_applicable"])}</p>'

    def chg(c: Mapping[str, Any] | None) -> str:
        if not c:
            return '<span class="muted">—</span>'
        style = ' style="font-weight:600"' if c["significant"] else ""
        return (f'<span{style}>{100 * c["estimate"]:+.1f} pts</span> <span class="muted small">'
                f'[{100 * c["lo"]:+.1f}, {100 * c["hi"]:+.1f}]</span>')

    parts = [f'<p class="muted small">Per condition: refusal (DENIAL share of verdicts) and narrative echo '
             f"(STATE_ALIGNED share of determined stances), and the change against "
             f"'{esc(result.get('baseline') or 'plain')}' in points with a Newcombe 95% interval"
             + (f"; categories: {esc(', '.join(result['categories']))}" if result.get("categories") else "")
             + ".</p>"]
    for t in result.get("targets", []):
        parts.append(f"<h3>{esc(t['target'])}</h3>")
        if t.get("not_applicable"):
            parts.append(f'<p class="warn">{esc(t["not_applicable"])}</p>')
        cs = {c["condition"]: found.get((t["target"], c["condition"])) or {} for c in t["conditions"]}
        body = "".join(
            f"<tr><td>{esc(c['condition'] or 'plain')}</td><td class='num'>{c['n']:,}</td>"
            f"<td>{rate_html(c['refusal'])}{corrected_html(cs[c['condition']].get('refusal'))}</td>"
            f"<td>{chg(c['refusal_change'])}{corrected_html(cs[c['condition']].get('refusal_change'), points=True)}</td>"
            f"<td>{rate_html(c['echo'])}</td><td>{chg(c['echo_change'])}</td></tr>"
            for c in t["conditions"])
        parts.append('<div class="tablewrap"><table><thead><tr><th scope="col">Condition</th>'
                     '<th scope="col" class="num">Verdicts</th><th scope="col">Refusal</th><th scope="col">Δ refusal</th>'
                     '<th scope="col">Narrative echo</th><th scope="col">Δ echo</th></tr></thead>'
                     f"<tbody>{body}</tbody></table></div>")
    return "\n".join(parts)


@register("locale", "Locale conditioning", analysis="locale_effects", order=110)
def render(result: LocaleEffects, ctx: ReportContext) -> str | Absent | None:
    if not any(c.startswith("locale:") for c in ctx.conditions):
        return Absent("no locale conditions in these runs (run with --locale beijing,taipei,none)")
    if result.not_applicable:
        return Absent(str(result.not_applicable))
    return locale_section_html(result.to_dict(), (ctx.corrected or {}).get("locale")) or Absent("no locale effects to show")
