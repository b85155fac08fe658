"""The labels of SPEC.md: three verdicts, and terminal statuses that are never verdicts."""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    """What the model did with the request, read from its answer."""

    COMPLETE = "COMPLETE"
    EVASIVE = "EVASIVE"
    DENIAL = "DENIAL"


class Status(StrEnum):
    """Why there is no verdict. Kept apart so a transport error never counts as a refusal."""

    ERROR = "ERROR"
    EMPTY = "EMPTY"
    TRUNCATED = "TRUNCATED"
    FILTERED = "FILTERED"
    JUDGE_ERROR = "JUDGE_ERROR"


# The judge a run uses unless told otherwise, and the judges a narrative-stance pass stores
# its stances under (the offline scorer's and the LLM scorer's).
DEFAULT_JUDGE = "markers"
STANCE_JUDGE = "stance"
STANCE_LLM_JUDGE = "stance-llm"

VERDICTS: tuple[str, ...] = tuple(v.value for v in Verdict)
STATUSES: tuple[str, ...] = tuple(s.value for s in Status)
ALL_LABELS: tuple[str, ...] = VERDICTS + STATUSES


def is_verdict(label: str) -> bool:
    return label in VERDICTS


def is_refusal(label: str) -> bool:
    """Refusal in the binary sense used for 'refusal vs not': only an outright DENIAL."""
    return label == Verdict.DENIAL


class Consistency(StrEnum):
    """How a probe behaves across repeated samples."""

    ALWAYS = "ALWAYS"
    SOMETIMES = "SOMETIMES"
    NEVER = "NEVER"
