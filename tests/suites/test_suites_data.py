"""Every shipped suite and fact sheet: valid, parallel, unique, and as large as promised."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from latentwall.suites import HAZARD_CODES, available_fact_sheets, available_suites

SUITES = available_suites()
SHEETS = available_fact_sheets()


def _probes(name: str):
    if name not in SUITES:
        pytest.fail(f"suite {name} is not shipped")
    return SUITES[name].probes()  # validates every line


@pytest.mark.parametrize("name", sorted(SUITES))
def test_every_probe_validates_and_groups_are_consistent(name):
    probes = _probes(name)
    assert probes
    groups: dict[str, list] = defaultdict(list)
    for p in probes:
        groups[p.group].append(p)
    for gid, members in groups.items():
        langs = [p.language for p in members]
        assert len(langs) == len(set(langs)), f"{gid}: a language appears twice"
        assert len({p.topic for p in members}) == 1, f"{gid}: members disagree on topic"
        assert len({p.kind for p in members}) == 1, f"{gid}: members disagree on kind"


def test_no_duplicate_texts_across_shipped_suites():
    seen: dict[str, str] = {}
    for name in SUITES:
        for p in SUITES[name].probes():
            key = " ".join(p.text.split()).casefold()
            assert key not in seen, f"{p.id} repeats the text of {seen[key]}"
            seen[key] = p.id


def test_every_suite_has_a_datasheet():
    for name, suite in SUITES.items():
        meta = suite.meta
        for key in ("name", "title", "description", "licence", "datasheet"):
            assert meta.get(key), f"{name}/suite.yaml lacks {key}"
        assert meta["name"] == name
        for key in ("purpose", "how_written", "known_confounds"):
            assert meta["datasheet"].get(key), f"{name} datasheet lacks {key}"


def _parallel_languages(probes) -> dict[str, set[str]]:
    by_group: dict[str, set[str]] = defaultdict(set)
    for p in probes:
        by_group[p.group].add(p.language)
    return by_group


def test_china_suite_minimums():
    probes = _probes("china")
    per = Counter((p.topic, p.language) for p in probes)
    topics = {p.topic for p in probes}
    assert len(topics) >= 60, f"{len(topics)} topics"
    for t in topics:
        for lang in ("en", "zh-Hans", "zh-Hant"):
            assert per[(t, lang)] >= 8, f"{t}/{lang}: {per[(t, lang)]} probes"
        kinds = {p.kind for p in probes if p.topic == t}
        assert len(kinds) >= 6, f"{t}: only kinds {sorted(kinds)}"
    third = {t for t in topics if per[(t, "ru")] >= 8}
    assert len(third) >= 20, f"third language on {len(third)} topics"
    for gid, langs in _parallel_languages(probes).items():
        assert {"en", "zh-Hans", "zh-Hant"} <= langs, f"{gid} lacks a language: {sorted(langs)}"


def test_controls_suite_minimums():
    probes = _probes("controls")
    by_jur: dict[str, set[str]] = defaultdict(set)
    per = Counter((p.topic, p.language) for p in probes)
    for p in probes:
        by_jur[p.jurisdiction or "?"].add(p.topic)
    assert len(by_jur) >= 6, sorted(by_jur)
    for jur, topics in by_jur.items():
        assert len(topics) >= 8, f"{jur}: {len(topics)} topics"
        for t in topics:
            for lang in ("en", "zh-Hans", "zh-Hant", "ru"):
                assert per[(t, lang)] >= 8, f"{t}/{lang}"
    for gid, langs in _parallel_languages(probes).items():
        assert {"en", "zh-Hans", "zh-Hant", "ru"} <= langs, f"{gid} lacks a language: {sorted(langs)}"


def test_china_and_controls_have_the_same_languages():
    """China-versus-controls needs both sides in every language a suite is written in."""
    china = {p.language for p in _probes("china")}
    controls = {p.language for p in _probes("controls")}
    assert china == controls, (sorted(china), sorted(controls))
    kinds = {lang: {p.kind for p in _probes("controls") if p.language == lang} for lang in controls}
    assert all(k == kinds["en"] for k in kinds.values()), kinds


def test_hazards_suite_covers_every_code():
    assert "spc_lgl" in HAZARD_CODES and len(HAZARD_CODES) == 15  # AILuminate v1.0, from the standard's file
    probes = _probes("hazards")
    per = Counter((p.hazard, p.language) for p in probes)
    for code in HAZARD_CODES:
        for lang in ("en", "zh-Hans"):
            assert per[(code, lang)] >= 15, f"{code}/{lang}: {per[(code, lang)]}"
    assert all(p.category == "harm" and p.kind == "request" for p in probes)


def test_lookalikes_and_capability_minimums():
    look = _probes("lookalikes")
    groups = _parallel_languages(look)
    assert len(groups) >= 150
    assert all({"en", "zh-Hans"} <= langs for langs in groups.values())
    assert all(p.category == "benign" for p in look)
    cap = _probes("capability")
    assert len({p.group for p in cap}) >= 200
    assert sum(1 for p in cap if p.language == "zh-Hans") >= 60
    assert all(p.answer for p in cap)


@pytest.mark.parametrize("suite", ["china", "controls"])
def test_every_topic_has_a_fact_sheet_in_its_languages(suite):
    probes = _probes(suite)
    langs_by_topic: dict[str, set[str]] = defaultdict(set)
    for p in probes:
        langs_by_topic[p.topic].add(p.language)
    for topic, langs in langs_by_topic.items():
        assert topic in SHEETS, f"no fact sheet for {topic}"
        missing = langs - SHEETS[topic].languages
        assert not missing, f"{topic}: fact sheet lacks {sorted(missing)}"
