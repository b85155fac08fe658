"""Summary tables in the terminal; plain text when piped, and model strings defanged."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from latentwall.analysis import (
    BUCKETS,
    Comparison,
    GroupStats,
    Interval,
    Rate,
    Summary,
    check_finding,
    fmt_p,
)
from latentwall.labels import VERDICTS
from latentwall.report._format import corrected_text
from latentwall.text import terminal_text

_NONE: Mapping[str, Any] = {"status": "too_small", "reason": "no verdicts to correct"}

# One cleaner for everything a terminal shows (latentwall.text); kept under this name.
clean = terminal_text


def safe_text(value: object, style: str = "") -> Text:
    """Model-derived string as a rich Text: cleaned, and never parsed as markup or emoji codes
    (escaping and re-parsing doubled a trailing backslash)."""
    return Text(clean(value), style=style)


def _rate(rate: Rate) -> Text:
    if rate.rate is None:
        return Text("-", style="dim")
    body = f"{100 * rate.rate:.1f}%"
    ci = f" ({100 * (rate.lo or 0.0):.1f}-{100 * (rate.hi or 0.0):.1f})"
    return Text.assemble(body, (ci, "dim"))


def _corrected(text: Text, value: Mapping[str, Any] | None) -> Text:
    """The machine rate, and below it the corrected one (no second line without a sample)."""
    if value is None:
        return text
    return Text.assemble(text, ("\n-> " + corrected_text(value).replace("–", "-"), "cyan"))


def _refusal(rate: Rate) -> Text:
    text = _rate(rate)
    if rate.rate is not None:
        text.stylize(
            "bold red" if rate.rate >= 0.5 else "red" if rate.rate >= 0.1 else "green", 0, 6
        )
    return text


def _statuses(g: GroupStats) -> Text:
    parts = [f"{name} {n}" for name, n in g.statuses.items() if n]
    parts += [f"{clean(name)} {n}" for name, n in g.other_labels.items() if n]
    if g.n_unjudged:
        parts.append(f"not judged {g.n_unjudged}")
    return Text(", ".join(parts) or "-", style="dim" if not parts else "yellow")


def _buckets(g: GroupStats) -> Text:
    return Text(" / ".join(str(g.consistency[b]) for b in BUCKETS))


def _columns(summary: Summary) -> list[str]:
    return [
        name
        for name in summary.by
        if name == "target" or any(v not in ("", None) for v in summary.values(name))
    ]


def _table(title: str, groups: Sequence[GroupStats], columns: Sequence[str], plain: bool,
           corrected: Sequence[Mapping[str, Any]] | None = None) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        box=box.ASCII if plain else box.SIMPLE_HEAD,
        header_style="" if plain else "bold",
        highlight=False,
    )
    for name in columns:
        table.add_column(name.capitalize(), overflow="fold")
    table.add_column("n", justify="right")
    table.add_column("Verdicts", justify="right")
    table.add_column("Refusal (95% CI)", no_wrap=True)
    table.add_column("Evasive (95% CI)", no_wrap=True)
    table.add_column("Complete (95% CI)", no_wrap=True)
    table.add_column("Statuses")
    table.add_column("Always/Sometimes/Never", justify="right")
    found = {tuple(sorted(e["key"].items(), key=str)): e.get("rates") or {} for e in corrected or ()}
    for g in groups:
        c = found.get(tuple(sorted(g.key.items(), key=str)), {}) if corrected is not None else None
        table.add_row(
            *(
                safe_text(g.key.get(name) if g.key.get(name) not in ("", None) else "-")
                for name in columns
            ),
            Text(f"{g.n:,}"),
            Text(f"{g.n_verdicts:,}"),
            _corrected(_refusal(g.refusal), None if c is None else c.get("DENIAL", _NONE)),
            _corrected(_rate(g.evasion), None if c is None else c.get("EVASIVE", _NONE)),
            _corrected(_rate(g.complete), None if c is None else c.get("COMPLETE", _NONE)),
            _statuses(g),
            _buckets(g),
        )
    return table


def _default_console() -> Console:
    """A console that never emits ANSI codes when stdout is not a terminal, even with FORCE_COLOR."""
    try:
        tty = sys.stdout.isatty()
    except (AttributeError, ValueError):
        tty = False
    if tty:
        return Console(highlight=False, emoji=False)
    width = None if os.environ.get("COLUMNS") else 200
    return Console(force_terminal=False, no_color=True, highlight=False, emoji=False, width=width)


def print_summary(summary: Summary, console: Console | None = None,
                  corrected: Mapping[str, Sequence[Mapping[str, Any]]] | None = None) -> None:
    """Per-target overview, then the full breakdown, with Wilson 95% intervals; with
    `corrected` (`analysis.summary_corrections` as a document: the runs have a random human
    sample) every rate also shows its misclassification-corrected value below it."""
    console = console or _default_console()
    plain = not console.is_terminal
    c = corrected or {}
    console.print(_table("Per target", summary.targets, ["target"], plain, c.get("targets") if corrected else None))
    if len({g.key.get("suite") for g in summary.target_suites}) > 1:
        console.print(
            _table("By target x suite", summary.target_suites, ["target", "suite"], plain,
                   c.get("target_suites") if corrected else None)
        )
    columns = _columns(summary)
    console.print(_table("By " + " x ".join(columns), summary.groups, columns, plain,
                         c.get("groups") if corrected else None))
    console.print(
        Text(
            "Rates are shares of verdicts (COMPLETE/EVASIVE/DENIAL); statuses are counted beside "
            "them, never inside. Always/Sometimes/Never: probes refused in every, some or no sample."
            + (" -> corrected: the rate corrected for the judge's errors, from the random human sample, with a "
               "95% interval over the run's sampling error and the judge's confusion (docs/review.md)."
               if corrected else ""),
            style="dim",
        )
    )


def _compare_cell(g: GroupStats | None) -> Text:
    if g is None:
        return Text("·", style="dim")
    text = _refusal(g.refusal)
    if g.evasion.rate is not None:
        text.append(f"\nev {100 * g.evasion.rate:.1f}%", style="dim")
    text.append(f"  n={g.n_verdicts}", style="dim")
    return text


def print_compare(summary: Summary, console: Console | None = None) -> None:
    """Targets side by side: one row per value of the other grouping fields, one column per target.

    `summary` must group by "target" plus the fields to compare on, e.g.
    summarise(rows, by=("target", "topic", "language")). With exactly two targets a last
    column gives the refusal gap (second minus first) in percentage points.
    """
    console = console or _default_console()
    plain = not console.is_terminal
    if "target" not in summary.by:
        raise ValueError("print_compare needs a summary grouped by target")
    keys = [name for name in summary.by if name != "target"]
    targets = [g.key["target"] for g in summary.targets]
    cells: dict[tuple[object, ...], dict[object, GroupStats]] = {}
    for g in summary.groups:
        cells.setdefault(tuple(g.key[k] for k in keys), {})[g.key["target"]] = g
    table = Table(
        title="Refusal by target (Wilson 95% CI; ev = evasion)",
        title_justify="left",
        box=box.ASCII if plain else box.SIMPLE_HEAD,
        header_style="" if plain else "bold",
        highlight=False,
    )
    for name in keys:
        table.add_column(name.capitalize(), overflow="fold")
    for t in targets:
        table.add_column(safe_text(t), no_wrap=True)
    pair = len(targets) == 2
    if pair:
        table.add_column("Gap (pts)", justify="right")
    for key, by_target in cells.items():
        row = [safe_text(v if v not in ("", None) else "-") for v in key]
        row += [_compare_cell(by_target.get(t)) for t in targets]
        if pair:
            a, b = (by_target.get(t) for t in targets)
            if a and b and a.refusal.rate is not None and b.refusal.rate is not None:
                gap = 100 * (b.refusal.rate - a.refusal.rate)
                row.append(Text(f"{gap:+.1f}", style="bold" if abs(gap) >= 10 else ""))
            else:
                row.append(Text("-", style="dim"))
        table.add_row(*row)
    console.print(table)


# ---------------------------------------------------------------- compare


def _clip(text: Any, n: int) -> str:
    s = "" if text is None else " ".join(str(text).split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _pp(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:+.1f}"


def _pc(r: Mapping[str, Any]) -> str:
    return "—" if r.get("rate") is None else f"{100 * r['rate']:.1f}%"


def _emit(console: Console, title: str, columns: list[str], rows: list[list[str]]) -> None:
    """A rich table on a terminal; tab-separated lines otherwise, so scripts can cut them."""
    if console.is_terminal:
        table = Table(title=escape(clean(title)))
        for col in columns:
            table.add_column(escape(col))
        for row in rows:
            table.add_row(*(escape(clean(c)) for c in row))
        console.print(table)
    else:
        # Straight to the file: rich would expand the tabs that make the lines cut-able.
        lines = [f"# {clean(title)}", "\t".join(columns)]
        lines += ["\t".join(clean(c).replace("\t", " ") for c in row) for row in rows]
        console.file.write("\n".join(lines) + "\n")


def _line(console: Console, text: str) -> None:
    if console.is_terminal:
        console.print(clean(text), markup=False, highlight=False, soft_wrap=True)
    else:
        console.file.write(clean(text) + "\n")


def _flag(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """holds / changes (why) / too small to tell, for a B − A difference after correction."""
    ok = after.get("status") == "ok" and after.get("estimate") is not None
    check = check_finding("B−A", Interval(before.get("diff"), before.get("lo"), before.get("hi")),
                          Interval(after.get("estimate"), after.get("lo"), after.get("hi")) if ok
                          else Interval(None, None, None))
    if check.too_small:
        return "too small to tell"
    return f"changes: {check.detail}" if check.changed else "holds"


def _corrected_compare(console: Console, result: Mapping[str, Any], max_rows: int) -> None:
    """The same rates corrected for the judge's errors, and whether each B − A holds."""
    c = result["corrected"]

    def cells(blk: Mapping[str, Any], before: Mapping[str, Any]) -> list[str]:
        return [corrected_text(blk["a"]).removeprefix("corrected "), corrected_text(blk["b"]).removeprefix("corrected "),
                corrected_text(blk["diff"], points=True).removeprefix("corrected "), _flag(before, blk["diff"])]

    rows = [[name.replace("_", "-"), *cells(c[name], result[name])] for name in ("refusal", "non_complete")
            if name in c]
    _emit(console, f"Corrected for the judge's errors ({c['n_labels']} random-sample human labels; "
                   "95% over the runs' sampling and the judge's confusion)",
          ["outcome", "A", "B", "B−A", "after correction"], rows)
    before = {t["topic"]: t["refusal"] for t in result["topics"]}
    topics = [t for t in c["topics"] if "refusal" in t and t["topic"] in before][:max_rows]
    _emit(console, f"Topics, refusal corrected (first {len(topics)} of {len(c['topics'])})",
          ["topic", "A", "B", "B−A", "after correction"],
          [[t["topic"], *cells(t["refusal"], before[t["topic"]])] for t in topics])


