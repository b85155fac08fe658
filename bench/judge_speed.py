"""Offline judge speed: judgements per second on one core, on short and on long real answers.

Two sets, because the judge's cost grows with the answer (it reads up to 6,000 characters):
the labelled sets shipped in the package (short answers, a few hundred characters) and, when
it is there, the development data (`$LATENTWALL_JUDGE_DEV`, default ../shared/judge-dev: long
answers of real models, thousands of characters). Prints judgements per second by CPU time
(process_time: what one core does, whatever else the machine runs), by wall clock, and
characters per second, after a warm-up that pays for loading and compiling the marker lists
(reported apart).

    .venv/bin/python bench/judge_speed.py [--repeat 3] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from latentwall.judges import JudgeInput, default_paths, load_eval_set, make_judge

DEV = Path(os.environ.get("LATENTWALL_JUDGE_DEV", Path(__file__).resolve().parents[2] / "shared" / "judge-dev"))


def measure(name: str, files: list[Path], judge: object, repeat: int, limit: int | None) -> None:
    inputs = [i.to_input() for i in load_eval_set(files)[:limit]]
    chars = sum(len(i.response) for i in inputs)
    judge.judge_batch(inputs[:200])  # compiles the marker lists of every language met
    cpu, wall = [], []
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        judge.judge_batch(inputs)
        cpu.append(len(inputs) / (time.process_time() - c0))
        wall.append(len(inputs) / (time.perf_counter() - w0))
    med = statistics.median(cpu)
    print(f"{name}: {len(inputs)} answers from {len(files)} file(s), mean {chars / len(inputs):,.0f} characters")
    print(f"  judgements/s on one core (CPU time): median {med:,.0f} (runs: {', '.join(f'{v:,.0f}' for v in cpu)})")
    print(f"  judgements/s by wall clock:          median {statistics.median(wall):,.0f}")
    print(f"  characters/s on one core:            {med * chars / len(inputs) / 1e6:,.2f} M")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    t0 = time.perf_counter()
    judge = make_judge("markers")
    judge.judge_batch([JudgeInput(prompt="q", response=t) for t in (
        "I can't help with that.", "抱歉，我无法回答。", "Я не могу помочь.", "En voi auttaa.")])
    print(f"start-up (load, validate, fit): {time.perf_counter() - t0:.2f} s")
    measure("shipped labelled sets (short answers)", list(default_paths()), judge, args.repeat, args.limit)
    dev = sorted(DEV.glob("*.jsonl*"))
    if dev:
        measure("development data (long answers)", dev, judge, args.repeat, args.limit)
    else:
        print(f"development data not found at {DEV} (set LATENTWALL_JUDGE_DEV); long answers not measured")


if __name__ == "__main__":
    main()
