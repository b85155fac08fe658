"""Reports: one self-contained HTML file per set of runs, a live viewer, terminal tables.

Sections of the HTML report are pluggable: `register_section(Section(...))` adds one whose
renderer returns escaped HTML, or `Absent(why)` when its data is not in the runs.
"""

from latentwall.report._html import SECTION_IDS, write_report
from latentwall.report._sections import (
    Absent,
    ReportContext,
    Section,
    register_section,
    sections,
    unregister_section,
)
from latentwall.report._terminal import print_compare, print_summary

__all__ = [
    "SECTION_IDS",
    "Absent",
    "ReportContext",
    "Section",
    "print_compare",
    "print_summary",
    "register_section",
    "sections",
    "serve_viewer",
    "unregister_section",
    "write_report",
]


def __getattr__(name: str) -> object:
    """`serve_viewer` pulls in aiohttp.web; load it only when asked for."""
    if name == "serve_viewer":
        from latentwall.report._viewer import serve_viewer

        return serve_viewer
    raise AttributeError(name)
