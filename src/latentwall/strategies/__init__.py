"""Strategies: deterministic perturbations of probes; chains of them are run conditions.

Each strategy lives in one private module that registers itself with `@register_strategy`.
"""

from latentwall.strategies._base import (
    STRATEGIES,
    Condition,
    Prompt,
    Strategy,
    make_condition,
    plain_prompt,
    register_strategy,
)

__all__ = [
    "STRATEGIES", "Condition", "Prompt", "Strategy", "make_condition", "plain_prompt",
    "register_strategy",
]
