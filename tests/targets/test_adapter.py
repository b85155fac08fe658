"""LoRA adapters merged in memory (`-O adapter=DIR`, `builtin:organism`) and the repetition
penalty, on a tiny random Llama: checked against PEFT's own merge of a PEFT-saved adapter."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from test_hf_target import tiny_ckpt  # noqa: F401  (module fixture: a tiny checkpoint on disk)

from latentwall.errors import ConfigError, TargetError
from latentwall.targets import GenParams, Request, make_target

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
peft = pytest.importorskip("peft")

pytestmark = pytest.mark.model


def _req(text: str, **params: object) -> Request:
    return Request(messages=({"role": "user", "content": text},), params=GenParams(**params))


@pytest.fixture(scope="module")
def peft_adapter(tiny_ckpt: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:  # noqa: F811
    """A PEFT-saved LoRA (random, non-zero B) and PEFT's own merged model as the reference."""
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_ckpt)
    cfg = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"],
                          layers_to_transform=[1], lora_dropout=0.0)
    pm = peft.get_peft_model(model, cfg)
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in pm.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    out = tmp_path_factory.mktemp("adapter")
    pm.save_pretrained(out, safe_serialization=True)
    merged = pm.merge_and_unload()
    merged.eval()
    return out, merged


def test_adapter_merge_matches_peft(tiny_ckpt: Path, peft_adapter):  # noqa: F811
    adir, reference = peft_adapter
    target = make_target(f"hf:{tiny_ckpt}", adapter=str(adir))
    plain = make_target(f"hf:{tiny_ckpt}")
    asyncio.run(target.start())
    asyncio.run(plain.start())
    eng = target.engine
    assert sorted(eng.merged_modules) == ["model.layers.1.mlp.down_proj", "model.layers.1.self_attn.q_proj",
                                          "model.layers.1.self_attn.v_proj"]
    ids = torch.tensor([[2, 5, 6, 7, 8, 3]])
    with torch.no_grad():
        ours = eng.model(input_ids=ids).logits
        ref = reference(input_ids=ids).logits
        base = plain.engine.model(input_ids=ids).logits
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)
    assert (ours - base).abs().max() > 1e-2  # the adapter did change the model
    # a merged adapter is another model: another cache key and name, described in the run record
    assert target.fingerprint != plain.fingerprint and "#lora:" in target.fingerprint
    assert target.describe()["adapter"]["modules"] == 3
    assert target.label.endswith("+" + adir.name)
    asyncio.run(target.close())
    asyncio.run(plain.close())


def test_adapter_errors(tiny_ckpt: Path, peft_adapter, tmp_path: Path):  # noqa: F811
    adir, _ = peft_adapter
    with pytest.raises(TargetError, match="no such folder"):
        make_target(f"hf:{tiny_ckpt}", adapter=str(tmp_path / "nope"))
    bad = tmp_path / "dora"
    bad.mkdir()
    cfg = json.loads((adir / "adapter_config.json").read_text())
    (bad / "adapter_config.json").write_text(json.dumps({**cfg, "use_dora": True}))
    (bad / "adapter_model.safetensors").write_bytes((adir / "adapter_model.safetensors").read_bytes())
    with pytest.raises(TargetError, match=r"only plain LoRA.*DoRA"):
        make_target(f"hf:{tiny_ckpt}", adapter=str(bad))
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "adapter_model.bin").write_bytes(b"x")
    with pytest.raises(TargetError, match="pickled"):
        make_target(f"hf:{tiny_ckpt}", adapter=str(pickled))
    with pytest.raises(ConfigError, match="engine=transformers only"):
        make_target(f"hf:{tiny_ckpt}", adapter=str(adir), engine="llamacpp")
    with pytest.raises(ConfigError, match="repetition_penalty"):
        make_target(f"hf:{tiny_ckpt}", repetition_penalty="0.5")
    with pytest.raises(ConfigError, match="already has its adapter"):
        make_target("builtin:organism", adapter=str(adir))
    with pytest.raises(ConfigError, match="takes no argument but 'organism'"):
        make_target("builtin:other")


def test_repetition_penalty_changes_loops_but_not_batching(tiny_ckpt: Path):  # noqa: F811
    prompts = ["the cat", "tell me about the history of the city please", "who wrote this book"]
    plain = make_target(f"hf:{tiny_ckpt}", batch_size=4)
    pen = make_target(f"hf:{tiny_ckpt}", batch_size=4, repetition_penalty="2.5")
    try:
        base = asyncio.run(plain.generate([_req(p, max_tokens=12) for p in prompts]))
        together = asyncio.run(pen.generate([_req(p, max_tokens=12) for p in prompts]))
        alone = [asyncio.run(pen.generate([_req(p, max_tokens=12)]))[0] for p in prompts]
    finally:
        asyncio.run(plain.close())
        asyncio.run(pen.close())
    assert [r.text for r in together] == [r.text for r in alone]  # a row's penalty is its own
    assert [r.text for r in together] != [r.text for r in base]
    # fewer repeated words in the penalised answers than in the plain ones
    def repeats(text: str) -> int:
        words = text.split()
        return len(words) - len(set(words))

    assert sum(repeats(r.text) for r in together) < sum(repeats(r.text) for r in base)
    assert "#rep:2.5" in pen.fingerprint
