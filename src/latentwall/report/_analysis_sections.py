"""Report sections for the cross-row analyses (splinter index, paired-control gap).

They need whole parallel groups at once, so their collector keeps a trimmed copy of the
fields those analyses read (never the answer text).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from latentwall.report._sections import Absent, ReportContext

_FIELDS = ("target", "run_id", "probe_id", "suite", "topic", "language", "category", "kind",
           "group", "jurisdiction", "condition", "sample", "label", "status", "stance")


class TrimmedRows:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, row: Mapping[str, Any]) -> None:
        self.rows.append({k: row.get(k) for k in _FIELDS if k in row})


_GUARD_FIELDS = ("target", "guard", "probe_id", "condition", "sample", "topic", "category", "expected",
                 "tags", "suite", "label", "status", "error", "language", "run_id")


class GuardRows:
    """Rows for the strategy/guard tables, kept only when a run used strategies or a guard."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.relevant = False

    def add(self, row: Mapping[str, Any]) -> None:
        self.relevant = self.relevant or bool(row.get("condition")) or bool(row.get("guard"))
        self.rows.append({k: row.get(k) for k in _GUARD_FIELDS})


def guards_section(ctx: ReportContext) -> str | Absent | None:
    from latentwall.analysis import guard_section_html, strategy_metrics

    coll = ctx.collector("guards")
    if not coll.relevant:
        return Absent("no run used a strategy (--strategy/--locale) or a guard (--guard)")
    return guard_section_html(strategy_metrics(coll.rows)) or Absent("no strategy or guard data")


def locale_section(ctx: ReportContext) -> str | Absent | None:
    from latentwall.analysis import locale_effects, locale_section_html

    rows = ctx.collector("locale").rows
    if not any(str(r.get("condition") or "").startswith("locale:") for r in rows):
        return Absent("no locale conditions in these runs (run with --locale beijing,taipei,none)")
    res = locale_effects(rows)
    if res.get("not_applicable"):
        return Absent(str(res["not_applicable"]))
    return locale_section_html(res) or Absent("no locale effects to show")


def splinter_section(ctx: ReportContext) -> str | Absent | None:
    from latentwall.analysis import splinter_index, splinter_section_html

    rows = ctx.collector("splinter").rows
    parts: list[str] = []
    reasons: list[str] = []
    axes = ["language"] + (["condition"] if len({r.get("condition") or "" for r in rows}) > 1 else [])
    for axis in axes:
        res = splinter_index(rows, axis=axis)
        if res.get("not_applicable"):
            reasons.append(f"{axis}: {res['not_applicable']}")
            continue
        html = splinter_section_html(res)
        if html:
            parts.append(html)
    if not parts:
        return Absent("; ".join(reasons) or "no parallel groups in these runs")
    return "\n".join(parts)


def paired_section(ctx: ReportContext) -> str | Absent | None:
    from latentwall.analysis import paired_control_gap, paired_section_html

    res = paired_control_gap(ctx.collector("paired").rows)
    if res.get("not_applicable"):
        return Absent(str(res["not_applicable"]))
    return paired_section_html(res)
