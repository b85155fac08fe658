"""The probe schema: one JSON object per line in a suite's *.jsonl files."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from latentwall.errors import DataError
from latentwall.standards import ailuminate, tc260

CATEGORIES = ("political", "harm", "benign", "capability")
KINDS = (
    "factual", "numbers", "evaluative", "critique", "creative", "both-sides",
    "compare-accounts", "summarise", "translate", "practical", "request", "task", "other",
)
REGIMES = ("cac", "universal-safety", "open")
EXPECTATIONS = ("refuse", "answer")
# BCP-47-style: en, zh-Hans, zh-Hant, ru, fr, ja ...
_LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-[A-Z]{2})?$")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._/-]*$")
_RISK_RE = re.compile(r"^A\.[1-5](\.\d{1,2})?$")
# MLCommons AILuminate v1.0 hazard codes, from the standard's data file (with its source).
HAZARD_CODES: tuple[str, ...] = ailuminate().codes

@lru_cache(maxsize=1)
def _tc260_risks() -> frozenset[str]:
    return frozenset(tc260().risks())


REQUIRED = ("id", "text", "language", "topic", "category", "kind", "group", "expected")
OPTIONAL = ("jurisdiction", "tags", "risk_code", "hazard", "answer", "system", "notes")


@dataclass(frozen=True, slots=True)
class Probe:
    """One question put to a model. `group` links the same question across languages."""

    id: str
    suite: str
    text: str
    language: str
    topic: str
    category: str
    kind: str
    group: str
    expected: dict[str, str]
    jurisdiction: str | None = None
    tags: tuple[str, ...] = ()
    risk_code: str | None = None
    hazard: str | None = None
    answer: str | None = None
    system: str | None = None
    source: str = field(default="", compare=False)

    def to_dict(self) -> dict[str, Any]:
        d = {
            "id": self.id, "suite": self.suite, "text": self.text, "language": self.language,
            "topic": self.topic, "category": self.category, "kind": self.kind,
            "group": self.group, "expected": dict(self.expected),
            "jurisdiction": self.jurisdiction, "tags": list(self.tags),
            "risk_code": self.risk_code, "hazard": self.hazard, "answer": self.answer,
            "system": self.system,
        }
        return {k: v for k, v in d.items() if v is not None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Probe:
        return cls(
            id=d["id"], suite=d.get("suite", ""), text=d["text"], language=d["language"],
            topic=d["topic"], category=d["category"], kind=d["kind"], group=d["group"],
            expected=dict(d["expected"]), jurisdiction=d.get("jurisdiction"),
            tags=tuple(d.get("tags", ())), risk_code=d.get("risk_code"),
            hazard=d.get("hazard"), answer=d.get("answer"), system=d.get("system"),
        )


def _fail(path: str, line: int, fld: str | None, msg: str) -> DataError:
    return DataError(path, line, fld, msg)


def _str(obj: dict[str, Any], key: str, path: str, line: int, *, required: bool) -> str | None:
    val = obj.get(key)
    if val is None:
        if required:
            raise _fail(path, line, key, "is required")
        return None
    if not isinstance(val, str) or not val.strip():
        raise _fail(path, line, key, "must be a non-empty string")
    return val


def validate_probe(obj: dict[str, Any], suite: str, path: str, line: int) -> Probe:
    """Check one raw record and build a Probe; every error names file, line and field."""
    unknown = sorted(set(obj) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise _fail(path, line, unknown[0], f"unknown field (allowed: {', '.join(REQUIRED + OPTIONAL)})")
    pid = _str(obj, "id", path, line, required=True)
    assert pid is not None
    if not _ID_RE.match(pid):
        raise _fail(path, line, "id", f"'{pid}' must be lower-case letters, digits, . _ / -")
    text = _str(obj, "text", path, line, required=True)
    lang = _str(obj, "language", path, line, required=True)
    if not _LANG_RE.match(lang or ""):
        raise _fail(path, line, "language", f"'{lang}' is not a language tag like en, zh-Hans, zh-Hant")
    topic = _str(obj, "topic", path, line, required=True)
    group = _str(obj, "group", path, line, required=True)
    category = _str(obj, "category", path, line, required=True)
    if category not in CATEGORIES:
        raise _fail(path, line, "category", f"'{category}' is not one of {', '.join(CATEGORIES)}")
    kind = _str(obj, "kind", path, line, required=True)
    if kind not in KINDS:
        raise _fail(path, line, "kind", f"'{kind}' is not one of {', '.join(KINDS)}")
    expected = obj.get("expected")
    if not isinstance(expected, dict) or not expected:
        raise _fail(path, line, "expected", "must map regime to 'refuse' or 'answer'")
    for regime, exp in expected.items():
        if regime not in REGIMES:
            raise _fail(path, line, f"expected.{regime}", f"unknown regime (known: {', '.join(REGIMES)})")
        if exp not in EXPECTATIONS:
            raise _fail(path, line, f"expected.{regime}", f"'{exp}' must be 'refuse' or 'answer'")
    tags = obj.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise _fail(path, line, "tags", "must be a list of non-empty strings")
    risk = _str(obj, "risk_code", path, line, required=False)
    if risk is not None and not _RISK_RE.match(risk):
        raise _fail(path, line, "risk_code", f"'{risk}' is not a TC260 code like A.1 or A.1.3")
    if risk is not None and risk.count(".") == 2 and risk not in _tc260_risks():
        raise _fail(path, line, "risk_code", f"'{risk}' is not one of the 31 TC260 sub-risks (A.1.1-A.5.2)")
    hazard = _str(obj, "hazard", path, line, required=False)
    if hazard is not None and hazard not in HAZARD_CODES:
        raise _fail(path, line, "hazard", f"'{hazard}' is not an AILuminate hazard code")
    answer = obj.get("answer")
    if answer is not None and not isinstance(answer, str):
        raise _fail(path, line, "answer", "must be a string")
    if category == "capability" and answer is None:
        raise _fail(path, line, "answer", "is required for capability probes")
    return Probe(
        id=pid, suite=suite, text=text or "", language=lang or "", topic=topic or "",
        category=category, kind=kind, group=group or "", expected=dict(expected),
        jurisdiction=_str(obj, "jurisdiction", path, line, required=False),
        tags=tuple(tags), risk_code=risk, hazard=hazard, answer=answer,
        system=_str(obj, "system", path, line, required=False),
        source=f"{path}:{line}",
    )
