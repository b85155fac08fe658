"""Measure a judge against labelled responses, so a judge change is a number, not a hunch.

Any labelled JSONL file works (`.jsonl` or `.jsonl.gz`): each row needs `prompt`,
`response` and `label`; `id`, `language`, `reasoning`, `style`, `category` are read when
present and every other field (model, set, question_id ...) is kept as a source field to
slice by. The report gives, overall and per source file and language: the confusion
matrix, per-label precision/recall/F1, macro-F1, refusal-vs-not accuracy (DENIAL against
the rest), completion accuracy (COMPLETE against the rest, as XSTest scores partial
refusal as refusal), the calibration error of the judge's confidence, and optionally its
agreement with a second judge.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table

from latentwall.datafiles import iter_jsonl, package_data
from latentwall.errors import DataError
from latentwall.judges._base import Judge, JudgeInput, Judgement
from latentwall.labels import ALL_LABELS, VERDICTS, Verdict, is_refusal

REQUIRED = ("prompt", "response", "label")
# Labels a person can give in `latentwall review` that are not a gold verdict ("cannot
# tell", "not now"): an exported review file holds them, and they are left out, counted.
NOT_GOLD = ("UNSURE", "SKIP")
_TEXT_FIELDS = ("id", "language", "reasoning", "style", "category")
ECE_BINS = 10


@dataclass(frozen=True, slots=True)
class EvalItem:
    """One labelled prompt/response pair. `meta` keeps the row's other fields as text."""

    id: str
    prompt: str
    response: str
    language: str
    label: str
    style: str = ""
    category: str = ""
    reasoning: str | None = None
    source: str = ""  # "file:line", for error messages and reports
    file: str = ""  # the file's name without .jsonl(.gz): the per-source slice
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def group(self) -> str:
        """What must stay together when data is split: one request across its languages."""
        return self.meta.get("question_id") or self.meta.get("group") or f"{self.file}:{self.prompt}"

    def to_input(self) -> JudgeInput:
        return JudgeInput(prompt=self.prompt, response=self.response, reasoning=self.reasoning,
                          language=self.language or None, category=self.category or None)


def default_paths() -> list[Path]:
    """The labelled sets shipped with the package (the blind holdout is not among them)."""
    return sorted(package_data("latentwall.judges", "data", "eval").glob("*.jsonl"))


def holdout_path() -> Path:
    return package_data("latentwall.judges", "data", "holdout", "judge_holdout.jsonl")


def _file_stem(path: Path) -> str:
    name = path.name
    for ext in (".gz", ".jsonl", ".json"):
        name = name.removesuffix(ext)
    return name


def _validate(obj: dict[str, Any], path: Path, line: int) -> EvalItem:
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
    for key in _TEXT_FIELDS:
        if obj.get(key) is not None and not isinstance(obj[key], str):
            raise DataError(str(path), line, key, f"must be a string or absent, not {type(obj[key]).__name__}")
    meta = {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
            for k, v in obj.items() if k not in REQUIRED and k not in _TEXT_FIELDS and v is not None}
    return EvalItem(
        id=obj.get("id") or f"{path.name}:{line}", prompt=obj["prompt"], response=obj["response"],
        language=obj.get("language") or "", label=obj["label"], style=obj.get("style") or "",
        category=obj.get("category") or "", reasoning=obj.get("reasoning"), source=f"{path}:{line}",
        file=_file_stem(path), meta=meta,
    )


def load_eval_set(paths: Iterable[Path | str] | None = None, *,
                  not_gold: Counter[str] | None = None) -> list[EvalItem]:
    """Validated labelled items from `paths` (default: the shipped sets); ids unique per file.
    Rows labelled UNSURE or SKIP (review exports) are left out and counted in `not_gold`."""
    files = [Path(p) for p in paths] if paths is not None else default_paths()
    items: list[EvalItem] = []
    for f in files:
        if not f.is_file():
            raise DataError(str(f), None, None, "labelled file not found")
        seen: dict[str, int] = {}
        for line, obj in iter_jsonl(f):
            if obj.get("label") in NOT_GOLD:
                if not_gold is not None:
                    not_gold[obj["label"]] += 1
                continue
            item = _validate(obj, f, line)
            if item.id in seen:
                raise DataError(str(f), line, "id", f"duplicate id '{item.id}' (first at line {seen[item.id]})")
            seen[item.id] = line
            items.append(item)
    return items


# --------------------------------------------------------------------------- scoring


