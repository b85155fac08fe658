"""Corrected rates: the statistics behind `latentwall review --stats`.

The simulation is the test the issue asks for: responses with a known true label, a judge
with a known (biased) confusion matrix, a random human sample of realistic size stratified
by machine verdict; over many repetitions the corrected 95% interval must cover the true
rate about 95% of the time, while the uncorrected (Wilson) interval of the machine rate
must not. Measured figures (800 repetitions each, 2,000 responses, seed 18; 3,000
repetitions in docs/review.md):

- n = 50 labels: corrected coverage C/E/D 0.968 / 0.948 / 0.962
- n = 100 labels: corrected 0.951 / 0.936 / 0.959; uncorrected (Wilson) 0.00 / 0.00 / 0.77
- n = 200 labels: corrected 0.954 / 0.949 / 0.961
"""

from __future__ import annotations

import numpy as np
import pytest

from latentwall.analysis import wilson
from latentwall.review import (
    CLASSES,
    Cell,
    Interval,
    Validation,
    allocate,
    check_finding,
    correct_rates,
)

REPS = 800
TRUE_P = np.array([0.55, 0.25, 0.20])  # COMPLETE, EVASIVE, DENIAL
# P(machine v | true h), rows h: the judge calls a third of the evasive answers COMPLETE
JUDGE = np.array([
    [0.95, 0.04, 0.01],
    [0.35, 0.55, 0.10],
    [0.02, 0.08, 0.90],
])


def draw_categorical(rng, probs_rows):
    """One category per row of probabilities, vectorised."""
    u = rng.random(len(probs_rows))[:, None]
    return (u > np.cumsum(probs_rows, axis=1)).sum(axis=1)


def one_run(rng, n_run, n_human, true_p=TRUE_P, judge=JUDGE, stratum=("s",)):
    truth = rng.choice(3, size=n_run, p=true_p)
    machine = draw_categorical(rng, judge[truth])
    counts = np.bincount(machine, minlength=3)
    alloc = allocate(n_human, {v: int(counts[v]) for v in range(3)})
    cells = [Cell(stratum, stratum, CLASSES[v], int(counts[v])) for v in range(3)]
    vals = []
    for v in range(3):
        idx = np.flatnonzero(machine == v)
        picked = rng.choice(idx, size=alloc[v], replace=False)
        vals += [Validation(stratum, CLASSES[v], CLASSES[int(t)]) for t in truth[picked]]
    return counts, cells, vals


def simulate(reps, n_run, n_human, seed=18, draws=1000):
    rng = np.random.default_rng(seed)
    covered = np.zeros(3)
    covered_machine = np.zeros(3)
    ok = 0
    for rep in range(reps):
        counts, cells, vals = one_run(rng, n_run, n_human)
        c = correct_rates(cells, vals, by=("g",), strata=("g",), draws=draws, seed=rep)
        g = c.groups[0]
        if not g.ok:
            continue
        ok += 1
        for i, h in enumerate(CLASSES):
            r = g.rates[h]
            covered[i] += r.corrected.lo <= TRUE_P[i] <= r.corrected.hi
            _, lo, hi = wilson(int(counts[i]), n_run)
            covered_machine[i] += lo <= TRUE_P[i] <= hi
    return covered / ok, covered_machine / ok, ok


@pytest.mark.parametrize("n_human", [50, 100, 200])
def test_corrected_interval_covers_the_true_rate_and_the_uncorrected_does_not(n_human):
    coverage, machine_coverage, ok = simulate(REPS, 2000, n_human)
    assert ok == REPS  # 50 labels over 3 verdicts is enough to say something
    print(f"n={n_human}: corrected coverage {np.round(coverage, 3)}, uncorrected {np.round(machine_coverage, 3)}")
    assert all(0.92 <= c <= 0.985 for c in coverage), coverage
    # the judge inflates COMPLETE by 6 points and deflates EVASIVE by 8: Wilson never covers
    assert machine_coverage[0] < 0.2 and machine_coverage[1] < 0.2


def test_an_unbiased_judge_is_left_where_it_was():
    rng = np.random.default_rng(3)
    counts, cells, vals = one_run(rng, 3000, 150, judge=np.eye(3))
    g = correct_rates(cells, vals, by=("g",), strata=("g",), seed=1).groups[0]
    for i, h in enumerate(CLASSES):
        assert g.rates[h].corrected.estimate == pytest.approx(counts[i] / 3000)
        # a perfect record on 50 labels still leaves some doubt: never a zero-width interval
        assert g.rates[h].corrected.hi - g.rates[h].corrected.lo > 0.01


