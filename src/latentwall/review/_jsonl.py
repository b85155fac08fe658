"""Review labels to and from JSONL, so a team can split the work and merge it.

An exported row is a valid labelled file for `latentwall eval-judge --file` (prompt,
response, label, language, id) plus its source fields: where the response is (run_id,
probe_id, condition, sample, target, topic, suite), who labelled it when and from which
queue, the machine verdict it was labelled against, and a hash of the response text, so an
import can tell that a response was asked again since.

Import is idempotent: a label is keyed by (response, reviewer); the same label again is
"already there", a different one replaces the stored one only when it is newer. A label
whose response is not in the runs (or whose response changed) is reported and written to
a side file, never dropped silently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from latentwall.datafiles import iter_jsonl
from latentwall.errors import DataError, LatentwallError
from latentwall.records import (
    NOTE_MAX,
    QUEUES,
    REVIEW_LABELS,
    HumanLabel,
    ReviewItem,
    RowKey,
    key_id,
    now_iso,
    reviewer_judge,
)
from latentwall.text import json_line


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def export_record(label: HumanLabel | None, item: ReviewItem, *, reviewer: str = "", queue: str = "random",
                  sample: int | None = None) -> dict[str, Any]:
    """One JSONL row: the eval-judge fields, then the source fields. Without a label, a row
    of a queue to label elsewhere: fill in `label` (and `note`), then import it."""
    r = item.row
    key = r.key
    return {
        "id": f"{key_id(key)}#{label.reviewer if label else reviewer}", "prompt": item.prompt,
        "response": item.text, "label": label.label if label else None, "language": r.language or None,
        "reasoning": item.reasoning, "category": r.category or None,
        "run_id": key[0], "probe_id": key[1], "condition": key[2], "sample": key[3],
        "target": r.target, "topic": r.topic, "suite": r.suite,
        "reviewer": label.reviewer if label else reviewer, "queue": label.queue if label else queue,
        "time": label.time if label else None, "note": (label.note or None) if label else None,
        "in_sample": label.sample if label else sample, "blind": label.blind if label else False,
        "machine_label": label.machine if label else r.verdict, "machine_judge": item.judge or None,
        "machine_confidence": r.confidence, "response_sha256": text_hash(item.text),
    }


def write_export(path: Path, records: Iterable[Mapping[str, Any]]) -> int:
    """Write beside and rename: no partial file is left on failure."""
    tmp = path.with_name(path.name + ".part")
    n = 0
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            for rec in records:
                fh.write(json_line(rec))
                n += 1
        tmp.replace(path)
    except OSError as exc:
        raise LatentwallError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return n


@dataclass(frozen=True, slots=True)
class ImportedLabel:
    line: int
    label: HumanLabel
    sha: str | None
    raw: dict[str, Any]


def _str(obj: Mapping[str, Any], name: str, path: Path, line: int, *, required: bool = True) -> str | None:
    v = obj.get(name)
    if v is None:
        if required:
            raise DataError(str(path), line, name, "missing")
        return None
    if not isinstance(v, str):
        raise DataError(str(path), line, name, f"must be a string, not {type(v).__name__}")
    return v


def read_labels(path: Path) -> list[ImportedLabel]:
    """Validated label rows of an exported file; errors name the file, line and field."""
    if not path.is_file():
        raise DataError(str(path), None, None, "label file not found")
    out: list[ImportedLabel] = []
    for line, obj in iter_jsonl(path):
        run_id = _str(obj, "run_id", path, line)
        probe_id = _str(obj, "probe_id", path, line)
        condition = _str(obj, "condition", path, line, required=False) or ""
        sample = obj.get("sample")
        if not isinstance(sample, int) or isinstance(sample, bool):
            raise DataError(str(path), line, "sample", "must be an integer")
        reviewer = _str(obj, "reviewer", path, line) or ""
        try:
            reviewer_judge(reviewer)
        except LatentwallError as exc:
            raise DataError(str(path), line, "reviewer", str(exc)) from None
        if obj.get("label") is None:
            raise DataError(str(path), line, "label", "missing: fill in COMPLETE, EVASIVE, DENIAL, UNSURE or SKIP")
        label = _str(obj, "label", path, line)
        if label not in REVIEW_LABELS:
            raise DataError(str(path), line, "label", f"{label!r} is not one of {', '.join(REVIEW_LABELS)}")
        when = _str(obj, "time", path, line, required=False) or now_iso()  # labelled elsewhere: now
        try:
            datetime.fromisoformat(when)
        except ValueError:
            raise DataError(str(path), line, "time", f"{when!r} is not an ISO date-time") from None
        queue = _str(obj, "queue", path, line, required=False) or "random"
        if queue not in QUEUES:
            raise DataError(str(path), line, "queue", f"must be one of {', '.join(QUEUES)}")
        note = _str(obj, "note", path, line, required=False) or ""
        if len(note) > NOTE_MAX:
            raise DataError(str(path), line, "note", f"longer than {NOTE_MAX} characters")
        seed = obj.get("in_sample")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise DataError(str(path), line, "in_sample", "must be an integer seed or null")
        key: RowKey = (run_id or "", probe_id or "", condition, sample)
        lab = HumanLabel(key=key, reviewer=reviewer, label=label or "", time=when, queue=queue, note=note,
                         sample=seed, machine=_str(obj, "machine_label", path, line, required=False),
                         blind=bool(obj.get("blind")))
        out.append(ImportedLabel(line, lab, _str(obj, "response_sha256", path, line, required=False), obj))
    if not out:
        raise DataError(str(path), None, None, "no labels (the file is empty)")
    return out


@dataclass
class ImportReport:
    """What an import did. `unmatched`: (line, id, reason) of labels that were not stored."""

    new: int = 0
    same: int = 0
    updated: int = 0
    kept_newer: int = 0
    unmatched: list[tuple[int, str, str]] = field(default_factory=list)
    to_write: list[HumanLabel] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{self.new} new", f"{self.updated} updated", f"{self.same} already there"]
        if self.kept_newer:
            parts.append(f"{self.kept_newer} older than the stored label (kept the stored one)")
        if self.unmatched:
            parts.append(f"{len(self.unmatched)} NOT imported (response not in these runs, or changed)")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"new": self.new, "updated": self.updated, "same": self.same, "kept_newer": self.kept_newer,
                "unmatched": [{"line": ln, "id": i, "reason": why} for ln, i, why in self.unmatched]}


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def plan_import(incoming: Sequence[ImportedLabel], existing: Mapping[tuple[RowKey, str], HumanLabel],
                known: Mapping[RowKey, str]) -> ImportReport:
    """Decide each incoming label against the stored ones. `known`: the responses of the runs
    with the hash of their text. Pure: the caller writes `report.to_write`."""
    rep = ImportReport()
    latest: dict[tuple[RowKey, str], HumanLabel] = dict(existing)
    for imp in incoming:
        lab = imp.label
        sha = known.get(lab.key)
        if sha is None:
            rep.unmatched.append((imp.line, key_id(lab.key), "response not in these runs"))
            continue
        if imp.sha is not None and imp.sha != sha:
            rep.unmatched.append((imp.line, key_id(lab.key), "the response text changed since it was labelled"))
            continue
        have = latest.get((lab.key, lab.reviewer))
        if have is None:
            rep.new += 1
        elif (have.label, have.note, have.sample) == (lab.label, lab.note, lab.sample):
            rep.same += 1
            continue
        elif _when(lab.time) > _when(have.time):
            rep.updated += 1
        else:
            rep.kept_newer += 1
            continue
        latest[(lab.key, lab.reviewer)] = lab
        rep.to_write.append(lab)
    return rep


def write_unmatched(path: Path, incoming: Sequence[ImportedLabel], report: ImportReport) -> Path | None:
    """The rows an import could not store, beside the input (or in the working directory)."""
    if not report.unmatched:
        return None
    lines = {ln for ln, _, _ in report.unmatched}
    rows = [{**imp.raw, "import_error": why} for imp in incoming if imp.line in lines
            for ln, _, why in report.unmatched if ln == imp.line]
    for where in (path.with_name(path.name + ".unmatched.jsonl"), Path.cwd() / (path.name + ".unmatched.jsonl")):
        try:
            write_export(where, rows)
            return where
        except LatentwallError:
            continue
    return None
