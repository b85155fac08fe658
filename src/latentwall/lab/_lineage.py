"""Is checkpoint B a modified fork of checkpoint A? Weight deltas, their rank, and a verdict.

Per tensor of two same-architecture models: the relative norm of the delta, the cosine
between the two tensors, and the cosine after shuffling B's entries (the null: what
unrelated tensors with these value distributions give). Per 2-D delta: the singular
value spectrum (from the Gram matrix of the smaller side, so a 50k-row embedding is
cheap), its effective rank (exp of the spectral entropy, Roy & Vetterli 2007) and the
share of energy in the top component. A directional ablation baked into weights
(W <- (I - rr^T) W on the residual writers: embeddings, attention-out and MLP-down)
shows as rank-1 deltas on exactly those matrices whose residual-side singular vectors
are all the same direction r; the verdict looks for that signature first.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import torch

from latentwall.errors import ConfigError

WRITER_RE = re.compile(r"(o_proj|down_proj|out_proj|c_proj|dense_4h_to_h|fc2|\.w2|embed_tokens|wte)")
EMBED_RE = re.compile(r"(embed_tokens|wte)")
RANK1_SHARE = 0.9
LOW_RANK_MAX = 32     # a delta this low in rank, and below LOW_RANK_FRAC of the matrix size,
LOW_RANK_FRAC = 0.1   # is an adapter-style edit rather than fine-tuning of the whole matrix
_LAYER = re.compile(r"\.(\d+)\.")
RELATED_COS = 0.5
ZERO_REL = 1e-7


def _spectrum(delta: torch.Tensor, resid_side: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Singular values of a 2-D delta, and its top singular vector on the residual side.

    `resid_side`: 'rows' for a linear layer's output (weight is [out, in]), 'cols' for an
    embedding ([vocab, d]), None when the matrix does not write the residual stream.
    """
    m = delta.detach().to(torch.float64)
    rows, cols = m.shape
    side = "cols" if cols <= rows else "rows"
    g = m.T @ m if side == "cols" else m @ m.T
    evals, evecs = torch.linalg.eigh(g)
    sv = evals.clamp(min=0).sqrt().flip(0).numpy()
    top = evecs[:, -1]  # top singular vector on the smaller side
    if resid_side is None:
        return sv, None
    vec = top if resid_side == side else (m @ top if resid_side == "rows" else m.T @ top)
    n = vec.norm()
    return sv, (vec / n if n > 0 else vec).numpy()


def effective_rank(sv: np.ndarray) -> float:
    s = sv[sv > 0]
    if len(s) == 0:
        return 0.0
    p = s / s.sum()
    return float(np.exp(-(p * np.log(p)).sum()))


def _null_effective_rank(shape: tuple[int, int], rng: np.random.Generator, cache: dict[Any, float]) -> float:
    """Effective rank of a Gaussian matrix of this shape: what a dense, unstructured change gives."""
    key = tuple(sorted(shape))
    if key not in cache:
        small, big = key
        big = min(big, 4 * small)  # the spectrum's shape depends on the aspect ratio only
        cache[key] = effective_rank(np.linalg.svd(rng.standard_normal((big, small)), compute_uv=False))
    return cache[key]


def weight_diff(model_a: Any, model_b: Any, *, seed: int = 0) -> dict[str, Any]:
    """Per-tensor comparison of two models (in memory) and the weight-side verdict."""
    sa, sb = model_a.state_dict(), model_b.state_dict()
    if set(sa) != set(sb):
        missing = sorted(set(sa) ^ set(sb))[:3]
        raise ConfigError(f"the two checkpoints differ in architecture (tensors {', '.join(missing)} …)")
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    null_cache: dict[Any, float] = {}
    rows = []
    seen: set[tuple[int, int]] = set()
    for name in sorted(sa, key=lambda n: (not EMBED_RE.search(n), n)):
        a, b = sa[name], sb[name]
        ptrs = (a.data_ptr(), b.data_ptr())
        if ptrs in seen:  # tied weights (lm_head = embeddings): count once
            continue
        seen.add(ptrs)
        if a.shape != b.shape:
            raise ConfigError(f"tensor {name} has shape {tuple(a.shape)} vs {tuple(b.shape)}")
        if not a.is_floating_point():
            continue
        af, bf = a.detach().double().flatten(), b.detach().double().flatten()
        delta = bf - af
        na, nb, nd = float(af.norm()), float(bf.norm()), float(delta.norm())
        cos = float(af @ bf / (na * nb)) if na > 0 and nb > 0 else 0.0
        perm = torch.randperm(len(bf), generator=gen)
        null_cos = float(af @ bf[perm] / (na * nb)) if na > 0 and nb > 0 else 0.0
        row: dict[str, Any] = {"name": name, "shape": list(a.shape), "rel_norm": nd / na if na else nd,
                               "cosine": cos, "null_cosine": null_cos,
                               "writer": bool(WRITER_RE.search(name)) and a.dim() == 2}
        if a.dim() == 2 and min(a.shape) > 1 and row["rel_norm"] > ZERO_REL:
            resid = None
            if row["writer"]:
                resid = "cols" if EMBED_RE.search(name) else "rows"
            sv, vec = _spectrum(b - a, resid)
            energy = sv ** 2
            row["effective_rank"] = effective_rank(sv)
            row["null_effective_rank"] = _null_effective_rank(tuple(a.shape), rng, null_cache)
            row["top1_share"] = float(energy[0] / energy.sum()) if energy.sum() > 0 else 0.0
            cum = np.cumsum(energy) / energy.sum() if energy.sum() > 0 else np.ones(1)
            row["rank99"] = int(np.searchsorted(cum, 0.99) + 1)  # components holding 99% of the change
            row["_vec"] = vec
        rows.append(row)
    return _verdict(rows)


