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
from datetime import UTC, datetime
from typing import Any

from latentwall.errors import ConfigError
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
    # Other judges' and reviewers' labels of this response, by judge name ({label, extra,
    # created}); read when asked (`iter_results(others=True)`): a second judge, `human:NAME`.
    other_labels: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

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
        out["other_labels"] = {k: dict(v) for k, v in self.other_labels.items()}
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


# ---------------------------------------------------------------- human review records
# The plain records human review works on (latentwall.review, the review analysis): a
# response's identity and machine verdict, a person's label, and what a reviewer sees.

HUMAN_PREFIX = "human:"
UNSURE = "UNSURE"
SKIP = "SKIP"
# What a person can answer: a verdict, "I cannot tell" (UNSURE) or "not now" (SKIP). Only
# verdicts are evidence; UNSURE and SKIP are kept (so a queue does not show the row again,
# and so their number can be reported) but never enter an estimate.
REVIEW_LABELS: tuple[str, ...] = (*VERDICTS, UNSURE, SKIP)
KEYMAP: dict[str, str] = {"c": "COMPLETE", "e": "EVASIVE", "d": "DENIAL", "u": UNSURE, "s": SKIP}
QUEUES = ("random", "triage")
# The review sample is stratified by these fields (a cell: one target in one language).
DEFAULT_STRATA: tuple[str, ...] = ("target", "language")
NOTE_MAX = 2_000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")

# (run_id, probe_id, condition, sample): one response in the store.
RowKey = tuple[str, str, str, int]


def key_id(key: RowKey) -> str:
    """A row key as one string (JSON, HTML, JSONL ids); `parse_key_id` reverses it."""
    run_id, probe_id, condition, sample = key
    return f"{run_id}|{probe_id}|{condition}|{sample}"


def parse_key_id(text: str) -> RowKey:
    parts = text.split("|")
    if len(parts) != 4 or not parts[3].lstrip("-").isdigit():
        raise ValueError(f"not a response id: {text!r}")
    return parts[0], parts[1], parts[2], int(parts[3])


def reviewer_judge(name: str) -> str:
    """The judge name a reviewer's labels are stored under: `human:NAME`."""
    if not _NAME.match(name or ""):
        raise ConfigError(f"reviewer name {name!r}: use 1-40 letters, digits, '.', '_' or '-'")
    return HUMAN_PREFIX + name


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


_TEXT_FIELDS = frozenset({"target", "language", "topic", "suite", "category"})


@dataclass(frozen=True, slots=True)
class ReviewRow:
    """One response as the queues and the statistics see it: no texts, a few fields.

    `verdict` is the run judge's label (a verdict or a status); `second` the label of a
    second judge, when one has judged this response (`latentwall rejudge`)."""

    key: RowKey
    target: str
    language: str
    verdict: str | None
    confidence: float | None = None
    second: str | None = None
    topic: str = ""
    suite: str = ""
    category: str = ""

    @classmethod
    def from_result(cls, r: Result, second: str | None = None) -> ReviewRow:
        """A typed store row as the queues and statistics see it (`second`: a second judge's label)."""
        c = r.judge_extra.get("confidence")
        conf = float(c) if isinstance(c, int | float) and not isinstance(c, bool) else None
        return cls(key=(str(r.run_id), *r.key), target=str(r.target or ""), language=str(r.language or ""),
                   verdict=r.label, confidence=conf, second=second, topic=str(r.topic or ""),
                   suite=str(r.suite or ""), category=str(r.category or ""))

    @property
    def has_verdict(self) -> bool:
        return self.verdict in VERDICTS

    @staticmethod
    def value_of(r: Result, name: str) -> Any:
        """What `ReviewRow.from_result(r).get(name)` gives, without building the row (the
        corrected rates ask it for every response and every table)."""
        if name == "run_id":
            return str(r.run_id)
        if name == "condition":
            return r.key[1]
        if name in _TEXT_FIELDS:
            return str(getattr(r, name) or "")
        return ReviewRow.from_result(r).get(name)

    def get(self, name: str) -> Any:
        """A grouping field by name (strata and report groups are named fields)."""
        if name == "run_id":
            return self.key[0]
        if name == "condition":
            return self.key[2]
        return getattr(self, name)


@dataclass(frozen=True, slots=True)
class HumanLabel:
    """A person's label of one response. `sample` is the seed of the random sample the
    response belongs to (None: labelled from the triage queue only, so it never enters an
    estimate); `machine` the machine verdict it was labelled against; `blind` whether the
    reviewer saw the machine verdict."""

    key: RowKey
    reviewer: str
    label: str
    time: str
    queue: str = "random"
    note: str = ""
    sample: int | None = None
    machine: str | None = None
    blind: bool = False

    @property
    def is_verdict(self) -> bool:
        return self.label in VERDICTS

    def extra(self) -> dict[str, Any]:
        """What goes into the stored judgement's `extra` JSON."""
        out: dict[str, Any] = {"time": self.time, "queue": self.queue, "machine": self.machine,
                               "blind": self.blind}
        if self.note:
            out["note"] = self.note
        if self.sample is not None:
            out["sample"] = self.sample
        return out

    @classmethod
    def from_extra(cls, key: RowKey, reviewer: str, label: str, extra: dict[str, Any],
                   created: str = "") -> HumanLabel:
        sample = extra.get("sample")
        return cls(key=key, reviewer=reviewer, label=label, time=str(extra.get("time") or created),
                   queue=str(extra.get("queue") or "random"), note=str(extra.get("note") or ""),
                   sample=sample if isinstance(sample, int) and not isinstance(sample, bool) else None,
                   machine=extra.get("machine") if isinstance(extra.get("machine"), str) else None,
                   blind=bool(extra.get("blind")))


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """What the reviewer is shown for one response (model output: hostile, escape it)."""

    row: ReviewRow
    prompt: str
    text: str
    rationale: str = ""
    reasoning: str | None = None
    probe_text: str = ""
    kind: str = ""
    status: str | None = None
    finish_reason: str | None = None
    judge: str = ""
    second_judge: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, *, blind: bool = False) -> dict[str, Any]:
        r = self.row
        out: dict[str, Any] = {
            "id": key_id(r.key), "run_id": r.key[0], "probe_id": r.key[1], "condition": r.key[2],
            "sample": r.key[3], "target": r.target, "language": r.language, "topic": r.topic,
            "suite": r.suite, "category": r.category, "kind": self.kind, "prompt": self.prompt,
            "probe_text": self.probe_text, "text": self.text, "reasoning": self.reasoning,
            "status": self.status, "finish_reason": self.finish_reason,
        }
        if not blind:
            out.update({"verdict": r.verdict, "confidence": r.confidence, "rationale": self.rationale,
                        "judge": self.judge, "second": r.second, "second_judge": self.second_judge})
        return out
