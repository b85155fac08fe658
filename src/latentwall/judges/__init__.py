"""Judges: label responses COMPLETE / EVASIVE / DENIAL, or a terminal status.

Each judge lives in one private module that registers itself with `@register_judge`.
"""

from latentwall.judges._base import (
    JUDGES,
    Judge,
    JudgeInput,
    Judgement,
    make_judge,
    register_judge,
    terminal_status,
)
from latentwall.judges._evaluate import EvalReport, evaluate_judge

__all__ = [
    "JUDGES", "EvalReport", "Judge", "JudgeInput", "Judgement", "evaluate_judge", "make_judge",
    "register_judge", "terminal_status",
]
