"""Terminal renderers of review results (`review --stats`, `rejudge`): lines and tables that
the CLI prints, cleaned there. The report's section is `report/sections/review.py`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from latentwall.analysis import (
    CorrectedRate,
    GroupCorrection,
    Interval,
    ReviewSummary,
    confusion_rows,
)
from latentwall.labels import VERDICTS


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
