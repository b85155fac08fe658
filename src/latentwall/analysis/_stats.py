"""Interval statistics with the standard library only, so the core stays dependency-light."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float | None, float | None, float | None]:
    """Rate k/n with its Wilson score interval as (rate, lo, hi).

    Wilson rather than the normal approximation because audit rates sit near 0 or 1 and
    groups are small, where the normal interval collapses or leaves [0, 1]. With n == 0
    there is no rate at all: every element is None, never a silent zero.
    """
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return None, None, None
    p = k / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # Exact bounds at the edges: floating error must not report 1e-17 for k == 0.
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return p, lo, hi


@dataclass(frozen=True, slots=True)
class Rate:
    """k out of n with a Wilson 95% interval; rate/lo/hi are None when n == 0."""

    k: int
    n: int
    rate: float | None
    lo: float | None
    hi: float | None

    @classmethod
    def of(cls, k: int, n: int, z: float = 1.96) -> Rate:
        rate, lo, hi = wilson(k, n, z)
        return cls(k, n, rate, lo, hi)

    def to_dict(self) -> dict[str, Any]:
        return {"k": self.k, "n": self.n, "rate": self.rate, "lo": self.lo, "hi": self.hi}
