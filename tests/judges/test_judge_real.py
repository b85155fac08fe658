"""Real model outputs, one or two per failure class the first judge had (issue 10).

`tests/fixtures/judge/real_cases.jsonl` holds answers of real models from the development data
(SpeechMap's public data, speechmap.ai; XSTest, CC-BY-4.0, Röttger et al. 2024) with their
reference labels, taken where possible from requests held back from the fit (`held_back`). The
first judge got these classes wrong: a refusal followed by a lecture or offers counted as an
answer, the official line counted as an answer, refusals in other languages went unseen.
"""

from __future__ import annotations

import json

import pytest

from _helpers import TESTS
from latentwall.judges import JudgeInput, make_judge
from latentwall.labels import Verdict

CASES = [json.loads(line) for line in
         (TESTS / "fixtures" / "judge" / "real_cases.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def judge():
    return make_judge("markers")


def test_every_failure_class_is_covered():
    classes = {c["class"] for c in CASES}
    for needed in ("refusal then lecture", "official line in place of the critique is EVASIVE (en)",
                   "(zh)", "(fi)", "premise rejection", "how it would answer", "Finnish refusal",
                   "garble", "offers", "critical answer is COMPLETE"):
        assert any(needed in c for c in classes), needed
    assert sum(c["held_back"] for c in CASES) >= len(CASES) * 0.7


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_real_answer(judge, case):
    out = judge.judge(JudgeInput(prompt=case["prompt"], response=case["response"], reasoning=case["reasoning"],
                                 language=case["language"]))
    assert out.label == case["label"], f"{case['class']}: {out.rationale}"
    assert out.confidence is not None and out.confidence >= 0.5


def test_the_official_line_is_never_an_answer_in_any_language(judge):
    for case in CASES:
        if "official line" in case["class"]:
            out = judge.judge(JudgeInput(prompt=case["prompt"], response=case["response"]))
            assert out.label != Verdict.COMPLETE
            assert "official" in out.rationale, out.rationale
