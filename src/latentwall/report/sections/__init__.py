"""Report sections: one renderer per analysis result, registered like every other plugin.

A section names the analysis it draws (`analysis="stance"`, computed once for the whole
report from the analyses registry) and renders its typed result as escaped HTML, or returns
`Absent(why)` when its data is not in these runs; a section with no analysis renders from
the report context alone. An absent section is not drawn: the methods section lists it
under "Not available" with the reason, so a reader learns what was not measured without
scrolling past empty boxes. Sections are discovered from the modules of this package and
placed by `order`; adding one is a module here (plus its analysis and test).

    @register("mine", "My table", analysis="my_analysis", order=500)
    def render(result: MyResult, ctx: ReportContext) -> str | Absent: ...
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from latentwall.analysis import AnalysesDocument, AnalysisOptions, Summary, to_json
from latentwall.records import Result
from latentwall.registry import Registry


@dataclass(frozen=True, slots=True)
class Absent:
    """A section has nothing to show; `why` goes to the methods section."""

    why: str


@dataclass
class ReportContext:
    """What every section renderer receives: the runs, the summary, the analyses document,
    the (compact) results, and what the caller asked for (`extras`: e.g. "lab")."""

    runs: Sequence[Mapping[str, Any]]
    summary: Summary
    version: str
    extras: Mapping[str, Any] = field(default_factory=dict)
    results: Sequence[Result] = ()
    document: AnalysesDocument = field(default_factory=AnalysesDocument)
    options: AnalysisOptions = field(default_factory=AnalysisOptions)
    # Report v2: spec -> display name (the results' targets already carry the names), and
    # every chart drawn, in page order (the same objects feed `report --figures DIR`).
    names: Mapping[str, str] = field(default_factory=dict)
    charts: list[Any] = field(default_factory=list)
    draw_charts: bool = True

    @property
    def conditions(self) -> set[str]:
        """Every condition the results were asked under ('' = the plain probe)."""
        return {r.condition or "" for r in self.results}

    @property
    def guarded(self) -> bool:
        return any(r.guard for r in self.results)

    @cached_property
    def corrected(self) -> Mapping[str, Any] | None:
        """The `corrected` analysis as a document (every table's misclassification-corrected
        figures), or None: no random human sample, or it failed (then every rate is shown as
        before; the failure is in the methods section)."""
        if "corrected" in self.document.errors:
            return None
        doc = to_json(self.document.get("corrected"))
        return None if not doc or doc.get("not_applicable") else doc



Renderer = Callable[..., "str | Absent | None"]


@dataclass(frozen=True, slots=True)
class Section:
    """One entry of the report: id (anchor), title (TOC and heading), renderer, and the
    analysis whose result the renderer draws (None: it reads the context)."""

    id: str
    title: str
    render: Renderer
    analysis: str | None = None
    order: int = 500
    absent: str = "no data for it in these runs"
    core: bool = False  # a failing core section is a bug and raises; a plug-in one is noted
    needs: tuple[str, ...] = ()  # further analyses the renderer reads from ctx.document

    @property
    def analyses(self) -> tuple[str, ...]:
        return (*((self.analysis,) if self.analysis else ()), *self.needs)


SECTIONS: Registry[Section] = Registry("report section", "latentwall.report.sections")


def register(section_id: str, title: str, *, analysis: str | None = None, order: int = 500,
             absent: str = "no data for it in these runs", core: bool = False, needs: tuple[str, ...] = ()
             ) -> Callable[[Renderer], Renderer]:
    """Decorator on a renderer: register it as section `section_id`."""

    def deco(fn: Renderer) -> Renderer:
        SECTIONS.add(section_id, Section(section_id, title, fn, analysis, order, absent, core, needs))
        return fn

    return deco


def register_section(section: Section, *, before: str | None = None) -> None:
    """Add (or replace, by id) a section; `before` places it just ahead of another section."""
    unregister_section(section.id)
    if before is not None:
        ahead = {s.id: s for s in sections()}.get(before)
        if ahead is not None:
            section = Section(section.id, section.title, section.render, section.analysis, ahead.order - 1,
                              section.absent, section.core, section.needs)
    SECTIONS.add(section.id, section)


def unregister_section(section_id: str) -> None:
    SECTIONS.remove(section_id)


def sections() -> list[Section]:
    """The registered sections in report order (a copy)."""
    return sorted((s for _, s in SECTIONS.items()), key=lambda s: s.order)


@dataclass
class Rendered:
    """Outcome of one section: HTML to place, or the reason it is absent."""

    section: Section
    html: str | None
    why: str | None = None


def render_sections(ctx: ReportContext, chosen: Sequence[Section]) -> list[Rendered]:
    """Run every renderer; absent or failing plug-ins become notes, never empty boxes."""
    out = []
    for section in chosen:
        try:
            failed = [ctx.document.errors[a] for a in section.analyses if a in ctx.document.errors]
            if failed:
                if section.core:
                    raise RuntimeError(f"the analysis of section {section.id} failed: {failed[0]}")
                result = Absent(f"its analysis failed ({failed[0]})")
            elif section.analysis is None:
                result = section.render(ctx)
            else:
                result = section.render(ctx.document[section.analysis], ctx)
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
