"""Answer diversity per target."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from latentwall.analysis import Diversity, to_json
from latentwall.report._format import esc, three
from latentwall.report.sections import Absent, ReportContext, register


def diversity_section_html(result: Mapping[str, Any]) -> str | None:
    """One row per group with the diversity metrics; a note when not applicable."""
    result = to_json(result)  # a typed result, or its document
    if not result:
        return None
    if result.get("not_applicable"):
        return f'<p class="warn">Diversity: {esc(result["not_applicable"])}</p>'
    by = list(result.get("by") or [])

    def f(x: float | None, pct: bool = True) -> str:
        if x is None:
            return "—"
        return f"{100 * x:.1f}%" if pct else f"{x:,.1f}"

    head = "".join(f'<th scope="col">{esc(b)}</th>' for b in by)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(g['key'].get(b))}</td>" for b in by)
        + f'<td class="num">{g["n_answers"]:,}</td><td class="num">{f(g["distinct_1"])}</td>'
        f'<td class="num">{f(g["distinct_2"])}</td><td class="num">{f(g["self_repetition_within"])}</td>'
        f'<td class="num">{f(g["repetition_across"])}</td>'
        f'<td class="num">{f(g["length"]["mean"], False)} ± {f(g["length"]["sd"], False)}</td>'
        f'<td class="num">{f(g["length"]["iqr"], False)}</td>'
        f'<td class="num">{three(g["embedding_dispersion"])}</td>'
        f'<td class="small muted">{esc(g.get("note") or "")}</td></tr>'
        for g in result["groups"]
    )
    emb = result.get("embedding") or {}
    emb_note = (f"Embedding dispersion: mean cosine distance between answers ({esc(emb.get('model'))})."
                if emb.get("available") else f"Embedding dispersion not computed: {esc(emb.get('note'))}.")
    return (
        '<p class="muted small">distinct-n = distinct n-grams / all n-grams of the target\'s answers (compare '
        "targets on the same probes); within = repeated 3-grams inside an answer; across = an answer's 4-grams "
        f"found in other answers; length in tokens (words; one per CJK character). {emb_note}</p>"
        f'<div class="tablewrap"><table><thead><tr>{head}<th scope="col" class="num">Answers</th>'
        '<th scope="col" class="num">distinct-1</th><th scope="col" class="num">distinct-2</th>'
        '<th scope="col" class="num">Repetition within</th><th scope="col" class="num">Repetition across</th>'
        '<th scope="col" class="num">Length mean ± sd</th><th scope="col" class="num">Length IQR</th>'
        '<th scope="col" class="num">Embedding dispersion</th><th scope="col">Note</th></tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


@register("diversity", "Answer diversity", analysis="diversity", order=90)
def render(result: Diversity, ctx: ReportContext) -> str | Absent | None:
    if not result.groups:  # no answer with text at all
        return Absent("no answers with text")
    if result.not_applicable:
        return Absent(result.not_applicable)
    return diversity_section_html(result.to_dict())
