"""Strategies: deterministic perturbations of probes; chains of them are run conditions.

Each strategy lives in one private module that registers itself with `@register_strategy`.
"""

from latentwall.strategies._base import (
    STRATEGIES,
    Condition,
    Prompt,
    Strategy,
    condition_specs,
    make_condition,
    plain_prompt,
    register_strategy,
)
from latentwall.strategies._catalog import strategy_catalog
from latentwall.strategies._charlevel import homoglyph_table, leet_table, zero_width_chars
from latentwall.strategies._chinese import homophone_table
from latentwall.strategies._common import all_terms_regex, euphemism_entries, find_spans
from latentwall.strategies._encoding import decode_payload
from latentwall.strategies._locale import (
    load_locales,
    locale_sentence,
    parse_locale_condition,
    parse_locales,
    pick_language,
    place_ids,
)

__all__ = [
    "STRATEGIES", "Condition", "Prompt", "Strategy", "all_terms_regex", "condition_specs", "decode_payload",
    "euphemism_entries", "find_spans", "homoglyph_table", "homophone_table", "leet_table", "load_locales",
    "locale_sentence", "make_condition", "parse_locale_condition", "parse_locales", "pick_language", "place_ids",
    "plain_prompt", "register_strategy", "strategy_catalog", "zero_width_chars",
]
