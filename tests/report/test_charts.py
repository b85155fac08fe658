"""Charts: every kind renders to a safe, deterministic inline SVG and a PNG, from typed inputs.

The XSS corpus goes through every place a model, target or topic string reaches a chart:
axis labels, panel titles, legends, chart titles and `<title>` tooltips.
"""

from __future__ import annotations

import itertools
import re
import struct
import xml.etree.ElementTree as ET
import zlib

import pytest

pytest.importorskip("matplotlib")

from latentwall.analysis import Rate
from latentwall.report import _style as S
from latentwall.report._charts import (
    DumbbellRow,
    Estimate,
    GapPoint,
    LayerSeries,
    RateBar,
    StanceRow,
    TaxRow,
    VerdictRow,
    capability_chart,
    gap_chart,
    label_text,
    layer_chart,
    leakage_chart,
    splinter_chart,
    stance_chart,
    verdict_chart,
)
from latentwall.report._render import UnsafeSVG, chart_png, chart_svg, check_svg

SVG = "{http://www.w3.org/2000/svg}"
XSS = [
    "<script>window.__pwned=1</script>",
    '"><img src=x onerror="window.__pwned=1">',
    "evil\u202eeulav",
    "]]><!-- -->",
    "a & b &amp; c",
    "bell\x07nul\x00esc\x1b del\x7f c1\x85",
    "$\\frac{1}{0}$ _hidden",
    "javascript:window.__pwned=1",
    "\ud800 lone surrogate",
]


def every_chart(label: str = "deepseek-r1", topic: str = "tiananmen-1989", lang: str = "zh-Hans"):
    """One chart of each kind, with `label`/`topic`/`lang` wherever outside text can go."""
    r = Rate.of
    return [
        verdict_chart(label, [VerdictRow("suite", "china", 50, 30, 20), VerdictRow("language", lang, 20, 63, 17),
                              VerdictRow("topic", topic, 3, 2, 1), VerdictRow("topic", "empty", 0, 0, 0)]),
        gap_chart([GapPoint(label, "en", Estimate(0.39, 0.30, 0.48, "bootstrap over topics"), 280, 300),
                   GapPoint(label, lang, Estimate(0.02, -0.07, 0.11, "newcombe"), 280, 300),
                   GapPoint(label, "all", Estimate(0.2, 0.15, 0.25), 560, 600, overall=True),
                   GapPoint("other", "en", Estimate(None), 0, 0)]),
        splinter_chart([DumbbellRow(label, {"en": r(126, 280), lang: r(213, 280)}),
                        DumbbellRow(topic, {"en": r(0, 40), lang: r(0, 0), "ru": r(40, 40)}, group=label)]),
        stance_chart([StanceRow(f"{label} · {lang}", 40, 20, 30), StanceRow(topic, 0, 0, 5)]),
        capability_chart([TaxRow("overall", r(131, 215), r(118, 215), Estimate(-0.06, -0.11, -0.01, "Newcombe")),
                          TaxRow(lang, r(41, 75), r(34, 75), Estimate(-0.09, -0.2, 0.02)),
                          TaxRow(topic, r(0, 0), r(3, 4), Estimate(None))],
                         a_name=label, b_name=f"{label}-abliterated"),
        leakage_chart([RateBar(f"keyword · {topic}", r(12, 60), label), RateBar("plain", r(0, 0), label)]),
        layer_chart([LayerSeries(label, [0.1, 0.5, None, 0.7, float("nan"), 0.2]),
                     LayerSeries(topic, [0.0] * 6, [-0.1] * 6, [0.1] * 6, dashed=True)],
                    name=f"lab-{label}", title=f"Cosine: {topic}", ylabel=lang, ref=0.0, y_range=(-1, 1)),
        layer_chart([LayerSeries(label, [0.001, 0.02, 0.003])], name="lab-bars", title=topic,
                    ylabel="norm", kind="bar"),
    ]


@pytest.fixture(scope="module")
def rendered():
    charts = every_chart()
    return [(c, chart_svg(c), chart_png(c)) for c in charts]


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        out.append((kind, body))
        pos += 12 + length
    return out


