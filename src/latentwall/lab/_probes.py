"""Per-layer linear probes: can one layer's residual stream tell what the model will do?

Two probes per layer, both linear: the difference-of-means projection (no fitting
beyond two means, so it cannot overfit a small set) and L2-regularised logistic
regression (Newton/IRLS in numpy, float64; no sklearn). Evaluation is on held-out
*topics*, so a probe that memorised topics rather than the property scores at chance.
Reported per layer: AUROC, TPR at 1% FPR, accuracy on held-out topics, and the AUROC
the same procedure reaches with shuffled training labels (the permutation baseline).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np


def auroc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Mann-Whitney AUROC with ties counted half; None if a class is missing."""
    y = np.asarray(labels).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def tpr_at_fpr(scores: np.ndarray, labels: np.ndarray, fpr: float = 0.01) -> float | None:
    """Share of positives above the threshold that lets at most `fpr` of negatives through."""
    y = np.asarray(labels).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    if y.all() or (~y).all():
        return None
    neg = np.sort(s[~y])[::-1]
    allowed = int(np.floor(fpr * len(neg)))
    thr = neg[allowed] if allowed < len(neg) else -np.inf
    return float((s[y] > thr).mean())


def fit_logreg(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 25
               ) -> tuple[np.ndarray, float]:
    """L2 logistic regression by Newton steps; returns (w, b) on the raw features."""
    mu = x.mean(0)
    sd = x.std(0) + 1e-8
    z = (x - mu) / sd
    n, d = z.shape
    zb = np.hstack([z, np.ones((n, 1))])
    w = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    yf = y.astype(np.float64)
    dual = n < d  # solve in n dimensions when there are fewer samples than features
    for _ in range(iters):
        p = 1 / (1 + np.exp(-np.clip(zb @ w, -30, 30)))
        g = zb.T @ (p - yf) + reg * w
        wt = np.maximum(p * (1 - p), 1e-9)
        if dual:
            # (Z^T W Z + R)^-1 g via Woodbury with R diagonal (bias term gets a tiny ridge)
            r = np.where(reg > 0, reg, 1e-6)
            zr = zb / r
            inner = np.diag(1 / wt) + zr @ zb.T
            step = g / r - zr.T @ np.linalg.solve(inner, zr @ g)
        else:
            h = (zb * wt[:, None]).T @ zb + np.diag(np.where(reg > 0, reg, 1e-6))
            step = np.linalg.solve(h, g)
        w = w - step
        if float(np.abs(step).max()) < 1e-6:
            break
    coef = w[:-1] / sd
    return coef, float(w[-1] - coef @ mu)


def topic_split(topics: Sequence[str], y: np.ndarray, test_frac: float = 0.3, seed: int = 0
                ) -> np.ndarray:
    """Boolean test mask holding out whole topics, with both classes on both sides if possible."""
    uniq = sorted(set(topics), key=lambda t: hashlib.sha256(f"{seed}:{t}".encode()).hexdigest())
    topics_arr = np.asarray(topics)
    for shift in range(len(uniq)):
        order = uniq[shift:] + uniq[:shift]
        test_topics: set[str] = set()
        for t in order:
            if len(test_topics) >= max(1, round(test_frac * len(uniq))):
                break
            test_topics.add(t)
        mask = np.isin(topics_arr, list(test_topics))
        ok = all(len(set(y[m].tolist())) == 2 for m in (mask, ~mask))
        if ok:
            return mask
    # Topics coincide with labels: fall back to a per-class stratified split by index.
    mask = np.zeros(len(y), dtype=bool)
    for cls in (0, 1):
        idx = np.flatnonzero(y == cls)
        mask[idx[: max(1, round(test_frac * len(idx)))]] = True
    return mask


def _metrics(scores: np.ndarray, y: np.ndarray, thr: float) -> dict[str, Any]:
    return {"auroc": auroc(scores, y), "tpr_at_1pct_fpr": tpr_at_fpr(scores, y, 0.01),
            "accuracy": float(((scores > thr) == y.astype(bool)).mean())}


def layer_probes(x: np.ndarray, y: np.ndarray, topics: Sequence[str], *, n_perm: int = 20,
                 l2: float = 1.0, seed: int = 0) -> dict[str, Any]:
    """x [n, L, d], y [n] in {0,1} -> per-layer metrics for both probes (module doc)."""
    y = np.asarray(y).astype(int)
    test = topic_split(topics, y, seed=seed)
    heldout_topics = len(set(np.asarray(topics)[test].tolist()))
    topic_disjoint = not (set(np.asarray(topics)[test]) & set(np.asarray(topics)[~test]))
    rng = np.random.default_rng(seed)
    perms = [rng.permutation(int((~test).sum())) for _ in range(n_perm)]
    out: dict[str, list[Any]] = {"dm": [], "lr": [], "dm_perm": [], "lr_perm": []}
    for layer in range(x.shape[1]):
        xl = x[:, layer].astype(np.float64)
        xtr, ytr, xte, yte = xl[~test], y[~test], xl[test], y[test]

        def dm(ytrain: np.ndarray, xtr: np.ndarray = xtr) -> tuple[np.ndarray, float]:
            m1, m0 = xtr[ytrain == 1].mean(0), xtr[ytrain == 0].mean(0)
            w = m1 - m0
            return w, float(-(m1 + m0) @ w / 2)

        w, b = dm(ytr)
        out["dm"].append(_metrics(xte @ w + b, yte, 0.0))
        w, b = fit_logreg(xtr, ytr, l2)
        out["lr"].append(_metrics(xte @ w + b, yte, 0.0))
        dm_null, lr_null = [], []
        for i, perm in enumerate(perms):
            yp = ytr[perm]
            if len(set(yp.tolist())) < 2:
                continue
            w, b = dm(yp)
            dm_null.append(auroc(xte @ w + b, yte))
            if i < max(1, n_perm // 4):  # logistic nulls are dearer; a quarter suffices
                w, b = fit_logreg(xtr, yp, l2, iters=10)
                lr_null.append(auroc(xte @ w + b, yte))
        for key, vals in (("dm_perm", dm_null), ("lr_perm", lr_null)):
            v = np.asarray([a for a in vals if a is not None])
            out[key].append({"mean": float(v.mean()) if len(v) else None,
                             "q95": float(np.quantile(v, 0.95)) if len(v) else None})
    return {"n_train": int((~test).sum()), "n_test": int(test.sum()),
            "heldout_topics": heldout_topics, "topic_disjoint": bool(topic_disjoint),
            "positives": int(y.sum()), **out}
