"""The judge interface: read a response, give a label and the evidence for it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from latentwall.judges._signals import TRUNCATED_MIN_UNITS, units
from latentwall.labels import Status
from latentwall.registry import Registry, split_spec


@dataclass(frozen=True, slots=True)
class JudgeInput:
    """A prompt/response pair. `status` carries a terminal status the target already set
    (ERROR, FILTERED, TRUNCATED); the judge keeps it rather than guessing a verdict."""

    prompt: str
    response: str
    reasoning: str | None = None
    language: str | None = None
    status: str | None = None
    finish_reason: str | None = None
    category: str | None = None  # the probe's category, when known (political, harm, ...)


@dataclass(frozen=True, slots=True)
class Judgement:
    """A label and why. `extra` is stored as it is; judges put there `confidence` (0..1, the
    probability that the label is right), `truncated` (judged on text cut off at the token
    limit) and `review` (low confidence: a person should look)."""

    label: str  # a Verdict or a Status value
    rationale: str
    evidence: tuple[str, ...] = ()
    judge: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def confidence(self) -> float | None:
        c = self.extra.get("confidence")
        return float(c) if isinstance(c, int | float) else None

    @property
    def truncated(self) -> bool:
        return bool(self.extra.get("truncated"))


def is_truncated(item: JudgeInput) -> bool:
    """Generation stopped at the token limit (the target's status or finish reason says so)."""
    return item.status == Status.TRUNCATED or item.finish_reason == "length"


def terminal_status(item: JudgeInput) -> Judgement | None:
    """The statuses every judge sets the same way, before reading any text. A truncated
    answer with enough text to judge gets a verdict (flagged `truncated`); TRUNCATED stays a
    status only when too little came back to tell."""
    if item.status in (Status.ERROR, Status.FILTERED, Status.JUDGE_ERROR):
        return Judgement(item.status, f"target reported {item.status}", ())
    if is_truncated(item) and units(item.response.strip()) < TRUNCATED_MIN_UNITS:
        return Judgement(Status.TRUNCATED, "generation stopped at the token limit with too little text to judge",
                         (), extra={"truncated": True})
    if not item.response.strip():
        if item.reasoning and item.reasoning.strip():
            return Judgement(Status.EMPTY, "only a reasoning trace, no answer", ())
        return Judgement(Status.EMPTY, "empty response", ())
    return None


class Judge(ABC):
    """Labels responses. Offline judges override `judge_batch`; remote ones `ajudge_batch`."""

    name: ClassVar[str]
    usage: ClassVar[str] = ""  # how the judge is named on the command line, for `latentwall targets`

    @classmethod
    def from_name(cls, name: str, rest: str, **options: Any) -> Judge:
        """Build from the part after 'kind:'; override to parse it."""
        return cls(**options)

    def judge(self, item: JudgeInput) -> Judgement:
        return self.judge_batch([item])[0]

    @abstractmethod
    def judge_batch(self, items: Sequence[JudgeInput]) -> list[Judgement]:
        """Label every item, in order; never raise for a single bad item (JUDGE_ERROR)."""

    async def ajudge_batch(self, items: Sequence[JudgeInput]) -> list[Judgement]:
        return self.judge_batch(items)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}

    async def close(self) -> None:
        """Release whatever the judge opened (an LLM judge's target)."""


JUDGES: Registry[type[Judge]] = Registry("judge", "latentwall.judges")
register_judge = JUDGES.register


def make_judge(name: str, **options: Any) -> Judge:
    """'markers' -> the offline judge; 'llm:openai:MODEL@URL' -> an LLM judge on that target."""
    kind, rest = split_spec(name, "judge")
    cls = JUDGES.get(kind)
    return cls.from_name(name, rest, **options)
