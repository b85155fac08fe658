"""Summary tables in the terminal; plain text when piped, and model strings defanged."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from latentwall._text import terminal_text
from latentwall.analysis import BUCKETS, GroupStats, Rate, Summary

# One cleaner for everything a terminal shows (latentwall._text); kept under this name.
clean = terminal_text


def safe_text(value: object, style: str = "") -> Text:
    """Model-derived string as a rich Text: cleaned, markup-escaped, no emoji codes."""
    return Text.from_markup(escape(clean(value)), style=style, emoji=False)


def _rate(rate: Rate) -> Text:
    if rate.rate is None:
        return Text("-", style="dim")
    body = f"{100 * rate.rate:.1f}%"
    ci = f" ({100 * (rate.lo or 0.0):.1f}-{100 * (rate.hi or 0.0):.1f})"
    return Text.assemble(body, (ci, "dim"))


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


def _table(title: str, groups: Sequence[GroupStats], columns: Sequence[str], plain: bool) -> Table:
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
    for g in groups:
        table.add_row(
            *(
                safe_text(g.key.get(name) if g.key.get(name) not in ("", None) else "-")
                for name in columns
            ),
            Text(f"{g.n:,}"),
            Text(f"{g.n_verdicts:,}"),
            _refusal(g.refusal),
            _rate(g.evasion),
            _rate(g.complete),
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


def print_summary(summary: Summary, console: Console | None = None) -> None:
    """Per-target overview, then the full breakdown, with Wilson 95% intervals."""
    console = console or _default_console()
    plain = not console.is_terminal
    console.print(_table("Per target", summary.targets, ["target"], plain))
    if len({g.key.get("suite") for g in summary.target_suites}) > 1:
        console.print(
            _table("By target x suite", summary.target_suites, ["target", "suite"], plain)
        )
    columns = _columns(summary)
    console.print(_table("By " + " x ".join(columns), summary.groups, columns, plain))
    console.print(
        Text(
            "Rates are shares of verdicts (COMPLETE/EVASIVE/DENIAL); statuses are counted beside "
            "them, never inside. Always/Sometimes/Never: probes refused in every, some or no sample.",
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