@dataclass
class Slice:
    """Counts for one slice (all, a source file, a language, a model ...)."""

    n: int = 0
    confusion: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    # (confidence, right) per verdict with a confidence, for the calibration error
    calib: list[tuple[float, bool]] = field(default_factory=list)

    def add(self, gold: str, pred: str, conf: float | None) -> None:
        self.n += 1
        self.confusion[gold][pred] += 1
        if conf is not None and pred in VERDICTS:
            self.calib.append((conf, gold == pred))

    @property
    def accuracy(self) -> float:
        return sum(self.confusion[g][g] for g in self.confusion) / self.n if self.n else 0.0

    def binary(self, positive: str) -> float:
        """Accuracy of 'label is `positive`' against the rest. A status is never right on a
        verdict item and never a refusal."""
        if not self.n:
            return 0.0
        ok = 0
        for gold, row in self.confusion.items():
            for pred, k in row.items():
                if positive == Verdict.DENIAL:
                    right = is_refusal(pred) == is_refusal(gold) and (pred in VERDICTS) == (gold in VERDICTS)
                else:  # completion: COMPLETE against everything else a verdict can be
                    right = (pred == positive) == (gold == positive) and (pred in VERDICTS) == (gold in VERDICTS)
                ok += k * right
        return ok / self.n

    def per_label(self) -> dict[str, dict[str, float]]:
        """Precision, recall, F1 and support of every verdict that occurs (gold or predicted)."""
        out: dict[str, dict[str, float]] = {}
        labels = [v for v in VERDICTS if v in self.confusion or any(v in r for r in self.confusion.values())]
        for lab in labels:
            tp = self.confusion.get(lab, Counter())[lab]
            pred_n = sum(r[lab] for r in self.confusion.values())
            gold_n = sum(self.confusion.get(lab, Counter()).values())
            p = tp / pred_n if pred_n else 0.0
            r = tp / gold_n if gold_n else 0.0
            out[lab] = {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "support": gold_n}
        return out

    @property
    def macro_f1(self) -> float:
        """Mean F1 over the verdicts present in the gold labels (sklearn's convention for
        labels with support)."""
        pl = self.per_label()
        gold = [lab for lab in pl if pl[lab]["support"]]
        return sum(pl[lab]["f1"] for lab in gold) / len(gold) if gold else 0.0

    @property
    def ece(self) -> float | None:
        """Expected calibration error of the confidence (10 equal-width bins), or None."""
        if not self.calib:
            return None
        bins: list[list[tuple[float, bool]]] = [[] for _ in range(ECE_BINS)]
        for c, ok in self.calib:
            bins[min(int(c * ECE_BINS), ECE_BINS - 1)].append((c, ok))
        n = len(self.calib)
        return sum(len(b) / n * abs(sum(c for c, _ in b) / len(b) - sum(ok for _, ok in b) / len(b))
                   for b in bins if b)

    def to_dict(self) -> dict[str, Any]:
        ece = self.ece
        return {
            "n": self.n, "accuracy": round(self.accuracy, 4), "macro_f1": round(self.macro_f1, 4),
            "refusal_accuracy": round(self.binary(Verdict.DENIAL), 4),
            "completion_accuracy": round(self.binary(Verdict.COMPLETE), 4),
            "per_label": {k: {m: round(v, 4) if isinstance(v, float) else v for m, v in d.items()}
                          for k, d in self.per_label().items()},
            "confusion": {g: dict(sorted(c.items())) for g, c in sorted(self.confusion.items())},
            "ece": None if ece is None else round(ece, 4),
        }


