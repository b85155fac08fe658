"""`report --figures DIR`: every chart as files ready to publish.

For each chart: `NAME.svg` (the same safe SVG the report inlines), `NAME.png`,
`NAME.csv` (the numbers behind it: RFC 4180, CRLF row ends, text cells a spreadsheet
would run as formulas prefixed with an apostrophe, as the exports do) and `NAME.txt`
(title, caption, source runs). `figures.json` indexes them: name, title, caption, alt
text, files, columns, source run ids. NAME is an ASCII slug of the chart's name, unique
in the directory's set, whatever the target and topic names hold. Each file is written
beside its destination and renamed into place, and the index last: a directory whose
index lists a figure has all of its files.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from latentwall.errors import LatentwallError
from latentwall.export import formula_safe
from latentwall.report._charts import Cell, Chart
from latentwall.report._render import chart_png, chart_svg

__all__ = ["FIGURES_SCHEMA", "INDEX", "figure_slug", "write_figures"]

FIGURES_SCHEMA = "latentwall.figures/1"
INDEX = "figures.json"
MAX_SLUG = 60
# Names Windows will not create as files, whatever the extension.
_RESERVED = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                       *(f"lpt{i}" for i in range(10))})


def figure_slug(name: str, taken: set[str] | None = None) -> str:
    """An ASCII file-name stem for `name`: lower case, digits and '-', at most MAX_SLUG long,
    not a reserved device name, and not in `taken` (which it is added to)."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:MAX_SLUG].strip("-") or "figure"
    if slug in _RESERVED or slug.split("-")[0] in _RESERVED:
        slug = f"fig-{slug}"
    if taken is None:
        return slug
    base, n = slug, 2
    while slug in taken:
        tag = f"-{n}"
        slug = base[: MAX_SLUG - len(tag)] + tag
        n += 1
    taken.add(slug)
    return slug


def _cell(value: Cell, excel_safe: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    return formula_safe(text) if excel_safe else text


def chart_csv(chart: Chart, excel_safe: bool = True) -> str:
    """The numbers behind a chart as RFC 4180 CSV text (header row first)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(chart.columns)
    for row in chart.rows:
        writer.writerow([_cell(v, excel_safe) for v in row])
    return buf.getvalue()


def _caption_text(chart: Chart, files: dict[str, str], sources: Sequence[str]) -> str:
    lines = [chart.title, "", chart.caption, ""]
    if sources:
        lines.append("Source runs: " + ", ".join(sources))
    lines.append(f"Data: {files['csv']}")
    return "\n".join(lines) + "\n"


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise LatentwallError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_figures(
    charts: Sequence[Chart],
    directory: str | os.PathLike[str],
    *,
    sources: Sequence[str] = (),
    excel_safe: bool = True,
    png_dpi: int | None = None,
    progress: Callable[[int, int, str], Any] | None = None,
) -> Path:
    """Write every chart's SVG, PNG, CSV and caption into `directory`; return the index path.

    `sources` are run ids used for charts that do not name their own. `progress(i, n,
    name)` is called before each chart (rendering a PNG takes a fraction of a second).
    """
    out = Path(directory)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LatentwallError(f"cannot create {out}: {exc.strerror or exc}") from None
    taken: set[str] = set()
    index: list[dict[str, Any]] = []
    for i, chart in enumerate(charts):
        slug = figure_slug(chart.name, taken)
        if progress is not None:
            progress(i, len(charts), slug)
        files = {ext: f"{slug}.{ext}" for ext in ("svg", "png", "csv", "txt")}
        chart_sources = list(chart.sources or sources)
        svg = chart_svg(chart)
        _write(out / files["svg"], ('<?xml version="1.0" encoding="utf-8"?>\n' + svg + "\n").encode())
        png = chart_png(chart) if png_dpi is None else chart_png(chart, dpi=png_dpi)
        _write(out / files["png"], png)
        _write(out / files["csv"], chart_csv(chart, excel_safe).encode("utf-8"))
        _write(out / files["txt"], _caption_text(chart, files, chart_sources).encode("utf-8"))
        index.append({"name": slug, "chart": chart.name, "title": chart.title, "caption": chart.caption,
                      "alt": chart.alt, "files": files, "columns": list(chart.columns),
                      "rows": len(chart.rows), "sources": chart_sources})
    path = out / INDEX
    doc = {"schema": FIGURES_SCHEMA, "excel_safe": excel_safe, "figures": index}
    _write(path, (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    return path
