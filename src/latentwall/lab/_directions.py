"""Difference-of-means directions and the choice of the one that mediates refusal.

For two prompt sets (e.g. harmful vs harmless, China-sensitive vs matched controls, one
language at a time) the candidate direction at (position, layer) is
mean(acts_pos) - mean(acts_neg). The best candidate is chosen as in Arditi et al.
(2024) on held-out validation prompts:

- bypass score: mean refusal score of the positive validation prompts with the
  candidate ablated everywhere (lower: ablation removes more refusal);
- steering score: mean refusal score of the negative (harmless) validation prompts with
  the raw difference vector added at its layer (higher: it induces refusal);
- KL: mean KL(base || ablated) of the next-token distribution on the negative prompts.

Candidates in the last 20% of layers or with KL > 0.1 are excluded, as are those whose
steering does not raise the refusal score above the unsteered baseline; the lowest
bypass score wins, and when a judge is at hand the best few are re-ranked by the judged
refusal of the validation prompts under ablation. When nothing survives, the steering
rule and then the KL rule (up to KL_HARD) are relaxed and the result says so. Two rules
are never relaxed: ablation must lower the refusal score below the un-ablated baseline,
and KL must stay under KL_HARD (a candidate that breaks the model "removes" refusal by
removing answers). If no candidate passes them, `mediates` is False and the least
damaging candidate is reported, flagged, instead of the most destructive one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from latentwall.lab._ablation import (
    RefusalOpenings,
    ablation,
    addition,
    forward_refusal,
    kl_first_token,
    orthonormal,
    refusal_scores,
)
from latentwall.lab._activations import ActivationSet
from latentwall.lab._model import LabModel

MAX_LAYER_FRAC = 0.8
KL_MAX = 0.1
KL_HARD = 1.0  # beyond this the "ablated" model is broken, whatever its refusal score


def diff_means(pos: ActivationSet, neg: ActivationSet) -> np.ndarray:
    """[position, layer, d] float64 difference of class means."""
    return pos.mean() - neg.mean()


def unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


@dataclass
class Candidate:
    position: str
    layer: int
    norm: float
    bypass: float | None = None
    steer: float | None = None
    kl: float | None = None
    judged: float | None = None  # judged refusal of positive validation prompts, ablated

    def to_dict(self) -> dict[str, Any]:
        return {"position": self.position, "layer": self.layer, "norm": self.norm,
                "bypass": self.bypass, "steer": self.steer, "kl": self.kl, "judged": self.judged}


@dataclass
class Selection:
    """The chosen direction (unit vector) and how it was chosen."""

    position: str
    layer: int
    direction: np.ndarray
    raw: np.ndarray
    candidates: list[Candidate]
    baseline: dict[str, float]
    relaxed: list[str] = field(default_factory=list)
    ranked: list[Candidate] = field(default_factory=list)
    mediates: bool = True  # False: no candidate lowered refusal within KL_HARD

    def top_k(self, diffs: np.ndarray, positions: Sequence[str], k: int) -> np.ndarray:
        """Orthonormal basis of the k best-ranked candidate directions (the rank-k ablation)."""
        vecs = [diffs[positions.index(c.position), c.layer] for c in self.ranked[:max(1, k)]]
        return orthonormal(np.stack(vecs)) if vecs else self.direction[None, :]

    def to_dict(self) -> dict[str, Any]:
        best = next((c for c in self.candidates
                     if c.layer == self.layer and c.position == self.position), None)
        return {"position": self.position, "layer": self.layer,
                "norm": float(np.linalg.norm(self.raw)), "relaxed": self.relaxed,
                "mediates": self.mediates,
                "baseline": self.baseline, "scores": best.to_dict() if best else None,
                "candidates": [c.to_dict() for c in self.candidates]}


def candidate_grid(n_layers: int, positions: Sequence[str], *, layer_stride: int = 1,
                   only_positions: Sequence[str] | None = None,
                   max_layer_frac: float = MAX_LAYER_FRAC) -> list[tuple[str, int]]:
    """(position, layer) pairs to evaluate: every stride-th layer before the last 20%."""
    limit = max(1, int(np.floor(max_layer_frac * n_layers)))
    pos = [p for p in positions if only_positions is None or p in only_positions]
    return [(p, layer) for p in pos for layer in range(0, limit, max(1, layer_stride))]


def select_direction(lm: LabModel, diffs: np.ndarray, positions: Sequence[str],
                     pos_val: Sequence[Sequence[int]], neg_val: Sequence[Sequence[int]],
                     openings: RefusalOpenings, *, grid: Sequence[tuple[str, int]],
                     kl_max: float = KL_MAX, batch_size: int = 8,
                     confirm: Callable[[np.ndarray | None], float] | None = None,
                     confirm_k: int = 3) -> Selection:
    """Score every candidate in `grid` on the validation prompts and pick one (module doc).

    `confirm(dirs)`, when given, is the judged refusal rate of the positive validation
    prompts with `dirs` ablated (None: no ablation); the best `confirm_k` candidates by
    score are re-ranked by it, so the chosen direction is one whose ablation removes
    refusals the judge sees, not just refusal-shaped first tokens.
    """
    seqs = list(pos_val) + list(neg_val)
    n_pos = len(pos_val)
    base_logits, base = forward_refusal(lm, seqs, openings, batch_size)
    baseline = {"positive_score": float(base[:n_pos].mean()),
                "negative_score": float(base[n_pos:].mean())}
    neg_base_logits = base_logits[n_pos:]
    cands: list[Candidate] = []
    for p, layer in grid:
        raw = diffs[positions.index(p), layer]
        c = Candidate(p, layer, float(np.linalg.norm(raw)))
        if c.norm > 0:
            with ablation(lm, unit(raw)[None, :]):
                abl_logits, abl = forward_refusal(lm, seqs, openings, batch_size)
            c.bypass = float(abl[:n_pos].mean())
            c.kl = float(kl_first_token(neg_base_logits, abl_logits[n_pos:]).mean())
            with addition(lm, raw, layer):
                c.steer = float(refusal_scores(lm, neg_val, openings, batch_size).mean())
        cands.append(c)
    scored = [c for c in cands if c.bypass is not None]
    # Ablation must lower the refusal score and must not wreck the model (KL_HARD) under
    # every relaxation: a candidate that fails either is no refusal direction at all.
    def lowers(c: Candidate) -> bool:
        return c.bypass < baseline["positive_score"]

    stages = [([], lambda c: c.steer > baseline["negative_score"] and c.kl <= kl_max and lowers(c)),
              (["steering"], lambda c: c.kl <= kl_max and lowers(c)),
              (["steering", "kl"], lambda c: c.kl <= KL_HARD and lowers(c))]
    relaxed: list[str] = []
    pool: list[Candidate] = []
    for relax, rule in stages:
        pool = [c for c in scored if rule(c)]
        if pool:
            relaxed = relax
            break
    mediates = bool(pool)
    if not pool:
        # Nothing lowers refusal within the KL bound: report the least damaging candidate,
        # flagged, rather than the one that breaks the model most.
        relaxed = ["steering", "kl", "bypass"]
        pool = sorted(scored or cands, key=lambda c: c.kl if c.kl is not None else np.inf)[:1]

    def order(c: Candidate) -> tuple[float, float]:
        return (c.bypass if c.bypass is not None else np.inf, c.kl or 0.0)

    ranked = sorted(pool, key=order)
    judged_base = None
    if confirm is not None and mediates:
        judged_base = confirm(None)
        if judged_base > 0:
            for c in ranked[:confirm_k]:
                c.judged = confirm(unit(diffs[positions.index(c.position), c.layer])[None, :])
            top = sorted(ranked[:confirm_k], key=lambda c: (c.judged, *order(c)))
            ranked = top + ranked[confirm_k:]
    best = ranked[0]
    # top-k draws on the surviving pool first, then on the other scored candidates
    ranked += sorted((c for c in scored if c not in ranked and lowers(c) and (c.kl or 0) <= KL_HARD), key=order)
    raw = diffs[positions.index(best.position), best.layer]
    if judged_base is not None:
        baseline["positive_judged"] = judged_base
    return Selection(best.position, best.layer, unit(raw), raw, cands, baseline, relaxed, ranked,
                     mediates=mediates)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0
