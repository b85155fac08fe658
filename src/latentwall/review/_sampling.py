"""Which responses a person reviews, and in what order: pure, seeded, reproducible.

Random sample (for the statistics): stratified by the strata (default target × language)
× machine verdict. Every response gets a key u = hash(seed, response id) in [0, 1), fixed
by the seed and independent of its content; a cell's sample is its responses with the
smallest keys. So the sample is a simple random sample of each cell, the same on every
machine, resumable (labelled rows are skipped, never redrawn), and it stays random while a
run grows (a new response is in the sample exactly when its key is small enough). The
queue interleaves the cells so that stopping early still leaves every cell its share.

Triage queue (for finding errors): judge disagreements first, then lowest confidence
first. Its labels are never a random sample and never enter an estimate.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Container, Hashable, Iterable, Mapping, Sequence

from latentwall.records import DEFAULT_STRATA, ReviewRow, RowKey, key_id

Z95 = 1.959964
MARGIN = 0.05


def sample_key(seed: int, key: RowKey, salt: str = "sample") -> float:
    """A uniform number in [0, 1) fixed by the seed and the response's id only."""
    h = hashlib.blake2b(f"{salt}\x00{seed}\x00{key_id(key)}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2.0**64


def cell_sample_size(size: int, margin: float = MARGIN, p: float = 0.5, z: float = Z95) -> int:
    """Labels a cell of `size` responses needs so that a share estimated in it (how often
    the judge's verdict is right there) has a 95% margin of ±`margin`: n0 = z²·p(1−p)/e²
    (385 at p = ½, the worst case, e = 0.05), less the finite-population correction
    n = n0 / (1 + (n0 − 1)/N), and never more than the cell holds."""
    if size <= 0:
        return 0
    n0 = z * z * p * (1 - p) / (margin * margin)
    return min(size, math.ceil(n0 / (1 + (n0 - 1) / size)))


def allocate(total: int, sizes: Mapping[Hashable, int]) -> dict[Hashable, int]:
    """Split `total` labels over cells equally, a cell never getting more than it holds (what
    a full cell cannot take goes to the others). Equal, not proportional: every verdict's
    row of the confusion matrix needs labels, the rare DENIAL cell as much as COMPLETE."""
    out = dict.fromkeys(sizes, 0)
    left = max(0, total)
    ordered = sorted((c for c, n in sizes.items() if n > 0), key=lambda c: (sizes[c], repr(c)))
    for i, c in enumerate(ordered):  # smallest first: what they cannot take goes to the rest
        out[c] = min(sizes[c], -(-left // (len(ordered) - i)))
        left -= out[c]
    return out


def _cell(row: ReviewRow, strata: Sequence[str]) -> tuple[object, ...]:
    return (*(row.get(f) for f in strata), row.verdict)


def in_part(row: ReviewRow, part: tuple[int, int] | None) -> bool:
    """`part` = (i, k): this reviewer takes the i-th of k disjoint shares (1-based)."""
    if part is None:
        return True
    i, k = part
    return int(sample_key(0, row.key, "part") * k) == i - 1


def random_sample(rows: Iterable[ReviewRow], *, seed: int = 0, size: int | None = None,
                  strata: Sequence[str] = DEFAULT_STRATA, margin: float = MARGIN,
                  part: tuple[int, int] | None = None, labelled: Container[RowKey] = ()) -> list[ReviewRow]:
    """The random review sample in the order to label it. `size`: total labels, split equally
    over the cells; None: each cell gets `cell_sample_size` (±`margin` per cell). `labelled`:
    rows left out of the returned queue (a resume) - they stay members of the sample."""
    cells: dict[tuple[object, ...], list[tuple[float, ReviewRow]]] = {}
    for r in rows:
        if r.has_verdict:
            cells.setdefault(_cell(r, strata), []).append((sample_key(seed, r.key), r))
    sizes = {c: len(v) for c, v in cells.items()}
    alloc = allocate(size, sizes) if size is not None else {c: cell_sample_size(n, margin) for c, n in sizes.items()}
    ordered: list[tuple[float, float, ReviewRow]] = []
    for c, members in cells.items():
        members.sort(key=lambda t: t[0])
        a = alloc[c]
        ordered += [((rank + 1) / a, u, r) for rank, (u, r) in enumerate(members[:a])]
    ordered.sort(key=lambda t: (t[0], t[1]))
    return [r for _, _, r in ordered if in_part(r, part) and r.key not in labelled]


def triage_order(rows: Iterable[ReviewRow], *, seed: int = 0, part: tuple[int, int] | None = None,
                 labelled: Container[RowKey] = ()) -> list[ReviewRow]:
    """Rows with a verdict: a second judge's disagreement first, then lowest confidence first
    (no confidence counts as 0.5), ties in a seeded random order."""
    def rank(r: ReviewRow) -> tuple[int, float, float]:
        disagree = r.second is not None and r.second != r.verdict
        conf = r.confidence if r.confidence is not None else 0.5
        return (0 if disagree else 1, conf, sample_key(seed, r.key, "triage"))

    return sorted((r for r in rows if r.has_verdict and in_part(r, part) and r.key not in labelled), key=rank)


def plan_summary(rows: Sequence[ReviewRow], sample: Sequence[ReviewRow],
                 strata: Sequence[str] = DEFAULT_STRATA) -> list[dict[str, object]]:
    """Per cell: responses and how many the sample takes (what `review --plan` prints)."""
    sizes: dict[tuple[object, ...], int] = {}
    taken: dict[tuple[object, ...], int] = {}
    for r in rows:
        if r.has_verdict:
            c = _cell(r, strata)
            sizes[c] = sizes.get(c, 0) + 1
    for r in sample:
        c = _cell(r, strata)
        taken[c] = taken.get(c, 0) + 1
    return [{**dict(zip((*strata, "verdict"), c, strict=True)), "responses": n, "sample": taken.get(c, 0)}
            for c, n in sorted(sizes.items(), key=lambda kv: tuple(str(x) for x in kv[0]))]
