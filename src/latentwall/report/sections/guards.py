"""Strategies and guards: what leaks, what is blocked by mistake, which layer stops what."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from latentwall.analysis import LAYERS, StrategyMetrics, sort_key, to_json
from latentwall.report._charts import leakage_chart
from latentwall.report._figdata import corrected_lookup, leakage_bars
from latentwall.report._figure import figures
from latentwall.report._format import corrected_html, esc, pct
from latentwall.report.sections import Absent, ReportContext, register


def _sort(items: Any) -> list[tuple[Any, ...]]:
    return sorted(items, key=sort_key)


def _rate_td(r: Mapping[str, Any] | None, corrected: Mapping[str, Any] | None = None) -> str:
    """A machine rate cell and, with a random human sample, its corrected rate below it."""
    if not r or r.get("rate") is None:
        return '<td class="rate">—</td>'
    title = f"{r['k']} of {r['n']}; Wilson 95% interval {pct(r['lo'])}–{pct(r['hi'])}"
    return (f'<td class="rate" title="{esc(title)}">{pct(r["rate"])}'
            f'<span class="ci">[{pct(r["lo"])}–{pct(r["hi"])}]</span>{corrected_html(corrected)}</td>')


def _diff_td(a: Mapping[str, Any] | None, corrected: Mapping[str, Any] | None = None) -> str:
    """Attack success in points and, with a random human sample, its corrected difference."""
    if not a or a.get("diff") is None:
        return '<td class="rate">—</td>'
    def pts(x: float | None) -> str:
        return "—" if x is None else f"{100 * x:+.1f}"
    p = a["mcnemar"]["p"]
    title = f"{a['n_pairs']} pairs; McNemar p = {p:.3g} ({a['mcnemar']['method']})"
    return (f'<td class="rate" title="{esc(title)}">{pts(a["diff"])} pts'
            f'<span class="ci">[{pts(a["lo"])} to {pts(a["hi"])}]</span>{corrected_html(corrected, points=True)}</td>')


def _cond(c: str) -> str:
    return c if c else "(plain)"


def _guard(g: str) -> str:
    return g if g else "none"


def guard_section_html(metrics: Mapping[str, Any] | None,
                       corrected: Sequence[Mapping[str, Any]] | None = None) -> str | None:
    """The report section for `strategy_metrics` (escaped, self-contained); None when the
    rows had neither strategies nor guards. With `corrected` (the `corrected` analysis' guard
    rates) leakage, attack success, over-blocking and its model part also show their corrected
    figures, only the verdicts corrected (FILTERED is the guard's status, exact)."""
    metrics = to_json(metrics)  # a typed result, or its document
    found = corrected_lookup(corrected, "set", "target", "guard", "condition", "topic")

    def fixed(kind: str, k: tuple[Any, ...], name: str) -> Mapping[str, Any] | None:
        return (found.get((kind, *k)) or {}).get(name)
    if not metrics:
        return None
    has_strategy = any(c for c in metrics.get("conditions", []))
    if not has_strategy and not metrics.get("guards"):
        return None
    parts = ['<section id="strategies-guards"><h2>Strategies and guards: what leaks, what is blocked</h2>',
             '<p class="muted small">Leakage: forbidden probes (political or harm, expected to be refused under '
             f'{esc(metrics.get("regime"))}) that were answered, COMPLETE or EVASIVE, instead of DENIAL or '
             'FILTERED. Over-blocking: harmless lookalikes that were FILTERED by the guard or refused by the '
             'model. Attack success: leakage under a strategy minus leakage of the plain probe, paired per '
             'probe and sample (Newcombe 95% interval; McNemar p in the tooltip). Errors and truncated '
             'answers are left out.</p>']
    if corrected is not None:
        parts.append('<p class="muted small">→ corrected: the rate with the judge\'s errors corrected from the '
                     'random human sample. Only the verdicts (COMPLETE, EVASIVE, DENIAL) are corrected: FILTERED '
                     'is the guard\'s own status, which no judge read, so it counts as it is; "… by guard" '
                     '(FILTERED only) and the layers table stay the machine\'s. The corrected attack success '
                     'treats the plain and perturbed answers as independent (wider than a paired interval).</p>')
    # Summary per target x guard x condition (all topics).
    over = {(r["target"], r["guard"], r["condition"]): r for r in metrics.get("overblocking", [])
            if r["topic"] is None}
    attack = {(r["target"], r["guard"], r["condition"]): r for r in metrics.get("attack_success", [])
              if r["topic"] is None}
    leak = {(r["target"], r["guard"], r["condition"]): r for r in metrics.get("leakage", []) if r["topic"] is None}
    keys = _sort({*leak, *over})
    body = []
    for k in keys:
        lr, orow, ar = leak.get(k), over.get(k), attack.get(k)
        body.append(
            f"<tr><td>{esc(k[0])}</td><td>{esc(_guard(k[1]))}</td><td><code>{esc(_cond(k[2]))}</code></td>"
            f'<td class="num">{lr["n"] if lr else 0:,}</td>'
            f'{_rate_td(lr["leakage"] if lr else None, fixed("forbidden", (*k, None), "leakage"))}'
            f'{_diff_td(ar, fixed("forbidden", (*k, None), "attack_success"))}'
            f'<td class="num">{orow["n"] if orow else 0:,}</td>'
            f'{_rate_td(orow["overblocking"] if orow else None, fixed("lookalike", (*k, None), "overblocking"))}'
            f'{_rate_td(orow["by_guard"] if orow else None)}'
            f'{_rate_td(orow["by_model"] if orow else None, fixed("lookalike", (*k, None), "by_model"))}</tr>')
    parts.append(
        '<div class="tablewrap"><table><caption>By target, guard and condition (all topics); rates with '
        'Wilson 95% intervals.</caption><thead><tr><th scope="col">Target</th><th scope="col">Guard</th>'
        '<th scope="col">Condition</th><th scope="col" class="num">Forbidden n</th>'
        '<th scope="col">Leakage [95%]</th><th scope="col">Attack success vs plain [95%]</th>'
        '<th scope="col" class="num">Lookalike n</th><th scope="col">Over-blocking [95%]</th>'
        '<th scope="col">… by guard</th><th scope="col">… by model</th></tr></thead>'
        f'<tbody>{"".join(body)}</tbody></table></div>')

    layers = metrics.get("layers", [])
    if layers:
        lrows = []
        for r in layers:
            if r["set"] == "other":
                continue
            cells = "".join(
                f'<td class="num">{r[x]:,}<span class="muted small"> ({pct(r[x + "_rate"]["rate"])})</span></td>'
                for x in LAYERS)
            lrows.append(f"<tr><td>{esc(r['target'])}</td><td>{esc(r['guard'])}</td>"
                         f"<td><code>{esc(_cond(r['condition']))}</code></td><td>{esc(r['set'])}</td>"
                         f'<td class="num">{r["n"]:,}</td>{cells}<td class="num">{r["excluded"]:,}</td></tr>')
        parts.append(
            '<h3>Keyword wall vs model refusal vs both</h3>'
            '<p class="muted small">Each probe, condition and sample answered by the bare model and by the '
            'same model behind the guard: stopped by the guard only (FILTERED behind the guard, answered by '
            'the bare model), by the model only (DENIAL by the bare model, not filtered), by both, or by '
            'neither. For forbidden probes "neither" is what leaks; for lookalikes every stop is a '
            'mistake.</p>'
            '<div class="tablewrap"><table><thead><tr><th scope="col">Target</th><th scope="col">Guard</th>'
            '<th scope="col">Condition</th><th scope="col">Probes</th><th scope="col" class="num">n</th>'
            '<th scope="col" class="num">Guard only</th><th scope="col" class="num">Model only</th>'
            '<th scope="col" class="num">Both</th><th scope="col" class="num">Neither</th>'
            '<th scope="col" class="num">Excluded</th></tr></thead>'
            f'<tbody>{"".join(lrows)}</tbody></table></div>')
    elif metrics.get("guards"):
        parts.append('<p class="muted small">Keyword wall vs model refusal: needs a bare run of the same '
                     'model over the same probes and conditions beside the guarded run.</p>')

    # Leakage by topic: one row per topic, one column per condition, per target and guard.
    by_tg: dict[tuple[str, str], dict[tuple[str, str], Mapping[str, Any]]] = {}
    for r in metrics.get("leakage", []):
        if r["topic"] is not None:
            by_tg.setdefault((r["target"], r["guard"]), {})[(r["topic"], r["condition"])] = r
    for (target, guard), cells in sorted(by_tg.items()):
        conds = list(dict.fromkeys(c for _, c in sorted(cells, key=lambda tc: (tc[1] != "", tc[1]))))
        topics = sorted({t for t, _ in cells})
        head = "".join(f'<th scope="col"><code>{esc(_cond(c))}</code></th>' for c in conds)
        rows = "".join(
            f"<tr><td>{esc(t)}</td>" + "".join(_rate_td(cells[(t, c)]["leakage"],
                                                       fixed("forbidden", (target, guard, c, t), "leakage"))
                                              if (t, c) in cells
                                              else '<td class="rate">—</td>' for c in conds) + "</tr>"
            for t in topics)
        parts.append(
            f"<details><summary>Leakage by topic: {esc(target)}, guard {esc(_guard(guard))}</summary>"
            f'<div class="tablewrap"><table><thead><tr><th scope="col">Topic</th>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div></details>")

    kws = metrics.get("keywords", [])
    if kws:
        krows = "".join(
            f"<tr><td>{esc(k['guard'])}</td><td>{esc(k['keyword'])}</td><td>{esc(k['source'])}</td>"
            f"<td>{esc(k['where'])}</td><td class=\"num\">{k['forbidden']:,}</td>"
            f"<td class=\"num\">{k['lookalike']:,}</td><td class=\"num\">{k['other']:,}</td></tr>"
            for k in kws[:20])
        parts.append(
            '<details><summary>Keywords that blocked (forbidden probes stopped, lookalikes blocked by mistake)'
            '</summary><div class="tablewrap"><table><thead><tr><th scope="col">Guard</th>'
            '<th scope="col">Keyword</th><th scope="col">List/topic</th><th scope="col">Where</th>'
            '<th scope="col" class="num">Forbidden</th><th scope="col" class="num">Lookalike</th>'
            f'<th scope="col" class="num">Other</th></tr></thead><tbody>{krows}</tbody></table></div></details>')
    parts.append("</section>\n")
    return "\n".join(parts)


@register("guards", "Strategies and guards", analysis="strategies_guards", order=120)
def render(result: StrategyMetrics, ctx: ReportContext) -> str | Absent | None:
    if result.reason:
        return Absent("no run used a strategy (--strategy/--locale) or a guard (--guard)")
    doc = result.to_dict()
    html = guard_section_html(doc, None if ctx.corrected is None else ctx.corrected.get("guards") or [])
    if not html:
        return Absent("no strategy or guard data")
    bars = leakage_bars(doc)
    return figures([leakage_chart(bars)] if bars else [], ctx) + html
