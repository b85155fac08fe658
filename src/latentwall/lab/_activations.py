"""Residual-stream activations at every layer, captured with plain forward hooks.

What is captured: the input of every decoder block ("resid_pre", the stream the block
reads), at the post-instruction template tokens (the chat-template tokens after the
user's text, e.g. `<|im_end|>\\n<|im_start|>assistant\\n`) and, optionally, at the first
generated token (greedy). Those are the positions where a refusal decision is already
written, before any answer text exists (Arditi et al. 2024).

Batches are left-padded with explicit position ids, so a prompt's activations do not
depend on its batch neighbours beyond float noise. Per-prompt activations are kept in
float32 (exact for fp16/bf16 models); class sums are accumulated in float64 inside the
hook, so means of thousands of prompts lose nothing. Results are cached per model and
prompt set as `.npy` files plus a JSON sidecar (never pickle).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from latentwall.lab._model import LabModel, batched

CACHE_ENV = "LATENTWALL_LAB_CACHE"
CACHE_VERSION = "acts-1"
GEN = "gen"


def default_cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "latentwall" / "lab"


@dataclass
class ActivationSet:
    """acts[n, position, layer, d] (float32), sums[position, layer, d] (float64)."""

    acts: np.ndarray
    sums: np.ndarray
    positions: list[str]
    first_tokens: np.ndarray  # greedy first generated token per prompt (-1 if not computed)
    cached: bool = False

    @property
    def n(self) -> int:
        return int(self.acts.shape[0])

    def mean(self) -> np.ndarray:
        return self.sums / max(1, self.n)

    def pos_index(self, position: str) -> int:
        return self.positions.index(position)


def position_labels(n_post: int, gen: bool) -> list[str]:
    """'-5' … '-1' for the template tokens (counted from the end of the prompt), then 'gen'."""
    return [str(-k) for k in range(n_post, 0, -1)] + ([GEN] if gen else [])


def pad_left(lm: LabModel, seqs: Sequence[Sequence[int]]) -> tuple[Any, Any, Any]:
    """Left-padded ids, attention mask and position ids (so padding does not shift RoPE)."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), lm.pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, s in enumerate(seqs):
        if s:
            ids[row, width - len(s):] = torch.tensor(list(s), dtype=torch.long)
            mask[row, width - len(s):] = 1
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    dev = lm.device
    return ids.to(dev), mask.to(dev), pos.to(dev)


def _hidden_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return args[0] if args else kwargs["hidden_states"]


@contextlib.contextmanager
def capture_hooks(lm: LabModel, sink: list[Any]) -> Iterator[None]:
    """While active, each forward appends one [batch, seq, d] tensor per layer to `sink[layer]`."""
    handles = []

    def make(i: int) -> Any:
        def hook(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            sink[i] = _hidden_of(args, kwargs).detach()
        return hook

    try:
        for i, layer in enumerate(lm.layers):
            handles.append(layer.register_forward_pre_hook(make(i), with_kwargs=True))
        yield
    finally:
        for h in handles:
            h.remove()


def logits_last(lm: LabModel, seqs: Sequence[Sequence[int]], batch_size: int = 8) -> Any:
    """Next-token logits (float32, CPU) after each prompt; honours any hooks in place."""
    out = []
    with torch.inference_mode():
        for chunk in batched(list(seqs), batch_size):
            ids, mask, pos = pad_left(lm, chunk)
            logits = lm.model(input_ids=ids, attention_mask=mask, position_ids=pos,
                              use_cache=False, logits_to_keep=1).logits
            out.append(logits[:, -1, :].float().cpu())
    return torch.cat(out) if out else torch.zeros((0, 0))


def _cache_key(lm: LabModel, texts: Sequence[str], systems: Sequence[str | None],
               n_post: int, gen: bool) -> str | None:
    if not lm.fingerprint:
        return None
    payload = json.dumps([CACHE_VERSION, lm.fingerprint, str(lm.model.dtype), list(texts),
                          list(systems), n_post, gen], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


def _load_cached(path: Path) -> ActivationSet | None:
    meta_p = path.with_suffix(".json")
    if not meta_p.exists():
        return None
    try:
        meta = json.loads(meta_p.read_text(encoding="utf-8"))
        acts = np.load(path.with_name(path.stem + ".acts.npy"), allow_pickle=False)
        sums = np.load(path.with_name(path.stem + ".sums.npy"), allow_pickle=False)
        first = np.load(path.with_name(path.stem + ".first.npy"), allow_pickle=False)
    except (OSError, ValueError):
        return None
    return ActivationSet(acts, sums, list(meta["positions"]), first, cached=True)


def _save_cached(path: Path, aset: ActivationSet, lm: LabModel, n: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix, arr in ((".acts.npy", aset.acts), (".sums.npy", aset.sums),
                        (".first.npy", aset.first_tokens)):
        tmp = path.with_name(path.stem + suffix + ".tmp")
        with open(tmp, "wb") as fh:
            np.save(fh, arr, allow_pickle=False)
        os.replace(tmp, path.with_name(path.stem + suffix))
    meta = {"model": lm.name, "fingerprint": lm.fingerprint, "positions": aset.positions,
            "n": n, "version": CACHE_VERSION}
    path.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")


def capture(lm: LabModel, texts: Sequence[str], *, systems: Sequence[str | None] | None = None,
            gen: bool = True, batch_size: int = 8, cache_dir: Path | None = None) -> ActivationSet:
    """Activations of every prompt at every layer and chosen position (see module doc)."""
    systems = list(systems) if systems is not None else [None] * len(texts)
    n_post = lm.n_post
    positions = position_labels(n_post, gen)
    key = _cache_key(lm, texts, systems, n_post, gen) if cache_dir is not None else None
    path = Path(cache_dir) / f"{key}" if key and cache_dir is not None else None
    if path is not None and (hit := _load_cached(path)) is not None:
        return hit
    L, d, P = lm.n_layers, lm.d_model, len(positions)
    acts = np.zeros((len(texts), P, L, d), dtype=np.float32)
    sums = np.zeros((P, L, d), dtype=np.float64)
    first = np.full(len(texts), -1, dtype=np.int64)
    seqs = [lm.encode(t, s) for t, s in zip(texts, systems, strict=True)]
    sink: list[Any] = [None] * L
    row = 0
    with torch.inference_mode(), capture_hooks(lm, sink):
        for chunk in batched(seqs, batch_size):
            b = len(chunk)
            ids, mask, pos = pad_left(lm, chunk)
            out = lm.model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=gen,
                           logits_to_keep=1)
            block = torch.stack([h[:, -n_post:, :] for h in sink], dim=2)  # [b, n_post, L, d]
            block = block.to(torch.float64).cpu()
            if gen:
                tok = out.logits[:, -1, :].argmax(-1)
                first[row:row + b] = tok.cpu().numpy()
                mask2 = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
                pos2 = pos[:, -1:] + 1
                lm.model(input_ids=tok[:, None], attention_mask=mask2, position_ids=pos2,
                         use_cache=True, logits_to_keep=1, **lm.with_cache(lm.cache_of(out)))
                g = torch.stack([h[:, -1:, :] for h in sink], dim=2).to(torch.float64).cpu()
                block = torch.cat([block, g], dim=1)
            arr = block.numpy()
            acts[row:row + b] = arr
            sums += arr.sum(axis=0)
            row += b
    aset = ActivationSet(acts, sums, positions, first)
    if path is not None:
        _save_cached(path, aset, lm, len(texts))
    return aset
