"""Offline judge speed: judgements per second on one core, on real answers.

Reads the development data (`$LATENTWALL_JUDGE_DEV`, default ../shared/judge-dev) when it is
there, else the labelled sets shipped in the package, and prints judgements per second by CPU
time (process_time: what one core does, whatever else the machine runs) and by wall clock,
after a warm-up that pays for loading and compiling the marker lists (reported apart).

    .venv/bin/python bench/judge_speed.py [--repeat 3] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from latentwall.judges import JudgeInput, make_judge
from latentwall.judges._evaluate import default_paths, load_eval_set

DEV = Path(os.environ.get("LATENTWALL_JUDGE_DEV", Path(__file__).resolve().parents[2] / "shared" / "judge-dev"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    files = sorted(DEV.glob("*.jsonl*")) or default_paths()
    items = load_eval_set(files)[: args.limit]
    inputs = [i.to_input() for i in items]
    chars = sum(len(i.response) for i in inputs)
    print(f"{len(inputs)} answers from {len(files)} file(s), mean {chars / len(inputs):.0f} characters")
    t0 = time.perf_counter()
    judge = make_judge("markers")
    judge.judge_batch([JudgeInput(prompt="q", response=t) for t in (
        "I can't help with that.", "抱歉，我无法回答。", "Я не могу помочь.", "En voi auttaa.")])
    judge.judge_batch(inputs[:200])  # compiles the marker lists of every language met
    print(f"start-up (load, validate, compile): {time.perf_counter() - t0:.2f} s")
    cpu, wall = [], []
    for _ in range(args.repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        judge.judge_batch(inputs)
        cpu.append(len(inputs) / (time.process_time() - c0))
        wall.append(len(inputs) / (time.perf_counter() - w0))
    print(f"judgements/s on one core (CPU time): median {statistics.median(cpu):,.0f} "
          f"(runs: {', '.join(f'{v:,.0f}' for v in cpu)})")
    print(f"judgements/s by wall clock:          median {statistics.median(wall):,.0f}")


if __name__ == "__main__":
    main()