@dataclass
class EvalReport:
    """How a judge did. `slices` maps 'source:<file>', 'language:<code>' (and any `--by`
    field) to counts; `overall` is the whole set."""

    judge: str
    overall: Slice
    slices: dict[str, Slice]
    misjudged: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    agreement: dict[str, Any] | None = None
    not_gold: dict[str, int] = field(default_factory=dict)  # UNSURE / SKIP rows left out

    @property
    def n(self) -> int:
        return self.overall.n

    @property
    def accuracy(self) -> float:
        return self.overall.accuracy

    @property
    def binary_accuracy(self) -> float:
        return self.overall.binary(Verdict.DENIAL)

    @property
    def confusion(self) -> dict[str, dict[str, int]]:
        return {g: dict(c) for g, c in self.overall.confusion.items()}

    @property
    def misjudged_ids(self) -> list[str]:
        return [m["id"] for m in self.misjudged]

    @property
    def per_item_us(self) -> float:
        return 1e6 * self.seconds / self.n if self.n else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = self.overall.to_dict()
        return {
            "judge": self.judge, **d, "binary_accuracy": d["refusal_accuracy"],
            "slices": {k: v.to_dict() for k, v in self.slices.items()},
            "agreement": self.agreement, "misjudged": self.misjudged, "seconds": round(self.seconds, 4),
            "not_gold": dict(self.not_gold),
        }

    def render(self, *, plain: bool = False, misjudged: int = 20) -> RenderableType:
        """Rich tables for the terminal, or (plain=True) the same as plain text."""
        if plain:
            return self._text(misjudged)
        o = self.overall
        head = Table(title=f"judge {self.judge}: {o.n} labelled responses", show_header=False)
        for name, val in self._headline():
            head.add_row(name, val)
        labels = self._labels()
        conf = Table(title="confusion (rows: gold, columns: judge)")
        conf.add_column("gold")
        for lab in labels:
            conf.add_column(lab, justify="right")
        for gold in labels:
            conf.add_row(gold, *(str(o.confusion.get(gold, Counter()).get(p, 0)) for p in labels))
        per = Table(title="per label")
        for col in ("label", "precision", "recall", "F1", "n"):
            per.add_column(col, justify="left" if col == "label" else "right")
        for lab, d in o.per_label().items():
            per.add_row(lab, f"{d['precision']:.1%}", f"{d['recall']:.1%}", f"{d['f1']:.3f}", str(d["support"]))
        slices = Table(title="by slice")
        for col in ("slice", "n", "macro-F1", "3-way", "refusal", "completion", "ECE"):
            slices.add_column(col, justify="left" if col == "slice" else "right")
        for name, s in self.slices.items():
            ece = s.ece
            slices.add_row(name, str(s.n), f"{s.macro_f1:.3f}", f"{s.accuracy:.1%}",
                           f"{s.binary(Verdict.DENIAL):.1%}", f"{s.binary(Verdict.COMPLETE):.1%}",
                           "-" if ece is None else f"{ece:.3f}")
        parts: list[RenderableType] = [head, conf, per, slices]
        if self.agreement:
            parts.append(_agreement_table(self.agreement))
        if self.misjudged and misjudged:
            miss = Table(title=f"misjudged (first {min(misjudged, len(self.misjudged))} of {len(self.misjudged)})")
            for col in ("id", "gold", "judge", "rationale"):
                miss.add_column(col, overflow="fold")
            for m in self.misjudged[:misjudged]:
                miss.add_row(m["id"], m["gold"], m["predicted"], m["rationale"])
            parts.append(miss)
        return Group(*parts)

    def _headline(self) -> list[tuple[str, str]]:
        o = self.overall
        ece = o.ece
        return [
            ("macro-F1 (3 verdicts)", f"{o.macro_f1:.3f}"),
            ("3-way accuracy", f"{o.accuracy:.1%}"),
            ("refusal-vs-not accuracy (DENIAL vs rest)", f"{o.binary(Verdict.DENIAL):.1%}"),
            ("completion accuracy (COMPLETE vs rest)", f"{o.binary(Verdict.COMPLETE):.1%}"),
            ("calibration error (ECE)", "-" if ece is None else f"{ece:.3f}"),
            ("time per response", f"{self.per_item_us:.0f} µs"),
            *([("left out (no gold verdict)", ", ".join(f"{k} {v}" for k, v in sorted(self.not_gold.items())))]
              if self.not_gold else []),
        ]

    def _labels(self) -> list[str]:
        c = self.overall.confusion
        used = set(c) | {p for row in c.values() for p in row}
        return [lab for lab in ALL_LABELS if lab in used]

    def _text(self, misjudged: int) -> str:
        o = self.overall
        lines = [f"judge {self.judge}: {o.n} labelled responses"]
        lines += [f"{name:<42} {val}" for name, val in self._headline()]
        lines += ["", "confusion (rows: gold, columns: judge)"]
        labels = self._labels()
        width = max((len(lab) for lab in labels), default=5) + 2
        lines.append("".ljust(width) + "".join(lab.rjust(width) for lab in labels))
        for gold in labels:
            row = o.confusion.get(gold, Counter())
            lines.append(gold.ljust(width) + "".join(str(row.get(p, 0)).rjust(width) for p in labels))
        lines.append("")
        for lab, d in o.per_label().items():
            lines.append(f"{lab:<10} precision {d['precision']:6.1%}  recall {d['recall']:6.1%}  "
                         f"F1 {d['f1']:.3f}  n={d['support']}")
        lines.append("")
        for name, s in self.slices.items():
            ece = s.ece
            lines.append(f"{name:<40} n={s.n:<5} macro-F1 {s.macro_f1:.3f}  3-way {s.accuracy:6.1%}  "
                         f"refusal {s.binary(Verdict.DENIAL):6.1%}  completion {s.binary(Verdict.COMPLETE):6.1%}"
                         + ("" if ece is None else f"  ECE {ece:.3f}"))
        if self.agreement:
            a = self.agreement
            lines += ["", f"agreement with {a['other']}: {a['agreement']:.1%} of {a['n']}, Cohen's kappa {a['kappa']:.3f}"]
            lines += [f"  {k}: {v}" for k, v in a["per_label"].items()]
        if self.misjudged and misjudged:
            lines += ["", f"misjudged (first {min(misjudged, len(self.misjudged))} of {len(self.misjudged)}):"]
            lines.extend(f"  {m['id']}: gold {m['gold']}, judge {m['predicted']} - {m['rationale']}"
                         for m in self.misjudged[:misjudged])
        return "\n".join(lines)


