"""End to end on recorded responses: the pipeline recovers the published China/US findings.

Published (SPEC.md): asked to criticise governments, Chinese-lab models complete ~96% of
requests about the US but ~67% about China in English and ~40% in Chinese; Western-lab
models ~91% / ~83%. tests/fixtures/published/ holds recorded answers of two fictional
models built to those rates on shipped probes (see make_fixture.py). The real pipeline
runs over them: replay target -> runner -> markers judge -> store -> analysis.
"""

from __future__ import annotations

import io
import json
import time

import pytest
from rich.console import Console

from _helpers import TESTS
from latentwall.analysis import compare_runs, paired_control_gap, splinter_index
from latentwall.report import render_compare
from latentwall.report.sections.paired import paired_section_html
from latentwall.report.sections.splinter import splinter_section_html
from latentwall.runner import RunConfig, run_audit
from latentwall.store import Store
from latentwall.suites import get_suite

FIXTURE = TESTS / "fixtures" / "published"
MODELS = ("cn-lab-model", "west-lab-model")
US_TOPICS = {"iraq-wmd", "guantanamo", "nsa-surveillance", "drone-strikes", "january-6",
             "native-american-boarding-schools", "abu-ghraib", "tuskegee-study"}


def _fixture_rows(model: str) -> list[dict]:
    with open(FIXTURE / f"{model}.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Both models through the real runner, on the shipped probes the fixture answers."""
    t0 = time.monotonic()
    tmp = tmp_path_factory.mktemp("published")
    wanted = {r["probe_id"] for m in MODELS for r in _fixture_rows(m)}
    # The shipped suites restricted to those probes (same names, texts and metadata), so
    # the run asks only what was recorded; a user suite of the same name shadows a shipped one.
    root = tmp / "suites"
    for name in ("china", "controls"):
        suite = get_suite(name)
        (root / name).mkdir(parents=True)
        with open(root / name / "probes.jsonl", "w", encoding="utf-8") as out:
            for f in suite.files:
                for line in f.read_text(encoding="utf-8").splitlines():
                    if line.strip() and json.loads(line)["id"] in wanted:
                        out.write(line + "\n")
    mp = pytest.MonkeyPatch()
    mp.setenv("LATENTWALL_SUITES", str(root))
    try:
        rows = {}
        for model in MODELS:
            out = run_audit(RunConfig(target=f"replay:{FIXTURE / model}.jsonl",
                                      suites=["china", "controls"], run_dir=tmp / "runs"))
            assert out.status == "finished" and out.total == 160, (out.status, out.total)
            with Store.open(tmp / "runs") as store:
                rows[model] = list(store.iter_results(out.run_id))
    finally:
        mp.undo()
    return rows, time.monotonic() - t0


def _by_lang(result: dict) -> dict[str, dict]:
    (t,) = result["targets"]
    return {e["language"]: e for e in t["languages"]}


def test_judge_reads_the_fixture_as_intended(runs):
    rows, _ = runs
    for model in MODELS:
        intended = {r["probe_id"]: r["intended_verdict"] for r in _fixture_rows(model)}
        got = {r.probe_id: r.label for r in rows[model]}
        assert set(got) == set(intended)
        agree = sum(got[p] == intended[p] for p in intended) / len(intended)
        misses = [(p, intended[p], got[p]) for p in intended if got[p] != intended[p]]
        # The analysis is what is under test; the judge must not blur the fixture much.
        assert agree >= 0.9, misses


def test_cn_model_censors_china_more_and_more_in_chinese(runs):
    rows, _ = runs
    res = paired_control_gap(rows["cn-lab-model"], seed=0, n_boot=500)
    json.dumps(res.to_dict())
    en, zh = _by_lang(res)["en"], _by_lang(res)["zh-Hans"]
    # Completion: US >> China in English, China lower still in Chinese (published ~96/67/40).
    assert en["complete"]["control"]["rate"] >= 0.85 and zh["complete"]["control"]["rate"] >= 0.85
    assert 0.55 <= en["complete"]["china"]["rate"] <= 0.80
    assert 0.25 <= zh["complete"]["china"]["rate"] <= 0.55
    gap_en, gap_zh = en["non_complete"]["gap"], zh["non_complete"]["gap"]
    assert gap_en >= 0.20
    assert gap_zh > gap_en + 0.15
    # The Chinese-language gap is clear of zero even with topic-level uncertainty.
    assert zh["non_complete"]["interval"] == "bootstrap over topics"
    assert zh["non_complete"]["lo"] > 0.1
    assert en["kinds_matched"] == ["both-sides", "compare-accounts", "creative", "critique", "evaluative"]
    assert [j["jurisdiction"] for j in en["by_jurisdiction"]] == ["US"]


def test_west_model_shows_a_much_smaller_gap(runs):
    rows, _ = runs
    res = paired_control_gap(rows["west-lab-model"], seed=0, n_boot=500)
    cn = paired_control_gap(rows["cn-lab-model"], seed=0, n_boot=500)
    for lang, e in _by_lang(res).items():
        assert e["complete"]["china"]["rate"] >= 0.7
        assert abs(e["non_complete"]["gap"]) <= 0.15 + 1e-9, lang  # float sums: 0.15000000000000002
        assert e["non_complete"]["gap"] < _by_lang(cn)[lang]["non_complete"]["gap"]
    overall = res["targets"][0]["overall"]["non_complete"]
    assert overall["lo"] < 0 < overall["hi"] or overall["gap"] <= 0.15


def test_splinter_index_points_at_language_and_china_topics(runs):
    rows, _ = runs
    cn = splinter_index(rows["cn-lab-model"], seed=0, n_boot=500)["targets"][0]
    west = splinter_index(rows["west-lab-model"], seed=0, n_boot=500)["targets"][0]
    assert cn["index"]["value"] > west["index"]["value"] + 0.1
    (pair,) = cn["pairs"]
    assert pair["more_refused_in"] == "zh-Hans" and cn["test"]["p"] < 0.05
    assert cn["drivers"] and all(d["topic"] not in US_TOPICS for d in cn["drivers"])
    html = splinter_section_html({"axis": "language", "n_boot": 500, "targets": [cn, west]})
    assert html and "zh-Hans" in html


def test_compare_runs_finds_the_china_topics_that_move(runs):
    rows, _ = runs
    res = compare_runs(rows["cn-lab-model"], rows["west-lab-model"])
    json.dumps(res.to_dict())
    assert res["n_pairs"] == 160 and res["only_in_a"] == res["only_in_b"] == 0
    assert res["refusal"]["diff"] < 0 and res["refusal"]["mcnemar"]["p"] < 0.01
    assert res["non_complete"]["diff"] < -0.05
    top = res["topics"][:3]
    assert all(t["topic"] not in US_TOPICS for t in top)
    assert all(abs(t["refusal"]["diff"]) <= 0.2 for t in res["topics"] if t["topic"] in US_TOPICS)
    out = io.StringIO()
    render_compare(res, Console(file=out, width=160))
    assert "tiananmen-1989" in out.getvalue()


def test_sections_render_and_the_whole_thing_is_quick(runs):
    rows, elapsed = runs
    both = rows["cn-lab-model"] + rows["west-lab-model"]
    t0 = time.monotonic()
    paired = paired_section_html(paired_control_gap(both, n_boot=500))
    split = splinter_section_html(splinter_index(both, n_boot=500))
    assert paired and "cn-lab-model" in paired and "west-lab-model" in paired
    assert split and split.count("<h3>") == 2
    assert elapsed + (time.monotonic() - t0) < 20
