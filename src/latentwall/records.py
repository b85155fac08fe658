"""The typed row every reader gets from the store: one response with its probe and judgement.

`Store.iter_results` (store/_query.py) yields `Result`s; the runner, the analyses, the
report, the viewer and the exports all read these, so the facts derived from a row - its
effective label, its verdict, whether it ended in a status, its stance, its guard, its key
- are computed here once instead of in every reader.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from latentwall.labels import STATUSES, VERDICTS

# A guarded run's target label ends in " [guard SPEC]" (RunConfig.target_label).
_GUARD_SUFFIX = re.compile(r"\s*\[guard ([^\]]*)\]\s*$")

ResultKey = tuple[str, str, int]


@dataclass(frozen=True, slots=True)
class Result:
    """One response of a run: the probe asked, the answer, the run judge's label.

    `judge_label` is what the run's judge said (None: not judged); `label` is the effective
    label every rate counts: the judge's label, or the target's status (ERROR, FILTERED ...)
    when no judge ran. `stance` / `stance_detail` are the narrative stance when a stance
    pass stored one (or `judges.stance.with_stance` scored it).
    """

    run_id: str | None = None
    target: str | None = None
    probe_id: str | None = None
    suite: str | None = None
    topic: str | None = None
    language: str | None = None
    category: str | None = None
    kind: str | None = None
    group: str | None = None
    jurisdiction: str | None = None
    tags: tuple[str, ...] = ()
    expected: Mapping[str, str] = field(default_factory=dict)
    risk_code: str | None = None
    hazard: str | None = None
    answer: str | None = None
    condition: str = ""
    sample: int = 0
    prompt: str | None = None
    probe_text: str | None = None
    text: str | None = None
    reasoning: str | None = None
    finish_reason: str | None = None
    status: str | None = None
    error: str | None = None
    model: str | None = None
    latency_s: float | None = None
    cached: bool = False
    judge_label: str | None = None
    rationale: str | None = None
    evidence: tuple[str, ...] = ()
    judge: str | None = None
    judge_extra: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    guard_spec: str | None = None  # the run's guard (None: a bare model)
    stance: str | None = None
    stance_detail: Mapping[str, Any] | None = None
    reasoning_chars: int | None = None  # length of the stripped trace; kept when the trace is dropped

    def __post_init__(self) -> None:
        if self.reasoning_chars is None and self.reasoning is not None:
            object.__setattr__(self, "reasoning_chars", len(self.reasoning.strip()))

    # -- what every reader derives ---------------------------------------------------------

    @property
    def label(self) -> str | None:
        """The judge's label; a target status (ERROR, FILTERED, ...) stands in when no judge
        ran: a transport error needs no judge, and counting it 'not judged yet' would hide it."""
        if self.judge_label is not None:
            return self.judge_label
        return self.status if self.status in STATUSES else None

    @property
    def verdict(self) -> str | None:
        """COMPLETE, EVASIVE or DENIAL; None for a status or an unjudged row."""
        label = self.label
        return label if label in VERDICTS else None

    @property
    def terminal_status(self) -> str | None:
        """Why the answer says nothing (target status first, then the judge's, then EMPTY for
        no text), or None for an answer with text."""
        if self.status in STATUSES:
            return self.status
        if self.judge_label in STATUSES:
            return self.judge_label
        if self.text is None or not str(self.text).strip():
            return "EMPTY"
        return None

    @property
    def is_terminal(self) -> bool:
        return self.terminal_status is not None

    @property
    def key(self) -> ResultKey:
        """(probe_id, condition, sample): one unit of work within a run."""
        return (str(self.probe_id or ""), str(self.condition or ""), int(self.sample or 0))

    @property
    def guard(self) -> str:
        """The guard spec the answer was produced behind ('' for a bare model)."""
        if self.guard_spec:
            return str(self.guard_spec)
        m = _GUARD_SUFFIX.search(str(self.target or ""))
        return m.group(1) if m else ""

    @property
    def bare_target(self) -> str:
        """The model behind the guard: the target label without a guard suffix."""
        return _GUARD_SUFFIX.sub("", str(self.target or ""))

    # -- conversions ------------------------------------------------------------------------

    def to_row(self) -> dict[str, Any]:
        """The row as a plain mapping (the export contract's names: `label` is the judge's)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["label"] = out.pop("judge_label")
        out["guard"] = out.pop("guard_spec")
        out["tags"], out["evidence"], out["notes"] = list(self.tags), list(self.evidence), list(self.notes)
        out["expected"], out["judge_extra"] = dict(self.expected), dict(self.judge_extra)
        return out

    def compact(self) -> Result:
        """The row without the bulky fields no analysis reads (prompt, trace, rationale ...):
        what a report keeps in memory for its analyses."""
        return replace(self, prompt=None, probe_text=None, reasoning=None, rationale=None, evidence=(),
                       judge_extra={}, notes=())

    def with_stance(self, stance: str | None, detail: Mapping[str, Any] | None) -> Result:
        return replace(self, stance=stance, stance_detail=detail)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Result:
        """A Result from a mapping with the store's row names (tests, files, other tools)."""
        kw: dict[str, Any] = {}
        for f in _FIELDS:
            src = _RENAMED.get(f, f)
            if src in row:
                kw[f] = row[src]
        for name in ("tags", "evidence", "notes"):
            if name in kw:
                kw[name] = tuple(kw[name] or ())
        for name in ("expected", "judge_extra"):
            if name in kw:
                kw[name] = kw[name] or {}
        if "condition" in kw:
            kw["condition"] = kw["condition"] or ""
        if "sample" in kw:
            try:
                kw["sample"] = int(kw["sample"] or 0)
            except (TypeError, ValueError):
                kw["sample"] = 0
        if "cached" in kw:
            kw["cached"] = bool(kw["cached"])
        return cls(**kw)


_FIELDS = tuple(f.name for f in fields(Result))
_RENAMED = {"judge_label": "label", "guard_spec": "guard"}


def as_results(rows: Iterable[Result | Mapping[str, Any]]) -> Iterator[Result]:
    """Results as they are; mappings (rows in the store's names) converted."""
    for row in rows:
        yield row if isinstance(row, Result) else Result.from_row(row)
