"""Target display names: from --name, the recorded model, or the spec shortened; unique and short."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latentwall.report._names import (
    MAX_NAME,
    TargetIdentity,
    display_name_map,
    display_names,
    models_by_target,
    shorten,
)


def short(*targets, max_len=MAX_NAME, **kw):
    return {s: d.short for s, d in display_names(targets, max_len, **kw).items()}


@pytest.mark.parametrize(("spec", "name"), [
    ("replay:/tmp/abc/deepseek_deepseek-r1.jsonl", "deepseek-r1"),
    ("replay:/tmp/x/qwen_qwen3-8b.jsonl", "qwen3-8b"),
    ("replay:/tmp/x/meta-llama_llama-3.1-8b-instruct.csv", "llama-3.1-8b-instruct"),
    ("replay:/tmp/x/models--Qwen--Qwen2.5-7B-Instruct.jsonl", "Qwen2.5-7B-Instruct"),
    ("replay:/a/my_answers.jsonl", "my_answers"),  # an underscore alone is not an org separator
    ("replay:/data/glm4/responses.jsonl", "glm4"),  # a generic file name: the folder says more
    ("replay:C:\\runs\\yi-34b.jsonl.gz", "yi-34b"),
    ("openai:meta-llama/Llama-3.1-8B-Instruct@http://127.0.0.1:8000/v1", "Llama-3.1-8B-Instruct"),
    ("openai:qwen3-8b@http://10.0.0.5:8000/v1", "qwen3-8b"),
    ("hf:./checkpoints/my-finetune", "my-finetune"),
    ("hf:./models/qwen2.5-0.5b-instruct-q8_0.gguf", "qwen2.5-0.5b-instruct-q8_0"),
    ("builtin", "builtin"),
    ("something-else", "something-else"),
])
def test_spec_shortened(spec, name):
    d = display_names([spec])[spec]
    assert d.short == name
    assert d.source == "spec"
    assert d.full == spec  # the methods section keeps the whole spec


def test_recorded_model_wins_over_spec_and_user_name_over_both():
    spec = "replay:/tmp/run/out.jsonl"
    assert short(TargetIdentity(spec, ("deepseek/deepseek-r1",)))[spec] == "deepseek-r1"
    d = display_names([TargetIdentity(spec, ("deepseek/deepseek-r1",))])[spec]
    assert d.source == "model" and d.full == spec
    assert short(TargetIdentity(spec, ("deepseek/deepseek-r1",), name="DeepSeek R1 (May)"))[spec] \
        == "DeepSeek R1 (May)"
    assert short(TargetIdentity(spec, ("m",)), names={spec: "given"})[spec] == "given"
    assert display_names([TargetIdentity(spec, name="x")])[spec].source == "name"


def test_several_recorded_models_fall_back_to_the_spec():
    spec = "replay:/tmp/run/qwen_qwen3-8b.jsonl"
    assert short(TargetIdentity(spec, ("a", "b")))[spec] == "qwen3-8b"
    # Blank and repeated model values do not count as a second model.
    assert short(TargetIdentity(spec, ("m1", "", "m1")))[spec] == "m1"


def test_guard_suffix_is_kept_so_bare_and_guarded_runs_differ():
    bare = "openai:qwen3-8b@http://10.0.0.5:8000/v1"
    names = short(bare, f"{bare} [guard keyword]")
    assert names[bare] == "qwen3-8b"
    assert names[f"{bare} [guard keyword]"] == "qwen3-8b + guard keyword"
    long_guard = f"{bare} [guard keyword:/very/long/path/to/keywords-for-this-deployment.txt]"
    name = short(long_guard)[long_guard]
    assert len(name) <= MAX_NAME and name.startswith("qwen3-8b") and "guard" in name


def test_collisions_get_more_detail_then_numbers():
    a = "openai:qwen3-8b@http://10.0.0.5:8000/v1"
    b = "openai:qwen3-8b@http://10.0.0.6:8000/v1"
    names = short(a, b)
    assert names[a] != names[b]
    assert "10.0.0.5" in names[a] and "10.0.0.6" in names[b]
    # Same file name in two folders: the folder tells them apart.
    c, d = "replay:/data/run1/deepseek_deepseek-r1.jsonl", "replay:/data/run2/deepseek_deepseek-r1.jsonl"
    names = short(c, d)
    assert names[c] != names[d] and "run1" in names[c] and "run2" in names[d]
    # The same recorded model behind two files: the model name stays in front.
    e, f = "replay:/x/a.jsonl", "replay:/x/b.jsonl"
    names = short(TargetIdentity(e, ("org/m",)), TargetIdentity(f, ("org/m",)))
    assert names[e] != names[f] and names[e].startswith("org/m") and names[f].startswith("org/m")
    # Two users giving the same name: numbered, in spec order.
    names = short(TargetIdentity("s1", name="same"), TargetIdentity("s2", name="same"))
    assert names == {"s1": "same", "s2": "same #2"}


def test_collision_is_case_insensitive():
    names = short(TargetIdentity("s1", name="Model"), TargetIdentity("s2", name="model"))
    assert len({n.casefold() for n in names.values()}) == 2


def test_every_name_fits_and_long_names_keep_both_ends():
    spec = "replay:/tmp/deepseek-ai_DeepSeek-R1-Distill-Qwen-32B-temperature-0.7.jsonl"
    name = short(spec, max_len=20)[spec]
    assert len(name) <= 20 and "…" in name
    assert name.startswith("DeepSeek") and name.endswith("0.7")
    specs = [f"replay:/tmp/{'x' * 60}{i}.jsonl" for i in range(12)]
    names = short(*specs, max_len=12)
    assert len(set(names.values())) == 12 and all(len(n) <= 12 for n in names.values())


def test_shorten():
    assert shorten("abc", 5) == "abc"
    assert shorten("abcdefghij", 5) == "ab…ij"
    assert len(shorten("a" * 100, 9)) == 9
    assert shorten("abcdef", 3) == "abc"
    with pytest.raises(ValueError):
        shorten("x", 0)


def test_hostile_text_is_one_line_without_controls():
    spec = "replay:/tmp/evil.jsonl"
    name = short(TargetIdentity(spec, name="a\nb\x00c\u2028d\te"))[spec]
    assert name == "a b c d e"
    # Bidi overrides are left in: the one escaper turns them into visible marks everywhere.
    assert "\u202e" in short(TargetIdentity(spec, name="x\u202ey"))[spec]


def test_too_small_max_len_is_refused():
    with pytest.raises(ValueError):
        display_names(["a"], 4)


def test_map_and_models_by_target():
    rows = [{"target": "t1", "model": "m"}, {"target": "t1", "model": "m"},
            {"target": "t1", "model": None}, {"target": "t2"}, {"model": "orphan"}]
    assert models_by_target(rows) == {"t1": ["m"], "t2": []}
    assert display_name_map(["replay:/x/qwen_qwen3-8b.jsonl"]) == {
        "replay:/x/qwen_qwen3-8b.jsonl": "qwen3-8b"}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=80), st.lists(st.text(max_size=30), max_size=3),
                          st.one_of(st.none(), st.text(max_size=40))), max_size=8),
       st.integers(min_value=8, max_value=40))
def test_names_are_unique_short_and_deterministic(items, max_len):
    targets = [TargetIdentity(s, tuple(m), n) for s, m, n in items]
    first = display_names(targets, max_len)
    again = display_names(list(reversed(targets)), max_len)
    shorts = [d.short for d in first.values()]
    assert len({s.casefold() for s in shorts}) == len(shorts)
    assert all(0 < len(s) <= max_len for s in shorts)
    assert all("\n" not in s and "\x00" not in s for s in shorts)
    # Input order does not matter (spec order decides numbering), except for duplicate specs.
    if len({t.spec for t in targets}) == len(targets):
        assert {k: v.short for k, v in first.items()} == {k: v.short for k, v in again.items()}