def test_every_chart_renders(rendered):
    assert len(rendered) == 8
    for chart, svg, png in rendered:
        root = check_svg(svg, chart.id_prefix)
        assert root.tag == f"{SVG}svg"
        assert root.get("role") == "img" and root.get("class") == "lw-chart"
        assert root.find(f"{SVG}title").text == chart.title
        assert root.find(f"{SVG}desc").text
        width, height = float(root.get("width").removesuffix("pt")), float(root.get("height").removesuffix("pt"))
        assert width == pytest.approx(S.WIDTH * 72) and height == pytest.approx(chart.height * 72)
        chunks = dict(png_chunks(png))
        w, h = struct.unpack(">II", chunks[b"IHDR"][:8])
        assert w == round(S.WIDTH * S.PNG_DPI) and h == round(chart.height * S.PNG_DPI)
        # Drawn, not blank: the chart has paths, and its tooltips are there.
        assert len(root.findall(f".//{SVG}path")) > 20
        assert len(root.findall(f".//{SVG}title")) > 1


def test_svg_has_no_metadata_style_comments_or_scripts(rendered):
    for _chart, svg, _png in rendered:
        assert not svg.startswith("<?xml") and "<!DOCTYPE" not in svg and "<!--" not in svg
        for banned in ("<metadata", "<style", "<script", "foreignObject", "style=", "Matplotlib",
                       "matplotlib.org", "dc:date", "rdf:"):
            assert banned not in svg, banned


def test_rendering_is_deterministic(rendered):
    for chart, svg, png in rendered[:3]:
        assert chart_svg(chart) == svg
        assert chart_png(chart) == png
        # No date or software version travels in the PNG either.
        kinds = {k for k, _ in png_chunks(png)}
        assert not kinds & {b"tEXt", b"iTXt", b"zTXt", b"tIME"}


def test_ids_are_prefixed_so_charts_can_share_a_page(rendered):
    seen: set[str] = set()
    for chart, svg, _png in rendered:
        root = ET.fromstring(svg)
        ids = {el.get("id") for el in root.iter() if el.get("id")}
        assert ids and all(i.startswith(chart.id_prefix) for i in ids)
        assert not ids & seen
        seen |= ids
        refs = re.findall(r'(?:href="#|url\(#)([^")]+)', svg)
        assert refs and all(r in ids for r in refs)


def test_tooltips_carry_the_numbers(rendered):
    verdicts = rendered[0][1]
    tips = [t.text for t in ET.fromstring(verdicts).iter(f"{SVG}title")]
    assert "deepseek-r1 · suite china: Denial 20 of 100 = 20.0% (Wilson 95% 13.3–28.9%)" in tips
    # The complete share's interval is one minus the not-complete one (the lower whisker).
    assert "deepseek-r1 · suite china: Complete 50 of 100 = 50.0% (Wilson 95% 40.4–59.6%)" in tips
    gap_tips = [t.text for t in ET.fromstring(rendered[1][1]).iter(f"{SVG}title")]
    assert ("deepseek-r1, en: gap +39.0 points (95% +30.0 to +48.0, bootstrap over topics); "
            "n = 280 China-side, 300 control") in gap_tips


@pytest.mark.parametrize("text", XSS)
def test_xss_corpus_through_every_label(text):
    charts = every_chart(label=text, topic=text, lang=text)
    for chart in charts:
        svg = chart_svg(chart)
        root = check_svg(svg, chart.id_prefix)
        for el in root.iter():
            assert el.tag.removeprefix(SVG) not in ("script", "img", "foreignObject", "iframe", "a")
            assert not any(k.rpartition("}")[2].lower().startswith("on") for k in el.attrib)
        assert "<script" not in svg and "<img" not in svg and "]]>" not in svg
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]", svg)
    # The text is kept visible, not dropped: the tooltips name it (escaped) with visible marks.
    tips = " ".join(t.text or "" for t in ET.fromstring(chart_svg(charts[0])).iter(f"{SVG}title"))
    assert label_text(text, 80) in tips


