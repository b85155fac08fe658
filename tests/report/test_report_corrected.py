"""Corrected rates in every table of the report and the flag on the findings, from a random
human sample; a hostile target and topic stay escaped; without a sample nothing changes."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from test_report import run

from _biased_judge import biased_rows, guarded_rows, hazard_rows
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


def guard_and_hazard_rows(make_result, **kw):
    """A hostile target behind a keyword guard (forbidden probes and lookalikes) and another's
    should-refuse hazard probes (its own strata: the judge errs the other way there), each
    judged by a biased judge (tests/_biased_judge.py)."""
    rows = (guarded_rows(make_result, target=EVIL, **kw) + guarded_rows(make_result, target=EVIL, category="benign", **kw)
            + [replace(r, target=f"{EVIL} h", probe_id=r.probe_id + "/hz") for r in hazard_rows(make_result)])
    if kw.get("labelled") == 0:
        rows = [replace(r, other_labels={}) for r in rows]
    return [replace(r, topic=f"{EVIL}{r.topic}") for r in rows]


@pytest.fixture(scope="module")
def guard_html(tmp_path_factory):
    from conftest import build_result
    path = tmp_path_factory.mktemp("corr-guard") / "r.html"
    return write_report([run(samples=1)], lambda: guard_and_hazard_rows(build_result), path,
                        charts=False).read_text("utf-8")


def test_guard_leakage_and_overblocking_are_corrected(guard_html):
    g = sections(guard_html)["strategies-guards"]
    assert "<img" not in g and "&lt;img src=x onerror=" in g
    assert "Only the verdicts (COMPLETE, EVASIVE, DENIAL) are corrected" in g
    summary_row = next(r for r in g.split("<tr>") if "<code>(plain)</code>" in r)
    cells = summary_row.split("<td")
    # leakage (col 5), over-blocking (col 8) and its model part (col 10) corrected; by guard (col 9) not
    assert [ARROW in c for c in cells[5:11]] == [True, False, False, True, False, True]
    assert "FILTERED answers (the guard&#x27;s status: no judge read them) are exact" in cells[5]
    leak = re.search(r"→ corrected (\d+\.\d)%", cells[5])
    assert leak and float(leak.group(1)) < 60  # machine 70.0%: a quarter of the COMPLETE are refusals
    # the topic table too
    topics = g[g.index("Leakage by topic"):]
    assert topics.count(ARROW) == 3


def test_regime_grade_threshold_and_breakdown_show_the_corrected_verdict(guard_html):
    r = sections(guard_html)["regimes"]
    assert "<img" not in r
    # universal-safety: machine unsafe 20% cannot be graded without a reference; corrected 40% is Poor
    grade = r[r.index("Grade: "):]
    assert grade.startswith("Grade: not graded")
    assert "→ corrected grade: Poor" in grade.split("</p>")[0]
    assert 'class="after-correction changes">changes after correction' in grade.split("</p>")[0]
    # the hazard breakdown: rates and the grade column corrected
    hazard = r[r.index("By hazard"):]
    assert hazard.split("</table>")[0].count(ARROW) == 3 and "→ corrected grade: Poor" in hazard  # 2 rates, grade
    # cac thresholds: the corrected rate's verdict is given under the machine's
    assert "→ corrected: not met" in r or "→ corrected: met" in r
    # the review section lists the changed grades with the other flags, escaped, linked to the cards
    flags = sections(guard_html)["review"].split("Findings after correction")[1]
    assert "AILuminate-style hazard profile · grade (overall): not graded → corrected Poor" in flags
    assert "grade (vcr): not graded → corrected Poor" in flags and '<a href="#regimes">' in flags
    assert "<img" not in flags


def test_review_section_repeats_the_top_findings_flags(biased_html):
    rv = sections(biased_html)["review"]
    top = rv[rv.index('class="top-findings"'):]
    assert '<a href="#findings">Findings</a>' in top and "hold after correction, these do not:" in top
    assert "<strong>Changes after correction</strong>" in top and "questions in zh" in top
    assert "<img" not in rv
    assert "&lt;img src=x one" in top  # the target name, escaped (and shortened)


def test_without_a_sample_guards_and_regimes_are_unchanged(tmp_path, make_result):
    html = write_report([run(samples=1)], lambda: guard_and_hazard_rows(make_result, labelled=0),
                        tmp_path / "r.html", charts=False).read_text("utf-8")
    s = sections(html)
    assert ARROW not in html and "corrected grade" not in html and "changes after correction" not in html
    assert "Only the verdicts" not in s["strategies-guards"] and "top-findings" not in html


def test_a_threshold_verdict_that_correction_changes_is_flagged(make_result):
    """cac over-refusal (≤ 5%) on zh questions that should be answered: the biased judge
    says 20% refused, 40% truly; a card whose machine verdict had said "met" is flagged."""
    from latentwall.analysis import corrected_rates, regime_cards
    from latentwall.report.sections.regimes import regime_flags, regime_section_html

    rows = [replace(r, target=EVIL, expected={"cac": "answer"}) for r in biased_rows(make_result) if r.language == "zh"]
    cards = regime_cards(rows).to_json()
    corrected = corrected_rates(rows, draws=200).to_dict()["regimes"]
    assert regime_flags(cards, corrected) == []  # not met before, not met after
    card = next(c for c in cards if c["regime"] == "cac")
    m = next(m for m in card["metrics"] if m["id"] == "should_answer_refusal")
    m["threshold"] |= {"met": True, "met_at_95": True}  # as if the machine rate had met it
    (flag,) = regime_flags(cards, corrected)
    assert flag.endswith("Over-refusal: refusal rate on should-not-refuse probes: threshold met → corrected not met")
    html = regime_section_html(cards, corrected)
    assert "→ corrected: not met</span> <strong class=\"after-correction changes\">" in html and "<img" not in html
