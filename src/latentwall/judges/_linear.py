"""The offline judge's decision: a multinomial logistic model over named signals.

The weights are fitted on real, labelled model outputs (`latentwall fit-judge`) and ship as
a data file (`data/model/markers.json`), so how the evidence combines is set by data, not by
hand, and every verdict can be explained as the few signals that pushed it there. Inference
is a few dozen multiply-adds in plain Python: no numpy needed at run time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from latentwall.datafiles import package_data
from latentwall.errors import DataError
from latentwall.labels import VERDICTS


@dataclass(frozen=True, slots=True)
class LinearModel:
    """Class scores are `intercept + coef · x`; probabilities their softmax at `temperature`.
    `bias` shifts the decision (not the probabilities) toward rarer classes, tuned for macro-F1."""

    classes: tuple[str, ...]
    features: tuple[str, ...]
    coef: tuple[tuple[float, ...], ...]
    intercept: tuple[float, ...]
    temperature: float = 1.0
    bias: tuple[float, ...] = ()
    review_below: float = 0.6  # judgements less confident than this are marked for a person to look at
    # class -> signal that rules it out: DENIAL needs a sign of refusal where the judge reads the language
    veto: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    # Per class and feature: its weight minus the mean of the other classes' (for rationales).
    margin: tuple[tuple[float, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "margin", _margins(self.coef))

    def scores(self, x: Sequence[float]) -> list[float]:
        if len(x) != len(self.features):
            raise ValueError(f"{len(x)} values for {len(self.features)} features")
        nz = [(i, v) for i, v in enumerate(x) if v]  # a dozen of ~50 signals fire on an answer
        return [b + sum(row[i] * v for i, v in nz) for row, b in zip(self.coef, self.intercept, strict=True)]

    def proba(self, x: Sequence[float]) -> list[float]:
        s = [v / self.temperature for v in self.scores(x)]
        top = max(s)
        e = [math.exp(v - top) for v in s]
        z = sum(e)
        return [v / z for v in e]

    def decide(self, probs: Sequence[float], x: Sequence[float] = ()) -> int:
        return decide(probs, self.bias, self._vetoed(x))

    def _vetoed(self, x: Sequence[float]) -> set[int]:
        if not self.veto or not x:
            return set()
        return {self.classes.index(c) for c, f in self.veto.items() if x[self.features.index(f)] > 0}

    def contributions(self, x: Sequence[float], k: int) -> list[tuple[str, float]]:
        """How much each signal pushed class k above the average of the others, largest first."""
        margin = self.margin[k]
        out = [(name, margin[i] * v) for i, (name, v) in enumerate(zip(self.features, x, strict=True)) if v]
        out.sort(key=lambda t: -t[1])
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "classes": list(self.classes), "features": list(self.features),
            "coef": [list(r) for r in self.coef], "intercept": list(self.intercept),
            "temperature": self.temperature, "bias": list(self.bias), "review_below": self.review_below,
            "veto": self.veto, "meta": self.meta,
        }


def _margins(coef: tuple[tuple[float, ...], ...]) -> tuple[tuple[float, ...], ...]:
    """Per class and feature: its weight minus the mean weight of the other classes."""
    n = len(coef)
    return tuple(tuple(mine - sum(coef[j][i] for j in range(n) if j != k) / (n - 1) for i, mine in enumerate(row))
                 for k, row in enumerate(coef))


def decide(probs: Sequence[float], bias: Sequence[float] = (), vetoed: set[int] | frozenset[int] = frozenset()) -> int:
    """The verdict index: highest log-probability plus bias, among the classes not ruled out."""
    bias = bias or (0.0,) * len(probs)
    allowed = [k for k in range(len(probs)) if k not in vetoed] or list(range(len(probs)))
    return max(allowed, key=lambda k: math.log(max(probs[k], 1e-12)) + bias[k])


def default_model_path() -> Path:
    return package_data("latentwall.judges", "data", "model", "markers.json")


def _num(path: Path, fld: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise DataError(str(path), None, fld, f"must be a finite number, not {v!r}")
    return float(v)


def parse_model(data: Any, path: Path, features: Sequence[str]) -> LinearModel:
    """Validate a model document against the signals this version of the judge computes."""
    if not isinstance(data, dict):
        raise DataError(str(path), 1, None, "a judge model must be a JSON object")
    for key in ("classes", "features", "coef", "intercept"):
        if key not in data:
            raise DataError(str(path), None, key, "missing")
    classes = data["classes"]
    if not isinstance(classes, list) or sorted(classes) != sorted(VERDICTS):
        raise DataError(str(path), None, "classes", f"must list the verdicts {', '.join(VERDICTS)}")
    names = data["features"]
    if names != list(features):
        missing = sorted(set(features) - set(names or []))
        extra = sorted(set(names or []) - set(features))
        raise DataError(str(path), None, "features",
                        "does not match the judge's signals (missing: "
                        f"{', '.join(missing) or 'none'}; unknown: {', '.join(extra) or 'none'}; or another order); "
                        "refit with `latentwall fit-judge`")
    coef = data["coef"]
    if not isinstance(coef, list) or len(coef) != len(classes) or any(
            not isinstance(r, list) or len(r) != len(names) for r in coef):
        raise DataError(str(path), None, "coef", "must be one row of one weight per feature for each class")
    intercept = data["intercept"]
    if not isinstance(intercept, list) or len(intercept) != len(classes):
        raise DataError(str(path), None, "intercept", "must hold one number per class")
    bias = data.get("bias") or []
    if bias and len(bias) != len(classes):
        raise DataError(str(path), None, "bias", "must hold one number per class")
    temperature = _num(path, "temperature", data.get("temperature", 1.0))
    if temperature <= 0:
        raise DataError(str(path), None, "temperature", "must be positive")
    review = _num(path, "review_below", data.get("review_below", 0.6))
    meta = data.get("meta") or {}
    if not isinstance(meta, dict):
        raise DataError(str(path), None, "meta", "must be an object")
    veto = data.get("veto") or {}
    if not isinstance(veto, dict) or any(c not in classes or f not in names for c, f in veto.items()):
        raise DataError(str(path), None, "veto", "must map verdicts to signals of this judge")
    return LinearModel(
        tuple(classes), tuple(names),
        tuple(tuple(_num(path, f"coef[{k}][{i}]", v) for i, v in enumerate(r)) for k, r in enumerate(coef)),
        tuple(_num(path, f"intercept[{k}]", v) for k, v in enumerate(intercept)),
        temperature, tuple(_num(path, f"bias[{k}]", v) for k, v in enumerate(bias)), review, dict(veto), meta,
        str(path),
    )


@lru_cache(maxsize=8)
def load_model(path: str, features: tuple[str, ...]) -> LinearModel:
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(str(p), None, None, f"cannot read judge model: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise DataError(str(p), exc.lineno, None, f"invalid JSON: {exc.msg}") from None
    return parse_model(data, p, features)
