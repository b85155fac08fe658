"""What every local-model engine shares: finding the checkpoint, rendering the chat prompt,
cutting a completion, importing the heavy stack. The transformers engine (`_hf.py`) and the
llama.cpp engine (`_llamacpp.py`) both build on this module, so one request is the same
prompt text on either, and neither imports the other's module for it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from latentwall.errors import ConfigError, TargetError

MODELS_EXTRA_HINT = "install the models extra: pip install 'latentwall[models]'"
# Files whose change changes the output: weights, config and tokenizer/chat template.
_IDENTITY_FILES = (
    "config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
    "chat_template.jinja", "chat_template.json", "tokenizer.model",
)
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


def import_torch_transformers() -> tuple[Any, Any]:
    """Import the heavy optional stack, or say which extra to install."""
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise TargetError(f"local models need torch and transformers ({exc.name} missing); "
                          f"{MODELS_EXTRA_HINT}") from None
    return torch, transformers


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where the weights are: a directory (safetensors) or a GGUF file inside `directory`."""

    directory: Path
    gguf_file: str | None = None

    @property
    def path(self) -> Path:
        return self.directory / self.gguf_file if self.gguf_file else self.directory

    @property
    def name(self) -> str:
        return Path(self.gguf_file).stem if self.gguf_file else self.directory.name

    def identity(self) -> str:
        """Cheap content identity (names, sizes, mtimes; config bytes) for the response cache."""
        h = hashlib.sha256()
        if self.gguf_file:
            files = [self.path]
        else:
            files = sorted(
                p for p in self.directory.iterdir()
                if p.name in _IDENTITY_FILES or p.name.endswith((".safetensors", ".safetensors.index.json"))
            )
        for p in files:
            st = p.stat()
            h.update(f"{p.name}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
            if p.name == "config.json":
                h.update(p.read_bytes())
        return h.hexdigest()[:16]


def resolve_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Check the path before anything heavy is imported, with messages a user can act on."""
    p = Path(path).expanduser()
    if not str(path).strip():
        raise ConfigError("hf: needs a path, e.g. hf:./my-model or hf:model.Q4_K_M.gguf")
    if not p.exists():
        raise TargetError(f"no such model file or directory: {p} (hf: takes a local "
                          "transformers checkpoint directory or .gguf file; nothing is downloaded)")
    p = p.resolve()
    if p.is_file():
        if p.suffix.lower() != ".gguf":
            raise TargetError(f"{p}: hf: takes a checkpoint directory or a .gguf file")
        return Checkpoint(p.parent, p.name)
    names = {c.name for c in p.iterdir()}
    if any(n.endswith(".safetensors") or n.endswith(".safetensors.index.json") for n in names):
        if "config.json" not in names:
            raise TargetError(f"{p}: has safetensors weights but no config.json")
        return Checkpoint(p)
    ggufs = sorted(n for n in names if n.lower().endswith(".gguf"))
    if len(ggufs) == 1:
        return Checkpoint(p, ggufs[0])
    if ggufs:
        raise TargetError(f"{p}: several .gguf files ({', '.join(ggufs)}); name one: hf:{p / ggufs[0]}")
    if any(n.endswith(_PICKLE_SUFFIXES) for n in names):
        raise TargetError(f"{p}: only pickled weights (.bin/.pt); latentwall loads safetensors only, "
                          "because unpickling runs arbitrary code. Convert the checkpoint to safetensors.")
    raise TargetError(f"{p}: no model weights found (*.safetensors or *.gguf)")


def plain_prompt(messages: Sequence[dict[str, str]]) -> str:
    """Prompt for tokenizers without a chat template: 'User: ...\\nAssistant:'."""
    lines = [f"{m.get('role', 'user').capitalize()}: {m.get('content', '')}" for m in messages]
    return "\n".join([*lines, "Assistant:"])


def render_chat(messages: Sequence[dict[str, str]], prefill: str | None,
                apply_template: Callable[[list[dict[str, str]]], str] | None) -> tuple[str, bool]:
    """Prompt text (chat template + prefill) and whether the tokenizer must add special tokens.

    `apply_template(messages)` renders the model's chat template with the generation
    prompt; None means the model has no template (plain 'User: …' prompt, BOS added).
    Shared by every engine so that one request is the same prompt text everywhere.
    """
    msgs = [dict(m) for m in messages]
    if apply_template is not None:
        try:
            text = apply_template(msgs)
        except Exception:
            # Some templates (Gemma, Mistral) reject a system role: fold it into the user turn.
            if not msgs or msgs[0].get("role") != "system" or len(msgs) < 2:
                raise
            sys_msg, first, *rest = msgs
            merged = {**first, "content": f"{sys_msg['content']}\n\n{first.get('content', '')}"}
            text = apply_template([merged, *rest])
        special = False  # the template already holds BOS and friends
    else:
        text, special = plain_prompt(msgs), True
    return text + (prefill or ""), special


def cut_completion(ids: Sequence[int], eos_ids: set[int], max_tokens: int) -> tuple[list[int], int, str]:
    """New token ids -> (text ids, tokens used incl. EOS, finish reason 'stop'|'length')."""
    ids = list(ids[:max_tokens])
    for i, t in enumerate(ids):
        if t in eos_ids:
            return ids[:i], i + 1, "stop"
    return ids, len(ids), "length" if len(ids) >= max_tokens else "stop"