def test_label_text():
    assert label_text("a\nb\tc\r") == "a b c"
    assert label_text("x\u202ey") == "x⟨U+202E⟩y"
    assert label_text("x" * 100, 10) == "xxxxx…xxxx"
    assert label_text(None) == ""
    assert label_text("$x$") == "$x$"  # mathtext is off in the style, so this stays literal
    assert label_text("a\ud800b") == "a\ufffdb"  # no lone surrogate reaches the font or the XML


def test_mathtext_and_underscores_stay_literal():
    """A `$…$` topic must not be typeset and a label starting with '_' must not vanish."""
    chart = stance_chart([StanceRow("$\\alpha$", 1, 1, 1), StanceRow("_private", 1, 0, 0)])
    svg = chart_svg(chart)
    tips = [t.text for t in ET.fromstring(svg).iter(f"{SVG}title")]
    assert any(t.startswith("$\\alpha$: State-aligned") for t in tips)
    assert any(t.startswith("_private: State-aligned") for t in tips)


@pytest.mark.parametrize("bad", [
    '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    '<svg xmlns="http://www.w3.org/2000/svg"><g style="fill:red"/></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject/></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink"><use x:href="http://evil/x.svg#a"/></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg"><use href="#nowhere"/></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg"><path fill="url(http://evil/p)"/></svg>',
    '<!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg"/>',
    '<svg xmlns="http://www.w3.org/2000/svg"><![CDATA[x]]></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)"/></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg"><html:p xmlns:html="http://www.w3.org/1999/xhtml"/></svg>',
    "<svg",
])
def test_check_svg_refuses(bad):
    with pytest.raises(UnsafeSVG):
        check_svg(bad)


def test_check_svg_refuses_ids_of_other_charts(rendered):
    chart, svg, _ = rendered[0]
    check_svg(svg, chart.id_prefix)
    with pytest.raises(UnsafeSVG):
        check_svg(svg, "lwother-")


def test_the_font_is_the_one_matplotlib_ships():
    import matplotlib
    from matplotlib import font_manager

    with matplotlib.rc_context(S.RC):
        path = font_manager.findfont(font_manager.FontProperties(family=S.RC["font.family"]))
    assert path.startswith(matplotlib.get_data_path())
    assert path.endswith("DejaVuSans.ttf")


def test_visible_marks_have_glyphs():
    """The ⟨U+XXXX⟩ marks for bidi and control characters must render, not as empty boxes."""
    import matplotlib
    from matplotlib.ft2font import FT2Font

    font = FT2Font(f"{matplotlib.get_data_path()}/fonts/ttf/DejaVuSans.ttf")
    for ch in "⟨⟩…−·‖Δ":
        assert font.get_char_index(ord(ch)) != 0, ch


def test_inputs_and_csv_rows():
    chart = verdict_chart("m", [VerdictRow("language", "en", 60, 30, 10)])
    assert chart.columns[:7] == ("target", "facet", "group", "n", "complete", "evasive", "denial")
    row = dict(zip(chart.columns, chart.rows[0], strict=True))
    d, nc = Rate.of(10, 100), Rate.of(40, 100)
    assert row["denial_rate"] == 0.1 and row["denial_lo"] == round(d.lo, 6) and row["denial_hi"] == round(d.hi, 6)
    assert row["not_complete_rate"] == 0.4 and row["not_complete_lo"] == round(nc.lo, 6)
    empty = verdict_chart("m", [VerdictRow("language", "xx", 0, 0, 0)]).rows[0]
    assert empty[3] == 0 and empty[7] is None
    gap = gap_chart([GapPoint("m", "en", Estimate(float("nan"), None, None), 1, 1)])
    assert gap.rows[0][2] is None  # NaN never reaches a CSV as "nan"
    for fn in (lambda: verdict_chart("m", []), lambda: gap_chart([]), lambda: splinter_chart([]),
               lambda: stance_chart([]), lambda: leakage_chart([]),
               lambda: capability_chart([], a_name="a", b_name="b"),
               lambda: layer_chart([], name="x", title="t", ylabel="y")):
        with pytest.raises(ValueError):
            fn()
    with pytest.raises(ValueError):
        layer_chart([LayerSeries("s", [1.0])], name="x", title="t", ylabel="y", kind="pie")


