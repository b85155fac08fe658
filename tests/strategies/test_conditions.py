"""Run conditions (strategy chains) through the real runner, store and HTTP target."""

from __future__ import annotations

import random

import pytest

from _helpers import make_suite
from latentwall.errors import ConfigError
from latentwall.runner import RunConfig, plan_run, run_audit
from latentwall.store import Store
from latentwall.strategies import Prompt, Strategy, make_condition, register_strategy
from latentwall.suites import Probe
from latentwall.targets import GenParams
from latentwall.testing import FakeOpenAIServer


@register_strategy("test-shout")
class _Shout(Strategy):
    name = "test-shout"

    def apply(self, prompt: Prompt, probe: Probe, rng: random.Random) -> Prompt | None:
        return prompt.with_user(prompt.user.upper())


@register_strategy("test-only-even")
class _OnlyEven(Strategy):
    """Applies to every other probe, so per-condition counts differ."""

    name = "test-only-even"

    def apply(self, prompt: Prompt, probe: Probe, rng: random.Random) -> Prompt | None:
        return prompt if int(probe.id.split("/q")[1][:5]) % 2 == 0 else None


@register_strategy("test-prefill")
class _Prefill(Strategy):
    name = "test-prefill"
    needs_prefill = True

    def apply(self, prompt: Prompt, probe: Probe, rng: random.Random) -> Prompt | None:
        return Prompt(prompt.messages, prefill="Okay, the user is asking")


@pytest.fixture()
def suite(tmp_path, monkeypatch):
    make_suite(tmp_path / "suites", "mini", 10)
    monkeypatch.setenv("LATENTWALL_SUITES", str(tmp_path / "suites"))


def test_conditions_are_run_tagged_and_resumed(suite, tmp_path):
    conds = ["", "test-shout", "test-only-even+test-shout"]
    with FakeOpenAIServer() as srv:
        cfg = RunConfig(target=f"openai:fake@{srv.base_url}", suites=["mini"], run_dir=tmp_path / "r",
                        params=GenParams(max_tokens=32), conditions=conds)
        plan = plan_run(cfg)
        assert plan["conditions"] == {"": 10, "test-shout": 10, "test-only-even+test-shout": 5}
        assert plan["to_send"] == 25
        out = run_audit(cfg)
        assert out.status == "finished" and out.total == 25 and srv.request_count == 25
        assert run_audit(cfg).new == 0 and srv.request_count == 25
    with Store.open(tmp_path / "r") as store:
        rows = list(store.iter_results(out.run_id))
    by_cond = {c: [r for r in rows if r.condition == c] for c in conds}
    assert len(by_cond["test-shout"]) == 10
    assert all(r.prompt == r.probe_text.upper() for r in by_cond["test-shout"])
    assert all(r.prompt == r.probe_text for r in by_cond[""])
    # The judge reads the answer against the probe's own text; refusals still line up.
    for r in rows:
        assert (r.label == "DENIAL") == ("TIANANMEN" in r.prompt.upper())


def test_prefill_condition_needs_a_prefill_target(suite, tmp_path):
    cfg = RunConfig(target="replay:" + str(tmp_path / "x.jsonl"), suites=["mini"], run_dir=tmp_path / "r",
                    conditions=["", "test-prefill"])
    (tmp_path / "x.jsonl").write_text('{"probe_id": "mini/q00000/en", "response": "hi"}\n')
    with pytest.raises(ConfigError, match="prefill"):
        run_audit(cfg)


def test_condition_specs_are_validated():
    with pytest.raises(ConfigError, match="unknown strategy"):
        make_condition("no-such-strategy")
    assert make_condition("").id == "" and make_condition("test-shout+test-only-even").id == "test-shout+test-only-even"
    with pytest.raises(ConfigError, match="twice"):
        RunConfig(target="builtin", suites=["starter"], conditions=["", ""]).validate()


def test_output_changing_target_options_make_another_run():
    base = RunConfig(target="builtin", suites=["starter"])
    paced = RunConfig(target="builtin", suites=["starter"], target_options={"batch_size": 4, "threads": 1})
    other_engine = RunConfig(target="builtin", suites=["starter"], target_options={"engine": "llamacpp"})
    assert base.run_id() == paced.run_id()
    assert base.run_id() != other_engine.run_id()
