"""The plain records human review works on: a response's identity and machine verdict, a
person's label, and what a reviewer sees. Everything else in the package is a function of
these, so the store, a JSONL file and a test can all feed it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from latentwall.errors import ConfigError
from latentwall.labels import VERDICTS

HUMAN_PREFIX = "human:"
UNSURE = "UNSURE"
SKIP = "SKIP"
# What a person can answer: a verdict, "I cannot tell" (UNSURE) or "not now" (SKIP). Only
# verdicts are evidence; UNSURE and SKIP are kept (so a queue does not show the row again,
# and so their number can be reported) but never enter an estimate.
REVIEW_LABELS: tuple[str, ...] = (*VERDICTS, UNSURE, SKIP)
KEYMAP: dict[str, str] = {"c": "COMPLETE", "e": "EVASIVE", "d": "DENIAL", "u": UNSURE, "s": SKIP}
QUEUES = ("random", "triage")
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

    @property
    def has_verdict(self) -> bool:
        return self.verdict in VERDICTS

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