def render_compare(comparison: Comparison | Mapping[str, Any], console: Console, *, max_rows: int = 20) -> None:
    """Print a comparison: summary, transitions, topics that moved, disagreements."""
    result = comparison.to_dict() if isinstance(comparison, Comparison) else comparison
    if result.get("not_applicable"):
        _line(console, f"compare: not applicable: {result['not_applicable']}")
        return
    a, b = result["a"], result["b"]
    _line(console, f"A: {a['label']}  ({a['n_probes']} responses)")
    _line(console, f"B: {b['label']}  ({b['n_probes']} responses)")
    _line(console, f"paired: {result['n_verdict_pairs']} responses with verdicts on both sides "
                   f"({result['n_units']} probes); only in A: {result['only_in_a']}, only in B: "
                   f"{result['only_in_b']}; agreement {_pc(result['agreement'])}")
    rows = []
    for name in ("refusal", "non_complete"):
        blk = result[name]
        m = blk["mcnemar"]
        rows.append([name.replace("_", "-"), _pc(blk["a"]), _pc(blk["b"]),
                     f"{_pp(blk['diff'])} [{_pp(blk['lo'])}, {_pp(blk['hi'])}]",
                     f"{m['b']}/{m['c']}", fmt_p(m["p"])])
    mh = result["marginal_homogeneity"]
    _emit(console, "Rates per probe (B minus A, points, Newcombe paired 95%)",
          ["outcome", "A", "B", "B−A [95%]", "A only/B only", "McNemar p"], rows)
    if "corrected" in result:
        _corrected_compare(console, result, max_rows)
    _line(console, f"marginal homogeneity of COMPLETE/EVASIVE/DENIAL (Stuart-Maxwell): "
                   f"p = {fmt_p(mh.get('p'))}")
    trans = result["transitions"]
    _emit(console, "Verdict transitions per response (rows: A, columns: B)",
          ["A \\ B", *VERDICTS], [[va, *(str(trans[va][vb]) for vb in VERDICTS)] for va in VERDICTS])
    topics = result["topics"][:max_rows]
    _emit(console, f"Topics that moved (refusal, first {len(topics)} of {len(result['topics'])})",
          ["topic", "n", "A", "B", "B−A [95%]", "moved", "p", "Holm p"],
          [[t["topic"], str(t["n"]), _pc(t["refusal"]["a"]), _pc(t["refusal"]["b"]),
            f"{_pp(t['refusal']['diff'])} [{_pp(t['refusal']['lo'])}, {_pp(t['refusal']['hi'])}]",
            str(t["moved"]), fmt_p(t["refusal"]["mcnemar"]["p"]),
            fmt_p(t["refusal"]["mcnemar"].get("p_holm"))] for t in topics])
    dis = result["disagreements"][:max_rows]
    _emit(console, f"Disagreements (first {len(dis)} of {result['n_disagreements']})",
          ["probe", "condition", "sample", "A", "B", "B says"],
          [[d["probe_id"], d["condition"] or "-", str(d["sample"]), str(d["label_a"]),
            str(d["label_b"]), _clip(d["text_b"], 60)] for d in dis])
