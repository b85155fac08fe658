"""Charts to inline SVG and PNG, deterministic and safe to put inside a report page.

matplotlib's SVG carries an XML declaration, a DOCTYPE, RDF metadata (creator and date),
a `<style>` element with a global `*{…}` rule, comments repeating every label, and ids
that another chart on the same page may reuse. The SVG written here has none of that:
it is parsed and rebuilt element by element (ElementTree, which never fetches entities),
keeping only drawing elements; `style="…"` becomes presentation attributes, so the chart
needs neither scripts nor inline styles under the report's Content-Security-Policy;
every id gets the chart's own prefix; `<title>` tooltips and an accessible title and
description are added as escaped text. `check_svg` verifies the result (no script, no
event handler, no foreign object, no reference outside the chart) and runs on every
render, so a chart that failed it could never be written.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import re
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from latentwall.errors import ConfigError
from latentwall.report import _style as S
from latentwall.report._charts import Chart
from latentwall.report._format import neutralise

__all__ = ["UnsafeSVG", "chart_png", "chart_svg", "check_svg", "cjk_fallback", "matplotlib_available",
           "xml_text"]

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
_SVG = f"{{{SVG_NS}}}"
_HREF = f"{{{XLINK_NS}}}href"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)

# What matplotlib draws with; anything else is dropped, and check_svg refuses it.
_ALLOWED = frozenset({"svg", "g", "defs", "path", "use", "clipPath", "rect", "circle", "ellipse",
                      "line", "polyline", "polygon", "title", "desc", "linearGradient",
                      "radialGradient", "stop", "pattern", "mask", "symbol"})
_DROP = frozenset({"metadata", "style"})
# Presentation attributes a style="…" declaration may become.
_PRESENTATION = frozenset({
    "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity",
    "stroke-linecap", "stroke-linejoin", "stroke-dasharray", "stroke-dashoffset",
    "stroke-miterlimit", "opacity", "clip-path", "clip-rule", "mask", "stop-color",
    "stop-opacity", "font-family", "font-size", "font-style", "font-weight", "visibility",
    "display", "color",
})
_URL = re.compile(r"url\(\s*#([^)\s]+)\s*\)")
_SAFE_URL = re.compile(r"^url\(#[A-Za-z0-9_.:-]+\)$")
_XML_BAD = re.compile("[\ud800-\udfff\ufffe\uffff]")
MAX_TIP = 400
_CJK_FILE = re.compile(r"wqy|cjk|sourcehan|droidsansfallback|notosans(sc|tc)", re.IGNORECASE)


class UnsafeSVG(ValueError):
    """A chart's SVG failed the safety check (a bug: it must never be written)."""


def matplotlib_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def _mpl() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ConfigError("charts need matplotlib: pip install -e '.[report]'") from None
    return matplotlib


def xml_text(text: Any, limit: int = MAX_TIP) -> str:
    """Text for a `<title>`/`<desc>`: visible marks for bidi and control characters (which
    XML 1.0 cannot even carry), no lone surrogates, at most `limit` characters. ElementTree
    escapes `<`, `>` and `&` when it writes the element."""
    s = neutralise("" if text is None else str(text))
    s = _XML_BAD.sub("\ufffd", s)
    return s if len(s) <= limit else s[: limit - 1] + "…"


