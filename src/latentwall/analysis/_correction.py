"""Misclassification-corrected rates from a run's machine verdicts and a random human sample.

Method (docs/review.md): double sampling. The run gives, per stratum s (e.g. target ×
language), how many responses the judge called v (COMPLETE, EVASIVE, DENIAL). A random
human sample, stratified by s and v, estimates P(true h | machine v, s). The corrected
rate of h in a group is

    π̂(h) = Σ_{s,v} (n(g,s,v) / n(g)) · P̂(h | v, s)

The 95% interval is a percentile bootstrap over both sources of error: each replicate
redraws the group's verdict counts (multinomial: the run's sampling error) and each row of
P(· | v, s) from its posterior given the human labels (Dirichlet(labels + ½): the
uncertainty of the confusion estimate; a plain resample of a 12-of-12 cell would claim
certainty). A cell the sample never reached borrows the row pooled over strata with the
weight of one label, so its uncertainty is close to total - and a group that leans on such
cells, or has too few labels, is reported as too small to tell, with no interval.

Pure functions over plain records, returning typed results; numpy does the arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from latentwall.analysis._stats import wilson
from latentwall.analysis._tests import newcombe_diff, stable_seed
from latentwall.labels import VERDICTS

CLASSES: tuple[str, ...] = VERDICTS
DRAWS = 2000
PRIOR = 0.5  # Jeffreys: half a label per class in every confusion row
BORROW_WEIGHT = 1.0  # a cell with no labels: the pooled row, worth one label
MIN_LABELS = 10  # fewer human verdicts behind a group: too small to tell
MAX_BORROWED = 0.10  # more of a group's responses in cells no label reached: too small
WIDE = 0.30  # an interval wider than this is reported, with a note that it is wide
METHOD = "double-sampling"

Key = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Cell:
    """Run counts: `n` responses of `group` in `stratum` that the judge called `verdict`."""

    group: Key
    stratum: Key
    verdict: str
    n: int


@dataclass(frozen=True, slots=True)
class Validation:
    """One human verdict on a response of the random sample."""

    stratum: Key
    verdict: str  # the machine's
    truth: str  # the person's
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Interval:
    estimate: float | None
    lo: float | None
    hi: float | None

    @property
    def excludes_zero(self) -> bool:
        return self.lo is not None and self.hi is not None and (self.lo > 0 or self.hi < 0)

    def to_dict(self) -> dict[str, Any]:
        return {"estimate": _r(self.estimate), "lo": _r(self.lo), "hi": _r(self.hi)}


@dataclass(frozen=True, slots=True)
class CorrectedValue:
    """A corrected figure (a rate, a share of several classes, or a difference of rates) with
    its 95% interval; or, when the human sample cannot tell, no number and the reason."""

    interval: Interval
    reason: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.reason is None and self.interval.estimate is not None

    def to_dict(self) -> dict[str, Any]:
        return {**self.interval.to_dict(), "status": "ok" if self.ok else "too_small", "reason": self.reason,
                "notes": list(self.notes)}


@dataclass(frozen=True, slots=True)
class CorrectedRate:
    """One class in one group: the machine rate (Wilson 95%) and the corrected rate."""

    label: str
    k: int
    n: int
    machine: Interval
    corrected: Interval
    rogan_gladen: float | None = None

    @property
    def shift(self) -> float | None:
        a, b = self.corrected.estimate, self.machine.estimate
        return None if a is None or b is None else a - b

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "k": self.k, "n": self.n, "machine": self.machine.to_dict(),
                "corrected": self.corrected.to_dict(), "rogan_gladen": _r(self.rogan_gladen),
                "shift": _r(self.shift)}


@dataclass(frozen=True, slots=True)
class GroupCorrection:
    """Corrected rates of one report group. `status`: ok | too_small | no_labels | no_verdicts.
    `synthetic`: the group is finer than the sampling strata, so its correction assumes the
    judge errs alike within a stratum (docs/review.md). `borrowed`: share of its responses
    in cells no human label reached."""

    key: dict[str, Any]
    n: int
    n_labels: int
    status: str
    reason: str | None
    synthetic: bool
    borrowed: float
    rates: dict[str, CorrectedRate]
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return {"key": dict(self.key), "n": self.n, "n_labels": self.n_labels, "status": self.status,
                "reason": self.reason, "synthetic": self.synthetic, "borrowed": _r(self.borrowed),
                "notes": list(self.notes), "rates": {k: r.to_dict() for k, r in self.rates.items()}}


@dataclass(frozen=True, slots=True)
class Confusion:
    """The judge's confusion on this run, estimated from the sample and weighted back to the
    run's verdict mix: `p_machine_given_true[h][v]` (rows: the truth), `p_true_given_machine
    [v][h]`, the estimated prevalence of each true class, overall accuracy, and the raw counts
    of the sample (`sample[h][v]`: human h, machine v)."""

    key: dict[str, Any]
    n_labels: int
    p_machine_given_true: dict[str, dict[str, float | None]]
    p_true_given_machine: dict[str, dict[str, float | None]]
    prevalence: dict[str, float]
    accuracy: float | None
    sample: dict[str, dict[str, float]]

    def to_dict(self) -> dict[str, Any]:
        def rnd(d: Mapping[str, Mapping[str, float | None]]) -> dict[str, dict[str, float | None]]:
            return {a: {b: _r(x) for b, x in row.items()} for a, row in d.items()}

        return {"key": dict(self.key), "n_labels": self.n_labels,
                "p_machine_given_true": rnd(self.p_machine_given_true),
                "p_true_given_machine": rnd(self.p_true_given_machine),
                "prevalence": {k: _r(v) for k, v in self.prevalence.items()},
                "accuracy": _r(self.accuracy), "sample": {a: dict(r) for a, r in self.sample.items()}}


@dataclass(frozen=True, slots=True)
class FindingCheck:
    """A comparison (a difference of two rates) before and after correction."""

    name: str
    before: Interval
    after: Interval
    direction_changed: bool
    significance_changed: bool
    too_small: bool
    message: str

    @property
    def changed(self) -> bool:
        return self.direction_changed or self.significance_changed

    @property
    def detail(self) -> str:
        """The message without the finding's name: what correction does to it."""
        return self.message.removeprefix(f"{self.name}: ")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "before": self.before.to_dict(), "after": self.after.to_dict(),
                "significant_before": self.before.excludes_zero, "significant_after": self.after.excludes_zero,
                "direction_changed": self.direction_changed, "significance_changed": self.significance_changed,
                "changed": self.changed, "too_small": self.too_small, "message": self.message}


@dataclass(frozen=True)
class Correction:
    """Every group's corrected rates, the judge's confusion (overall and per stratum), and
    what was left out of the estimate. `difference()` compares two groups with the same
    bootstrap replicates the intervals came from."""

    by: tuple[str, ...]
    strata: tuple[str, ...]
    draws: int
    seed: int
    groups: list[GroupCorrection]
    confusion: Confusion | None
    strata_confusion: list[Confusion]
    excluded: dict[str, int]
    method: str = METHOD
    _state: Any = field(default=None, repr=False, compare=False)

    def group(self, **key: Any) -> GroupCorrection | None:
        for g in self.groups:
            if all(g.key.get(k) == v for k, v in key.items()):
                return g
        return None

    def difference(self, a: Mapping[str, Any], b: Mapping[str, Any], label: str,
                   name: str | None = None) -> FindingCheck:
        """rate(a) − rate(b) of `label`, uncorrected (Newcombe) and corrected (bootstrap, the
        same replicates as the intervals, so a confusion row shared by a and b counts once),
        flagged when its direction or its significance changes."""
        ga, gb = self.group(**a), self.group(**b)
        title = name or f"{label} {_fmt_key(a)} − {_fmt_key(b)}"
        if ga is None or gb is None:
            missing = _fmt_key(a if ga is None else b)
            raise KeyError(f"no group {missing} in this correction")
        ra, rb = ga.rates[label], gb.rates[label]
        before = Interval(*newcombe_diff(ra.k, ra.n, rb.k, rb.n))
        return check_finding(title, before, self.combine([(1.0, a), (-1.0, b)], (label,)).interval)

    def share(self, key: Mapping[str, Any], labels: Sequence[str]) -> CorrectedValue:
        """The corrected share of several classes together in one group (e.g. not complete =
        EVASIVE + DENIAL), from the same replicates as the group's rates."""
        return self.combine([(1.0, key)], labels)

    def combine(self, terms: Sequence[tuple[float, Mapping[str, Any]]], labels: Sequence[str]) -> CorrectedValue:
        """Σ weight × corrected share of `labels` over groups: a rate, a difference, or a
        standardised gap (Σ_k w_k (china_k − control_k)), its interval from the same bootstrap
        replicates (run counts redrawn per group, one posterior draw of the confusion shared by
        all). Too small to tell when the groups with positive weight together, or those with
        negative weight together, fail the rules a single group must pass."""
        idx = [CLASSES.index(x) for x in labels]
        gis = []
        for w, key in terms:
            g = self.group(**key)
            if g is None or not set(key) <= set(self.by):
                raise KeyError(f"no group {_fmt_key(key)} in this correction")
            gis.append((w, _group_index(self, g)))
        for side in ([gi for w, gi in gis if w > 0], [gi for w, gi in gis if w < 0]):
            reason = self._state.too_small(side) if side else None
            if reason:
                return CorrectedValue(Interval(None, None, None), reason)
        est = sum(w * float(self._state.estimate(gi)[idx].sum()) for w, gi in gis)
        reps = sum(w * self._state.replicates(gi)[:, idx].sum(axis=1) for w, gi in gis)
        lo, hi = float(np.quantile(reps, 0.025)), float(np.quantile(reps, 0.975))
        notes = tuple(dict.fromkeys(n for _, gi in gis for n in self.groups[gi].notes))
        return CorrectedValue(Interval(est, min(lo, est), max(hi, est)), None, notes)

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "by": list(self.by), "strata": list(self.strata),
                "draws": self.draws, "seed": self.seed, "prior": PRIOR, "min_labels": MIN_LABELS,
                "interval": {"confidence": 0.95, "machine": "wilson",
                             "corrected": "percentile bootstrap over the run's verdicts and the human labels"},
                "groups": [g.to_dict() for g in self.groups],
                "confusion": self.confusion.to_dict() if self.confusion else None,
                "strata_confusion": [c.to_dict() for c in self.strata_confusion],
                "excluded": dict(self.excluded)}


def _r(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 4)


def _fmt_key(key: Mapping[str, Any]) -> str:
    return "/".join(str(v) for v in key.values()) or "all"


def _group_index(c: Correction, g: GroupCorrection) -> int:
    return next(i for i, x in enumerate(c.groups) if x is g)


def check_finding(name: str, before: Interval, after: Interval, *,
                  significant_before: bool | None = None) -> FindingCheck:
    """Flag a finding whose direction or significance (95% interval excludes 0) changes after
    correction; say plainly when the correction cannot tell. `significant_before`: what the
    report claimed before correction, when its rule is stricter than the interval alone (the
    findings in words also ask for a test and non-overlapping rate intervals)."""
    if after.estimate is None or after.lo is None or after.hi is None:
        return FindingCheck(name, before, after, False, False, True,
                            f"{name}: the human sample is too small to tell whether correction changes it")
    b, a = before.estimate, after.estimate
    sig_before = before.excludes_zero if significant_before is None else significant_before
    direction = b is not None and b != 0 and a != 0 and (b > 0) != (a > 0)
    significance = sig_before != after.excludes_zero
    parts = []
    if direction:
        parts.append(f"direction flips ({100 * b:+.1f} → {100 * a:+.1f} points)")
    if significance:
        parts.append("significant before correction, not after" if sig_before
                     else "not significant before correction, significant after")
    msg = f"{name}: " + ("; ".join(parts) if parts else "holds after correction")
    return FindingCheck(name, before, after, direction, significance, False, msg)


# ----------------------------------------------------------------------------- estimation


class _State:
    """The posterior draws of P(true | machine, stratum) and each group's cell counts, so
    a group's replicates can be (re)made on demand, always the same for the same seed."""

    def __init__(self, p_draws: np.ndarray, group_cells: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                 seed: int, point: np.ndarray, labelled: np.ndarray, labels_per_stratum: np.ndarray) -> None:
        self.p_draws = p_draws  # (B, S, V, H)
        self.group_cells = group_cells  # per group: (stratum idx, verdict idx, counts)
        self.seed = seed
        self.point = point  # (S, V, H): P̂(h | v, s)
        self.labelled = labelled  # (S, V): a human label checks this cell
        self.labels_per_stratum = labels_per_stratum  # (S,)
        self._cache: dict[int, np.ndarray] = {}

    def estimate(self, g: int) -> np.ndarray:
        """(H,) point estimate of group g's true-class rates."""
        s_idx, v_idx, counts = self.group_cells[g]
        return np.einsum("k,kh->h", counts / counts.sum(), self.point[s_idx, v_idx, :])

    def too_small(self, gs: Sequence[int]) -> str | None:
        """Why groups `gs` taken together are too small to tell (None: they are not)."""
        s_idx = np.concatenate([self.group_cells[g][0] for g in gs])
        v_idx = np.concatenate([self.group_cells[g][1] for g in gs])
        counts = np.concatenate([self.group_cells[g][2] for g in gs])
        n = counts.sum()
        n_labels = round(float(self.labels_per_stratum[sorted(set(s_idx.tolist()))].sum()))
        borrowed = float(counts[~self.labelled[s_idx, v_idx]].sum() / n) if n else 0.0
        return _too_small_reason(n_labels, borrowed)

    def replicates(self, g: int) -> np.ndarray:
        """(B, H) bootstrap replicates of group g's true-class rates."""
        if g not in self._cache:
            s_idx, v_idx, counts = self.group_cells[g]
            n = int(counts.sum())
            rng = np.random.default_rng(stable_seed(self.seed, "group", g))
            redrawn = rng.multinomial(n, counts / n, size=self.p_draws.shape[0])  # (B, k)
            self._cache[g] = np.einsum("bk,bkh->bh", redrawn / n, self.p_draws[:, s_idx, v_idx, :])
        return self._cache[g]


def correct_rates(cells: Iterable[Cell], validations: Iterable[Validation], *, by: Sequence[str],
                  strata: Sequence[str], draws: int = DRAWS, seed: int = 0,
                  excluded: Mapping[str, int] | None = None) -> Correction:
    """Corrected rates of every group in `cells` (see the module docstring)."""
    cells = [c for c in cells if c.n > 0 and c.verdict in CLASSES]
    validations = [v for v in validations if v.verdict in CLASSES and v.truth in CLASSES and v.weight > 0]
    stratum_ids = {s: i for i, s in enumerate(sorted({c.stratum for c in cells} | {v.stratum for v in validations},
                                                     key=_sortable))}
    S, V, H = len(stratum_ids), len(CLASSES), len(CLASSES)
    m = np.zeros((max(S, 1), V, H))
    for x in validations:
        m[stratum_ids[x.stratum], CLASSES.index(x.verdict), CLASSES.index(x.truth)] += x.weight
    labelled = m.sum(axis=2) > 0  # (S, V)
    pooled = m.sum(axis=0) + PRIOR
    pooled /= pooled.sum(axis=1, keepdims=True)  # (V, H)
    point = np.where(labelled[..., None], m / np.maximum(m.sum(axis=2, keepdims=True), 1e-300), pooled[None])
    alpha = np.where(labelled[..., None], m + PRIOR, BORROW_WEIGHT * pooled[None])
    rng = np.random.default_rng(stable_seed(seed, "confusion"))
    gam = np.maximum(rng.gamma(alpha[None].repeat(draws, axis=0)), 1e-300)
    p_draws = gam / gam.sum(axis=3, keepdims=True)

    # run counts: per group and per stratum
    group_counts: dict[Key, dict[tuple[int, int], int]] = {}
    stratum_counts = np.zeros((max(S, 1), V))
    for c in cells:
        s, v = stratum_ids[c.stratum], CLASSES.index(c.verdict)
        d = group_counts.setdefault(c.group, {})
        d[(s, v)] = d.get((s, v), 0) + c.n
        stratum_counts[s, v] += c.n
    labels_per_stratum = m.sum(axis=(1, 2))
    synthetic = not set(by) <= set(strata)
    groups: list[GroupCorrection] = []
    group_cells: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    keys = sorted(group_counts, key=_sortable)
    state = _State(p_draws, group_cells, seed, point, labelled, labels_per_stratum)
    for gi, gkey in enumerate(keys):
        d = group_counts[gkey]
        s_idx = np.array([s for s, _ in d], dtype=int)
        v_idx = np.array([v for _, v in d], dtype=int)
        counts = np.array(list(d.values()), dtype=float)
        group_cells.append((s_idx, v_idx, counts))
        groups.append(_group(gi, dict(zip(by, gkey, strict=True)), s_idx, v_idx, counts, m, labelled,
                             labels_per_stratum, point, stratum_counts, synthetic, state))
    confusion = _confusion({}, stratum_counts, point, m) if S else None
    per_stratum = [_confusion(dict(zip(strata, s, strict=True)), stratum_counts[[i]], point[[i]], m[[i]])
                   for s, i in stratum_ids.items()]
    return Correction(tuple(by), tuple(strata), draws, seed, groups, confusion, per_stratum,
                      dict(excluded or {}), _state=state)


def _sortable(key: Key) -> tuple[tuple[bool, str], ...]:
    return tuple((v is None, "" if v is None else str(v)) for v in key)


def _group(gi: int, key: dict[str, Any], s_idx: np.ndarray, v_idx: np.ndarray, counts: np.ndarray,
           m: np.ndarray, labelled: np.ndarray, labels_per_stratum: np.ndarray, point: np.ndarray,
           stratum_counts: np.ndarray, synthetic: bool, state: _State) -> GroupCorrection:
    n = int(counts.sum())
    machine_k = {h: int(counts[v_idx == i].sum()) for i, h in enumerate(CLASSES)}
    machine = {h: Interval(*wilson(machine_k[h], n)) for h in CLASSES}
    strata_here = sorted(set(s_idx.tolist()))
    n_labels = round(float(labels_per_stratum[strata_here].sum()))
    borrowed = float(counts[~labelled[s_idx, v_idx]].sum() / n) if n else 0.0
    reason = _too_small_reason(n_labels, borrowed)
    status = "ok" if reason is None else "no_labels" if n_labels == 0 else "too_small"
    rg = _rogan_gladen(s_idx, v_idx, counts, point, stratum_counts)
    notes: list[str] = []
    if status == "ok":
        reps = state.replicates(gi)
        est = np.einsum("k,kh->h", counts / n, point[s_idx, v_idx, :])
        lo, hi = np.quantile(reps, 0.025, axis=0), np.quantile(reps, 0.975, axis=0)
        corrected = {h: Interval(float(est[i]), float(min(lo[i], est[i])), float(max(hi[i], est[i])))
                     for i, h in enumerate(CLASSES)}
        if borrowed > 0:
            notes.append(f"{borrowed:.0%} of its responses are in cells no label reached: their "
                         "correction borrows the pooled rate, with wide uncertainty")
        if any((c.hi or 0) - (c.lo or 0) > WIDE for c in corrected.values()):
            notes.append("wide interval: label more responses in this group's strata to narrow it")
        if synthetic:
            notes.append("finer than the sampling strata: assumes the judge errs alike within a stratum")
    else:
        corrected = {h: Interval(None, None, None) for h in CLASSES}
    rates = {h: CorrectedRate(h, machine_k[h], n, machine[h], corrected[h], rg[i])
             for i, h in enumerate(CLASSES)}
    return GroupCorrection(key, n, n_labels, status, reason, synthetic, borrowed, rates, tuple(notes))


def _too_small_reason(n_labels: int, borrowed: float) -> str | None:
    """The rules of docs/review.md ("When the sample is too small to tell"), said in words."""
    if n_labels == 0:
        return "no human labels in this group's strata"
    if n_labels < MIN_LABELS:
        return f"too small to tell: {n_labels} human verdicts behind it (at least {MIN_LABELS} needed)"
    if borrowed > MAX_BORROWED:
        return (f"too small to tell: {borrowed:.0%} of its responses got a verdict that no human label "
                "in its stratum checks")
    return None


def _rogan_gladen(s_idx: np.ndarray, v_idx: np.ndarray, counts: np.ndarray, point: np.ndarray,
                  stratum_counts: np.ndarray) -> list[float | None]:
    """Per class against the rest: (observed + Sp − 1) / (Se + Sp − 1), with Se and Sp of each
    stratum estimated from the sample weighted to the stratum's verdict mix, combined over the
    group's strata by its counts. For a group that is a whole stratum it equals the double
    sampling estimate; for a finer group (a topic) it applies the judge's error rates instead
    of its predictive values, so a gap between the two shows how much the group's own
    prevalence matters."""
    out: list[float | None] = []
    n = counts.sum()
    for h in range(len(CLASSES)):
        total, ok = 0.0, True
        for s in sorted(set(s_idx.tolist())):
            here = s_idx == s
            n_s = counts[here].sum()
            observed = counts[here & (v_idx == h)].sum() / n_s
            w = stratum_counts[s] / stratum_counts[s].sum()
            joint = w[:, None] * point[s]  # (V, H): P(machine v, true h)
            truth = joint.sum(axis=0)
            se = joint[h, h] / truth[h] if truth[h] > 0 else math.nan
            neg = truth.sum() - truth[h]
            sp = (joint.sum() - joint[h, :].sum() - joint[:, h].sum() + joint[h, h]) / neg if neg > 0 else math.nan
            denom = se + sp - 1
            if not math.isfinite(denom) or denom < 0.05:
                ok = False
                break
            total += n_s / n * min(1.0, max(0.0, (observed + sp - 1) / denom))
        out.append(total if ok else None)
    return out


def _confusion(key: dict[str, Any], counts: np.ndarray, point: np.ndarray, m: np.ndarray) -> Confusion:
    """Joint P(machine v, true h) = share(v) · P̂(h | v), summed over strata."""
    n = counts.sum()
    joint = np.zeros((len(CLASSES), len(CLASSES)))  # (V, H)
    if n > 0:
        joint = np.einsum("sv,svh->vh", counts / n, point)
    truth = joint.sum(axis=0)
    given_true = {h: {v: (float(joint[j, i] / truth[i]) if truth[i] > 0 else None) for j, v in enumerate(CLASSES)}
                  for i, h in enumerate(CLASSES)}
    machine = joint.sum(axis=1)
    given_machine = {v: {h: (float(joint[j, i] / machine[j]) if machine[j] > 0 else None)
                         for i, h in enumerate(CLASSES)} for j, v in enumerate(CLASSES)}
    raw = m.sum(axis=0)  # (V, H)
    sample = {h: {v: float(raw[j, i]) for j, v in enumerate(CLASSES)} for i, h in enumerate(CLASSES)}
    return Confusion(key, round(float(raw.sum())), given_true, given_machine,
                     {h: float(truth[i]) for i, h in enumerate(CLASSES)},
                     float(np.trace(joint)) if n > 0 else None, sample)
