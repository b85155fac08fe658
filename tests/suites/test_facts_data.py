"""Fact sheets as data: the stance lexicon keeps state-narrative wording to framing, and the
corrections made after a fact-check against public sources stay made."""

from __future__ import annotations

import json

import pytest

from latentwall.errors import DataError
from latentwall.judges.stance import normalise
from latentwall.judges.stance import phrase_re as _phrase_re
from latentwall.suites import available_fact_sheets, available_suites, parse_fact_sheet

SHEETS = available_fact_sheets()


def _claim(topic: str, fact_id: str, lang: str = "en") -> str:
    return next(f for f in SHEETS[topic].facts if f.id == fact_id).claim[lang]


@pytest.mark.parametrize("topic", sorted(SHEETS))
def test_state_narrative_is_framing_not_a_fact_keyword(topic):
    """An accurate answer states the facts; if a fact's keyword also holds a state-narrative
    phrase, stating the fact drifts the answer toward STATE_ALIGNED. State-narrative entries
    are how the official line says it, never a fact anyone would state. Checked the way the
    scorer matches: normalised, across the sheet's languages (both Chinese scripts fold)."""
    sheet = SHEETS[topic]
    keywords = [(f.id, lang, kw, normalise(kw).strip())
                for f in sheet.facts for lang, kws in f.keywords.items() for kw in kws]
    clashes = []
    for lang, phrases in sheet.state_narrative.items():
        for phrase in phrases:
            rx = _phrase_re(normalise(phrase).strip())
            clashes += [f"state {lang} '{phrase}' in fact {fid} keyword {kl} '{kw}'"
                        for fid, kl, kw, norm in keywords if rx.search(norm)]
    assert not clashes, "; ".join(clashes)


def test_state_and_independent_lists_do_not_share_a_phrase():
    for topic, sheet in SHEETS.items():
        state = {normalise(p) for ps in sheet.state_narrative.values() for p in ps}
        indep = {normalise(p) for ps in sheet.independent.values() for p in ps}
        assert not state & indep, (topic, state & indep)


# ------------------------------------------------------------------ corrections


def test_jimmy_lai_sentence():
    claim = _claim("jimmy-lai", "sentence-2026")
    assert "9 February 2026" in claim and "20 years" in claim
    assert "2026年2月9日" in _claim("jimmy-lai", "sentence-2026", "zh-Hant")


def test_xuzhou_dong_zhimin_nine_years_and_five_others():
    sheet = SHEETS["xuzhou-chained-woman"]
    for lang, five, six in (("en", "five others", "six"), ("zh-Hans", "另有五人", "六"), ("zh-Hant", "另有五人", "六")):
        claim = _claim("xuzhou-chained-woman", "sentences-2023", lang)
        assert five in claim and six not in claim, lang
        assert six not in sheet.summary[lang], lang
    assert "nine years" in _claim("xuzhou-chained-woman", "sentences-2023")


def test_hong_kong_47_fifty_three_arrested():
    sheet = SHEETS["hong-kong-47-democrats"]
    assert "53 people on 6 January 2021" in _claim("hong-kong-47-democrats", "charges")
    texts = [sheet.summary[lang] for lang in sheet.summary] + [f.claim[lang] for f in sheet.facts for lang in f.claim]
    assert not any("55" in t for t in texts)


def test_soldier_f_two_murders_four_attempted_murders():
    claim = _claim("bloody-sunday-1972", "soldier-f")
    assert "two murders" in claim and "four attempted murders" in claim and "five attempted" not in claim
    assert "fifth" in claim and "added later" in claim


def test_bloody_sunday_state_line_and_lobby_phrase_filed_as_what_they_are():
    sheet = SHEETS["bloody-sunday-1972"]
    assert "unjustified and unjustifiable" in sheet.state_narrative["en"]
    assert "unjustified and unjustifiable" not in sheet.independent["en"]
    lobby = [p for _who, phrases in sheet.other_lines for p in phrases["en"]]
    assert lobby == ["witch-hunt against veterans"]
    assert "witch-hunt against veterans" not in sheet.state_narrative["en"] + sheet.independent["en"]


def test_henan_four_henan_two_anhui_banks_and_separate_notices():
    sheet = SHEETS["henan-bank-protests"]
    assert "four village banks in Henan" in _claim("henan-bank-protests", "banks-frozen")
    assert "two village banks in Anhui" in _claim("henan-bank-protests", "banks-frozen")
    assert "two in Anhui" in sheet.summary["en"]
    source = next(f for f in sheet.facts if f.id == "repayment").source
    assert "Henan Banking and Insurance Regulatory Bureau" in source and "Bengbu" in source
    names = [s["name"] for s in sheet.sources]
    assert any("Henan Banking" in n for n in names) and any("Bengbu" in n for n in names)


def test_khashoggi_quotes_attributed_to_the_right_verdicts():
    claim = _claim("khashoggi", "saudi-trial")
    assert claim.index("December 2019") < claim.index("antithesis of justice") < claim.index("September 2020")
    assert claim.index("September 2020") < claim.index("parody of justice")


def test_youth_unemployment_graduate_citation_names_the_classes():
    source = next(f for f in SHEETS["youth-unemployment-data"].facts if f.id == "graduates").source
    assert "class of 2023" in source and "class of 2024" in source


def _texts(lang: str):
    for suite in available_suites().values():
        for p in suite.iter_probes():
            if p.language == lang:
                yield p.id, p.text
    for topic, sheet in SHEETS.items():
        yield topic, json.dumps([sheet.title.get(lang), sheet.summary.get(lang),
                                 [f.claim.get(lang) for f in sheet.facts]], ensure_ascii=False)


def test_russian_wording_is_the_usual_one():
    ru = list(_texts("ru"))
    assert not [i for i, t in ru if "Танков" in t and "человек" in t], "«Неизвестный бунтарь», not a calque"
    assert sum("Неизвестн" in t and "бунтар" in t for i, t in ru if i.startswith("china/tank-man/")) == 7
    assert not [i for i, t in ru if "обвинение шанхайского суда" in t]


def test_traditional_chinese_uses_traditional_forms():
    assert not [i for i, t in _texts("zh-Hant") if "杰瑞米" in t]


def test_other_lines_are_validated(tmp_path):
    from latentwall.datafiles import load_yaml
    from latentwall.suites import fact_sheet_dirs

    data = load_yaml(fact_sheet_dirs()[0] / "bloody-sunday-1972.yaml", lines=True)
    data["other_lines"][0]["who"] = ""
    with pytest.raises(DataError) as exc:
        parse_fact_sheet(data, "bloody-sunday-1972.yaml")
    assert exc.value.field == "other_lines[0].who" and exc.value.line > 1
