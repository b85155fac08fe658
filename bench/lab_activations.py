"""Activation capture throughput on the embedded model: batched vs one prompt at a time.

Captures the residual stream at every layer (30 for SmolLM2-135M) at the post-instruction
template tokens and the first generated token, for N prompts from the `china` suite,
and prints prompts/s for each batch size, the size of the captured arrays, and the
process's peak RSS (the activations are float32 per prompt plus float64 sums).

    .venv/bin/python bench/lab_activations.py [--n 32] [--batch-sizes 1,8,16] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--batch-sizes", default="1,8,16")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--model", default="builtin")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from latentwall.lab import capture, load_model, load_role

    t0 = time.perf_counter()
    lm = load_model(args.model, threads=args.threads)
    load_s = time.perf_counter() - t0
    rss_loaded = peak_rss_mb()
    prompts, _ = load_role("political", "en", args.n)
    texts = [p.text for p in prompts]
    tokens = sum(len(lm.encode(t)) for t in texts)
    capture(lm, texts[:2], batch_size=2)  # warm-up
    rows = []
    for bs in [int(b) for b in args.batch_sizes.split(",")]:
        t = time.perf_counter()
        aset = capture(lm, texts, batch_size=bs)  # no cache_dir: always computed
        dt = time.perf_counter() - t
        rows.append({"batch_size": bs, "prompts": len(texts), "seconds": round(dt, 2),
                     "prompts_per_s": round(len(texts) / dt, 2),
                     "tokens_per_s": round(tokens / dt, 1),
                     "activation_mb": round(aset.acts.nbytes / 2**20, 1),
                     "peak_rss_mb": round(peak_rss_mb(), 0)})
    out = {"model": lm.name, "layers": lm.n_layers, "d_model": lm.d_model,
           "positions": len(aset.positions), "load_s": round(load_s, 1),
           "rss_after_load_mb": round(rss_loaded, 0), "mean_prompt_tokens": round(tokens / len(texts), 1),
           "threads": args.threads, "runs": rows}
    if args.json:
        print(json.dumps(out, indent=1))
        return
    print(f"{out['model']}: {out['layers']} layers x d={out['d_model']} x {out['positions']} positions, "
          f"{out['mean_prompt_tokens']} tokens/prompt, load {out['load_s']} s, RSS after load "
          f"{out['rss_after_load_mb']:.0f} MB")
    for r in rows:
        print(f"batch {r['batch_size']:>3}: {r['prompts_per_s']:6.2f} prompts/s ({r['tokens_per_s']} tok/s), "
              f"activations {r['activation_mb']} MB, peak RSS {r['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
