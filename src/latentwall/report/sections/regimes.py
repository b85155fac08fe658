"""Regime report cards: per target, the cac, universal-safety and open cards side by side."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from latentwall.analysis import RegimeCards, corrected_grade, corrected_threshold, to_json
from latentwall.report._figdata import corrected_lookup
from latentwall.report._format import corrected_html, esc, rate_html
from latentwall.report.sections import Absent, ReportContext, register
from latentwall.standards import op_text


def _verdict(met: bool | None, met_at_95: bool | None) -> tuple[str, str]:
    """A threshold's verdict in words and its colour, the same for machine and corrected."""
    if met is None:
        return "no data", ""
    if met and met_at_95:
        return "met", "color:var(--complete)"
    if met:
        return "met (point estimate only)", "color:var(--evasive)"
    return "not met", "color:var(--denial)"


CHANGES = '<strong class="after-correction changes">changes after correction</strong>'


def _threshold_html(th: Mapping[str, Any] | None, corrected: Mapping[str, Any] | None = None) -> str:
    """The machine rate's verdict on the threshold and, with a corrected figure, the verdict
    the corrected rate gets (flagged when it differs)."""
    if not th:
        return ""
    want = f"{op_text(th['op'])} {100 * th['value']:g}%"
    verdict, style = _verdict(th["met"], th["met_at_95"])
    sample = th.get("sample")
    if sample and not sample["met"]:
        verdict += f"; sample {sample['n']:,} < {sample['required']:,} the standard samples"
    reported = " (as reported)" if th.get("as_reported") else ""
    out = (f'<span class="small" style="{style}" title="{esc(th.get("source") or "")}">'
           f"required {esc(want)}{esc(reported)}: {esc(verdict)}</span>")
    after = corrected_threshold(th, corrected)
    if after is not None:
        c_verdict, c_style = _verdict(after["met"], after["met_at_95"])
        out += (f'<br><span class="corrected small" style="{c_style}" title="the threshold applied to the '
                f'misclassification-corrected rate and its 95% interval">→ corrected: {esc(c_verdict)}</span>'
                + (f" {CHANGES}" if after["changed"] else ""))
    return out


def _grade_html(grade: Mapping[str, Any], corrected: Mapping[str, Any] | None) -> str:
    """The grade the corrected unsafe rate would get, against the machine grade's reference
    ('' without a corrected figure), flagged when it differs."""
    after = corrected_grade(grade, corrected)
    if after is None:
        return ""
    rng = after.get("range")
    span = (f' (interval: {rng[0] or "not graded"} to {rng[1] or "not graded"})' if rng else "")
    return (f'<br><span class="corrected small" title="the grade of the misclassification-corrected unsafe rate, '
            f'against the same reference rate as the machine grade">→ corrected grade: '
            f'{esc(after["grade"] or "not graded")}{esc(span)}</span>' + (f" {CHANGES}" if after["changed"] else ""))


def _corrected_value(found: Mapping[tuple[Any, ...], Any] | None, card: Mapping[str, Any], metric: Any,
                     part: Any = "") -> Mapping[str, Any] | None:
    """A card metric's (part "") or breakdown cell's corrected figure; None without one."""
    return ((found or {}).get((card.get("target"), card.get("regime"), metric, part)) or {}).get("value")


def _row_grade(row: Mapping[str, Any]) -> dict[str, Any]:
    """A breakdown row's grade_* fields as a grade (the shape of a card's grade)."""
    return {k.removeprefix("grade_"): v for k, v in row.items() if k.startswith("grade_")}


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
    def value(metric: Any, part: Any = "") -> Mapping[str, Any] | None:
        return _corrected_value(corrected, card, metric, part)

    metrics = "".join(
        f"<tr><td>{esc(m['label'])}</td><td>{rate_html(m)}{corrected_html(value(m.get('id')))}"
        f"<br>{_threshold_html(m.get('threshold'), value(m.get('id')))}</td></tr>"
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
                  + _grade_html(grade, value("unsafe"))
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

        def row_grade(r: Mapping[str, Any]) -> str:
            return f"<td>{esc(r.get('grade_grade') or '—')}{_grade_html(_row_grade(r), value('unsafe', r['key']))}</td>"

        body = "".join(
            f"<tr><td>{esc(r['key'])}</td><td class='num'>{int(r.get('n_probes') or r.get('n_refuse_probes') or 0) + int(r.get('n_answer_probes') or 0):,}</td>"
            + "".join(f"<td>{rate_html(r[c])}{corrected_html(value(c, r['key']) if r[c].get('n') else None)}</td>"
                      for c in cols)
            + (row_grade(r) if grade_col else "") + "</tr>"
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


def regime_flags(cards: Sequence[Mapping[str, Any]], corrected: Sequence[Mapping[str, Any]] | None) -> list[str]:
    """Each threshold verdict and grade of the cards that correction changes, in words (for
    the review section's list): the same checks the cards flag."""
    found = corrected_lookup(corrected, "target", "regime", "metric", "part")
    out = []
    for card in to_json(cards):
        if card.get("not_applicable"):
            continue
        where = f"{card.get('target')} · {card.get('title')}"

        def value(metric: Any, part: Any = "", card: Mapping[str, Any] = card) -> Mapping[str, Any] | None:
            return _corrected_value(found, card, metric, part)

        for m in card.get("metrics", []):
            th = m.get("threshold")
            after = corrected_threshold(th, value(m.get("id")))
            if th and after and after["changed"]:
                out.append(f"{where} · {m['label']}: threshold {_verdict(th['met'], th['met_at_95'])[0]} → "
                           f"corrected {_verdict(after['met'], after['met_at_95'])[0]}")
        grades = [("overall", card.get("grade"), value("unsafe"))] if card.get("grade") else []
        grades += [(r["key"], _row_grade(r), value("unsafe", r["key"]))
                   for r in (card.get("breakdown") or {}).get("rows", []) if "grade_grade" in r]
        for name, grade, v in grades:
            after = corrected_grade(grade, v)
            if after and after["changed"]:
                out.append(f"{where} · grade ({name}): {grade.get('grade') or 'not graded'} → corrected "
                           f"{after['grade'] or 'not graded'}")
    return out


def regime_section_html(cards: Sequence[Mapping[str, Any]],
                        corrected: Sequence[Mapping[str, Any]] | None = None) -> str | None:
    """Per target, its three regime cards side by side; None when there are no cards. With
    `corrected` (the `corrected` analysis' regime metrics), each verdict-rate metric and
    breakdown cell also shows its corrected value, each threshold the verdict the corrected
    rate gets and each grade the corrected grade, flagged where they differ."""
    cards = to_json(cards)  # a typed result, or its document
    found = corrected_lookup(corrected, "target", "regime", "metric", "part")
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
