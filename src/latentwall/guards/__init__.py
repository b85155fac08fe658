"""Guards: input/output filters in front of a target, as deployments put them.

`wrap_target(target, spec)` puts a guard around any target; a block comes back as a
FILTERED response, never as the model's refusal. Guards register with
`@register_guard("name")` in their own module (see _base.py for the spec syntax); the
shipped ones are `keyword` (blocklists per topic, Aho-Corasick, normalisation) and
`regex`.
"""

from latentwall.guards._base import (
    GUARDS,
    MODES,
    Block,
    Guard,
    guard_catalog,
    make_guard,
    parse_guard_spec,
    register_guard,
)
from latentwall.guards._keyword import (
    KeywordGuard,
    RegexGuard,
    keyword_list_catalog,
    load_keyword_list,
    shipped_lists,
)
from latentwall.guards._matcher import AhoCorasick
from latentwall.guards._normalise import Normaliser, parse_steps
from latentwall.guards._target import GuardedTarget
from latentwall.targets import Target


def wrap_target(target: Target, spec: str) -> Target:
    """`target` behind the guard `spec` (e.g. 'keyword', 'keyword:input,lists=china')."""
    return GuardedTarget(target, make_guard(spec))


__all__ = [
    "GUARDS", "MODES", "AhoCorasick", "Block", "Guard", "GuardedTarget", "KeywordGuard", "Normaliser", "RegexGuard",
    "guard_catalog", "keyword_list_catalog", "load_keyword_list", "make_guard", "parse_guard_spec", "parse_steps", "register_guard",
    "shipped_lists", "wrap_target",
]
