"""LoRA adapters for `hf:`/`builtin` targets, merged into the weights in memory.

An adapter folder in the PEFT format (`adapter_config.json` + `adapter_model.safetensors`)
is read with safetensors (never pickle) and folded into the loaded model:
W <- W + (alpha / r) * B @ A for every adapted linear layer. The merged model is a plain
transformers model, so hooks, the lab and the lineage diff see ordinary modules, and no
adapter library is needed at run time. Only plain LoRA is accepted: DoRA, biases, embedding
adapters and other variants are refused with a message, rather than merged wrongly.

torch is imported inside the functions: the target registry imports this module.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from latentwall.errors import TargetError

CONFIG_NAME = "adapter_config.json"
WEIGHTS_NAME = "adapter_model.safetensors"
_KEY = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<ab>[AB])(?:\.[^.]+)?\.weight$")


@dataclass(frozen=True, slots=True)
class Adapter:
    """A LoRA adapter on disk: its folder, parsed config and a content digest."""

    directory: Path
    config: dict[str, Any]
    digest: str

    @property
    def weights(self) -> Path:
        return self.directory / WEIGHTS_NAME

    def scale(self, module: str) -> float:
        """alpha / r for one module, honouring PEFT's per-module rank and alpha patterns."""
        r = int(self.config.get("r", 8))
        alpha = float(self.config.get("lora_alpha", r))
        for pattern, value in (self.config.get("rank_pattern") or {}).items():
            if re.search(pattern, module):
                r = int(value)
        for pattern, value in (self.config.get("alpha_pattern") or {}).items():
            if re.search(pattern, module):
                alpha = float(value)
        return alpha / (math.sqrt(r) if self.config.get("use_rslora") else r)


def resolve_adapter(path: str | Path) -> Adapter:
    """Check an adapter folder before any weights load; errors say what is wrong."""
    d = Path(path).expanduser()
    if d.is_file() and d.name in (CONFIG_NAME, WEIGHTS_NAME):
        d = d.parent
    if not d.is_dir():
        raise TargetError(f"adapter {d}: no such folder (an adapter is a folder with {CONFIG_NAME} "
                          f"and {WEIGHTS_NAME})")
    cfg_path, weights = d / CONFIG_NAME, d / WEIGHTS_NAME
    if not weights.is_file():
        pickled = [p.name for p in d.glob("adapter_model.bin")]
        hint = " (only a pickled adapter_model.bin: convert it to safetensors)" if pickled else ""
        raise TargetError(f"adapter {d}: missing {WEIGHTS_NAME}{hint}")
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
    except OSError:
        raise TargetError(f"adapter {d}: missing {CONFIG_NAME}") from None
    except json.JSONDecodeError as exc:
        raise TargetError(f"adapter {cfg_path}: invalid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(config, dict):
        raise TargetError(f"adapter {cfg_path}: must hold a JSON object")
    kind = str(config.get("peft_type", "LORA")).upper()
    problems = []
    if kind != "LORA":
        problems.append(f"peft_type {kind}")
    if config.get("use_dora"):
        problems.append("DoRA")
    if config.get("bias", "none") not in ("none", None):
        problems.append(f"bias={config['bias']}")
    if config.get("fan_in_fan_out"):
        problems.append("fan_in_fan_out")
    if problems:
        raise TargetError(f"adapter {d}: only plain LoRA can be merged ({', '.join(problems)} is not)")
    h = hashlib.sha256()
    for p in (cfg_path, weights):
        h.update(p.read_bytes())
    return Adapter(d.resolve(), config, h.hexdigest()[:16])


def lora_pairs(adapter: Adapter) -> dict[str, tuple[Any, Any]]:
    """module name (as in model.named_modules()) -> (A [r, in], B [out, r]) tensors."""
    from safetensors.torch import load_file

    tensors = load_file(str(adapter.weights), device="cpu")
    parts: dict[str, dict[str, Any]] = {}
    for key, value in tensors.items():
        m = _KEY.match(key)
        if not m:
            raise TargetError(f"adapter {adapter.weights}: tensor {key!r} is not a LoRA A/B matrix "
                              "(embedding or other adapter types cannot be merged)")
        parts.setdefault(m.group("module"), {})[m.group("ab")] = value
    out = {}
    for module, ab in sorted(parts.items()):
        if set(ab) != {"A", "B"}:
            raise TargetError(f"adapter {adapter.weights}: {module} has lora_{''.join(ab)} but not both")
        out[module] = (ab["A"], ab["B"])
    if not out:
        raise TargetError(f"adapter {adapter.weights}: holds no LoRA matrices")
    return out


def merge_adapter(model: Any, adapter: Adapter) -> list[str]:
    """Fold the adapter into `model` in place; returns the names of the modules changed."""
    import torch

    modules = dict(model.named_modules())
    changed = []
    with torch.no_grad():
        for name, (a, b) in lora_pairs(adapter).items():
            target = modules.get(name)
            if target is None:  # a checkpoint saved from a wrapper may lack the top prefix
                target = next((mod for key, mod in modules.items() if key.endswith("." + name)), None)
            weight = getattr(target, "weight", None)
            if target is None or weight is None or weight.dim() != 2:
                raise TargetError(f"adapter {adapter.directory}: the model has no linear layer {name!r} "
                                  "(adapter made for another architecture?)")
            if b.shape[0] != weight.shape[0] or a.shape[1] != weight.shape[1] or a.shape[0] != b.shape[1]:
                raise TargetError(f"adapter {adapter.directory}: {name} is {tuple(weight.shape)} but the "
                                  f"adapter's B @ A is {(b.shape[0], a.shape[1])}")
            delta = (b.to(torch.float32) @ a.to(torch.float32)) * adapter.scale(name)
            weight.add_(delta.to(device=weight.device, dtype=weight.dtype))
            changed.append(name)
    return changed
