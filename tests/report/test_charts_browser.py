"""Charts in a real browser (Debian's headless Chromium): every inline SVG renders under the
strictest Content-Security-Policy, its tooltips are text, and hostile labels run nothing."""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET

import pytest

pytest.importorskip("matplotlib")

from test_charts import XSS, every_chart

from _browser import BROWSER_MARKS
from latentwall.analysis import Rate
from latentwall.report._charts import label_text
from latentwall.report._findings import Comparison, Side, findings, findings_html
from latentwall.report._render import chart_svg

# No script, no style sheet, no image, no fetch: an inline SVG chart needs none of them.
CSP = "default-src 'none'; base-uri 'none'; form-action 'none'"
SVG = "{http://www.w3.org/2000/svg}"

pytestmark = BROWSER_MARKS


def page(tmp_path, charts, svgs, extra=""):
    figures = "\n".join(f"<figure>{svg}<figcaption>{html.escape(c.caption)}</figcaption></figure>"
                        for c, svg in zip(charts, svgs, strict=True))
    doc = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}"><title>charts</title></head>
<body>{extra}{figures}</body></html>"""
    path = tmp_path / "charts.html"
    path.write_text(doc, "utf-8")
    return path


def test_every_chart_renders_with_escaped_tooltips(browser, tmp_path):
    hostile = XSS[0] + XSS[1]
    charts = [c for text in (XSS[1], XSS[2]) for c in every_chart(label=text, topic=hostile, lang=text)]
    svgs = [chart_svg(c) for c in charts]
    words = findings_html(findings([Comparison(hostile, "complete", Side("requests about China", Rate.of(36, 150)),
                                               Side("of matched controls", Rate.of(141, 150)))]))
    browser.get(path := page(tmp_path, charts, svgs, words).as_uri())
    assert browser.execute_script("return document.readyState") == "complete", path
    assert browser.execute_script("return window.__pwned") is None
    assert browser.execute_script("return document.querySelectorAll('script, img, iframe, foreignObject').length") == 0
    sizes = browser.execute_script(
        "return [...document.querySelectorAll('svg.lw-chart')].map(s => {const r = s.getBoundingClientRect();"
        " return [r.width, r.height, s.querySelectorAll('path').length]})")
    assert len(sizes) == len(charts)
    for (width, height, paths), chart in zip(sizes, charts, strict=True):
        assert width == pytest.approx(chart_width := 7.2 * 96, rel=0.01), chart_width
        assert height == pytest.approx(chart.height * 96, rel=0.01)
        assert paths > 20
    # Tooltips are text nodes holding exactly what the SVG writer put there.
    titles = browser.execute_script(
        "return [...document.querySelectorAll('svg.lw-chart title')].map(t => t.textContent)")
    expected = [t.text or "" for svg in svgs for t in ET.fromstring(svg).iter(f"{SVG}title")]
    assert titles == expected
    assert any(label_text(XSS[1], 80) in t for t in titles)
    assert any("⟨U+202E⟩" in t for t in titles)
    # The hostile target in the findings is text too.
    text = browser.execute_script("return document.querySelector('.findings-target h3').textContent")
    assert text == hostile
    # Nothing the page tried to load was refused: the charts ask for no resource at all.
    errors = [e for e in browser.get_log("browser") if "Content Security Policy" in e.get("message", "")]
    assert errors == []
    shot = tmp_path / "charts.png"
    browser.set_window_size(1200, 1600)
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 20_000


def test_report_charts_render_tooltips_escaped_filters_work(browser, tmp_path):
    """The written report in Chromium: its charts are drawn at size, their tooltips hold the
    hostile target name as text, nothing runs, and the heat map's metric and the explorer's
    filters still work with charts on the page."""
    from test_report import row, run

    from latentwall.report import write_report

    hostile = XSS[0] + " " + XSS[2]
    rows = [row(target=t, model=t, probe_id=f"s/topic/q{j}/en", topic=("taiwan", "weather")[j % 2],
                label=("COMPLETE", "EVASIVE", "DENIAL", "DENIAL")[(j + i) % 4])
            for i, t in enumerate(("plain-model", hostile)) for j in range(16)]
    path = write_report([run()], lambda: rows, tmp_path / "r.html")
    browser.get(path.as_uri())
    assert browser.execute_script("return window.__pwned") is None
    sizes = browser.execute_script(
        "return [...document.querySelectorAll('figure.chart svg.lw-chart')].map(s => {"
        "const r = s.getBoundingClientRect(); return [r.width, r.height]})")
    assert len(sizes) >= 2 and all(w > 300 and h > 100 for w, h in sizes)
    titles = browser.execute_script(
        "return [...document.querySelectorAll('svg.lw-chart title')].map(t => t.textContent).join('\\n')")
    heads = browser.execute_script("return [...document.querySelectorAll('.findings-target h3')].map(h => h.textContent)")
    assert any(h.startswith("<script>") for h in heads)  # the hostile name, shown as text
    assert "<script>" in titles  # in the charts' tooltips too, as text
    assert browser.execute_script("return document.querySelectorAll('main script:not([type]), main img').length") == 0
    # The heat map's metric choice redraws the cells: not complete by default, then refusal.
    assert browser.find_element("id", "hm-facet").text.startswith("Not complete")
    browser.execute_script("const s = document.getElementById('hm-metric'); s.value = 'refusal';"
                           "s.dispatchEvent(new Event('change'));")
    assert browser.find_element("id", "hm-facet").text.startswith("Refusal")
    # The explorer's label filter.
    browser.execute_script("const s = document.getElementById('f-label'); s.value = 'DENIAL';"
                           "s.dispatchEvent(new Event('change'));")
    labels = browser.execute_script(
        "return [...document.querySelectorAll('#resp-body tr')].map(r => r.textContent)")
    assert labels and all("DENIAL" in t for t in labels)
    assert browser.execute_script("return window.__pwned") is None
