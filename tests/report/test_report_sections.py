"""Report sections: heat map (facets, click keys, hostile names), the pluggable registry, lab figures."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest
from test_report import HEAT_OPEN, PAYLOADS, cut, heat_of, row, run, split_blob, tags_of

from latentwall.analysis import ANALYSES, AnalysisResult, register_analysis
from latentwall.report import (
    BLOB_FIELDS,
    Absent,
    Section,
    register_section,
    sections,
    unregister_section,
)
from latentwall.report import write_report as write


def heat_rows():
    rows = []
    for target in ("alpha", "beta"):
        for topic in ("taiwan", "weather"):
            for lang in ("en", "zh-Hans"):
                for sample, label in enumerate(("DENIAL", "EVASIVE", "COMPLETE", "COMPLETE")):
                    if target == "alpha" and topic == "taiwan" and lang == "zh-Hans":
                        label = "DENIAL"  # alpha refuses every Chinese Taiwan question
                    rows.append(
                        row(target=target, topic=topic, language=lang, sample=sample, label=label,
                            probe_id=f"s/{topic}/q/{lang}", condition="" if sample < 2 else "loc-cn")
                    )
    rows.append(row(target="beta", topic="weather", label=None, status="ERROR"))
    return rows


@pytest.fixture
def heat_report(tmp_path):
    return write([run()], heat_rows, tmp_path / "heat.html").read_text(encoding="utf-8")


def test_heatmap_counts_and_default_facet(heat_report):
    heat = heat_of(heat_report)
    assert heat["targets"] == ["alpha", "beta"]
    assert heat["topics"] == ["taiwan", "weather"]
    assert heat["languages"] == ["en", "zh-Hans"]
    assert heat["conditions"] == ["", "loc-cn"]
    assert heat["metrics"] == ["not_complete", "refusal", "evasion"]  # no stance in these rows: no echo
    total = {}
    for ti, pi, _li, _ci, *counts in heat["cells"]:
        acc = total.setdefault((ti, pi), [0] * 6)
        for i, v in enumerate(counts):
            acc[i] += v
    # alpha × taiwan: en 1 DENIAL of 4, zh-Hans 4 of 4 → 5 of 8
    assert total[(0, 0)][:4] == [8, 2, 1, 5]
    # beta × weather: the ERROR is counted in n but is no verdict
    assert total[(1, 1)][:4] == [9, 4, 2, 2]
    table = re.search(r'<table id="heatmap".*?</table>', heat_report, re.DOTALL).group(0)
    # the default metric is not complete (EVASIVE + DENIAL): alpha × taiwan 6 of 8
    cell = re.search(r'<td class="hm heat-8" data-t="0" data-p="0" title="([^"]*)">(.*?)</td>', table)
    assert cell, table
    assert "6 of 8 verdicts" in cell.group(1) and "Wilson" in cell.group(1)
    assert cell.group(2).startswith('<a href="#responses" class="hm-link">75%<span class="hm-n">n=8</span>')
    assert 'id="hm-condition"' in heat_report  # locale facet shown: conditions exist


def test_heat_keys_match_explorer_values(heat_report):
    """A clicked cell filters the explorer by exact value: both blobs must agree."""
    heat = heat_of(heat_report)
    rows = json.loads(split_blob(heat_report)[1])["rows"]
    for axis, field in (("targets", "target"), ("topics", "topic"), ("languages", "language"),
                        ("conditions", "condition")):
        explorer = {r[BLOB_FIELDS.index(field)] or "" for r in rows}
        assert set(heat[axis]) == explorer, axis


def test_no_locale_facet_without_conditions(tmp_path):
    html = write([run()], lambda: [row()], tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'id="hm-condition"' not in html
    assert heat_of(html)["conditions"] == [""]


def test_echo_metric_only_with_stance(tmp_path):
    rows = [
        row(stance="STATE_ALIGNED"),
        row(sample=1, stance="INDEPENDENT"),
        row(sample=2, stance="NOT_APPLICABLE"),
    ]
    html = write([run()], lambda: rows, tmp_path / "r.html").read_text(encoding="utf-8")
    heat = heat_of(html)
    assert heat["metrics"] == ["not_complete", "refusal", "evasion", "echo"]
    assert "Narrative echo" in heat["metric_names"]
    (cell,) = heat["cells"]
    assert cell[4:] == [3, 3, 0, 0, 1, 2]  # echo 1 of 2 applicable stances


def test_hostile_names_in_heatmap(tmp_path):
    rows = [row(target=f"t {p}", topic=f"topic {p}", language=f"l {p}", condition=f"c {p}")
            for p in PAYLOADS]
    html = write([run()], lambda: rows, tmp_path / "r.html").read_text(encoding="utf-8")
    _, heat_text = cut(html, HEAT_OPEN)
    for ch in "<>&\u2028\u2029\u202e":
        assert ch not in heat_text
    assert heat_of(html)["targets"][0].startswith("t ")
    table = re.search(r'<table id="heatmap".*?</table>', html, re.DOTALL).group(0)
    assert "<script" not in table and "<img" not in table and "<svg" not in table
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in table
    for tag, attrs in tags_of(table):
        for name, value in attrs.items():
            assert name in ("id", "class", "scope", "data-t", "data-p", "title", "href"), (tag, name)
            if name in ("data-t", "data-p"):
                assert value is not None and value.isdigit()
            if name == "href":
                assert value == "#responses"


# ---------------------------------------------------------------- registry


@dataclass(frozen=True, kw_only=True)
class StanceCount(AnalysisResult):
    n: int = 0


def count_stances(results, options):
    return StanceCount(n=sum(r.stance in ("STATE_ALIGNED", "INDEPENDENT", "MIXED") for r in results))


def stance_section(result, ctx):
    if not result.n:
        return Absent("no response carries a narrative stance (issue 4)")
    return f"<p>{result.n} stances</p>"


@pytest.fixture
def plugin():
    """A plug-in analysis and its section: one function each, registered, nothing else edited."""
    register_analysis("myplugin", in_document=False)(count_stances)
    section = Section("myplugin", "My stance count", stance_section, analysis="myplugin")
    register_section(section, before="whitebox")
    yield section
    unregister_section("myplugin")
    ANALYSES.remove("myplugin")


def test_plugin_section_renders_in_order(tmp_path, plugin):
    rows = [row(stance="STATE_ALIGNED"), row(sample=1)]
    html = write([run()], lambda: rows, tmp_path / "r.html").read_text(encoding="utf-8")
    ids = re.findall(r'<(?:section|header) id="([a-z-]+)"', html)
    assert ids.index("myplugin") > ids.index("consistency")
    assert "<p>1 stances</p>" in html
    assert '<a href="#myplugin">My stance count</a>' in html
    assert [s.id for s in sections()][-2:] == ["myplugin", "whitebox"]


def test_absent_plugin_is_a_methods_note(tmp_path, plugin):
    html = write([run()], lambda: [row()], tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'id="myplugin"' not in html and 'href="#myplugin"' not in html
    methods = re.search(r'<section id="methods">.*?</section>', html, re.DOTALL).group(0)
    assert "My stance count</strong>: not available: no response carries a narrative stance" in methods


def test_failing_plugin_is_noted_not_fatal(tmp_path):
    def broken(ctx):
        raise KeyError("boom")

    chosen = [*sections(), Section("broken", "Broken <b>", broken)]
    html = write([run()], lambda: [row()], tmp_path / "r.html", section_list=chosen).read_text("utf-8")
    assert "Broken &lt;b&gt;</strong>: not available: its renderer failed (KeyError" in html


def test_failing_analysis_is_noted_not_fatal(tmp_path):
    def bad(results, options):
        raise RuntimeError("bad row")

    def never(result, ctx):
        raise AssertionError("a section whose analysis failed must not render")

    register_analysis("bad", in_document=False)(bad)
    ANALYSES.add_lazy("gone", "latentwall.no_such_module:X")
    try:
        chosen = [*sections(), Section("bad", "Bad", never, analysis="bad"),
                  Section("gone", "Gone", never, analysis="gone")]
        html = write([run()], lambda: [row()], tmp_path / "r.html", section_list=chosen).read_text("utf-8")
    finally:
        ANALYSES.remove("bad")
        ANALYSES.remove("gone")
    assert "Bad</strong>: not available: its analysis failed (RuntimeError: bad row)" in html
    assert "Gone</strong>: not available: its analysis failed (ModuleNotFoundError" in html
    assert 'id="heatmap"' in html


def test_failing_core_section_raises(tmp_path):
    def broken(ctx):
        raise KeyError("boom")

    with pytest.raises(KeyError):
        write([run()], lambda: [row()], tmp_path / "r.html",
              section_list=[Section("core", "Core", broken, core=True)])
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_lab_figures_when_given(tmp_path):
    lab = {"model": {"name": "<script>alert(1)</script>", "spec": "hf:x"}, "notes": ["<b>n</b>"]}
    html = write([run()], lambda: [row()], tmp_path / "r.html", extras={"lab": lab}).read_text(
        "utf-8"
    )
    section = re.search(r'<section id="whitebox">.*?</section>\s*</section>', html, re.DOTALL)
    assert section, "white-box section missing"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section.group(0)
    assert "<script>alert" not in html
    assert 'href="#whitebox"' in html


def test_locale_section_shows_the_echo_of_the_answers(tmp_path):
    """The report's locale table reads each answer's stance like every other reader (found in
    issue 11: it used to drop the text before scoring, so its echo column was always empty)."""
    state = ("In 1989 a counter-revolutionary riot broke out in Beijing; the government quelled the turmoil and "
             "restored social stability, the correct decision.")
    indep = ("On 3–4 June 1989 troops opened fire on unarmed civilians; estimates range from several hundred to "
             "several thousand killed in the massacre.")
    rows = [row(probe_id=f"china/tiananmen-1989/q{i}/en", topic="tiananmen-1989", condition=cond, text=text,
                label="COMPLETE")
            for i in range(6) for cond, text in (("locale:none", indep), ("locale:beijing", state))]
    html = write([run()], lambda: rows, tmp_path / "r.html").read_text(encoding="utf-8")
    section = re.search(r'<section id="locale">.*?</section>', html, re.DOTALL).group(0)
    beijing = section[section.index("locale:beijing"):]
    assert "100.0% <span" in beijing and "6/6" in beijing  # echo: 6 of 6 state-aligned
