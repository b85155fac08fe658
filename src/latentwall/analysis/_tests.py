"""Paired tests, multiple-testing correction and resampling, with the standard library only.

The core install stays free of numpy/scipy, so the chi-square tail is computed here from
the regularized incomplete gamma function (series and continued fraction, as in
Numerical Recipes §6.2) and checked in the tests against published table values.

Also here: how repeated samples of one probe collapse to one paired observation (a row's
verdict is `Result.verdict`: statuses never count).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from typing import Any, TypeVar

from latentwall.analysis._stats import wilson
from latentwall.labels import Verdict

T = TypeVar("T")

EXACT_BELOW = 25  # McNemar: exact binomial when fewer discordant pairs than this
_EPS = 1e-15
_MAX_ITER = 10_000
# Tie-break when samples of one probe split evenly: the more restrictive verdict wins, so a
# probe refused in half of its samples counts as refused (the conservative reading for an audit).
_RESTRICTIVENESS = {Verdict.DENIAL.value: 2, Verdict.EVASIVE.value: 1, Verdict.COMPLETE.value: 0}


# ------------------------------------------------------------------ chi-square tail


def _gamma_p_series(s: float, x: float) -> float:
    """Lower regularized gamma P(s, x) by its power series (converges fast for x < s + 1)."""
    term = total = 1.0 / s
    a = s
    for _ in range(_MAX_ITER):
        a += 1.0
        term *= x / a
        total += term
        if abs(term) < abs(total) * _EPS:
            break
    return total * math.exp(-x + s * math.log(x) - math.lgamma(s))


def _gamma_q_fraction(s: float, x: float) -> float:
    """Upper regularized gamma Q(s, x) by Lentz's continued fraction (for x >= s + 1)."""
    tiny = 1e-300
    b = x + 1.0 - s
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_ITER):
        an = -i * (i - s)
        b += 2.0
        d = an * d + b
        if abs(d) < tiny:
            d = tiny
        c = b + an / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h * math.exp(-x + s * math.log(x) - math.lgamma(s))


def gamma_q(s: float, x: float) -> float:
    """Upper regularized incomplete gamma Q(s, x) = Γ(s, x) / Γ(s)."""
    if s <= 0:
        raise ValueError(f"gamma_q needs s > 0, got {s}")
    if x <= 0:
        return 1.0
    if x < s + 1.0:
        return max(0.0, 1.0 - _gamma_p_series(s, x))
    return min(1.0, _gamma_q_fraction(s, x))


def chi2_sf(x: float, df: float) -> float:
    """P(X >= x) for X ~ chi-square(df): the p-value of McNemar, Cochran's Q, Stuart-Maxwell."""
    if df <= 0:
        raise ValueError(f"chi2_sf needs df > 0, got {df}")
    if math.isnan(x):
        return float("nan")
    if x <= 0:
        return 1.0
    if math.isinf(x):
        return 0.0
    return gamma_q(df / 2.0, x / 2.0)


# ------------------------------------------------------------------ paired tests