def test_estimate():
    assert Estimate(0.1, 0.05, 0.2).excludes_zero
    assert not Estimate(0.1, 0.0, 0.2).excludes_zero  # touching zero is not excluding it
    assert Estimate(-0.1, -0.2, -0.01).excludes_zero
    assert not Estimate(0.1).has_interval and not Estimate(float("nan")).known


# ---------------------------------------------------------------------------- palette


def _lab(colour: str) -> tuple[float, float, float]:
    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(int(colour[i:i + 2], 16) / 255) for i in (1, 3, 5))
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


# Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB.
_CVD = {
    "deuteranopia": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881)),
    "protanopia": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216), (-0.003882, -0.048116, 1.051998)),
    "tritanopia": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602), (0.004733, 0.691367, 0.303900)),
}


def _simulate(colour: str, m) -> str:
    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    def enc(c: float) -> int:
        c = min(1.0, max(0.0, c))
        return round(255 * (12.92 * c if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055))

    rgb = [lin(int(colour[i:i + 2], 16) / 255) for i in (1, 3, 5)]
    out = [sum(m[i][j] * rgb[j] for j in range(3)) for i in range(3)]
    return "#" + "".join(f"{enc(c):02x}" for c in out)


def _delta(a: str, b: str) -> float:
    return sum((x - y) ** 2 for x, y in zip(_lab(a), _lab(b), strict=True)) ** 0.5


@pytest.mark.parametrize("palette", [S.VERDICT_COLOURS, S.STANCE_COLOURS], ids=["verdicts", "stance"])
def test_three_colours_survive_grey_print_and_colour_blindness(palette):
    colours = list(palette.values())
    lightness = sorted(_lab(c)[0] for c in colours)
    # Grey print keeps only lightness: at least 20 L* units between neighbours.
    assert all(b - a >= 20 for a, b in itertools.pairwise(lightness)), lightness
    for name, m in _CVD.items():
        sim = [_simulate(c, m) for c in colours]
        for i in range(3):
            for j in range(i + 1, 3):
                assert _delta(sim[i], sim[j]) >= 40, (name, colours[i], colours[j])


def test_ink_on_segments_is_readable():
    """The percentage printed on a segment has a contrast ratio of at least 4.5 (WCAG AA)."""
    def luminance(colour: str) -> float:
        def lin(c: float) -> float:
            return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
        r, g, b = (lin(int(colour[i:i + 2], 16) / 255) for i in (1, 3, 5))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    for fills, inks in ((S.VERDICT_COLOURS, S.VERDICT_INK), (S.STANCE_COLOURS, S.STANCE_INK)):
        for key, fill in fills.items():
            a, b = sorted((luminance(fill), luminance(inks[key])))
            assert (b + 0.05) / (a + 0.05) >= 4.5, (key, fill, inks[key])


def test_language_styles_are_stable():
    one = S.language_styles(["ru", "en"])
    two = S.language_styles(["en", "zh-Hans", "ru", "fr"])
    assert one["en"] == two["en"] and one["ru"] == two["ru"]
    assert len(set(two.values())) == 4


def test_chinese_labels_use_an_installed_cjk_font():
    from latentwall.report._render import cjk_fallback

    if not cjk_fallback():
        pytest.skip("no CJK font installed (apt-get install fonts-wqy-microhei)")
    svg = chart_svg(stance_chart([StanceRow("新疆 · zh-Hans", 1, 1, 1)]))
    fonts = set(re.findall(r'id="lw[0-9a-f]{10}-([A-Za-z]+)-[0-9a-f]+"', svg))
    assert "DejaVuSans" in fonts and fonts - {"DejaVuSans"}, fonts


def test_chinese_labels_without_a_cjk_font_still_render_quietly(monkeypatch):
    import warnings

    from latentwall.report import _render

    monkeypatch.setattr(_render, "cjk_fallback", lambda: ())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        svg = chart_svg(stance_chart([StanceRow("新疆", 1, 1, 1)]))
    fonts = set(re.findall(r'id="lw[0-9a-f]{10}-([A-Za-z]+)-[0-9a-f]+"', svg))
    assert fonts == {"DejaVuSans"}
    assert "新疆: State-aligned 1 of 3" in svg  # the tooltip keeps the text the chart cannot draw