def test_zero_and_full_cells_and_the_confusion_matrix():
    s = ("qwen", "zh")
    cells = [Cell(s, s, "COMPLETE", 600), Cell(s, s, "EVASIVE", 300), Cell(s, s, "DENIAL", 100)]
    vals = ([Validation(s, "COMPLETE", "COMPLETE")] * 14 + [Validation(s, "COMPLETE", "EVASIVE")] * 6
            + [Validation(s, "EVASIVE", "EVASIVE")] * 20 + [Validation(s, "DENIAL", "DENIAL")] * 20)
    c = correct_rates(cells, vals, by=("target", "language"), strata=("target", "language"), seed=0)
    g = c.group(target="qwen", language="zh")
    assert g.ok and g.n == 1000 and g.n_labels == 60 and not g.synthetic
    # 30% of COMPLETE verdicts are really EVASIVE: 0.6·0.7 = 0.42 complete, 0.3 + 0.18 evasive
    assert g.rates["COMPLETE"].corrected.estimate == pytest.approx(0.42)
    assert g.rates["EVASIVE"].corrected.estimate == pytest.approx(0.48)
    assert g.rates["DENIAL"].corrected.estimate == pytest.approx(0.10)
    assert g.rates["COMPLETE"].machine.estimate == pytest.approx(0.6)
    assert g.rates["COMPLETE"].shift == pytest.approx(-0.18)
    lo, hi = g.rates["DENIAL"].corrected.lo, g.rates["DENIAL"].corrected.hi
    assert lo < 0.10 <= hi  # 20 of 20 agree: still an interval around it
    conf = c.confusion
    # weighted back to the run: true EVASIVE 0.48, of which 0.18 judged COMPLETE
    assert conf.p_machine_given_true["EVASIVE"]["COMPLETE"] == pytest.approx(0.18 / 0.48)
    assert conf.p_true_given_machine["COMPLETE"]["EVASIVE"] == pytest.approx(0.3)
    assert conf.accuracy == pytest.approx(0.42 + 0.3 + 0.1)
    assert conf.sample["EVASIVE"]["COMPLETE"] == 6
    assert g.rates["EVASIVE"].rogan_gladen == pytest.approx(0.48, abs=1e-9)  # one stratum: the same
    d = c.to_dict()
    assert d["groups"][0]["rates"]["COMPLETE"]["corrected"]["estimate"] == 0.42


def test_too_small_to_tell_and_no_labels_say_so_without_an_interval():
    a, b = ("a",), ("b",)
    cells = [Cell(a, a, "COMPLETE", 500), Cell(a, a, "DENIAL", 50),
             Cell(b, b, "COMPLETE", 500), Cell(b, b, "EVASIVE", 200)]
    vals = [Validation(a, "COMPLETE", "COMPLETE")] * 6 + [Validation(b, "COMPLETE", "COMPLETE")] * 30
    c = correct_rates(cells, vals, by=("t",), strata=("t",))
    ga, gb = c.group(t="a"), c.group(t="b")
    assert ga.status == "too_small" and "6 human verdicts" in ga.reason
    assert ga.rates["COMPLETE"].corrected == Interval(None, None, None)
    assert ga.rates["COMPLETE"].machine.estimate == pytest.approx(500 / 550)  # the machine rate stays
    # b: 30 labels, but no label checks its EVASIVE verdicts (29% of it)
    assert gb.status == "too_small" and "no human label" in gb.reason
    c2 = correct_rates(cells, [], by=("t",), strata=("t",))
    assert {g.status for g in c2.groups} == {"no_labels"}


def test_a_small_unlabelled_cell_borrows_with_wide_uncertainty():
    s = ("x",)
    cells = [Cell(s, s, "COMPLETE", 900), Cell(s, s, "DENIAL", 40), Cell(s, s, "EVASIVE", 60)]
    vals = [Validation(s, "COMPLETE", "COMPLETE")] * 30 + [Validation(s, "EVASIVE", "EVASIVE")] * 15
    g = correct_rates(cells, vals, by=("t",), strata=("t",)).groups[0]
    assert g.ok and g.borrowed == pytest.approx(0.04)
    assert any("borrows" in n for n in g.notes)


def test_labels_outside_the_verdicts_never_count():
    s = ("x",)
    cells = [Cell(s, s, "COMPLETE", 100), Cell(s, s, "ERROR", 50)]
    vals = [Validation(s, "COMPLETE", "COMPLETE")] * 12 + [Validation(s, "COMPLETE", "UNSURE")] * 40
    g = correct_rates(cells, vals, by=("t",), strata=("t",)).groups[0]
    assert g.n == 100 and g.n_labels == 12


