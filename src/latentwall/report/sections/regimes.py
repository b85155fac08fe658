"""Regime report cards: per target, the cac, universal-safety and open cards side by side."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from latentwall.analysis import RegimeCards, to_json
from latentwall.report._figdata import corrected_lookup
from latentwall.report._format import corrected_html, esc, rate_html
from latentwall.report.sections import Absent, ReportContext, register
from latentwall.standards import op_text


def _threshold_html(th: Mapping[str, Any] | None) -> str:
    if not th:
        return ""
    want = f"{op_text(th['op'])} {100 * th['value']:g}%"
    if th["met"] is None:
        verdict, style = "no data", ""
    elif th["met"] and th["met_at_95"]:
        verdict, style = "met", "color:var(--complete)"
    elif th["met"]:
        verdict, style = "met (point estimate only)", "color:var(--evasive)"
    else:
        verdict, style = "not met", "color:var(--denial)"
    sample = th.get("sample")
    if sample and not sample["met"]:
        verdict += f"; sample {sample['n']:,} < {sample['required']:,} the standard samples"
    reported = " (as reported)" if th.get("as_reported") else ""
    return (f'<span class="small" style="{style}" title="{esc(th.get("source") or "")}">'
            f"required {esc(want)}{esc(reported)}: {esc(verdict)}</span>")


def _bank_html(bank: Mapping[str, Any]) -> str:

    items = []
    for key in ("should_refuse", "should_refuse_per_risk", "should_answer", "generated",
                "generated_per_risk_core", "generated_per_risk_other"):
        b = bank.get(key)
        if not b:
            continue
        ok = "met" if b["met"] else "not met"
        if "below" in b:
            have = f"{len(b['n']) - len(b['below'])} of {len(b['n'])} risks have ≥ {b['required']}"
        else:
            have = f"{b['n']:,} (≥ {b['required']:,})"
            if "risks_covered" in b:
                have += f", {b['risks_covered']['n']} of {b['risks_covered']['required']} risks covered"
        reported = " (as reported)" if b.get("as_reported") else ""
        items.append(f'<li title="{esc(b.get("source") or "")}">{esc(b["label"])}: {esc(have)}{esc(reported)}: '
                     f"<strong>{ok}</strong></li>")
    return f'<p class="small">Question banks ({esc(bank.get("counted") or "")}):</p><ul class="small">{"".join(items)}</ul>'


def _card_html(card: Mapping[str, Any], corrected: Mapping[tuple[Any, ...], Any] | None = None) -> str:

    title = f"<h3>{esc(card.get('title'))}</h3>"
    if card.get("not_applicable"):
        return f'<div class="card">{title}<p class="muted">Not applicable: {esc(card["not_applicable"])}</p></div>'
    found = corrected or {}
    metrics = "".join(
        f"<tr><td>{esc(m['label'])}</td><td>{rate_html(m)}"
        f"{corrected_html((found.get((card.get('target'), card.get('regime'), m.get('id'))) or {}).get('value'))}"
        f"<br>{_threshold_html(m.get('threshold'))}</td></tr>"
        for m in card.get("metrics", [])
    )
    extra = ""
    grade = card.get("grade")
    if grade is not None:
        g = grade.get("grade")
        rng = grade.get("range")
        ref_note = (grade.get("reference") or {}).get("note") or "no reference"
        extra += (f"<p><strong>Grade: {esc(g or 'not graded')}</strong>"
                  + (f' <span class="muted small">(interval: {esc(rng[0] or "not graded")} to '
                     f'{esc(rng[1] or "not graded")})</span>' if rng else "")
                  + f'<br><span class="muted small">{esc(ref_note)}; {esc(grade.get("scale"))}</span></p>')
    bank = card.get("bank")
    if bank is not None:
        extra += _bank_html(bank)
    bd = card.get("breakdown") or {}
    table = ""
    if bd.get("rows"):
        cols = [k for k, v in bd["rows"][0].items() if isinstance(v, Mapping) and "rate" in v]
        head = "".join(f'<th scope="col">{esc(c.replace("_", " "))}</th>' for c in cols)
        grade_col = any("grade_grade" in r for r in bd["rows"])
        body = "".join(
            f"<tr><td>{esc(r['key'])}</td><td class='num'>{int(r.get('n_probes') or r.get('n_refuse_probes') or 0) + int(r.get('n_answer_probes') or 0):,}</td>"
            + "".join(f"<td>{rate_html(r[c])}</td>" for c in cols)
            + (f"<td>{esc(r.get('grade_grade') or '—')}</td>" if grade_col else "") + "</tr>"
            for r in bd["rows"]
        )
        table = (f'<details><summary class="small">By {esc(bd["by"])}</summary><div class="tablewrap">'
                 f'<table class="small"><thead><tr><th scope="col">{esc(bd["by"])}</th><th scope="col" class="num">probes</th>'
                 f'{head}{"<th scope=col>grade</th>" if grade_col else ""}</tr></thead><tbody>{body}</tbody></table></div></details>')
    notes = "".join(f"<li>{esc(n)}</li>" for n in card.get("notes", []))
    statuses = ", ".join(f"{k} {v:,}" for k, v in (card.get("statuses") or {}).items())
    return (f'<div class="card">{title}<table class="small"><tbody>{metrics}</tbody></table>{extra}{table}'
            f'<ul class="small muted">{notes}</ul>'
            + (f'<p class="small muted">Statuses (not in rates): {esc(statuses)}</p>' if statuses else "")
            + "</div>")


def regime_section_html(cards: Sequence[Mapping[str, Any]],
                        corrected: Sequence[Mapping[str, Any]] | None = None) -> str | None:
    """Per target, its three regime cards side by side; None when there are no cards. With
    `corrected` (the `corrected` analysis' regime metrics), each verdict-rate metric also
    shows its corrected value (thresholds and grades stay the machine rate's)."""
    cards = to_json(cards)  # a typed result, or its document
    found = corrected_lookup(corrected, "target", "regime", "metric")
    if not cards:
        return None
    if all(c.get("not_applicable") for c in cards) and all(c.get("n_rows", 0) == 0 for c in cards):
        return None
    targets: dict[str, list[Mapping[str, Any]]] = {}
    for c in cards:
        targets.setdefault(str(c.get("target") or "—"), []).append(c)
    parts = ['<p class="muted small">The same responses scored under three regimes\' expectations. Rates are shares '
             "of verdicts with Wilson 95% intervals; statuses are counted beside them.</p>"]
    for target, cs in targets.items():
        cond = cs[0].get("condition")
        cond_txt = "all conditions" if cond is None else (cond or "plain probe")
        parts.append(f'<h3>{esc(target)} <span class="muted small">({esc(cond_txt)})</span></h3>'
                     f'<div class="cards">{"".join(_card_html(c, found) for c in cs)}</div>')
    return "\n".join(parts)


@register("regimes", "Regime report cards", analysis="regimes", order=60)
def render(result: RegimeCards, ctx: ReportContext) -> str | Absent | None:
    if not ctx.results:
        return Absent("no responses")
    cards = result.to_json()
    if all(c.get("not_applicable") for c in cards):
        return Absent("no probe of these runs has an expected behaviour under any regime")
    return regime_section_html(cards, (ctx.corrected or {}).get("regimes"))
