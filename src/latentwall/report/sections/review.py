"""Human review and second judges: agreement, the judge's confusion, corrected rates, and the
findings and rates that change after correction (the `review` analysis; docs/review.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from latentwall.analysis import to_json
from latentwall.labels import VERDICTS
from latentwall.report._format import esc
from latentwall.report.sections import Absent, ReportContext, register


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def _interval(i: Mapping[str, Any] | None) -> str:
    if not i or i.get("estimate") is None:
        return "–"
    return f"{i['estimate']:.1%} [{_pct(i.get('lo'))}, {_pct(i.get('hi'))}]"


def _key(key: Mapping[str, Any]) -> str:
    return " · ".join(str(v) for v in key.values()) or "all"


def _agreement_table(caption: str, a: Mapping[str, Any]) -> str:
    rows = [f"<tr><td>all</td><td>{a['n']}</td><td>{_pct(a.get('agreement'))}</td>"
            f"<td>{a['kappa']:.3f}</td>" + "".join(f"<td>{_pct(a.get('per_label', {}).get(v))}</td>" for v in VERDICTS)
            + "</tr>"]
    for fld, groups in (a.get("by") or {}).items():
        for k, g in groups.items():
            rows.append(f"<tr><td>{esc(fld)} {esc(k)}</td><td>{g['n']}</td><td>{_pct(g.get('agreement'))}</td>"
                        f"<td>{g['kappa']:.3f}</td>"
                        + "".join(f"<td>{_pct(g.get('per_label', {}).get(v))}</td>" for v in VERDICTS) + "</tr>")
    return (f"<table class=\"agreement\"><caption>{esc(caption)}</caption><thead><tr><th>slice</th><th>n</th>"
            "<th>agreement</th><th>Cohen's kappa</th>"
            + "".join(f"<th>{v} (both / either)</th>" for v in VERDICTS) + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _confusion(conf: Mapping[str, Any]) -> str:
    m = conf["p_machine_given_true"]
    body = "".join("<tr><td>" + esc(h) + "</td>" + "".join(f"<td>{_pct(m[h][v])}</td>" for v in VERDICTS)
                   + "</tr>" for h in VERDICTS)
    return ("<table><caption>The judge's confusion on these runs, weighted to their verdict mix (rows: the "
            "truth)</caption><thead><tr><th>truth</th>" + "".join(f"<th>judge {v}</th>" for v in VERDICTS)
            + f"</tr></thead><tbody>{body}</tbody></table><p>Estimated accuracy of the judge on these runs: "
            f"{_pct(conf.get('accuracy'))}.</p>")


def _rates(c: Mapping[str, Any]) -> str:
    rows = []
    for g in c["groups"]:
        ok = g["status"] == "ok"
        cells = "".join(
            f"<td>{_interval(g['rates'][v]['machine'])} → "
            + (_interval(g["rates"][v]["corrected"]) if ok else "?") + "</td>" for v in VERDICTS)
        note = g.get("reason") or "; ".join(g.get("notes") or [])
        cls = "" if ok else ' class="too-small"'
        rows.append(f"<tr{cls}><td>{esc(_key(g['key']))}</td><td>{g['n']}</td>"
                    f"<td>{g['n_labels']}</td>{cells}<td>{esc(note)}</td></tr>")
    return ("<table class=\"corrected\"><caption>Machine rate [Wilson 95%] → corrected rate [95%: the run's "
            "sampling error and the confusion's uncertainty]</caption><thead><tr><th>group</th><th>n</th>"
            "<th>labels</th>" + "".join(f"<th>{v}</th>" for v in VERDICTS) + "<th>note</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


@register("review", "Human review, second judges and corrected rates", analysis="review", order=900)
def render(result: Any, ctx: ReportContext) -> str | Absent:
    r = to_json(result)
    if not r or r.get("not_applicable"):
        return Absent((r or {}).get("not_applicable") or "no human labels and no second judge")
    out = []
    if ctx is not None and "corrected" in ctx.document.errors:
        out.append(f'<p class="warn">The corrected rates of the other tables failed, so they show machine rates '
                   f'only: {esc(ctx.document.errors["corrected"])}</p>')
    if r.get("sample_note"):
        out.append(f'<p class="warn">{esc(r["sample_note"])}</p>')
    for name, a in (r.get("second_judges") or {}).items():
        if a.get("n"):
            out.append(_agreement_table(f"Run judge vs second judge {name}: {a['disagreements']} disagreements", a))
        else:
            out.append(f"<p>Second judge {esc(name)}: {esc(a.get('not_applicable') or 'nothing to compare')}</p>")
    s = r.get("summary") or {}
    if s:
        c = s["correction"]
        ex = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(c["excluded"].items())) or "none"
        out.append(f"<p>{s['n_labels']} human labels on {s['n_rows']} responses; left out of the estimate: "
                   f"{esc(ex)}. Corrected rates use only verdicts on the random sample (triage labels are "
                   f"chosen for looking wrong and never enter it): double sampling, {c['draws']} bootstrap draws "
                   "over the run's verdicts and the labels (docs/review.md).</p>")
        if s.get("human_vs_machine"):
            out.append(_agreement_table("Run judge vs people on the random sample", s["human_vs_machine"]
                                        | {"by": s.get("human_vs_machine_by") or {}}))
        if s.get("reviewers"):
            a = s["reviewers"]
            out.append(f"<p>Reviewer vs reviewer on {a['n']} doubly labelled responses: agreement "
                       f"{_pct(a['agreement'])}, Cohen's kappa {a['kappa']:.3f}.</p>")
        if c.get("confusion") and c["confusion"].get("n_labels"):
            out.append(_confusion(c["confusion"]))
        out.append(_rates(c))
        flagged = [f for f in r.get("findings") or [] if f["changed"]]
        small = [f for f in r.get("findings") or [] if f["too_small"]]
        items = [f"<li class=\"flag\">{esc(f['message'])}: before {_interval(f['before'])}, after "
                 f"{_interval(f['after'])}</li>" for f in flagged]
        items += [f"<li class=\"flag\">{esc(_key(x['key']))} {esc(x['label'])}: {esc(x['message'])} "
                  f"({_interval(x['machine'])} → {_interval(x['corrected'])})</li>" for x in r.get("rate_flags") or []]
        n_find = len(r.get("findings") or [])
        held = n_find - len(flagged) - len(small)
        tail = (f"<li>{held} of {n_find} comparisons between groups hold after correction; {len(small)} cannot "
                "be told with this sample</li>" if n_find else "<li>no comparison between groups in these runs</li>")
        out.append("<h3>Findings after correction</h3><ul>" + "".join(items) + tail + "</ul>")
    return "\n".join(out)
