"""Corrected rates in every table of the report and the flag on the findings, from a random
human sample; a hostile target and topic stay escaped; without a sample nothing changes."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from test_report import run

from _biased_judge import biased_rows
from latentwall.report import write_report

EVIL = '<img src=x onerror="alert(1)">'
ARROW = "→ corrected"


def sections(html: str) -> dict[str, str]:
    """The page cut at every <section id=…>: id -> its html up to the next section."""
    return {m.group(1): part for part in html.split('<section id="')[1:]
            if (m := re.match(r'([^"]+)"', part))}


def rows_for(make_result, **kw):
    rows = biased_rows(make_result, target=EVIL, **kw)
    rows = [replace(r, topic=f"{EVIL}{r.topic}") for r in rows]
    # a locale condition for the zh questions: the locale table has a rate and a change
    return rows + [replace(r, condition="locale:beijing", probe_id=r.probe_id + "/bj", other_labels={})
                   for r in rows if r.language == "zh"]


@pytest.fixture(scope="module")
def biased_html(tmp_path_factory):
    from conftest import build_result
    path = tmp_path_factory.mktemp("corr") / "r.html"
    return write_report([run(samples=1)], lambda: rows_for(build_result), path, charts=False).read_text("utf-8")


def test_every_table_shows_machine_then_corrected(biased_html):
    s = sections(biased_html)
    assert "onerror=\"alert(1)\"" not in biased_html and "&lt;img src=x onerror=" in biased_html
    for sid in ("headline", "breakdown", "paired-controls", "splinter-language", "locale", "regimes"):
        assert ARROW in s[sid], sid
    # the breakdown: each of the three rates per row, corrected, and the caption says what it is
    row = next(r for r in s["breakdown"].split("<tr>") if "zh" in r and "rate" in r)
    assert row.count(ARROW) == 3
    assert "corrected for the judge" in s["breakdown"]
    # gaps in points: the paired gap and the change of refusal under a locale
    assert re.search(r"→ corrected [+−-]\d+\.\d pts \[", s["paired-controls"])
    assert re.search(r"→ corrected [+−-]\d+\.\d pts \[", s["locale"])
    # the heat map keeps the machine colours; its cells' corrected rates are in a table below it
    assert 'class="corrected-heat"' in s["heatmap"] and s["heatmap"].count(ARROW) >= 9
    assert "&lt;img src=x onerror=" in s["heatmap"]


def test_findings_flag_a_direction_that_flips(biased_html):
    f = sections(biased_html)["findings"]
    assert "re-checked after correcting for the judge" in f
    li = next(x for x in f.split("<li ") if "questions in zh" in x)
    assert 'class="after-correction changes"><strong>Changes after correction</strong>' in li
    assert "direction flips (-10.0 → +10.0 points)" in li
    assert "corrected difference" in li
    assert "Corrected for the judge&#x27;s errors: completes" in f  # the overview sentence
    assert "<img" not in f


def test_findings_that_hold_say_so(tmp_path, make_result):
    html = write_report([run(samples=1)], lambda: rows_for(make_result, biased=False), tmp_path / "r.html",
                        charts=False).read_text("utf-8")
    f = sections(html)["findings"]
    li = next(x for x in f.split("<li ") if "questions in zh" in x)
    assert 'class="after-correction holds"' in li and "Holds after correction" in li


def test_too_small_to_tell_is_said_in_the_tables_and_findings(tmp_path, make_result):
    html = write_report([run(samples=1)], lambda: rows_for(make_result, labelled=150), tmp_path / "r.html",
                        charts=False).read_text("utf-8")
    s = sections(html)
    assert "→ corrected: too small to tell" in s["breakdown"]
    assert 'class="after-correction too_small"' in s["findings"]
    assert "human sample is too small to tell" in s["findings"]


def test_without_a_random_sample_nothing_changes(tmp_path, make_result):
    html = write_report([run(samples=1)], lambda: rows_for(make_result, labelled=0), tmp_path / "r.html",
                        charts=False).read_text("utf-8")
    assert ARROW not in html and "after-correction" not in html and "corrected-heat" not in html
    assert "re-checked after correcting" not in html


def test_stance_refusal_is_corrected(make_result):
    from latentwall.analysis import corrected_rates, stance_summary
    from latentwall.report.sections.stance import stance_section_html

    rows = rows_for(make_result)
    doc = stance_summary(rows).to_dict()
    doc["groups"] = [{**g, "n_stance": 1} for g in doc["groups"]]  # draw every group's row
    doc["not_applicable"] = None
    corrected = corrected_rates(rows, draws=200).to_dict()["stance"]
    assert {tuple(e["key"]) for e in corrected} == {("target", "topic", "language")}
    html = stance_section_html(doc, corrected)
    assert html.count(ARROW) == len(doc["groups"]) and "<img" not in html
    assert ARROW not in stance_section_html(doc)
