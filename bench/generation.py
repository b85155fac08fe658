"""Generation throughput of the embedded model: load time, tokens/s at batch 1 vs larger batches,
for the transformers engine and (when llama-cpp-python is installed) the llama.cpp engine.

Why: a local model only pays off in an audit of thousands of prompts if batching
multiplies throughput (project target: batched >= 4x unbatched), or if a faster engine
does. llama.cpp answers one request at a time, so it gets one row (batch 1). Ratios and
"same text" compare with the first engine's batch-1 row. With several engines, each runs
in its own process (see `_in_subprocess`). Prints figures only.

    .venv/bin/python bench/generation.py [--batches 1,8,16] [--max-tokens 32] [--prompts 16]
                                         [--engines transformers,llamacpp]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import subprocess
import sys
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


async def _bench_engine(args: argparse.Namespace, engine: str) -> dict:
    """Load one engine, warm it up, time every batch size; the texts come back for comparison."""
    sizes = [int(b) for b in args.batches.split(",")]
    target = make_target(args.target, batch_size=max(sizes), threads=args.threads, engine=engine)
    t0 = time.perf_counter()
    await target.start()
    d = target.describe()
    info = {"engine": engine, "label": target.label, "n_params": d.get("n_params"),
            "load_s": time.perf_counter() - t0,
            "threads": d.get("threads") or args.threads or "torch default", "rows": []}
    await target.generate(_requests(1, 4))  # warm-up: first call pays one-off costs
    reqs = _requests(args.prompts, args.max_tokens)
    for b in sizes if engine != "llamacpp" else sizes[:1]:  # llama.cpp: one request at a time
        secs, toks, texts = await _run(target, reqs, b)
        info["rows"].append({"batch": b, "secs": secs, "tokens": toks, "texts": texts})
    await target.close()
    return info


def _in_subprocess(args: argparse.Namespace, engine: str) -> dict:
    """One process per engine: torch and llama.cpp each bring an OpenMP runtime, and once
    torch has run in a process llama.cpp's threads lose half their speed (measured), which
    a real run (one engine per process) never sees."""
    argv = ["--target", args.target, "--batches", args.batches, "--prompts", str(args.prompts),
            "--max-tokens", str(args.max_tokens)] + (["--threads", str(args.threads)] if args.threads else [])
    proc = subprocess.run([sys.executable, __file__, *argv, "--engines", engine, "--one-engine"],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{engine}: benchmark failed\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="builtin")
    ap.add_argument("--batches", default="1,8,16")
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--engines", default="transformers,llamacpp",
                    help="llamacpp is skipped (with a note) when llama-cpp-python is not installed")
    ap.add_argument("--one-engine", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if args.one_engine:
        print(json.dumps(await _bench_engine(args, engines[0]), ensure_ascii=False))
        return
    if "llamacpp" in engines and importlib.util.find_spec("llama_cpp") is None:
        print("llamacpp  skipped: llama-cpp-python not installed (pip install 'latentwall[llamacpp]')")
        engines.remove("llamacpp")

    base_tps: float | None = None
    base_texts: list[str] | None = None
    rows: list[str] = []
    for engine in engines:
        info = _in_subprocess(args, engine) if len(engines) > 1 else await _bench_engine(args, engine)
        print(f"{engine:<13} {info['label']}  ({info['n_params']} params)  "
              f"load {info['load_s']:.1f} s  threads={info['threads']}")
        for row in info["rows"]:
            secs, toks, texts = row["secs"], row["tokens"], row["texts"]
            tps = toks / secs if secs else 0.0
            if base_tps is None:
                base_tps, base_texts = tps, texts
            same = sum(a == c for a, c in zip(texts, base_texts or [], strict=False))
            rows.append(f"{engine:<13} {row['batch']:>5} {secs:>8.1f} {toks:>7} {tps:>7.1f} "
                        f"{tps / base_tps:>6.2f} {same:>9}/{len(texts)}")
    print(f"{'engine':<13} {'batch':>5} {'seconds':>8} {'tokens':>7} {'tok/s':>7} {'x base':>6} "
          f"{'same as base':>13}")
    print("\n".join(rows))


if __name__ == "__main__":
    asyncio.run(main())
