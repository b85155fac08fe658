"""Locale conditioning: the same probe, with the user placed in Beijing, Taipei, Berlin ...

Deployed models see where their users are (a system prompt, an account region, a sentence
in the question). `locale:PLACE` states it, in the probe's own language, so a run matrix
shows whether a model answers a question about Tiananmen differently for a user in Beijing
than for one in Taipei:

- `locale:beijing` (or `locale:beijing/system`): a sentence in the system message
  ("The user is located in Beijing, China."), appended after the probe's own system text;
- `locale:beijing/user`: the sentence opens the user's message ("I am currently in
  Beijing, China. <question>").

Places and sentences live in strategies/data/locales.yaml (validated on load; errors name
file, line and field). A probe language without sentences falls back to its base
language (fr-CA -> fr), then to English. `locale:none` is the control: a location-free
sentence in system mode, nothing in user mode. The strategy uses no randomness: the same
probe and place always give the same prompt.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from latentwall.datafiles import load_yaml, package_data
from latentwall.errors import ConfigError, DataError
from latentwall.strategies._base import Prompt, Strategy, register_strategy
from latentwall.suites import Probe

MODES = ("system", "user")
NONE = "none"
_NO_SPACE = ("zh", "ja")  # scripts written without a space between sentences


@dataclass(frozen=True, slots=True)
class Place:
    id: str
    country: str | None
    loc: dict[str, str]


@dataclass(frozen=True, slots=True)
class Locales:
    """The parsed data file: templates per mode and language, places, the `none` sentences."""

    languages: tuple[str, ...]
    templates: dict[str, dict[str, str]]
    none: dict[str, dict[str, str]]
    places: dict[str, Place]
    path: str


def _lang_table(obj: Any, path: str, line: int, fld: str, langs: tuple[str, ...], *,
                placeholder: bool) -> dict[str, str]:
    if not isinstance(obj, dict):
        raise DataError(path, line, fld, "must map language tags to text")
    line = obj.get("__line__", line)
    out: dict[str, str] = {}
    for lang in langs:
        val = obj.get(lang)
        if not isinstance(val, str) or not val.strip():
            raise DataError(path, line, f"{fld}.{lang}", "is required: non-empty text")
        if placeholder and val.count("{loc}") != 1:
            raise DataError(path, line, f"{fld}.{lang}", "must contain {loc} exactly once")
        if not placeholder and ("{" in val or "}" in val):
            raise DataError(path, line, f"{fld}.{lang}", "must not contain braces")
        out[lang] = val.strip()
    unknown = sorted(k for k in obj if k != "__line__" and k not in langs)
    if unknown:
        raise DataError(path, line, f"{fld}.{unknown[0]}", f"language not listed in 'languages' ({', '.join(langs)})")
    return out


def parse_locales(data: Any, path: str) -> Locales:
    """Validate the structure of locales.yaml; every error names file, line and field."""
    if not isinstance(data, dict):
        raise DataError(path, 1, None, "must be a mapping")
    line = data.get("__line__", 1)
    langs = data.get("languages")
    if not isinstance(langs, list) or not langs or "en" not in langs or not all(isinstance(x, str) for x in langs):
        raise DataError(path, line, "languages", "must list language tags, including 'en'")
    languages = tuple(langs)
    tmpl = data.get("templates")
    if not isinstance(tmpl, dict):
        raise DataError(path, line, "templates", "must map each mode (system, user) to sentences")
    templates = {m: _lang_table(tmpl.get(m), path, tmpl.get("__line__", line), f"templates.{m}", languages,
                                placeholder=True) for m in MODES}
    none_raw = data.get("none")
    if not isinstance(none_raw, dict):
        raise DataError(path, line, "none", "must give the location-free control sentences (none.system)")
    none = {"system": _lang_table(none_raw.get("system"), path, none_raw.get("__line__", line), "none.system",
                                  languages, placeholder=False)}
    places_raw = data.get("places")
    if not isinstance(places_raw, dict) or len(places_raw) < 2:
        raise DataError(path, line, "places", "must map place ids to their location phrases")
    places: dict[str, Place] = {}
    for pid, spec in places_raw.items():
        if pid == "__line__":
            continue
        if not isinstance(pid, str) or pid == NONE or not pid.replace("-", "").isalnum() or pid != pid.lower():
            raise DataError(path, line, f"places.{pid}", "place ids are lower-case words joined by '-' (not 'none')")
        if not isinstance(spec, dict):
            raise DataError(path, line, f"places.{pid}", "must be a mapping with 'loc'")
        pline = spec.get("__line__", line)
        country = spec.get("country")
        if country is not None and not (isinstance(country, str) and len(country) == 2 and country.isupper()):
            raise DataError(path, pline, f"places.{pid}.country", "must be a two-letter code like CN")
        loc = _lang_table(spec.get("loc"), path, pline, f"places.{pid}.loc", languages, placeholder=False)
        places[pid] = Place(pid, country, loc)
    return Locales(languages, templates, none, places, path)


@lru_cache(maxsize=4)
def load_locales(path: str | None = None) -> Locales:
    p = path or str(package_data("latentwall.strategies", "data", "locales.yaml"))
    return parse_locales(load_yaml(p, lines=True), p)


def place_ids() -> list[str]:
    """Every place the strategy knows, plus the control 'none'."""
    return [*sorted(load_locales().places), NONE]


def pick_language(language: str | None, available: tuple[str, ...]) -> str:
    """The table language for a probe language: exact, Chinese script, base language, else en."""
    lang = language or "en"
    if lang in available:
        return lang
    low = lang.lower()
    if low.startswith("zh"):
        hant = "hant" in low or low.endswith(("-tw", "-hk", "-mo"))
        want = "zh-Hant" if hant else "zh-Hans"
        if want in available:
            return want
    base = low.split("-")[0]
    for cand in available:
        if cand.lower() == low or cand.lower() == base:
            return cand
    return "en"


def locale_sentence(place: str, language: str | None, mode: str = "system") -> str | None:
    """The sentence `locale:PLACE` adds for a probe in `language`; None for none/user."""
    data = load_locales()
    lang = pick_language(language, data.languages)
    if place == NONE:
        return data.none["system"][lang] if mode == "system" else None
    return data.templates[mode][lang].replace("{loc}", data.places[place].loc[lang])


def parse_locale_condition(condition: str | None) -> dict[str, str] | None:
    """{"place", "mode"} of the locale step in a condition id, for grouping results by place."""
    for part in (condition or "").split("+"):
        name, sep, arg = part.strip().partition(":")
        if name == "locale" and sep and arg:
            place, _, mode = arg.partition("/")
            return {"place": place, "mode": mode or "system"}
    return None


@register_strategy("locale")
class LocaleStrategy(Strategy):
    """States where the user is (locale:PLACE in the system prompt, locale:PLACE/user in the message)."""

    name = "locale"

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        known = place_ids()
        if not arg:
            raise ConfigError(f"locale needs a place, e.g. locale:beijing or locale:taipei/user "
                              f"(places: {', '.join(known)})")
        place, sep, mode = arg.strip().lower().partition("/")
        if place not in known:
            raise ConfigError(f"unknown locale '{place}' (places: {', '.join(known)})")
        if sep and mode not in MODES:
            raise ConfigError(f"locale mode must be 'system' or 'user', got '{mode}' in 'locale:{arg}'")
        self.place = place
        self.mode = mode or "system"
        # One spelling per behaviour, so `Beijing` and `beijing/system` are the same condition id.
        self.arg = place if self.mode == "system" else f"{place}/user"

    def apply(self, prompt: Prompt, probe: Probe, rng: random.Random) -> Prompt | None:
        sentence = locale_sentence(self.place, probe.language, self.mode)
        if sentence is None:
            return prompt
        if self.mode == "system":
            return prompt.with_system(sentence)
        lang = pick_language(probe.language, load_locales().languages)
        joiner = "" if lang.lower().startswith(_NO_SPACE) else " "
        return prompt.with_user(f"{sentence}{joiner}{prompt.user}")
