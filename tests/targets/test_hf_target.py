"""hf: target on a tiny random Llama built in the test: batching, seeds, truncation, refusals."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from latentwall.errors import ConfigError, TargetError
from latentwall.targets import (
    GenParams,
    Request,
    cut_completion,
    make_target,
    plain_prompt,
    resolve_checkpoint,
    split_reasoning,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SENTENCES = [
    "the cat sat on the mat", "what happened in beijing in june", "tell me about the river",
    "a quick brown fox jumps over the lazy dog", "who wrote this book and why",
    "the weather is cold today", "please explain the history of the city",
]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def _req(text: str, **params: object) -> Request:
    return Request(messages=({"role": "user", "content": text},), params=GenParams(**params))


def _run(coro):
    return asyncio.run(coro)


# -- pure helpers (no torch) ------------------------------------------------------------

def test_split_reasoning():
    assert split_reasoning("plain answer") == ("plain answer", None)
    assert split_reasoning("<think>hmm</think> ok") == ("ok", "hmm")
    assert split_reasoning("<think></think>ok") == ("ok", "")
    assert split_reasoning("<think>cut off") == ("", "cut off")
    assert split_reasoning("hmm</think>ok") == ("ok", "hmm")  # template opened it
    assert split_reasoning("still thinking", opened=True) == ("", "still thinking")
    # the offline judge's reading: a leading block, or one the template opened, is a trace; one
    # further in is text (a model that writes "<think>" mid-answer is not reasoning there)
    assert split_reasoning("hmm</think>ok", leading=True) == ("ok", "hmm")
    assert split_reasoning("Intro <think>x</think> y", leading=True) == ("Intro <think>x</think> y", None)
    assert split_reasoning("<think>x</think> y", leading=True) == ("y", "x")


def test_cut_completion():
    assert cut_completion([5, 6, 2, 9], {2}, 10) == ([5, 6], 3, "stop")
    assert cut_completion([5, 6, 7, 8], {2}, 3) == ([5, 6, 7], 3, "length")
    assert cut_completion([5, 6, 7, 2], {2}, 3) == ([5, 6, 7], 3, "length")


def test_plain_prompt():
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert plain_prompt(msgs) == "System: Be brief.\nUser: Hi\nAssistant:"


def test_missing_path(tmp_path: Path):
    with pytest.raises(TargetError, match="nope"):
        make_target(f"hf:{tmp_path / 'nope'}")
    with pytest.raises(ConfigError):
        make_target("hf:")


def test_pickle_only_dir_refused(tmp_path: Path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"not really a pickle")
    with pytest.raises(TargetError, match="safetensors only"):
        make_target(f"hf:{tmp_path}")


def test_bad_options(tmp_path: Path):
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    with pytest.raises(ConfigError, match="unknown option"):
        make_target(f"hf:{tmp_path / 'm.gguf'}", colour="red")
    with pytest.raises(ConfigError):
        make_target(f"hf:{tmp_path / 'm.gguf'}", batch_size="0")
    assert resolve_checkpoint(tmp_path).gguf_file == "m.gguf"  # a dir with one gguf
    assert make_target(f"hf:{tmp_path / 'm.gguf'}", batch_size="4").batch_size == 4


def test_fingerprint_follows_content(tmp_path: Path):
    (tmp_path / "config.json").write_text('{"model_type": "llama"}')
    (tmp_path / "model.safetensors").write_bytes(b"x" * 10)
    fp = make_target(f"hf:{tmp_path}").fingerprint
    assert fp == make_target(f"hf:{tmp_path}").fingerprint
    (tmp_path / "model.safetensors").write_bytes(b"y" * 11)  # retrained in place
    assert make_target(f"hf:{tmp_path}").fingerprint != fp
    assert make_target(f"hf:{tmp_path}", dtype="bfloat16").fingerprint.endswith("#cpu/bfloat16")


def test_missing_torch_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    target = make_target(f"hf:{tmp_path / 'm.gguf'}")
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    with pytest.raises(TargetError, match=r"latentwall\[models\]"):
        _run(target.start())


# -- a real (tiny, random) model ---------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    out = tmp_path_factory.mktemp("tiny")
    specials = ["<pad>", "<eos>", "<|user|>", "<|assistant|>", "<|system|>", "<unk>"]
    raw = Tokenizer(models.WordLevel(unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    raw.train_from_iterator(SENTENCES, trainers.WordLevelTrainer(special_tokens=specials))
    tok = transformers.PreTrainedTokenizerFast(
        tokenizer_object=raw, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>",
    )
    tok.chat_template = CHAT_TEMPLATE
    tok.save_pretrained(out)
    cfg = transformers.LlamaConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
        initializer_range=0.5,  # well-separated logits: no near-ties for float noise to flip
        pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
    )
    torch.manual_seed(0)
    transformers.LlamaForCausalLM(cfg).save_pretrained(out, safe_serialization=True)
    assert (out / "model.safetensors").exists()
    return out


@pytest.fixture(scope="module")
def tiny_target(tiny_ckpt: Path):
    target = make_target(f"hf:{tiny_ckpt}", batch_size=4)
    _run(target.start())
    yield target
    _run(target.close())


PROMPTS = ["the cat", "tell me about the history of the city please", "who wrote this book"]


@pytest.mark.model
def test_greedy_batched_equals_unbatched(tiny_target):
    batch = [_req(p, max_tokens=6) for p in PROMPTS]
    together = _run(tiny_target.generate(batch))
    again = _run(tiny_target.generate(batch))
    alone = [_run(tiny_target.generate([r]))[0] for r in batch]
    assert [r.text for r in together] == [r.text for r in again]  # deterministic
    assert [r.text for r in together] == [r.text for r in alone]  # left padding is right
    assert all(r.text for r in together)
    r = together[1]
    assert r.usage["prompt_tokens"] > together[0].usage["prompt_tokens"]
    assert 1 <= r.usage["completion_tokens"] <= 6 and r.latency_s is not None


@pytest.mark.model
def test_sampled_same_seed_reproduces(tiny_target):
    def batch(seed: int) -> list[Request]:
        return [_req(p, temperature=1.0, top_p=0.9, max_tokens=8, seed=seed) for p in PROMPTS]

    a = [r.text for r in _run(tiny_target.generate(batch(7)))]
    b = [r.text for r in _run(tiny_target.generate(batch(7)))]
    assert a == b
    # ...regardless of batch neighbours and order
    rev = [r.text for r in _run(tiny_target.generate(batch(7)[::-1]))]
    assert rev[::-1] == a
    assert _run(tiny_target.generate([batch(7)[1]]))[0].text == a[1]
    c = [r.text for r in _run(tiny_target.generate(batch(8)))]
    assert c != a


@pytest.mark.model
def test_truncated_stop_prefill_and_plain_prompt(tiny_target):
    r = _run(tiny_target.generate([_req("the cat", max_tokens=2)]))[0]
    assert (r.finish_reason, r.status, r.usage["completion_tokens"]) == ("length", "TRUNCATED", 2)

    # Make the second greedy token an end-of-sequence token: the row stops there ("stop").
    eng = tiny_target.engine
    first = _run(tiny_target.generate([_req("the cat", max_tokens=4)]))[0].text.split()
    stop_id = eng.tokenizer.convert_tokens_to_ids(first[1])
    saved_eos, saved_cfg = set(eng.eos_ids), eng.model.generation_config.eos_token_id
    eng.eos_ids.add(stop_id)
    eng.model.generation_config.eos_token_id = sorted(eng.eos_ids)
    try:
        r = _run(tiny_target.generate([_req("the cat", max_tokens=4)]))[0]
    finally:
        eng.eos_ids, eng.model.generation_config.eos_token_id = saved_eos, saved_cfg
    assert (r.text, r.finish_reason, r.status, r.usage["completion_tokens"]) == (
        first[0], "stop", None, 2)

    pre = Request(messages=({"role": "user", "content": "the cat"},),
                  params=GenParams(max_tokens=3), prefill="the river")
    assert tiny_target.supports_prefill
    assert eng.render(pre)[0].endswith("<|assistant|>the river")
    assert _run(tiny_target.generate([pre]))[0].usage["completion_tokens"] == 3

    template, eng.tokenizer.chat_template = eng.tokenizer.chat_template, None
    try:
        assert eng.render(pre)[0] == "User: the cat\nAssistant:the river"
        assert _run(tiny_target.generate([pre]))[0].text
    finally:
        eng.tokenizer.chat_template = template


@pytest.mark.model
def test_fingerprint_and_describe(tiny_target, tiny_ckpt: Path):
    fp = tiny_target.fingerprint
    assert fp.startswith(f"hf:{tiny_ckpt}#")
    d = tiny_target.describe()
    assert d["model_type"] == "llama" and d["n_params"] > 0
    assert d["dtype"] == "float32" and d["device"] == "cpu" and d["format"] == "safetensors"
