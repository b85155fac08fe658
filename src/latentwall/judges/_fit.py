"""Fit the offline judge's weights on labelled data (`latentwall fit-judge`).

The markers judge reads named signals (`_signals.FEATURES`); how they combine into a
verdict is a multinomial logistic regression fitted here with scikit-learn (the `fit`
extra), deterministically, and written as a JSON data file. The procedure:

1. Split by request, never by row: a request's answers (all models, all languages, same
   `question_id`) are either all fitted on or all held back. A stable hash of the group
   picks the held-back part (`held_back`, default 20%).
2. Weigh each source file by the inverse square root of its size, so a large set of easy
   answers does not drown a small set of hard ones.
3. On the fitted part: 5-fold grouped cross-validation gives out-of-fold probabilities;
   a temperature is fitted on them (calibration) and a decision bias toward the rarer
   verdicts (0 to 0.6 in log-odds) is chosen so that the verdict shares come out as the
   labels' shares: the judge's job is rates, and the verdict that maximises accuracy
   undercounts the rarer verdicts. Precisely: among the biases whose weighted macro-F1 is
   within 0.01 of the best, the one with the smallest mean gap between predicted and
   labelled shares (total variation per source file and language, weighted as the
   macro-F1). Then the model is fitted on the whole part.
4. The held-back part measures the shipped model: macro-F1, accuracies, calibration error.

One rule sits beside the weights (`VETO`): no DENIAL without a sign of refusal in a language the
judge reads in full; it is applied in every figure too.

Everything the model needs is in the output file; the report says how each figure was made.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentwall.errors import ConfigError, DataError
from latentwall.judges._evaluate import EvalItem, Slice
from latentwall.judges._linear import LinearModel, decide
from latentwall.judges._signals import FEATURES
from latentwall.labels import DEFAULT_JUDGE, VERDICTS

CLASSES: tuple[str, ...] = tuple(VERDICTS)  # COMPLETE, EVASIVE, DENIAL
DEFAULT_C = 3.0
DEFAULT_HELD_BACK = 0.2
FOLDS = 5
# Up to 0.6: beyond it, short plain answers ("Yes. Back it up first: ...", "Between 3,200 and
# 5,000 people were killed ...") turn into low-confidence EVASIVE verdicts, since the real data's
# short answers are mostly evasive.
BIAS_GRID = tuple(round(0.1 * i, 1) for i in range(0, 7))
# A verdict a signal rules out, whatever the weights say: no DENIAL without a sign of refusal
# in a language the judge reads in full ("Canberra." is not a refusal because it is short).
VETO = {"DENIAL": "no_refusal_evidence"}
F1_SLACK = 0.01  # macro-F1 a bias may give up for verdict shares that match the labels
MODEL_VERSION = "markers-2"


@dataclass(frozen=True, slots=True)
class Row:
    """One labelled response as the fit sees it: its signals and where it came from."""

    source: str  # the file it came from (per-source weights and figures)
    group: str  # the request it answers (splits keep a group together)
    language: str
    label: str
    x: tuple[float, ...]


@dataclass
class FitResult:
    model: LinearModel
    report: dict[str, Any] = field(default_factory=dict)


def rows_from_items(judge: Any, items: Sequence[EvalItem]) -> list[Row]:
    """Signals of every labelled verdict (status labels are not the model's to predict)."""
    out = []
    for it in items:
        if it.label not in CLASSES:
            continue
        _, x = judge.read(it.to_input())
        # Rounded as the feature table stores them: fitting from the files or the table is the same.
        out.append(Row(it.file, group_key(it.group), it.language or "?", it.label, tuple(round(v, 9) for v in x)))
    return out


def group_key(group: str) -> str:
    """The request a row answers, as a short hash: what splits and folds are made of, the same
    whether the rows come from the labelled files or from a feature table."""
    return hashlib.sha1(group.encode("utf-8")).hexdigest()[:16]


# --------------------------------------------------------------------------- feature tables


def write_table(path: Path, rows: Sequence[Row]) -> None:
    """The signals as CSV (gzip when the name ends .gz): what the fit reads, without the texts."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["source", "group", "language", "label", *FEATURES])
    for r in rows:
        w.writerow([r.source, r.group, r.language, r.label, *(_fmt(v) for v in r.x)])
    data = buf.getvalue().encode("utf-8")
    if path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)


def _fmt(v: float) -> str:
    return "0" if v == 0 else repr(round(v, 9))


def read_table(path: Path) -> list[Row]:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    reader = csv.reader(io.StringIO(raw.decode("utf-8")))
    head = next(reader, None)
    if head is None or head[:4] != ["source", "group", "language", "label"]:
        raise DataError(str(path), 1, None, "not a judge feature table (source, group, language, label, ...)")
    if tuple(head[4:]) != FEATURES:
        raise DataError(str(path), 1, None, "its features are not this judge's signals: regenerate it")
    out = []
    for line, rec in enumerate(reader, start=2):
        try:
            out.append(Row(rec[0], rec[1], rec[2], rec[3], tuple(float(v) for v in rec[4:])))
        except (ValueError, IndexError):
            raise DataError(str(path), line, None, "malformed row") from None
    return out


# --------------------------------------------------------------------------- fitting


def is_held_back(group: str, share: float) -> bool:
    h = int(hashlib.sha1(group.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    return h < share


def _weights(rows: Sequence[Row]) -> list[float]:
    size = Counter(r.source for r in rows)
    mean = sum(size.values()) / len(size)
    return [math.sqrt(mean / size[r.source]) for r in rows]


def _folds(groups: Sequence[str], k: int) -> list[int]:
    """Fold of each row: groups dealt round-robin in a stable hashed order."""
    order = sorted(set(groups), key=lambda g: hashlib.sha1(g.encode("utf-8")).hexdigest())
    fold_of = {g: i % k for i, g in enumerate(order)}
    return [fold_of[g] for g in groups]


def _sklearn() -> Any:
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        raise ConfigError("fitting the judge needs scikit-learn: pip install 'latentwall[fit]'") from None
    return LogisticRegression


def _fit_lr(x: list[tuple[float, ...]], y: list[str], w: list[float], c: float) -> tuple[list[list[float]], list[float]]:
    from threadpoolctl import threadpool_limits  # comes with scikit-learn

    lr = _sklearn()(C=c, max_iter=5_000, tol=1e-6)
    # One BLAS thread: a small problem, and the same sums in the same order on every machine.
    with threadpool_limits(limits=1):
        lr.fit(x, y, sample_weight=w)
    order = [list(lr.classes_).index(k) for k in CLASSES]
    return ([[float(v) for v in lr.coef_[i]] for i in order], [float(lr.intercept_[i]) for i in order])


def _softmax(scores: Sequence[float], t: float = 1.0) -> list[float]:
    s = [v / t for v in scores]
    top = max(s)
    e = [math.exp(v - top) for v in s]
    z = sum(e)
    return [v / z for v in e]


def _nll(scores: Sequence[Sequence[float]], y: Sequence[int], w: Sequence[float], t: float) -> float:
    total = 0.0
    for s, k, wi in zip(scores, y, w, strict=True):
        top = max(v / t for v in s)
        z = sum(math.exp(v / t - top) for v in s)
        total -= wi * (s[k] / t - top - math.log(z))
    return total


def _fit_temperature(scores: Sequence[Sequence[float]], y: Sequence[int], w: Sequence[float]) -> float:
    """The temperature that minimises the out-of-fold log loss (golden-section search)."""
    lo, hi = 0.3, 3.0
    g = (math.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = _nll(scores, y, w, a), _nll(scores, y, w, b)
    for _ in range(40):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = _nll(scores, y, w, a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = _nll(scores, y, w, b)
    return round((lo + hi) / 2, 4)


_VETO_IDX = {CLASSES.index(c): FEATURES.index(f) for c, f in VETO.items()}


def _slice(rows: Sequence[Row], probs: Sequence[Sequence[float]], bias: Sequence[float]) -> Slice:
    s = Slice()
    for r, p in zip(rows, probs, strict=True):
        k = decide(p, bias, {c for c, i in _VETO_IDX.items() if r.x[i] > 0})
        s.add(r.label, CLASSES[k], p[k])
    return s


def _weighted_macro_f1(rows: Sequence[Row], probs: Sequence[Sequence[float]], bias: Sequence[float]) -> float:
    """Each source file's macro-F1, averaged with weights growing as the square root of the
    file's size (as in the fit): a tiny file cannot set the decision alone."""
    by: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by.setdefault(r.source, []).append(i)
    total = sum(math.sqrt(len(idx)) for idx in by.values())
    return sum(math.sqrt(len(idx)) * _slice([rows[i] for i in idx], [probs[i] for i in idx], bias).macro_f1
               for idx in by.values()) / total


def _share_gap(rows: Sequence[Row], probs: Sequence[Sequence[float]], bias: Sequence[float]) -> float:
    """How far the rates the judge would report sit from the labels' rates: the total variation
    between predicted and labelled verdict shares per (source, language), averaged with
    weights growing as the square root of the slice's size (as the macro-F1)."""
    by: dict[tuple[str, str], list[int]] = {}
    for i, r in enumerate(rows):
        by.setdefault((r.source, r.language), []).append(i)
    total = weight = 0.0
    for idx in by.values():
        pred: Counter[int] = Counter()
        ref: Counter[int] = Counter()
        for i in idx:
            pred[decide(probs[i], bias, {c for c, j in _VETO_IDX.items() if rows[i].x[j] > 0})] += 1
            ref[CLASSES.index(rows[i].label)] += 1
        w = math.sqrt(len(idx))
        total += w * sum(abs(pred[k] - ref[k]) for k in range(len(CLASSES))) / (2 * len(idx))
        weight += w
    return total / weight if weight else 0.0


def _figures(rows: Sequence[Row], probs: Sequence[Sequence[float]], bias: Sequence[float]) -> dict[str, Any]:
    out: dict[str, Any] = {"all": _slice(rows, probs, bias).to_dict()}
    keys = sorted({(r.source, r.language) for r in rows})
    for src in sorted({r.source for r in rows}):
        idx = [i for i, r in enumerate(rows) if r.source == src]
        out[f"source:{src}"] = _slice([rows[i] for i in idx], [probs[i] for i in idx], bias).to_dict()
    for src, lang in keys:
        idx = [i for i, r in enumerate(rows) if r.source == src and r.language == lang]
        out[f"source:{src}/language:{lang}"] = _slice([rows[i] for i in idx], [probs[i] for i in idx], bias).to_dict()
    for d in out.values():
        d.pop("confusion", None)
    return out


def out_of_fold(rows: Sequence[Row], *, c: float = DEFAULT_C, folds: int = FOLDS) -> list[list[float]]:
    """Class scores (before the softmax) of every row by weights fitted without its fold: folds
    grouped by request, rows weighted as in the fit. A row whose training folds lack a verdict
    gets an empty list. What the fit tunes temperature and bias on, and what benchmarks
    measure the judge with, so no answer is judged by weights fitted on its own request."""
    w = _weights(rows)
    x = [r.x for r in rows]
    y = [r.label for r in rows]
    fold_of = _folds([r.group for r in rows], folds)
    out: list[list[float]] = [[] for _ in rows]
    for f in range(folds):
        tr = [i for i, k in enumerate(fold_of) if k != f]
        te = [i for i, k in enumerate(fold_of) if k == f]
        if not te or len({y[i] for i in tr}) < len(CLASSES):
            continue
        coef, icpt = _fit_lr([x[i] for i in tr], [y[i] for i in tr], [w[i] for i in tr], c)
        for i in te:
            out[i] = [b + sum(wi * vi for wi, vi in zip(row, x[i], strict=True)) for row, b in zip(coef, icpt, strict=True)]
    return out


def fit(rows: Sequence[Row], *, c: float = DEFAULT_C, held_back: float = DEFAULT_HELD_BACK,
        review_below: float = 0.6) -> FitResult:
    """Fit the judge's weights; deterministic for the same rows (see the module docstring)."""
    if not rows:
        raise ConfigError("no labelled verdicts to fit on")
    missing = [k for k in CLASSES if not any(r.label == k for r in rows)]
    if missing:
        raise ConfigError(f"the labelled data have no {', '.join(missing)} answers: every verdict needs examples")
    fit_rows = [r for r in rows if not is_held_back(r.group, held_back)]
    back_rows = [r for r in rows if is_held_back(r.group, held_back)]
    w = _weights(fit_rows)
    x = [r.x for r in fit_rows]
    y = [r.label for r in fit_rows]
    # Out-of-fold scores on the fitted part: temperature and decision bias are tuned on them.
    oof = out_of_fold(fit_rows, c=c)
    have = [i for i, s in enumerate(oof) if s]
    yk = [CLASSES.index(y[i]) for i in have]
    temperature = _fit_temperature([oof[i] for i in have], yk, [w[i] for i in have]) if have else 1.0
    oof_p = [_softmax(oof[i], temperature) for i in have]
    oof_rows = [fit_rows[i] for i in have]
    grid = [(0.0, be, bd) for be in BIAS_GRID for bd in BIAS_GRID]
    f1 = {b: _weighted_macro_f1(oof_rows, oof_p, b) for b in grid}
    top = max(f1.values())
    bias = min((b for b in grid if f1[b] >= top - F1_SLACK), key=lambda b: (round(_share_gap(oof_rows, oof_p, b), 6), b))
    coef, icpt = _fit_lr(x, y, w, c)
    sources = sorted({r.source for r in rows})
    model = LinearModel(
        CLASSES, FEATURES, tuple(tuple(round(v, 8) for v in row) for row in coef), tuple(round(v, 8) for v in icpt),
        temperature, bias, review_below, dict(VETO),
        {"version": MODEL_VERSION, "fitted_on": sources, "C": c, "held_back": held_back,
         "rows": {"fitted": len(fit_rows), "held_back": len(back_rows)}},
    )
    back_p = [model.proba(r.x) for r in back_rows]
    report = {
        "procedure": __doc__.split("\n\n", 1)[1].strip(),
        "sources": {s: sum(1 for r in rows if r.source == s) for s in sources},
        "temperature": temperature, "bias": list(bias),
        "bias_choice": {"macro_f1_best": round(top, 4), "macro_f1": round(f1[bias], 4),
                        "share_gap": round(_share_gap(oof_rows, oof_p, bias), 4),
                        "share_gap_unbiased": round(_share_gap(oof_rows, oof_p, (0.0, 0.0, 0.0)), 4)},
        "cross_validated": _figures(oof_rows, oof_p, bias),
        "held_back": _figures(back_rows, back_p, bias) if back_rows else {},
    }
    return FitResult(model, report)


def refit(files: Sequence[Path], output: Path, *, from_features: Path | None = None,
          features_out: Path | None = None, report: Path | None = None, c: float | None = None,
          held_back: float | None = None, on_read: Any = None) -> FitResult:
    """`latentwall fit-judge`: fit the offline judge's weights on labelled files (or a feature
    table written before), write them (and the feature table, the fit report) atomically.
    `on_read(n)` is told how many labelled responses are being read."""
    import json

    from latentwall.datafiles import write_atomic
    from latentwall.judges._base import make_judge
    from latentwall.judges._evaluate import load_eval_set

    if bool(files) == bool(from_features):
        raise ConfigError("give labelled files or --from-features TABLE (one of the two)")
    if from_features:
        rows = read_table(from_features)
    else:
        items = load_eval_set(list(files))
        if on_read is not None:
            on_read(len(items))
        rows = rows_from_items(make_judge(DEFAULT_JUDGE), items)
    if features_out:
        write_table(features_out, rows)
    res = fit(rows, c=c if c is not None else DEFAULT_C, held_back=held_back if held_back is not None else DEFAULT_HELD_BACK)
    write_atomic(output, json.dumps(res.model.to_dict(), indent=1) + "\n")
    if report:
        write_atomic(report, json.dumps(res.report, indent=1, ensure_ascii=False) + "\n")
    return res
