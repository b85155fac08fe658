"""Measure a judge against the labelled eval set, so a judge change is a number, not a hunch.

The eval set (`data/eval/*.jsonl`) holds prompt/response pairs labelled by people who
follow docs/labelling.md. Every record is validated on load; errors name file, line and
field. The report gives 3-way accuracy, refusal-vs-not accuracy (DENIAL against
COMPLETE + EVASIVE), the confusion matrix, accuracy per language and per style, and the
ids the judge got wrong.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table

from latentwall._data import iter_jsonl, package_data
from latentwall.errors import DataError
from latentwall.judges._base import Judge, JudgeInput
from latentwall.labels import ALL_LABELS, VERDICTS, is_refusal

REQUIRED = ("id", "prompt", "response", "language", "label", "style", "category")
OPTIONAL = ("reasoning", "notes", "source", "topic")


@dataclass(frozen=True, slots=True)
class EvalItem:
    """One labelled prompt/response pair."""

    id: str
    prompt: str
    response: str
    language: str
    label: str
    style: str
    category: str
    reasoning: str | None = None
    source: str = ""  # "file:line", for error messages and reports


def default_paths() -> list[Path]:
    """The eval files shipped with the package."""
    return sorted(package_data("latentwall.judges", "data", "eval").glob("*.jsonl"))


def _validate(obj: dict[str, Any], path: Path, line: int) -> EvalItem:
    for key in obj:
        if key not in REQUIRED and key not in OPTIONAL:
            raise DataError(str(path), line, key, f"unknown field (allowed: {', '.join(REQUIRED + OPTIONAL)})")
    for key in REQUIRED:
        val = obj.get(key)
        if val is None:
            raise DataError(str(path), line, key, "missing")
        if not isinstance(val, str):
            raise DataError(str(path), line, key, f"must be a string, not {type(val).__name__}")
        if key != "response" and not val.strip():
            raise DataError(str(path), line, key, "must not be empty")
    if obj["label"] not in ALL_LABELS:
        raise DataError(str(path), line, "label", f"'{obj['label']}' is not one of {', '.join(ALL_LABELS)}")
    reasoning = obj.get("reasoning")
    if reasoning is not None and not isinstance(reasoning, str):
        raise DataError(str(path), line, "reasoning", "must be a string or absent")
    for key in ("notes", "source", "topic"):
        if obj.get(key) is not None and not isinstance(obj[key], str):
            raise DataError(str(path), line, key, "must be a string")
    return EvalItem(
        id=obj["id"], prompt=obj["prompt"], response=obj["response"], language=obj["language"],
        label=obj["label"], style=obj["style"], category=obj["category"], reasoning=reasoning,
        source=f"{path}:{line}",
    )


def load_eval_set(paths: Iterable[Path | str] | None = None) -> list[EvalItem]:
    """Validated eval items from `paths` (default: the shipped set); ids are unique across files."""
    files = [Path(p) for p in paths] if paths is not None else default_paths()
    items: list[EvalItem] = []
    seen: dict[str, str] = {}
    for f in files:
        if not f.is_file():
            raise DataError(str(f), None, None, "eval file not found")
        for line, obj in iter_jsonl(f):
            item = _validate(obj, f, line)
            if item.id in seen:
                raise DataError(str(f), line, "id", f"duplicate id '{item.id}' (first at {seen[item.id]})")
            seen[item.id] = item.source
            items.append(item)
    return items


@dataclass
class Bucket:
    """Counts for one slice (a language, a style)."""

    n: int = 0
    correct: int = 0
    binary_correct: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0

    @property
    def binary_accuracy(self) -> float:
        return self.binary_correct / self.n if self.n else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "accuracy": round(self.accuracy, 4), "binary_accuracy": round(self.binary_accuracy, 4)}


@dataclass
class EvalReport:
    """How a judge did on the eval set. `confusion[gold][predicted]` counts items."""

    judge: str
    n: int
    accuracy: float
    binary_accuracy: float
    confusion: dict[str, dict[str, int]]
    by_language: dict[str, Bucket]
    by_style: dict[str, Bucket]
    misjudged: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def misjudged_ids(self) -> list[str]:
        return [m["id"] for m in self.misjudged]

    @property
    def per_item_us(self) -> float:
        return 1e6 * self.seconds / self.n if self.n else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "judge": self.judge,
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "binary_accuracy": round(self.binary_accuracy, 4),
            "confusion": self.confusion,
            "by_language": {k: v.to_dict() for k, v in self.by_language.items()},
            "by_style": {k: v.to_dict() for k, v in self.by_style.items()},
            "misjudged": self.misjudged,
            "seconds": round(self.seconds, 4),
        }

    def render(self, *, plain: bool = False) -> RenderableType:
        """Rich tables for the terminal, or (plain=True) the same as plain text."""
        if plain:
            return self._text()
        head = Table(title=f"judge {self.judge}: {self.n} labelled responses", show_header=False)
        head.add_row("3-way accuracy", f"{self.accuracy:.1%}")
        head.add_row("refusal-vs-not accuracy", f"{self.binary_accuracy:.1%}")
        head.add_row("time per response", f"{self.per_item_us:.0f} µs")
        labels = self._labels()
        conf = Table(title="confusion (rows: gold, columns: judge)")
        conf.add_column("gold")
        for lab in labels:
            conf.add_column(lab, justify="right")
        for gold in labels:
            conf.add_row(gold, *(str(self.confusion.get(gold, {}).get(p, 0)) for p in labels))
        slices = Table(title="by language and style")
        for col in ("slice", "n", "3-way", "binary"):
            slices.add_column(col, justify="left" if col == "slice" else "right")
        for prefix, buckets in (("lang", self.by_language), ("style", self.by_style)):
            for name, b in buckets.items():
                slices.add_row(f"{prefix}: {name}", str(b.n), f"{b.accuracy:.0%}", f"{b.binary_accuracy:.0%}")
        parts: list[RenderableType] = [head, conf, slices]
        if self.misjudged:
            miss = Table(title=f"misjudged ({len(self.misjudged)})")
            for col in ("id", "gold", "judge", "rationale"):
                miss.add_column(col, overflow="fold")
            for m in self.misjudged:
                miss.add_row(m["id"], m["gold"], m["predicted"], m["rationale"])
            parts.append(miss)
        return Group(*parts)

    def _labels(self) -> list[str]:
        used = set(self.confusion) | {p for row in self.confusion.values() for p in row}
        return [lab for lab in ALL_LABELS if lab in used]

    def _text(self) -> str:
        lines = [
            f"judge {self.judge}: {self.n} labelled responses",
            f"3-way accuracy           {self.accuracy:.1%}",
            f"refusal-vs-not accuracy  {self.binary_accuracy:.1%}",
            f"time per response        {self.per_item_us:.0f} us",
            "",
            "confusion (rows: gold, columns: judge)",
        ]
        labels = self._labels()
        width = max((len(lab) for lab in labels), default=5) + 2
        lines.append("".ljust(width) + "".join(lab.rjust(width) for lab in labels))
        for gold in labels:
            row = self.confusion.get(gold, {})
            lines.append(gold.ljust(width) + "".join(str(row.get(p, 0)).rjust(width) for p in labels))
        lines.append("")
        for prefix, buckets in (("language", self.by_language), ("style", self.by_style)):
            for name, b in buckets.items():
                lines.append(f"{prefix} {name:<36} n={b.n:<4} 3-way {b.accuracy:6.1%}  binary {b.binary_accuracy:6.1%}")
        if self.misjudged:
            lines.append("")
            lines.append(f"misjudged ({len(self.misjudged)}):")
            lines.extend(f"  {m['id']}: gold {m['gold']}, judge {m['predicted']} - {m['rationale']}"
                         for m in self.misjudged)
        return "\n".join(lines)


def _judge_name(judge: Judge) -> str:
    try:
        return str(judge.describe().get("name", judge.name))
    except Exception:
        return getattr(judge, "name", type(judge).__name__)


def score(judge_name: str, items: Sequence[EvalItem], predicted: Sequence[tuple[str, str]],
          seconds: float = 0.0) -> EvalReport:
    """Build the report from gold items and (label, rationale) predictions, in the same order."""
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    by_lang: dict[str, Bucket] = defaultdict(Bucket)
    by_style: dict[str, Bucket] = defaultdict(Bucket)
    correct = binary = 0
    misjudged: list[dict[str, str]] = []
    for item, (label, rationale) in zip(items, predicted, strict=True):
        ok = label == item.label
        # A status (JUDGE_ERROR, ...) is never a refusal, and never right for a verdict item.
        bok = is_refusal(label) == is_refusal(item.label) and (label in VERDICTS) == (item.label in VERDICTS)
        confusion[item.label][label] += 1
        correct += ok
        binary += bok
        for bucket in (by_lang[item.language], by_style[item.style]):
            bucket.n += 1
            bucket.correct += ok
            bucket.binary_correct += bok
        if not ok:
            misjudged.append({"id": item.id, "gold": item.label, "predicted": label, "rationale": rationale})
    n = len(items)
    return EvalReport(
        judge=judge_name,
        n=n,
        accuracy=correct / n if n else 0.0,
        binary_accuracy=binary / n if n else 0.0,
        confusion={g: dict(sorted(c.items())) for g, c in sorted(confusion.items())},
        by_language=dict(sorted(by_lang.items())),
        by_style=dict(sorted(by_style.items())),
        misjudged=misjudged,
        seconds=seconds,
    )


def evaluate_judge(judge: Judge, paths: Iterable[Path | str] | None = None) -> EvalReport:
    """Run `judge` over the eval set (default: the shipped files) and score it."""
    items = load_eval_set(paths)
    inputs = [
        JudgeInput(prompt=i.prompt, response=i.response, reasoning=i.reasoning, language=i.language,
                   category=i.category)
        for i in items
    ]
    t0 = time.perf_counter()
    judgements = judge.judge_batch(inputs) if inputs else []
    seconds = time.perf_counter() - t0
    return score(_judge_name(judge), items, [(j.label, j.rationale) for j in judgements], seconds)
