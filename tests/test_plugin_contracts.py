"""One contract per plugin family (issue 11): every registered plugin loads, describes itself,
and round-trips its spec (building from what it says its spec is gives the same plugin).

A new plugin shows up here by itself: the registries are listed, not a copy of them. Families
whose specs need an argument (targets, strategies) name an example per plugin below; a
plugin without one fails `test_every_*_has_an_example`, so adding one means one line here.
"""

from __future__ import annotations

import json
from dataclasses import is_dataclass

import pytest

from latentwall.analysis import ANALYSES, AnalysisOptions, analyses_document
from latentwall.guards import GUARDS, make_guard
from latentwall.judges import JUDGES, make_judge
from latentwall.registry import Registry
from latentwall.report import SECTIONS
from latentwall.strategies import STRATEGIES, make_condition
from latentwall.suites import get_suite
from latentwall.targets import TARGETS, make_target


def shipped(registry: Registry) -> list[str]:
    """The registry's plugins that ship with latentwall (tests register plugins of their own)."""
    def module(obj: object) -> str:
        inner = getattr(obj, "compute", None) or getattr(obj, "render", None)  # analyses, sections
        return str(getattr(inner or obj, "__module__", ""))

    return [n for n in registry.names() if module(registry.get(n)).startswith("latentwall.")]


def _first_line(obj: object) -> str:
    return (obj.__doc__ or "").strip().splitlines()[0] if obj.__doc__ else ""


# ------------------------------------------------------------------ targets

def target_examples(tmp_path) -> dict[str, str]:
    replay = tmp_path / "answers.jsonl"
    replay.write_text('{"prompt": "Q?", "response": "A."}\n', encoding="utf-8")
    builtin_path = make_target("builtin").describe()["path"]  # nothing is loaded before start()
    return {"builtin": "builtin", "hf": f"hf:{builtin_path}", "openai": "openai:m@http://127.0.0.1:9/v1",
            "replay": f"replay:{replay}"}


def test_every_target_has_an_example(tmp_path):
    assert set(shipped(TARGETS)) == set(target_examples(tmp_path))


@pytest.mark.parametrize("kind", shipped(TARGETS))
def test_target_contract(kind, tmp_path):
    cls = TARGETS.get(kind)
    assert cls.kind == kind and _first_line(cls)
    assert cls.usage.startswith(kind)  # `latentwall targets` shows how the spec is written
    spec = target_examples(tmp_path)[kind]
    target = make_target(spec)
    info = target.describe()
    assert info["kind"] == kind and info["spec"] == target.spec == spec
    json.dumps(info)
    again = make_target(target.spec)
    assert type(again) is cls and again.spec == target.spec and again.describe() == info


# ------------------------------------------------------------------ judges

JUDGE_EXAMPLES = {"markers": "markers", "llm": "llm:openai:m@http://127.0.0.1:9/v1"}


def test_every_judge_has_an_example():
    assert set(shipped(JUDGES)) == set(JUDGE_EXAMPLES)


@pytest.mark.parametrize("name", shipped(JUDGES))
def test_judge_contract(name):
    cls = JUDGES.get(name)
    assert cls.name == name and _first_line(cls)
    assert cls.usage.startswith(name)  # `latentwall targets` shows how the judge is named
    judge = make_judge(JUDGE_EXAMPLES[name])
    info = judge.describe()
    assert isinstance(judge, cls) and info["name"] == name
    json.dumps(info)
    assert make_judge(JUDGE_EXAMPLES[name]).describe() == info


# ------------------------------------------------------------------ strategies

STRATEGY_EXAMPLES = {
    "academic": "academic", "base64": "base64", "euphemism": "euphemism:0", "homoglyph": "homoglyph",
    "homophone": "homophone", "hypothetical": "hypothetical", "leetspeak": "leetspeak", "locale": "locale:beijing",
    "multi-turn": "multi-turn", "pinyin": "pinyin", "prefill": "prefill", "reverse": "reverse",
    "roleplay": "roleplay:0", "rot13": "rot13", "system-override": "system-override", "translate": "translate:fr",
    "zero-width": "zero-width",
}


def test_every_strategy_has_an_example():
    assert set(shipped(STRATEGIES)) == set(STRATEGY_EXAMPLES)


@pytest.mark.parametrize("name", shipped(STRATEGIES))
def test_strategy_contract(name):
    cls = STRATEGIES.get(name)
    assert cls.name == name and _first_line(cls)
    cond = make_condition(STRATEGY_EXAMPLES[name])
    (strategy,) = cond.strategies
    assert isinstance(strategy, cls) and strategy.spec == cond.id
    assert make_condition(cond.id).id == cond.id  # the id is the canonical spec
    probe = next(p for p in get_suite("starter").iter_probes() if p.language == "en")
    assert cond.render(probe) == make_condition(cond.id).render(probe)  # same spec, same prompt


# ------------------------------------------------------------------ guards

@pytest.mark.parametrize("name", shipped(GUARDS))
def test_guard_contract(name):
    cls = GUARDS.get(name)
    assert cls.name == name and _first_line(cls)
    guard = make_guard(name if name != "regex" else "regex:pattern=forbidden")
    info = guard.describe()
    assert info["name"] == name and info["spec"] == guard.spec
    json.dumps(info)
    again = make_guard(guard.spec)
    assert type(again) is cls and again.spec == guard.spec and again.fingerprint == guard.fingerprint


# ------------------------------------------------------------------ analyses and report sections

@pytest.mark.parametrize("name", shipped(ANALYSES))
def test_analysis_contract(name, make_result):
    analysis = ANALYSES.get(name)
    assert analysis.name == name and analysis.doc  # the first line of its docstring
    for results in ([], [make_result(), make_result(probe_id="s/t/q2/en", label="DENIAL")]):
        doc = analyses_document(results, AnalysisOptions(), names=[name])
        result = doc[name]
        assert is_dataclass(result) and callable(result.to_dict), type(result)  # typed, with its document
        json.dumps(result.to_dict())


@pytest.mark.parametrize("section_id", shipped(SECTIONS))
def test_section_contract(section_id):
    section = SECTIONS.get(section_id)
    assert section.id == section_id and section.title and callable(section.render)
    for name in section.analyses:  # what it draws is a registered analysis
        assert ANALYSES.get(name).name == name


def test_registry_mechanism(tmp_path):
    reg: Registry[object] = Registry("widget")
    sentinel = object()
    reg.register("a")(sentinel)
    reg.add_lazy("b", "json:dumps")
    assert reg.names() == ["a", "b"] and "b" in reg
    assert reg.get("b") is json.dumps and reg.get("a") is sentinel
    with pytest.raises(RuntimeError, match="registered twice"):
        reg.add("a", object())
    from latentwall.errors import ConfigError
    with pytest.raises(ConfigError, match="unknown widget 'c' \\(known: a, b\\)"):
        reg.get("c")


def test_every_family_reads_the_kind_with_one_grammar():
    """One spec grammar: the kind before the first colon, spaces ignored, an empty kind is one
    error that names the family."""
    from latentwall.errors import ConfigError
    from latentwall.guards import make_guard
    from latentwall.judges import make_judge
    from latentwall.registry import split_spec
    from latentwall.strategies import make_condition
    from latentwall.targets import make_target

    assert split_spec(" openai:m@http://h:8000 ", "target") == ("openai", "m@http://h:8000")
    assert split_spec("builtin", "target") == ("builtin", "")
    for make, family in ((make_target, "target"), (make_judge, "judge"), (make_guard, "guard"),
                         (make_condition, "strategy")):
        with pytest.raises(ConfigError, match=family):
            make(":x")