def binom_two_sided_half(k: int, n: int) -> float:
    """Exact two-sided p of k successes in n under p = 1/2 (the symmetric case doubles a tail)."""
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return 1.0
    lo = min(k, n - k)
    tail = sum(math.comb(n, i) for i in range(lo + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


def mcnemar(b: int, c: int, *, exact_below: int = EXACT_BELOW) -> dict[str, Any]:
    """McNemar's test on the two discordant counts of a paired 2x2 table.

    Exact binomial when b + c < `exact_below` (the chi-square approximation is poor there),
    else the continuity-corrected chi-square. No discordant pairs: p = 1, nothing moved.
    """
    if b < 0 or c < 0:
        raise ValueError("discordant counts must be >= 0")
    n = b + c
    if n == 0:
        return {"b": b, "c": c, "n_discordant": 0, "statistic": None, "p": 1.0,
                "method": "none (no discordant pairs)"}
    if n < exact_below:
        return {"b": b, "c": c, "n_discordant": n, "statistic": None,
                "p": binom_two_sided_half(b, n), "method": "exact binomial"}
    stat = (abs(b - c) - 1.0) ** 2 / n
    return {"b": b, "c": c, "n_discordant": n, "statistic": stat, "p": chi2_sf(stat, 1),
            "method": "chi-square, continuity-corrected"}


def cochran_q(blocks: Sequence[Sequence[int]]) -> dict[str, Any]:
    """Cochran's Q for k >= 2 paired binary outcomes (one row per block, one 0/1 per condition).

    Blocks that are all 0 or all 1 carry no information and do not change Q. The chi-square
    reference is asymptotic; with few informative blocks read p as approximate.
    """
    if not blocks:
        return {"k": 0, "n_blocks": 0, "n_informative": 0, "statistic": None, "df": None,
                "p": None, "method": "cochran-q", "note": "no complete blocks"}
    k = len(blocks[0])
    if k < 2 or any(len(r) != k for r in blocks):
        raise ValueError("every block needs the same number (>= 2) of conditions")
    cols = [sum(r[j] for r in blocks) for j in range(k)]
    rows = [sum(r) for r in blocks]
    total = sum(rows)
    informative = sum(1 for t in rows if 0 < t < k)
    denom = k * total - sum(t * t for t in rows)
    if denom == 0:
        stat, p = 0.0, 1.0
    else:
        stat = (k - 1) * (k * sum(c * c for c in cols) - total * total) / denom
        p = chi2_sf(stat, k - 1)
    return {"k": k, "n_blocks": len(blocks), "n_informative": informative, "statistic": stat,
            "df": k - 1, "p": p, "method": "cochran-q"}


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float] | None:
    """Gaussian elimination with partial pivoting; None when the matrix is singular."""
    n = len(vector)
    a = [[*row[:], vector[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        piv = max(range(col, n), key=lambda r: abs(a[r][col]))
        if abs(a[piv][col]) < 1e-12:
            return None
        a[col], a[piv] = a[piv], a[col]
        for r in range(n):
            if r != col:
                f = a[r][col] / a[col][col]
                for j in range(col, n + 1):
                    a[r][j] -= f * a[col][j]
    return [a[i][n] / a[i][i] for i in range(n)]


def stuart_maxwell(table: Sequence[Sequence[int]]) -> dict[str, Any]:
    """Stuart-Maxwell test of marginal homogeneity for a k x k paired table (rows: A, cols: B).

    Categories with no off-diagonal count cannot move and are dropped (which lowers df); with
    two categories left it is McNemar without continuity correction.
    """
    k = len(table)
    if any(len(r) != k for r in table):
        raise ValueError("the table must be square")
    moving = [i for i in range(k)
              if sum(table[i][j] + table[j][i] for j in range(k) if j != i) > 0]
    if len(moving) < 2:
        return {"statistic": 0.0, "df": 0, "p": 1.0, "method": "stuart-maxwell",
                "note": "no verdict changed category"}
    idx = moving[:-1]  # one category is redundant (margins sum to n)
    d = [sum(table[i]) - sum(table[j][i] for j in range(k)) for i in idx]
    s = [[0.0] * len(idx) for _ in idx]
    for a, i in enumerate(idx):
        for b, j in enumerate(idx):
            if i == j:
                s[a][b] = sum(table[i]) + sum(table[r][i] for r in range(k)) - 2 * table[i][i]
            else:
                s[a][b] = -(table[i][j] + table[j][i])
    x = _solve(s, [float(v) for v in d])
    if x is None:
        return {"statistic": None, "df": len(idx), "p": None, "method": "stuart-maxwell",
                "note": "singular covariance; test not defined"}
    stat = max(0.0, sum(di * xi for di, xi in zip(d, x, strict=True)))
    return {"statistic": stat, "df": len(idx), "p": chi2_sf(stat, len(idx)),
            "method": "stuart-maxwell"}


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm step-down adjusted p-values, in input order; None (no test) stays None, uncounted.

    Holm rather than Bonferroni: the same family-wise error control, uniformly more power.
    """
    idx = sorted((i for i, p in enumerate(pvalues) if p is not None), key=lambda i: pvalues[i])  # type: ignore[arg-type, return-value]
    m = len(idx)
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(idx):
        p = pvalues[i]
        assert p is not None
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


# ------------------------------------------------------------------ differences of proportions


def newcombe_diff(
    k1: int, n1: int, k2: int, n2: int, z: float = 1.96
) -> tuple[float | None, float | None, float | None]:
    """p1 - p2 of two independent proportions with Newcombe's hybrid score interval (method 10).

    Built from the two Wilson intervals, so it behaves at rates near 0 or 1 and with small n,
    where the Wald interval leaves [-1, 1] or collapses to a point.
    """
    p1, l1, u1 = wilson(k1, n1, z)
    p2, l2, u2 = wilson(k2, n2, z)
    if p1 is None or p2 is None:
        return None, None, None
    assert l1 is not None and u1 is not None and l2 is not None and u2 is not None
    d = p1 - p2
    lo = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, max(-1.0, lo), min(1.0, hi)


def newcombe_paired_diff(
    both: int, only_1: int, only_2: int, neither: int, z: float = 1.96
) -> tuple[float | None, float | None, float | None]:
    """p1 - p2 of paired proportions (cells of the 2x2 table) with Newcombe's method 10.

    The Wilson intervals of the two margins are combined with the phi correlation of the
    pairs, so a paired design gets the narrower interval it deserves. A positive ad - bc is
    shrunk by n/2 first (Newcombe's adjustment): otherwise pairs that never disagree give
    phi = 1 and a zero-width interval, claiming certainty that nothing moved.
    """
    n = both + only_1 + only_2 + neither
    if n == 0:
        return None, None, None
    p1, l1, u1 = wilson(both + only_1, n, z)
    p2, l2, u2 = wilson(both + only_2, n, z)
    assert p1 is not None and p2 is not None
    assert l1 is not None and u1 is not None and l2 is not None and u2 is not None
    d = p1 - p2
    margins = (both + only_1) * (only_2 + neither) * (both + only_2) * (only_1 + neither)
    cross = both * neither - only_1 * only_2
    if cross > 0:
        cross = max(cross - n / 2.0, 0.0)
    phi = cross / math.sqrt(margins) if margins > 0 else 0.0
    dl2 = (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2
    du2 = (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2
    lo = d - math.sqrt(max(0.0, dl2))
    hi = d + math.sqrt(max(0.0, du2))
    return d, max(-1.0, lo), min(1.0, hi)


# ------------------------------------------------------------------ bootstrap


def stable_seed(seed: int, *parts: Any) -> int:
    """A seed that depends on `seed` and `parts` only (never on PYTHONHASHSEED)."""
    h = hashlib.sha256(repr((seed, *parts)).encode("utf-8")).digest()
    return int.from_bytes(h[:8], "big")


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile (q in [0, 1]) of already sorted values."""
    if not sorted_values:
        raise ValueError("no values")
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def bootstrap_ci(
    clusters: Sequence[T],
    statistic: Callable[[list[T]], float | None],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    strata: Sequence[Sequence[T]] | None = None,
) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval of `statistic`, resampling whole clusters with replacement.

    Clusters (question groups, topics) rather than rows, because answers within a cluster
    are correlated: resampling rows would pretend to more independent evidence than there
    is. With `strata`, each stratum is resampled on its own (e.g. China topics and control
    topics), keeping its size. Replicates where the statistic is undefined are dropped.
    """
    pools = [list(s) for s in strata] if strata is not None else [list(clusters)]
    if not any(pools) or n_boot < 1:
        return None, None
    rng = random.Random(seed)
    values: list[float] = []
    for _ in range(n_boot):
        sample: list[T] = []
        for pool in pools:
            if pool:
                sample.extend(rng.choices(pool, k=len(pool)))
        v = statistic(sample)
        if v is not None and not math.isnan(v):
            values.append(v)
    if len(values) < max(10, n_boot // 10):
        return None, None
    values.sort()
    alpha = (1.0 - confidence) / 2.0
    return percentile(values, alpha), percentile(values, 1.0 - alpha)


# ------------------------------------------------------------------ samples -> one verdict


def modal_verdict(verdicts: Iterable[str]) -> str | None:
    """The most frequent verdict of a probe's samples; ties go to the more restrictive one."""
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v] = counts.get(v, 0) + 1
    if not counts:
        return None
    return max(counts, key=lambda v: (counts[v], _RESTRICTIVENESS.get(v, -1)))


def is_refused(verdict: str | None) -> bool:
    return verdict == Verdict.DENIAL.value


def is_non_complete(verdict: str | None) -> bool:
    return verdict is not None and verdict != Verdict.COMPLETE.value


def fmt_p(p: float | None) -> str:
    """p for humans: '<0.001' below a thousandth, three significant digits otherwise."""
    if p is None:
        return "—"
    if p < 0.001:
        return "<0.001"
    return f"{p:.3g}"


def bootstrap_sums(
    pools: Sequence[Sequence[Sequence[float]]],
    statistic: Callable[[list[list[float]]], Sequence[float | None]],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> list[tuple[float | None, float | None]]:
    """Percentile intervals of several statistics of summed cluster counts, one bootstrap.

    Each pool (stratum) is a list of equal-length count vectors, one per cluster; a
    replicate resamples every pool with replacement (keeping its size), sums each pool's
    vectors column by column and hands the per-pool sums to `statistic`, which returns one
    value (or None) per quantity. Summing counts instead of re-running the analysis keeps
    a thousand replicates over thousands of clusters to a second or so.
    """
    columns = [list(zip(*pool, strict=True)) if pool else [] for pool in pools]
    rng = random.Random(seed)
    reps: list[list[float]] | None = None
    for _ in range(max(0, n_boot)):
        sums: list[list[float]] = []
        for pool, cols in zip(pools, columns, strict=True):
            n = len(pool)
            if n == 0:
                sums.append([])
                continue
            take = itemgetter(*rng.choices(range(n), k=n))
            sums.append([sum(take(c)) if n > 1 else float(take(c)) for c in cols])
        values = statistic(sums)
        if reps is None:
            reps = [[] for _ in values]
        for r, v in zip(reps, values, strict=True):
            if v is not None and not math.isnan(v):
                r.append(v)
    if reps is None:
        return []
    alpha = (1.0 - confidence) / 2.0
    out: list[tuple[float | None, float | None]] = []
    for values in reps:
        if len(values) < max(10, n_boot // 10):
            out.append((None, None))
            continue
        values.sort()
        out.append((percentile(values, alpha), percentile(values, 1.0 - alpha)))
    return out


def bootstrap_ratios(
    vectors: Sequence[Sequence[float]],
    ratios: Sequence[tuple[int, int]],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> list[tuple[float | None, float | None]]:
    """Percentile intervals of ratios of sums (i, j) -> sum(v[i]) / sum(v[j]) over clusters.

    One resampling loop serves every ratio, so the intervals of one result come from the
    same replicates.
    """
    if not vectors or n_boot < 1:
        return [(None, None)] * len(ratios)

    def stat(sums: list[list[float]]) -> list[float | None]:
        acc = sums[0]
        return [acc[num] / acc[den] if acc[den] > 0 else None for num, den in ratios]

    return bootstrap_sums([vectors], stat, n_boot=n_boot, seed=seed, confidence=confidence)
