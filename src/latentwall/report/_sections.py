"""Pluggable report sections: a small ordered registry of renderers.

Each analysis (heat map, narrative stance, strategies, guards, white-box lab …) owns one
section. A section may collect what it needs from the single streaming pass over the rows
(`collect` returns an object with `add(row)`), then `render(ctx)` returns escaped HTML, or
`Absent(why)` / None when its data is not in these runs. An absent section is not drawn:
the methods section lists it under "Not available" with the reason, so a reader learns
what was not measured without scrolling past empty boxes.

Renderers and collectors may be given as "module:attr" strings so that a section living in
another package (e.g. latentwall.analysis) is imported only when a report is written and
can import the report package without a cycle.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from latentwall.analysis import Summary


class Collector(Protocol):
    """Sees every row once, during the summary pass; keeps only what its section needs."""

    def add(self, row: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class Absent:
    """A section has nothing to show; `why` goes to the methods section."""

    why: str


@dataclass
class ReportContext:
    """What every section renderer receives."""

    runs: Sequence[Mapping[str, Any]]
    summary: Summary
    version: str
    extras: Mapping[str, Any] = field(default_factory=dict)
    collected: dict[str, Any] = field(default_factory=dict)

    def collector(self, section_id: str) -> Any:
        c = self.collected.get(section_id)
        return getattr(c, "inner", c)


Renderer = Callable[[ReportContext], "str | Absent | None"]


@dataclass(frozen=True, slots=True)
class Section:
    """One entry of the report: id (anchor), title (TOC and heading), renderer."""

    id: str
    title: str
    render: Renderer | str
    collect: Callable[[], Collector] | str | None = None
    absent: str = "no data for it in these runs"
    core: bool = False  # a failing core section is a bug and raises; a plug-in one is noted

    def renderer(self) -> Renderer:
        return _resolve(self.render)

    def new_collector(self) -> Collector | None:
        return None if self.collect is None else _resolve(self.collect)()


def _resolve(obj: Any) -> Any:
    if not isinstance(obj, str):
        return obj
    module, _, attr = obj.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass
class Rendered:
    """Outcome of one section: HTML to place, or the reason it is absent."""

    section: Section
    html: str | None
    why: str | None = None


_REGISTRY: list[Section] = []


def register_section(section: Section, *, before: str | None = None) -> None:
    """Add (or replace, by id) a section; `before` places it ahead of another section id."""
    unregister_section(section.id)
    if before is not None:
        for i, s in enumerate(_REGISTRY):
            if s.id == before:
                _REGISTRY.insert(i, section)
                return
    _REGISTRY.append(section)


def unregister_section(section_id: str) -> None:
    _REGISTRY[:] = [s for s in _REGISTRY if s.id != section_id]


def sections() -> list[Section]:
    """The registered sections in report order (a copy)."""
    return list(_REGISTRY)


def make_collectors(chosen: Sequence[Section]) -> tuple[dict[str, Any], dict[str, str]]:
    """Collectors by section id, and the reason for each plug-in whose collector failed."""
    collectors: dict[str, Any] = {}
    broken: dict[str, str] = {}
    for section in chosen:
        try:
            c = section.new_collector()
        except Exception as exc:
            if section.core:
                raise
            broken[section.id] = f"its collector failed ({type(exc).__name__}: {exc})"
            continue
        if c is not None:
            collectors[section.id] = _SafeCollector(section.id, c, broken) if not section.core else c
    return collectors, broken


class _SafeCollector:
    """A plug-in collector whose add() failing stops that section only, not the report."""

    __slots__ = ("_broken", "_id", "inner")

    def __init__(self, section_id: str, inner: Any, broken: dict[str, str]) -> None:
        self._id, self.inner, self._broken = section_id, inner, broken

    def add(self, row: Mapping[str, Any]) -> None:
        if self._id in self._broken:
            return
        try:
            self.inner.add(row)
        except Exception as exc:
            self._broken[self._id] = f"its collector failed ({type(exc).__name__}: {exc})"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def render_sections(ctx: ReportContext, chosen: Sequence[Section]) -> list[Rendered]:
    """Run every renderer; absent or failing plug-ins become notes, never empty boxes."""
    out = []
    for section in chosen:
        try:
            result = section.renderer()(ctx)
        except Exception as exc:
            if section.core:
                raise
            # A plug-in bug must not cost the user the whole report; it is shown in methods.
            result = Absent(f"its renderer failed ({type(exc).__name__}: {exc})")
        if result is None:
            out.append(Rendered(section, None, section.absent))
        elif isinstance(result, Absent):
            out.append(Rendered(section, None, result.why))
        else:
            out.append(Rendered(section, str(result)))
    return out


# ---------------------------------------------------------------- white-box lab


def whitebox_section(ctx: ReportContext) -> str | Absent:
    """Figures of `latentwall lab` results passed as extras["lab"] (one result or a list)."""
    lab = ctx.extras.get("lab")
    if not lab:
        return Absent("no white-box lab result was given for this report (latentwall lab)")
    results = lab if isinstance(lab, list | tuple) else [lab]
    from latentwall.lab._report import lab_sections_html

    # lab_sections_html escapes every string it writes (its own contract, tested there and in
    # tests/test_report.py with a hostile model name).
    return "".join(lab_sections_html(dict(r)) for r in results)
