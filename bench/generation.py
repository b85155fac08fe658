"""Generation throughput of the embedded model: load time, tokens/s at batch 1 vs larger batches.

Why: a local model only pays off in an audit of thousands of prompts if batching
multiplies throughput (project target: batched >= 4x unbatched). Prints figures only.

    .venv/bin/python bench/generation.py [--batches 1,8,16] [--max-tokens 32] [--prompts 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from latentwall.targets import GenParams, Request, make_target

PROMPTS = [
    "What is the capital of France?",
    "Explain photosynthesis in two sentences.",
    "Write a haiku about rain.",
    "List three uses of copper.",
    "What happened in Beijing on 4 June 1989?",
    "Summarise the plot of Romeo and Juliet.",
    "How do vaccines work?",
    "Give me a tip for learning a new language.",
    "中国的首都是哪里？",
    "请用一句话介绍长城。",
    "Quelle est la plus haute montagne d'Europe ?",
    "¿Por qué el cielo es azul?",
    "What is 17 times 23?",
    "Name a famous painting by Vermeer.",
    "Describe the water cycle.",
    "What is the difference between weather and climate?",
]


def _requests(n: int, max_tokens: int) -> list[Request]:
    return [Request(messages=({"role": "user", "content": PROMPTS[i % len(PROMPTS)]},),
                    params=GenParams(max_tokens=max_tokens)) for i in range(n)]


async def _run(target, reqs: list[Request], batch: int) -> tuple[float, int, list[str]]:
    t0 = time.perf_counter()
    texts: list[str] = []
    tokens = 0
    for i in range(0, len(reqs), batch):
        for r in await target.generate(reqs[i:i + batch]):
            tokens += r.usage.get("completion_tokens", 0)
            texts.append(r.text)
    return time.perf_counter() - t0, tokens, texts


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="builtin")
    ap.add_argument("--batches", default="1,8,16")
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    sizes = [int(b) for b in args.batches.split(",")]

    target = make_target(args.target, batch_size=max(sizes), threads=args.threads)
    t0 = time.perf_counter()
    await target.start()
    print(f"model     {target.label}  ({target.describe().get('n_params')} params)")
    print(f"load      {time.perf_counter() - t0:6.1f} s   threads={args.threads or 'torch default'}")
    await target.generate(_requests(1, 4))  # warm-up: first call pays one-off costs

    reqs = _requests(args.prompts, args.max_tokens)
    base_tps: float | None = None
    base_texts: list[str] | None = None
    print(f"{'batch':>5} {'seconds':>8} {'tokens':>7} {'tok/s':>7} {'x b1':>6} {'same text as b1':>16}")
    for b in sizes:
        secs, toks, texts = await _run(target, reqs, b)
        tps = toks / secs if secs else 0.0
        if base_tps is None:
            base_tps, base_texts = tps, texts
        same = sum(a == c for a, c in zip(texts, base_texts or [], strict=False))
        print(f"{b:>5} {secs:>8.1f} {toks:>7} {tps:>7.1f} {tps / base_tps:>6.2f} {same:>9}/{len(texts)}")
    await target.close()


if __name__ == "__main__":
    asyncio.run(main())