@functools.cache
def cjk_fallback() -> tuple[str, ...]:
    """Installed font families that can draw Chinese, used after DejaVu Sans (which cannot).

    Only fonts already on the machine (e.g. Debian's fonts-wqy-microhei or fonts-noto-cjk);
    none is downloaded. Without one, CJK characters in a chart label show as boxes, while
    the tooltips, the CSV and the report's tables keep the text.
    """
    from matplotlib import font_manager

    def known() -> list[str]:
        names = {f.name for f in font_manager.fontManager.ttflist}
        return [f for f in S.CJK_FAMILIES if f in names]

    if not known():  # matplotlib's font cache predates a font installed since: look once
        for path in font_manager.findSystemFonts():
            if _CJK_FILE.search(Path(path).name):
                with contextlib.suppress(Exception):
                    font_manager.fontManager.addfont(path)
    return tuple(known())


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """Silence a logger for a moment (matplotlib logs each bold weight a CJK font lacks)."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _rc() -> dict[str, Any]:
    return {**S.RC, "font.family": [*S.RC["font.family"], *cjk_fallback()]}


def _save(chart: Chart, fmt: str, **kw: Any) -> tuple[bytes, dict[str, str]]:
    mpl = _mpl()
    from matplotlib.figure import Figure

    with mpl.rc_context(_rc()), warnings.catch_warnings(), _quiet("matplotlib.font_manager"):
        # A glyph no installed font has is drawn as a box; saying so once per glyph and
        # chart would bury real warnings.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from", category=UserWarning)
        fig = Figure(figsize=(S.WIDTH, chart.height), layout="constrained")
        tips = chart.draw(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, **kw)
    return buf.getvalue(), tips


def chart_png(chart: Chart, dpi: int = S.PNG_DPI) -> bytes:
    """The chart as PNG bytes (no software or date metadata, so the bytes are reproducible)."""
    data, _ = _save(chart, "png", dpi=dpi, metadata={"Software": None})
    return data


def _style_attrs(style: str) -> dict[str, str]:
    """`style="fill: #fff; stroke: none"` as presentation attributes; anything else is dropped."""
    out = {}
    for decl in style.split(";"):
        key, sep, value = decl.partition(":")
        key, value = key.strip().lower(), value.strip()
        if not (sep and key in _PRESENTATION and value) or "\\" in value:
            continue
        if "(" in value and not _SAFE_URL.match(value):
            continue
        out[key] = value
    return out


def _rebuild(el: ET.Element, prefix: str, tips: dict[str, str]) -> ET.Element | None:
    """A copy of `el` with only drawing elements and safe attributes, ids prefixed."""
    tag = el.tag[len(_SVG):] if isinstance(el.tag, str) and el.tag.startswith(_SVG) else None
    if tag is None or tag in _DROP:
        return None
    if tag not in _ALLOWED:
        raise UnsafeSVG(f"matplotlib wrote an unexpected <{el.tag}> element")
    out = ET.Element(el.tag)
    orig_id = el.get("id")
    for key, value in el.attrib.items():
        if key == "style":
            continue
        name = key.rpartition("}")[2]
        if name.lower().startswith("on"):
            continue
        if key in (_HREF, "href"):
            if not value.startswith("#"):
                continue
            value = "#" + prefix + value[1:]
        elif name == "id":
            value = prefix + value
        elif "url(" in value:
            value = _URL.sub(lambda m: f"url(#{prefix}{m.group(1)})", value)
        out.set(key, value)
    for key, value in _style_attrs(el.get("style", "")).items():
        out.set(key, _URL.sub(lambda m: f"url(#{prefix}{m.group(1)})", value))
    if orig_id and orig_id in tips:
        title = ET.SubElement(out, f"{_SVG}title")
        title.text = xml_text(tips[orig_id])
    if el.text and el.text.strip() and tag in ("title", "desc"):
        out.text = xml_text(el.text)
    for child in el:
        kid = _rebuild(child, prefix, tips)
        if kid is not None:
            out.append(kid)
    return out


def chart_svg(chart: Chart) -> str:
    """The chart as an `<svg>` element to inline in HTML (or to save as a .svg file).

    Text is drawn as paths (the same on every viewer), every label and tooltip is escaped,
    and the result passes `check_svg`.
    """
    raw, tips = _save(chart, "svg", metadata={"Date": None, "Creator": None, "Format": None,
                                             "Type": None})
    text = raw.decode("utf-8")
    text = re.sub(r"<!DOCTYPE[^>]*>", "", text, count=1)  # the DTD is never needed or fetched
    parser = ET.XMLParser()
    src = ET.fromstring(text, parser=parser)
    prefix = chart.id_prefix
    root = _rebuild(src, prefix, tips)
    assert root is not None
    root.set("role", "img")
    root.set("class", "lw-chart")
    root.set("aria-labelledby", f"{prefix}title {prefix}desc")
    # Inherited by every element: what matplotlib's global `*{…}` style rule used to say.
    root.set("stroke-linejoin", "round")
    root.set("stroke-linecap", "butt")
    title = ET.Element(f"{_SVG}title", {"id": f"{prefix}title"})
    title.text = xml_text(chart.title)
    desc = ET.Element(f"{_SVG}desc", {"id": f"{prefix}desc"})
    desc.text = xml_text(chart.alt or chart.caption, 1000)
    root.insert(0, desc)
    root.insert(0, title)
    svg = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    check_svg(svg, prefix)
    return svg


def check_svg(svg: str, prefix: str | None = None) -> ET.Element:
    """Refuse an SVG that could run code or reach outside itself when inlined in a page.

    Allowed: the drawing elements above; attributes without event handlers; references only
    to `#id` inside this SVG (with `prefix`, to ids of this chart); no DOCTYPE, no entity,
    no processing instruction, no CDATA. Returns the parsed tree.
    """
    if re.search(r"<!DOCTYPE|<!ENTITY|<\?|<!\[CDATA\[", svg, re.IGNORECASE):
        raise UnsafeSVG("SVG carries a DOCTYPE, entity, processing instruction or CDATA")
    try:
        root = ET.fromstring(svg)
    except ET.ParseError as exc:
        raise UnsafeSVG(f"SVG does not parse: {exc}") from None
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    for el in root.iter():
        if not isinstance(el.tag, str) or not el.tag.startswith(_SVG):
            raise UnsafeSVG(f"element outside the SVG namespace: {el.tag!r}")
        tag = el.tag[len(_SVG):]
        if tag not in _ALLOWED:
            raise UnsafeSVG(f"element <{tag}> is not allowed")
        for key, value in el.attrib.items():
            name = key.rpartition("}")[2].lower()
            if name.startswith("on") or name == "style":
                raise UnsafeSVG(f"attribute {name} on <{tag}>")
            if name == "href":
                if not value.startswith("#") or value[1:] not in ids:
                    raise UnsafeSVG(f"<{tag}> refers outside the chart: {value[:60]!r}")
                if prefix and not value[1:].startswith(prefix):
                    raise UnsafeSVG(f"<{tag}> refers to an id of another chart: {value[:60]!r}")
            if "url(" in value.lower() and not _SAFE_URL.match(value.strip()):
                raise UnsafeSVG(f"attribute {name} has an unsafe url(): {value[:60]!r}")
            if "javascript:" in value.lower().replace(" ", ""):
                raise UnsafeSVG(f"attribute {name} holds a javascript: URL")
            if name == "id" and prefix and not value.startswith(prefix):
                raise UnsafeSVG(f"id {value[:60]!r} lacks the chart's prefix")
    return root
