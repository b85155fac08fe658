"""Renderers of review results: terminal tables (`review --stats`, `rejudge`) and an HTML
section for the report (one renderer per analysis result; the lead wires it into the
report after the architecture redesign, docs/review-integration.md). Every value that
came from a model, a target or a person is escaped (HTML) or cleaned (terminal)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from latentwall.labels import VERDICTS
from latentwall.report._escape import esc
from latentwall.review._estimate import CorrectedRate, GroupCorrection, Interval
from latentwall.review._summary import ReviewSummary, confusion_rows


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def fmt_interval(i: Interval) -> str:
    if i.estimate is None:
        return "–"
    return f"{i.estimate:.1%} [{_pct(i.lo)}, {_pct(i.hi)}]"


def _key(g: GroupCorrection) -> str:
    return " · ".join(str(v) for v in g.key.values()) or "all"


def _cell(r: CorrectedRate, g: GroupCorrection) -> str:
    if not g.ok:
        return f"{fmt_interval(r.machine)} → ?"
    return f"{fmt_interval(r.machine)} → {fmt_interval(r.corrected)}"


Block = str | tuple[str, list[str], list[list[str]]]  # a line, or (title, columns, rows)


def summary_blocks(s: ReviewSummary) -> list[Block]:
    """`review --stats` as lines and tables (the CLI prints tables as rich or as TSV)."""
    c = s.correction
    ex = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(c.excluded.items())) or "none"
    out: list[Block] = [f"{s.n_labels} human labels on {s.n_rows} responses; left out of the estimate: {ex} "
                        "(only random-sample verdicts count)"]
    if s.human_vs_machine:
        a = s.human_vs_machine
        out.append(f"judge vs people on the random sample: agreement {a['agreement']:.1%} of {a['n']}, "
                   f"Cohen's kappa {a['kappa']:.3f}")
    if s.reviewers:
        r = s.reviewers
        out.append(f"reviewer vs reviewer on {r['n']} doubly labelled responses: agreement {r['agreement']:.1%}, "
                   f"kappa {r['kappa']:.3f}")
    if s.triage["labelled"]:
        out.append(f"triage queue: {s.triage['labelled']} labelled, the judge was wrong on {s.triage['judge_wrong']}")
    if c.confusion and c.confusion.n_labels:
        out.append(("the judge's confusion on these runs, weighted to their verdict mix (rows: the truth)",
                    ["truth", *(f"judge {v}" for v in VERDICTS)], confusion_rows(c.confusion.p_machine_given_true)))
        out.append(f"estimated accuracy of the judge on these runs: {_pct(c.confusion.accuracy)}")
    out.append(("rates: machine [Wilson 95%] → corrected [95%: run sampling + confusion uncertainty]",
                ["group", "n", "labels", *VERDICTS, "note"],
                [[_key(g), str(g.n), str(g.n_labels), *(_cell(g.rates[v], g) for v in VERDICTS),
                  g.reason or "; ".join(g.notes)] for g in c.groups]))
    return out


def agreement_blocks(a: Mapping[str, Any]) -> list[Block]:
    """`rejudge`'s agreement of the run judge with the second judge, as lines and a table."""
    if not a.get("n"):
        return [str(a.get("not_applicable") or "no responses to compare")]
    rows = [[f"{fld} {k}", str(g["n"]), f"{g['agreement']:.1%}", f"{g['kappa']:.3f}",
             *(_pct(g["per_label"].get(v)) for v in VERDICTS)]
            for fld, groups in a["by"].items() for k, g in groups.items()]
    return [f"run judge vs {a['other']}: agreement {a['agreement']:.1%} of {a['n']}, Cohen's kappa "
            f"{a['kappa']:.3f}, {a['disagreements']} disagreements (they lead the triage queue)",
            ("agreement by slice", ["slice", "n", "agreement", "kappa", *(f"{v} both/either" for v in VERDICTS)],
             rows)]


# --------------------------------------------------------------------------------- HTML


def review_section_html(s: ReviewSummary) -> str:
    """The report's "Human review and corrected rates" section (escaped HTML)."""
    c = s.correction
    out = ['<section id="review"><h2>Human review and corrected rates</h2>']
    ex = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(c.excluded.items())) or "none"
    out.append(f"<p>{s.n_labels} human labels; left out of the estimate: {esc(ex)}. Corrected rates use "
               "only verdicts on the random sample (double sampling, "
               f"{c.draws} bootstrap draws over the run's verdicts and the labels).</p>")
    if s.human_vs_machine:
        a = s.human_vs_machine
        out.append(f"<p>Judge vs people on the random sample: agreement {a['agreement']:.1%} of {a['n']}, "
                   f"Cohen's kappa {a['kappa']:.3f}.</p>")
    if c.confusion and c.confusion.n_labels:
        out.append("<table><caption>The judge's confusion on these runs (rows: the truth)</caption><thead><tr>"
                   "<th>truth</th>" + "".join(f"<th>judge {v}</th>" for v in VERDICTS) + "</tr></thead><tbody>")
        out += ["<tr>" + "".join(f"<td>{esc(x)}</td>" for x in row) + "</tr>"
                for row in confusion_rows(c.confusion.p_machine_given_true)]
        out.append("</tbody></table>")
    out.append("<table><caption>Machine rate → corrected rate (95% intervals)</caption><thead><tr><th>group</th>"
               "<th>n</th><th>labels</th>" + "".join(f"<th>{v}</th>" for v in VERDICTS) + "<th>note</th></tr>"
               "</thead><tbody>")
    for g in c.groups:
        note = g.reason or "; ".join(g.notes)
        out.append(f"<tr><td>{esc(_key(g))}</td><td>{g.n}</td><td>{g.n_labels}</td>"
                   + "".join(f"<td>{esc(_cell(g.rates[v], g))}</td>" for v in VERDICTS)
                   + f"<td>{esc(note)}</td></tr>")
    out.append("</tbody></table></section>")
    return "\n".join(out)
