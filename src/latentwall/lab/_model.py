"""Load a local transformers model for white-box work, and find its residual stream.

Loading goes through the `hf:`/`builtin` targets (their path resolution, GGUF handling
and offline, no-pickle rules), so the lab sees exactly the model an audit run sees.
torch and transformers are imported here at module level: this module is only imported
once the lab actually runs a model.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from latentwall.errors import ConfigError, TargetError
from latentwall.targets import HFEngine, HFTarget, Request, make_target, parse_spec, plain_prompt

_PROBE_TEXT = "\u2063latentwall-probe\u2063"  # a string no template contains, to find the user turn


def _refuse_to_save(*args: Any, **kwargs: Any) -> None:
    raise TargetError("latentwall lab models are for in-memory measurement only; saving is disabled")


@dataclass
class LabModel:
    """A loaded causal LM, its tokenizer and where its decoder layers are.

    `fingerprint` identifies the weights for the activation cache (None: do not cache).
    """

    model: Any
    tokenizer: Any
    name: str
    spec: str = ""
    fingerprint: str | None = None
    engine: HFEngine | None = None
    info: dict[str, Any] = field(default_factory=dict)
    _post: int | None = None

    def __post_init__(self) -> None:
        self.model.eval()
        # The ethics line, enforced: a lab model (possibly with hooks or edited weights) never
        # reaches disk through the usual transformers call.
        self.model.save_pretrained = _refuse_to_save
        self.layers = find_layers(self.model)
        self.final_norm = _find_final_norm(self.model)
        # transformers 5 names the key/value cache `cache` (in and out); `past_key_values` is
        # deprecated there and goes in 5.40. Older releases know only `past_key_values`.
        params = inspect.signature(self.model.forward).parameters
        self._cache_name = "cache" if "cache" in params else "past_key_values"

    def cache_of(self, out: Any) -> Any:
        """The key/value cache a forward pass with use_cache=True returned."""
        return getattr(out, self._cache_name)

    def with_cache(self, cache: Any) -> dict[str, Any]:
        """Keyword argument that feeds `cache` back into the next forward pass."""
        return {self._cache_name: cache}

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def d_model(self) -> int:
        return int(self.model.get_input_embeddings().weight.shape[1])

    @property
    def device(self) -> Any:
        return next(self.model.parameters()).device

    @property
    def pad_id(self) -> int:
        if self.engine is not None:
            return self.engine.pad_id
        tok = self.tokenizer
        for cand in (tok.pad_token_id, tok.eos_token_id, 0):
            if isinstance(cand, int):
                return cand
        return 0

    # -- prompts -------------------------------------------------------------------
    def render(self, text: str, system: str | None = None, prefill: str | None = None) -> str:
        """The exact prompt text the audit engine would send (chat template + prefill)."""
        msgs: list[dict[str, str]] = []
        if system:
            msgs.append({"role": "system", "content": system})
        msgs.append({"role": "user", "content": text})
        if self.engine is not None:
            return self.engine.render(Request(messages=tuple(msgs), prefill=prefill))[0]
        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            out = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        else:
            out = plain_prompt(msgs)
        return out + (prefill or "")

    def _special(self) -> bool:
        return not getattr(self.tokenizer, "chat_template", None)

    def encode(self, text: str, system: str | None = None, prefill: str | None = None) -> list[int]:
        rendered = self.render(text, system, prefill)
        return list(self.tokenizer(rendered, add_special_tokens=self._special())["input_ids"])

    @property
    def n_post(self) -> int:
        """How many template tokens follow the user's instruction (the post-instruction span)."""
        if self._post is None:
            self._post = post_instruction_tokens(self)
        return self._post


def post_instruction_tokens(lm: LabModel) -> int:
    """Count the tokens after the user content in a rendered prompt (at least 1)."""
    rendered = lm.render(_PROBE_TEXT)
    end = rendered.rfind(_PROBE_TEXT)
    if end < 0:
        return 1
    end += len(_PROBE_TEXT)
    tail = rendered[end:]
    if not tail:
        return 1
    full = lm.tokenizer(rendered, add_special_tokens=lm._special())["input_ids"]
    head = lm.tokenizer(rendered[:end], add_special_tokens=lm._special())["input_ids"]
    n = len(full) - len(head)
    return max(1, min(n, len(full) - 1))


def find_layers(model: Any) -> Any:
    """The decoder blocks: the longest ModuleList whose length is the configured layer count."""
    n = getattr(model.config, "num_hidden_layers", None) or getattr(model.config, "n_layer", None)
    best = None
    for _, mod in model.named_modules():
        if isinstance(mod, torch.nn.ModuleList) and len(mod) > 0 and (n is None or len(mod) == n):
            if best is None or len(mod) > len(best):
                best = mod
    if best is None:
        raise ConfigError(f"cannot find the decoder layers of {type(model).__name__}")
    return best


def _find_final_norm(model: Any) -> Any:
    base = getattr(model, "model", None) or getattr(model, "transformer", None)
    for name in ("norm", "ln_f", "final_layernorm"):
        mod = getattr(base, name, None) if base is not None else None
        if mod is not None:
            return mod
    return None


def block_writers(layer: Any) -> list[Any]:
    """The submodules of a block that write into the residual stream (attention, MLP)."""
    out = []
    for name in ("self_attn", "attn", "attention", "self_attention"):
        if hasattr(layer, name):
            out.append(getattr(layer, name))
            break
    for name in ("mlp", "feed_forward", "ffn"):
        if hasattr(layer, name):
            out.append(getattr(layer, name))
            break
    return out


def load_model(spec: str, *, device: str = "cpu", dtype: str = "float32",
               threads: int | None = None, adapter: str | None = None) -> LabModel:
    """`builtin` or `hf:PATH` -> a loaded LabModel (float32 on CPU by default, for clean maths);
    `adapter`: a LoRA folder merged in memory (the target option of the same name)."""
    kind, _ = parse_spec(spec)
    if kind not in ("builtin", "hf"):
        raise ConfigError(f"the lab needs the weights: use builtin or hf:PATH, not {spec!r}")
    extra = {"adapter": adapter} if adapter else {}
    target = make_target(spec, device=device, dtype=dtype, threads=threads, **extra)
    assert isinstance(target, HFTarget)
    target.engine.load()
    eng = target.engine
    return LabModel(eng.model, eng.tokenizer, eng.name, spec=spec, fingerprint=target.fingerprint,
                    engine=eng, info=eng.describe())


def wrap_model(model: Any, tokenizer: Any, name: str = "in-memory",
               fingerprint: str | None = None) -> LabModel:
    """An already-built model (tests, notebooks); no cache unless a fingerprint is given."""
    return LabModel(model, tokenizer, name, spec=name, fingerprint=fingerprint,
                    info={"model_type": getattr(model.config, "model_type", None)})


def weights_digest(lm: LabModel) -> str:
    """A content hash of the weights (slow on big models; used only when no fingerprint exists)."""
    h = hashlib.sha256()
    for name, p in sorted(lm.model.state_dict().items()):
        h.update(name.encode())
        h.update(p.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


def batched(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), max(1, size))]
