"""Is political censorship the harm-refusal direction? Cosines with a permutation null.

For two contrasts (A: political vs controls, B: harmful vs harmless) the cosine between
their difference-of-means directions is computed at every layer. The null is what that
cosine looks like when the labels carry no information: labels are shuffled inside each
contrast's pooled prompts and the cosine recomputed. Two random directions in d
dimensions are nearly orthogonal, but shared prompt structure (length, template,
language) is not, so the permutation null, not zero, is the reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentwall.lab._activations import ActivationSet


def _layer_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of [..., L, d] arrays -> [..., L]."""
    num = (a * b).sum(-1)
    den = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def _perm_diffs(x: np.ndarray, n_pos: int, masks: np.ndarray) -> np.ndarray:
    """x [n, L, d]; masks [k, n] booleans (True = positive) -> [k, L, d] diffs of means."""
    n = x.shape[0]
    flat = x.reshape(n, -1)
    m = masks.astype(np.float64)
    pos = (m @ flat) / n_pos
    neg = ((1 - m) @ flat) / (n - n_pos)
    return (pos - neg).reshape((masks.shape[0], *x.shape[1:]))


def _masks(rng: np.random.Generator, n: int, n_pos: int, k: int) -> np.ndarray:
    out = np.zeros((k, n), dtype=bool)
    for i in range(k):
        out[i, rng.permutation(n)[:n_pos]] = True
    return out


def cosine_with_null(a_pos: ActivationSet, a_neg: ActivationSet, b_pos: ActivationSet,
                     b_neg: ActivationSet, position: str, *, n_perm: int = 200,
                     seed: int = 0) -> dict[str, Any]:
    """Per-layer cosine of the two contrasts' directions, the null's mean and 95% band, p-values."""
    pa, pb = a_pos.pos_index(position), b_pos.pos_index(position)
    xa = np.concatenate([a_pos.acts[:, pa], a_neg.acts[:, pa]]).astype(np.float64)
    xb = np.concatenate([b_pos.acts[:, pb], b_neg.acts[:, pb]]).astype(np.float64)
    da = a_pos.mean()[pa] - a_neg.mean()[pa]
    db = b_pos.mean()[pb] - b_neg.mean()[pb]
    observed = _layer_cosines(da, db)
    rng = np.random.default_rng(seed)
    nulls = []
    chunk = 50
    for start in range(0, n_perm, chunk):
        k = min(chunk, n_perm - start)
        na = _perm_diffs(xa, a_pos.n, _masks(rng, xa.shape[0], a_pos.n, k))
        nb = _perm_diffs(xb, b_pos.n, _masks(rng, xb.shape[0], b_pos.n, k))
        nulls.append(_layer_cosines(na, nb))
    null = np.concatenate(nulls) if nulls else np.zeros((0, observed.shape[0]))
    exceed = (np.abs(null) >= np.abs(observed)[None, :]).sum(0)
    return {
        "position": position,
        "cosine": observed.tolist(),
        "null_mean": null.mean(0).tolist() if len(null) else None,
        "null_lo": np.quantile(null, 0.025, axis=0).tolist() if len(null) else None,
        "null_hi": np.quantile(null, 0.975, axis=0).tolist() if len(null) else None,
        "p_value": ((exceed + 1) / (len(null) + 1)).tolist(),
        "n_perm": len(null),
    }


def direction_cosines(diffs_a: np.ndarray, diffs_b: np.ndarray, pos_a: int, pos_b: int) -> list[float]:
    """Per-layer cosine of two [P, L, d] direction stacks at given positions."""
    return _layer_cosines(diffs_a[pos_a], diffs_b[pos_b]).tolist()
