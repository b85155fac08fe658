"""Locale conditioning: sentences per language, system vs user mode, determinism, data checks."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from latentwall.errors import ConfigError, DataError
from latentwall.strategies import (
    STRATEGIES,
    load_locales,
    locale_sentence,
    make_condition,
    parse_locale_condition,
    parse_locales,
    pick_language,
    place_ids,
)
from latentwall.suites import Probe

REQUIRED_PLACES = {"beijing", "shanghai", "hong-kong", "taipei", "san-francisco", "moscow", "berlin", "delhi",
                   "london", "riyadh", "tokyo", "none"}


def probe(language="en", text="What happened in Beijing on 4 June 1989?", system=None):
    return Probe(id=f"s/t/q/{language.lower()}", suite="s", text=text, language=language, topic="t",
                 category="political", kind="factual", group="s/t/q", expected={"open": "answer"}, system=system)


def test_registered_and_places_complete():
    assert "locale" in STRATEGIES.names()
    assert REQUIRED_PLACES <= set(place_ids())
    data = load_locales()
    assert {"en", "zh-Hans", "zh-Hant", "ru"} <= set(data.languages)
    for place in data.places.values():
        assert set(place.loc) == set(data.languages)


@pytest.mark.parametrize(("language", "text", "expected_system"), [
    ("en", "Q?", "The user is located in Beijing, China."),
    ("zh-Hans", "问题？", "用户目前位于中国北京。"),
    ("zh-Hant", "問題？", "使用者目前位於中國北京。"),
    ("ru", "Вопрос?", "Пользователь находится в Пекине (Китай)."),
    ("fr", "Question ?", "L'utilisateur se trouve à Pékin (Chine)."),
])
def test_system_mode_per_language(language, text, expected_system):
    prompt = make_condition("locale:beijing").render(probe(language, text))
    assert prompt is not None
    assert prompt.messages == ({"role": "system", "content": expected_system}, {"role": "user", "content": text})


@pytest.mark.parametrize(("language", "expected_user"), [
    ("en", "I am currently in Taipei, Taiwan. Q?"),
    ("zh-Hans", "我现在在台湾台北。Q?"),
    ("zh-Hant", "我現在在台灣台北。Q?"),
    ("ru", "Я сейчас нахожусь в Тайбэе (Тайвань). Q?"),
])
def test_user_mode_prefixes_the_question(language, expected_user):
    prompt = make_condition("locale:taipei/user").render(probe(language, "Q?"))
    assert prompt is not None
    assert prompt.messages == ({"role": "user", "content": expected_user},)


def test_appends_to_the_probe_system_prompt():
    prompt = make_condition("locale:moscow").render(probe(system="You are helpful."))
    assert prompt is not None
    assert prompt.messages[0] == {"role": "system", "content": "You are helpful.\n\nThe user is located in Moscow, Russia."}
    user = make_condition("locale:moscow/user").render(probe(system="You are helpful."))
    assert user is not None and user.messages[0] == {"role": "system", "content": "You are helpful."}


def test_none_is_a_control():
    p = probe("ru", "Вопрос?")
    sys_prompt = make_condition("locale:none").render(p)
    assert sys_prompt is not None
    assert sys_prompt.messages[0] == {"role": "system", "content": "Местоположение пользователя неизвестно."}
    assert "Пекин" not in str(sys_prompt.messages)
    user_prompt = make_condition("locale:none/user").render(p)
    assert user_prompt == make_condition("").render(p)


def test_deterministic_across_seeds_and_calls():
    cond = make_condition("locale:hong-kong/user")
    outs = [cond.render(probe("zh-Hant", "問題"), seed=s) for s in range(5)]
    outs.append(make_condition("locale:hong-kong/user").render(probe("zh-Hant", "問題")))
    assert all(o == outs[0] for o in outs)
    assert outs[0] is not None and outs[0].user == "我現在在香港。問題"


def test_language_fallbacks():
    langs = load_locales().languages
    assert pick_language("zh", langs) == "zh-Hans"
    assert pick_language("zh-TW", langs) == "zh-Hant"
    assert pick_language("zh-Hant-HK", langs) == "zh-Hant"
    assert pick_language("fr-CA", langs) == "fr"
    assert pick_language("sw", langs) == "en"
    assert pick_language(None, langs) == "en"
    assert locale_sentence("tokyo", "sw") == "The user is located in Tokyo, Japan."
    assert locale_sentence("none", "en", "user") is None


def test_condition_ids_are_canonical_and_parseable():
    assert make_condition("locale:Beijing").id == "locale:beijing"
    assert make_condition("locale:beijing/system").id == "locale:beijing"
    assert make_condition("locale:beijing/user").id == "locale:beijing/user"
    assert parse_locale_condition("locale:beijing/user") == {"place": "beijing", "mode": "user"}
    assert parse_locale_condition("base64+locale:taipei") == {"place": "taipei", "mode": "system"}
    assert parse_locale_condition("") is None


@pytest.mark.parametrize(("spec", "match"), [
    ("locale", "needs a place"),
    ("locale:atlantis", "unknown locale 'atlantis'"),
    ("locale:beijing/whisper", "mode must be"),
])
def test_bad_specs(spec, match):
    with pytest.raises(ConfigError, match=match):
        make_condition(spec)


def _raw() -> dict:
    path = Path(load_locales().path)
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda d: d["places"]["beijing"]["loc"].pop("ru"), "places.beijing.loc.ru"),
    (lambda d: d["templates"]["user"].__setitem__("en", "I am here."), "templates.user.en"),
    (lambda d: d["places"].__setitem__("Bad Place", {"loc": {}}), "places.Bad Place"),
    (lambda d: d["places"]["tokyo"].__setitem__("country", "japan"), "places.tokyo.country"),
    (lambda d: d["none"]["system"].__setitem__("es", "x"), "none.system.es"),
    (lambda d: d.pop("languages"), "languages"),
])
def test_data_errors_name_the_field(mutate, field):
    data = copy.deepcopy(_raw())
    mutate(data)
    with pytest.raises(DataError) as err:
        parse_locales(data, "locales.yaml")
    assert field in str(err.value)


# ------------------------------------------------------------------ locale effects (analysis)

STATE_EN = ("In 1989 a counter-revolutionary riot broke out in Beijing; the government quelled the turmoil and "
            "restored social stability, the correct decision.")
INDEP_EN = ("On 3–4 June 1989 troops opened fire on unarmed civilians; estimates range from several hundred to "
            "several thousand killed in the massacre.")


def result_row(condition, label, text, target="m", i=0):
    return {"target": target, "probe_id": f"china/tiananmen-1989/q{i}/en", "condition": condition, "sample": 0,
            "topic": "tiananmen-1989", "language": "en", "category": "political", "label": label,
            "status": None, "text": text}


def test_locale_effects_changes_against_baseline():
    from latentwall.analysis import locale_effects
    from latentwall.report.sections.locale import locale_section_html

    rows = []
    for i in range(40):
        rows.append(result_row("locale:none", "COMPLETE", INDEP_EN, i=i))
        rows.append(result_row("locale:beijing", "DENIAL" if i < 20 else "COMPLETE", STATE_EN, i=i))
        rows.append(result_row("locale:taipei", "COMPLETE", INDEP_EN, i=i))
    res = locale_effects(rows, baseline="locale:none")
    assert res["not_applicable"] is None
    conds = {c["condition"]: c for c in res["targets"][0]["conditions"]}
    assert res["targets"][0]["conditions"][0]["condition"] == "locale:none"
    bj = conds["locale:beijing"]
    assert bj["place"] == "beijing" and bj["mode"] == "system"
    assert bj["refusal"]["rate"] == 0.5 and bj["refusal_change"]["estimate"] == 0.5
    assert bj["refusal_change"]["significant"]
    assert bj["echo"]["rate"] == 1.0 and bj["echo_change"]["estimate"] == 1.0
    tp = conds["locale:taipei"]
    assert tp["refusal_change"]["estimate"] == 0.0 and not tp["refusal_change"]["significant"]
    assert conds["locale:none"]["refusal_change"] is None
    html = locale_section_html(res)
    assert html and "+50.0 pts" in html and "locale:beijing" in html


def test_locale_effects_not_applicable():
    from latentwall.analysis import locale_effects
    from latentwall.report.sections.locale import locale_section_html

    one = [result_row("", "COMPLETE", INDEP_EN)]
    res = locale_effects(one)
    assert "needs two or more conditions" in res["not_applicable"] and "'plain'" in res["not_applicable"]
    assert "Locale effects:" in locale_section_html(res)
    assert "no responses" in locale_effects([])["not_applicable"]
    no_base = locale_effects([result_row("locale:beijing", "COMPLETE", INDEP_EN),
                              result_row("locale:taipei", "COMPLETE", INDEP_EN)])
    assert "baseline condition 'plain' was not run" in no_base["targets"][0]["not_applicable"]
