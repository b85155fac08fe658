"""Review queues: the random sample (stratified, seeded, resumable, growing with a live run)
and the triage order (disagreements, then low confidence)."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from latentwall.review import (
    ReviewRow,
    allocate,
    cell_sample_size,
    in_part,
    plan_summary,
    random_sample,
    triage_order,
)


def rows(n, *, run="r", targets=("qwen", "llama"), langs=("en", "zh-Hans"), start=0):
    verdicts = ["COMPLETE"] * 6 + ["EVASIVE"] * 3 + ["DENIAL"]
    out = []
    for i in range(start, start + n):
        out.append(ReviewRow(key=(run, f"p{i}", "", 0), target=targets[i % len(targets)],
                             language=langs[(i // 2) % len(langs)], verdict=verdicts[(i // 4) % 10],
                             confidence=(i % 17) / 17, second=None))
    return out


def test_cell_sample_size_is_the_textbook_formula():
    assert cell_sample_size(10**9) == 385  # 1.96² · ¼ / 0.05²
    assert cell_sample_size(100) == 80  # the finite-population correction
    assert cell_sample_size(30) == 28
    assert cell_sample_size(3) == 3 and cell_sample_size(0) == 0
    assert cell_sample_size(10**9, margin=0.1) == 97


def test_allocate_is_equal_and_capped():
    assert allocate(90, {"a": 1000, "b": 1000, "c": 1000}) == {"a": 30, "b": 30, "c": 30}
    assert allocate(90, {"a": 5, "b": 1000, "c": 1000}) == {"a": 5, "b": 42, "c": 43} or \
        sorted(allocate(90, {"a": 5, "b": 1000, "c": 1000}).values()) == [5, 42, 43]
    assert allocate(10, {"a": 2, "b": 3}) == {"a": 2, "b": 3}
    assert sum(allocate(7, {"a": 0, "b": 9}).values()) == 7


def test_random_sample_is_stratified_seeded_and_interleaved():
    rs = rows(4000)
    s = random_sample(rs, seed=1, size=120)
    assert len(s) == 120
    cells = Counter((r.target, r.language, r.verdict) for r in s)
    assert len(cells) == 12 and set(cells.values()) == {10}  # 2 targets × 2 languages × 3 verdicts
    assert s == random_sample(list(reversed(rs)), seed=1, size=120)  # order of input is irrelevant
    assert s != random_sample(rs, seed=2, size=120)
    # stopping early keeps the balance: the first 24 hold two of each cell
    assert set(Counter((r.target, r.language, r.verdict) for r in s[:24]).values()) == {2}
    # a bigger sample extends the smaller one (resume with a larger --sample)
    assert set(s) <= set(random_sample(rs, seed=1, size=240))
    # resume: labelled rows leave the queue, the rest keep their places
    done = {r.key for r in s[:50]}
    assert random_sample(rs, seed=1, size=120, labelled=done) == s[50:]
    assert triage_order(rs, labelled=done) == [r for r in triage_order(rs) if r.key not in done]


def test_the_default_size_aims_at_five_points_per_cell():
    rs = rows(4000)
    plan = plan_summary(rs, random_sample(rs), ("target", "language"))
    for cell in plan:
        assert cell["sample"] == cell_sample_size(cell["responses"])
    assert sum(c["responses"] for c in plan) == 4000


def test_a_growing_run_keeps_its_sample_random_and_stable():
    first = rows(2000)
    grown = first + rows(2000, start=2000)
    s2 = random_sample(grown, size=60)
    # the new sample is the smallest keys of each bigger cell: old members stay unless a new
    # row has a smaller key, and about half of each cell's members are new rows
    new = sum(1 for r in s2 if int(r.key[1][1:]) >= 2000)
    assert 15 <= new <= 45


def test_only_verdicts_are_sampled():
    rs = [*rows(50), ReviewRow(("r", "x", "", 0), "qwen", "en", "ERROR"),
          ReviewRow(("r", "y", "", 0), "qwen", "en", None)]
    assert all(r.has_verdict for r in random_sample(rs, size=100))
    assert all(r.has_verdict for r in triage_order(rs))


def test_triage_puts_disagreements_then_low_confidence_first():
    rs = rows(200)
    rs[150] = ReviewRow(("r", "dis", "", 0), "qwen", "en", "COMPLETE", 0.99, second="DENIAL")
    rs[151] = ReviewRow(("r", "agree", "", 0), "qwen", "en", "COMPLETE", 0.0, second="COMPLETE")
    order = triage_order(rs)
    assert order[0].key[1] == "dis"
    confs = [r.confidence for r in order[1:]]
    assert confs == sorted(confs)


def test_parts_split_the_queue_without_overlap():
    rs = rows(900)
    parts = [set(random_sample(rs, size=300, part=(i, 3))) for i in (1, 2, 3)]
    assert not (parts[0] & parts[1]) and not (parts[1] & parts[2])
    assert set().union(*parts) == set(random_sample(rs, size=300))
    assert all(math.isclose(len(p), 100, abs_tol=35) for p in parts)
    assert in_part(rs[0], None)


@pytest.mark.parametrize("size", [1, 5, 11])
def test_tiny_samples_are_fine(size):
    assert len(random_sample(rows(100), size=size)) == size
