"""Reports: one self-contained HTML file per set of runs, a live viewer, terminal tables.

The page is the analyses document rendered: every section in `report/sections/` draws one
analysis's typed result (`@register("id", "Title", analysis="name")`), or says why it is
absent. The one HTML escaper, the one terminal cleaner and the one formatter live in
`latentwall.text` and `report/_format.py`.
"""

from latentwall.report._format import blob_json, esc, neutralise
from latentwall.report._html import (
    BLOB_FIELDS,
    MAX_INLINE_RESPONSES,
    SECTION_IDS,
    options_from_extras,
    target_names,
    write_report,
)
from latentwall.report._render import matplotlib_available
from latentwall.report._terminal import (
    clean,
    print_compare,
    print_summary,
    render_compare,
    safe_text,
)
from latentwall.report.sections import (
    SECTIONS,
    Absent,
    ReportContext,
    Section,
    register,
    register_section,
    sections,
    unregister_section,
)

__all__ = [
    "BLOB_FIELDS",
    "MAX_INLINE_RESPONSES",
    "SECTIONS",
    "SECTION_IDS",
    "Absent",
    "ReportContext",
    "Section",
    "Viewer",
    "add_page_routes",
    "blob_json",
    "clean",
    "esc",
    "harden",
    "json_response",
    "matplotlib_available",
    "neutralise",
    "options_from_extras",
    "print_compare",
    "print_summary",
    "register",
    "register_section",
    "render_compare",
    "safe_text",
    "sections",
    "serve_until_interrupted",
    "serve_viewer",
    "start_in_thread",
    "start_viewer",
    "target_names",
    "unregister_section",
    "write_report",
]


def __getattr__(name: str) -> object:
    """The viewer pulls in aiohttp.web; load it only when asked for."""
    if name in ("serve_viewer", "start_viewer", "Viewer", "start_in_thread", "serve_until_interrupted", "harden",
                "add_page_routes", "json_response"):
        from latentwall.report import _viewer

        return getattr(_viewer, name)
    raise AttributeError(name)