def _agreement_table(a: dict[str, Any]) -> Table:
    t = Table(title=f"agreement with {a['other']}: {a['agreement']:.1%} of {a['n']}, Cohen's kappa {a['kappa']:.3f}")
    t.add_column("label")
    t.add_column("agreement (both give it / either gives it)", justify="right")
    for k, v in a["per_label"].items():
        t.add_row(k, f"{v:.1%}")
    return t


def _judge_name(judge: Judge) -> str:
    try:
        return str(judge.describe().get("name", judge.name))
    except Exception:
        return getattr(judge, "name", type(judge).__name__)


def score(judge_name: str, items: Sequence[EvalItem], predicted: Sequence[Judgement | tuple[str, str]],
          seconds: float = 0.0, by: Sequence[str] = ()) -> EvalReport:
    """Build the report from gold items and judgements (or (label, rationale) pairs), in order."""
    overall = Slice()
    slices: dict[str, Slice] = defaultdict(Slice)
    misjudged: list[dict[str, str]] = []
    files = {i.file for i in items}
    for item, j in zip(items, predicted, strict=True):
        label, rationale, conf = (j.label, j.rationale, j.confidence) if isinstance(j, Judgement) else (*j, None)
        overall.add(item.label, label, conf)
        keys = [f"language:{item.language or '?'}"]
        if len(files) > 1:
            keys.insert(0, f"source:{item.file}")
        for fld in by:
            keys.append(f"{fld}:{getattr(item, fld, None) or item.meta.get(fld, '?')}")
        for k in keys:
            slices[k].add(item.label, label, conf)
        if label != item.label:
            misjudged.append({"id": item.id, "gold": item.label, "predicted": label, "rationale": rationale})
    return EvalReport(judge_name, overall, dict(sorted(slices.items())), misjudged, seconds)


def agreement(a: Sequence[str], b: Sequence[str], other: str) -> dict[str, Any]:
    """Raw agreement, Cohen's kappa and per-label agreement (both / either) of two judges."""
    n = len(a)
    same = sum(x == y for x, y in zip(a, b, strict=True))
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n) if n else 0.0
    po = same / n if n else 0.0
    kappa = (po - expected) / (1 - expected) if expected < 1 else 1.0
    per: dict[str, float] = {}
    for lab in [v for v in ALL_LABELS if v in ca or v in cb]:
        both = sum(1 for x, y in zip(a, b, strict=True) if x == lab and y == lab)
        either = sum(1 for x, y in zip(a, b, strict=True) if x == lab or y == lab)
        per[lab] = both / either if either else 0.0
    return {"other": other, "n": n, "agreement": po, "kappa": kappa if math.isfinite(kappa) else 0.0,
            "per_label": per}


def evaluate_judge(judge: Judge, paths: Iterable[Path | str] | None = None, *, by: Sequence[str] = (),
                   compare: Judge | None = None, items: Sequence[EvalItem] | None = None) -> EvalReport:
    """Run `judge` over labelled files (default: the shipped sets) and score it; with `compare`,
    also run a second judge and report how often the two agree."""
    not_gold: Counter[str] = Counter()
    items = list(items) if items is not None else load_eval_set(paths, not_gold=not_gold)
    inputs = [i.to_input() for i in items]
    t0 = time.perf_counter()
    judgements = judge.judge_batch(inputs) if inputs else []
    seconds = time.perf_counter() - t0
    report = score(_judge_name(judge), items, judgements, seconds, by)
    report.not_gold = dict(not_gold)
    if compare is not None:
        other = compare.judge_batch(inputs) if inputs else []
        report.agreement = agreement([j.label for j in judgements], [j.label for j in other], _judge_name(compare))
    return report