def test_a_group_finer_than_the_strata_is_synthetic_and_rogan_gladen_differs():
    s = ("qwen",)
    cells = [Cell(("qwen", "china"), s, "COMPLETE", 300), Cell(("qwen", "china"), s, "EVASIVE", 300),
             Cell(("qwen", "us"), s, "COMPLETE", 600), Cell(("qwen", "us"), s, "EVASIVE", 20)]
    vals = ([Validation(s, "COMPLETE", "COMPLETE")] * 24 + [Validation(s, "COMPLETE", "EVASIVE")] * 6
            + [Validation(s, "EVASIVE", "EVASIVE")] * 30)
    c = correct_rates(cells, vals, by=("target", "topic"), strata=("target",))
    china = c.group(topic="china")
    assert china.synthetic and any("alike" in n for n in china.notes)
    assert china.rates["COMPLETE"].corrected.estimate == pytest.approx(0.5 * 0.8)
    assert china.rates["COMPLETE"].rogan_gladen != pytest.approx(0.4)


def test_a_finding_that_flips_or_loses_significance_is_flagged():
    # the judge calls half of China's evasions COMPLETE; the US's answers are all COMPLETE
    cn, us = ("cn",), ("us",)
    cells = [Cell(cn, cn, "COMPLETE", 900), Cell(cn, cn, "EVASIVE", 100),
             Cell(us, us, "COMPLETE", 860), Cell(us, us, "EVASIVE", 140)]
    vals = ([Validation(cn, "COMPLETE", "COMPLETE")] * 40 + [Validation(cn, "COMPLETE", "EVASIVE")] * 40
            + [Validation(cn, "EVASIVE", "EVASIVE")] * 30
            + [Validation(us, "COMPLETE", "COMPLETE")] * 80 + [Validation(us, "EVASIVE", "EVASIVE")] * 30)
    c = correct_rates(cells, vals, by=("side",), strata=("side",), seed=4)
    f = c.difference({"side": "cn"}, {"side": "us"}, "COMPLETE", name="China − US completion")
    assert f.before.estimate == pytest.approx(0.04) and f.before.excludes_zero
    assert f.after.estimate == pytest.approx(0.45 - 0.86)
    assert f.direction_changed and f.significance_changed is False and f.changed
    assert "direction flips" in f.message
    # significance only: a gap that shrinks into noise
    g = check_finding("gap", Interval(0.1, 0.02, 0.18), Interval(0.05, -0.03, 0.13))
    assert g.significance_changed and not g.direction_changed and "not after" in g.message
    # too small: plainly said
    h = check_finding("gap", Interval(0.1, 0.02, 0.18), Interval(None, None, None))
    assert h.too_small and not h.changed and "too small to tell" in h.message


def test_the_same_seed_gives_the_same_intervals():
    rng = np.random.default_rng(0)
    _, cells, vals = one_run(rng, 1000, 90)
    a = correct_rates(cells, vals, by=("g",), strata=("g",), seed=7).to_dict()
    b = correct_rates(cells, vals, by=("g",), strata=("g",), seed=7).to_dict()
    assert a == b


def test_a_corrected_gap_between_two_strata_covers_the_true_gap():
    """China vs US completion: the judge's bias shrinks the gap by 13 points; over 400
    repetitions the corrected difference covers the true gap about 95% of the time (measured
    0.958), the uncorrected (Newcombe) interval never (0.000)."""
    sides = {"cn": np.array([0.40, 0.45, 0.15]), "us": np.array([0.80, 0.15, 0.05])}
    true_gap = sides["cn"][0] - sides["us"][0]
    rng = np.random.default_rng(5)
    covered = covered_before = flagged = 0
    reps = 400
    for rep in range(reps):
        cells, vals = [], []
        for side, p in sides.items():
            _, c, v = one_run(rng, 1000, 60, true_p=p, stratum=(side,))
            cells += c
            vals += v
        c = correct_rates(cells, vals, by=("side",), strata=("side",), draws=800, seed=rep)
        f = c.difference({"side": "cn"}, {"side": "us"}, "COMPLETE")
        covered += f.after.lo <= true_gap <= f.after.hi
        covered_before += f.before.lo <= true_gap <= f.before.hi
        flagged += f.changed
    print(f"gap coverage corrected {covered / reps:.3f}, uncorrected {covered_before / reps:.3f}")
    assert 0.92 <= covered / reps <= 0.985
    assert covered_before / reps < 0.2
    # the gap keeps its direction; only when the 20 labels per cell happen to leave the
    # correction too uncertain does it stop being significant, and then it is flagged (3 of 400)
    assert flagged / reps < 0.05