def _verdict(rows: list[dict[str, Any]]) -> dict[str, Any]:
    mats = [r for r in rows if len(r["shape"]) == 2]
    changed = [r for r in rows if r["rel_norm"] > ZERO_REL]
    med_cos = float(np.median([r["cosine"] for r in mats])) if mats else 0.0
    null_hi = float(np.max(np.abs([r["null_cosine"] for r in mats]))) if mats else 0.0
    rank1 = [r for r in changed if r.get("top1_share", 0.0) >= RANK1_SHARE]
    low_rank = [r for r in changed if "rank99" in r
                and r["rank99"] <= min(LOW_RANK_MAX, LOW_RANK_FRAC * min(r["shape"]))]
    writers_r1 = [r for r in rank1 if r["writer"] and r.get("_vec") is not None]
    shared = None
    if len(writers_r1) >= 2:
        v = np.stack([r["_vec"] for r in writers_r1])
        cos = np.abs(v @ v.T)
        shared = float(cos[np.triu_indices(len(v), 1)].mean())
    if not changed:
        verdict, why = "identical", "every tensor is bit-for-bit equal"
    elif med_cos < RELATED_COS or med_cos <= null_hi + 0.1:
        verdict = "unrelated"
        why = (f"median weight-matrix cosine {med_cos:.3f} is at the level of shuffled weights "
               f"(null up to {null_hi:.3f}): independent weights, not a fork")
    elif (writers_r1 and len(rank1) == len([r for r in changed if "top1_share" in r])
          and all(r["writer"] for r in rank1) and (shared is None or shared >= 0.9)):
        verdict = "directional-ablation fork"
        why = (f"{len(rank1)} changed matrices, all residual writers with rank-1 deltas"
               + (f" along one shared direction (mean |cos| {shared:.3f})" if shared is not None else "")
               + ": the signature of refusal-direction orthogonalisation")
    elif rank1 and len(rank1) >= 0.5 * len(changed):
        verdict = "low-rank edit"
        why = f"{len(rank1)} of {len(changed)} changed tensors have rank-1 deltas, not all on residual writers"
    elif low_rank and len(low_rank) == len(changed):
        r = max(x["rank99"] for x in low_rank)
        verdict = "low-rank fork"
        why = (f"related weights (median cosine {med_cos:.3f}); every one of the {len(changed)} changed "
               f"tensors is a low-rank delta (99% of each change in at most {r} components): "
               "the signature of a merged LoRA-style adapter")
    else:
        verdict = "fine-tuned fork"
        why = (f"related weights (median cosine {med_cos:.3f} vs null {null_hi:.3f}) "
               f"with dense changes in {len(changed)} tensors")
    for r in rows:
        r.pop("_vec", None)
    return {"verdict": verdict, "why": why, "where": where_changed(changed), "median_cosine": med_cos, "null_cosine_max": null_hi,
            "changed_tensors": len(changed), "tensors": len(rows), "rank1_tensors": len(rank1),
            "rank1_writers": len(writers_r1), "shared_direction_cos": shared, "per_tensor": rows}


def where_changed(changed: list[dict[str, Any]]) -> dict[str, Any]:
    """Which layers and which kinds of module the changed tensors belong to."""
    layers: set[int] = set()
    modules: set[str] = set()
    other: list[str] = []
    for r in changed:
        m = _LAYER.search(r["name"])
        kind = r["name"].rsplit(".", 2)[-2] if r["name"].endswith((".weight", ".bias")) else r["name"]
        if m:
            layers.add(int(m.group(1)))
            modules.add(kind)
        else:
            other.append(r["name"])
    ls = sorted(layers)
    spans: list[str] = []
    for x in ls:
        if spans and int(spans[-1].split("-")[-1]) == x - 1:
            spans[-1] = f"{spans[-1].split('-')[0]}-{x}"
        else:
            spans.append(str(x))
    text = (f"layers {', '.join(spans)}; modules {', '.join(sorted(modules))}" if ls else "no decoder layer")
    if other:
        text += f"; also {', '.join(other[:4])}" + (" …" if len(other) > 4 else "")
    return {"layers": ls, "modules": sorted(modules), "other": other, "text": text}


def layer_summary(diff: dict[str, Any], n_layers: int) -> list[dict[str, Any]]:
    """Per layer: the largest relative delta and the lowest effective rank among its tensors."""
    out = []
    pat = re.compile(r"\.(\d+)\.")
    by_layer: dict[int, list[dict[str, Any]]] = {i: [] for i in range(n_layers)}
    for r in diff["per_tensor"]:
        m = pat.search(r["name"])
        if m and int(m.group(1)) in by_layer:
            by_layer[int(m.group(1))].append(r)
    for i in range(n_layers):
        rs = by_layer[i]
        er = [r["effective_rank"] for r in rs if "effective_rank" in r]
        out.append({"layer": i, "max_rel_norm": max((r["rel_norm"] for r in rs), default=0.0),
                    "min_cosine": min((r["cosine"] for r in rs), default=1.0),
                    "min_effective_rank": min(er) if er else None})
    return out
