"""Harness throughput: N probes against the local fake OpenAI server (its own process),
judged and stored, at high concurrency. Prints probes/s and the peak memory of the run
for several N, so "memory flat in the number of probes" can be read off the figures.

    .venv/bin/python bench/throughput.py [--sizes 1000,5000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_suite(root: Path, name: str, n: int) -> None:
    d = root / name
    d.mkdir(parents=True)
    with open(d / "probes.jsonl", "w", encoding="utf-8") as fh:
        for i in range(n):
            about = "Tiananmen in 1989" if i % 5 == 0 else f"bridge number {i}"
            fh.write(json.dumps({
                "id": f"{name}/q{i:06d}/en", "text": f"Question {i}: tell me about {about}.",
                "language": "en", "topic": f"topic-{i % 50}", "category": "political",
                "kind": "factual", "group": f"{name}/q{i:06d}", "expected": {"open": "answer"},
            }) + "\n")


def start_server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "latentwall.testing", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise SystemExit(f"fake server did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    return proc, line.rsplit(" ", 1)[-1].strip()


def run_once(url: str, suite: str, env: dict[str, str], run_dir: Path, concurrency: int) -> dict[str, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "latentwall", "run", "-t", f"openai:fake@{url}", "-s", suite,
         "--run-dir", str(run_dir), "--json", "--no-progress", "--concurrency", str(concurrency),
         "--max-tokens", "64"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    out = proc.stdout.read() if proc.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"run failed: {proc.stderr.read() if proc.stderr else ''}")
    doc = json.loads(out)
    o = doc["outcome"]
    return {
        "probes": o["total"], "run_s": o["elapsed_s"], "wall_s": wall,
        "probes_per_s": o["total"] / o["elapsed_s"], "peak_rss_mb": usage.ru_maxrss / 1024,
        "pipeline_per_s": o["new"] / o["pipeline_s"] if o["pipeline_s"] else 0.0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1000,5000")
    ap.add_argument("--concurrency", type=int, default=64)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    server, url = start_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            for n in sizes:
                make_suite(root / "suites", f"bench{n}", n)
            env = {**os.environ, "LATENTWALL_SUITES": str(root / "suites"), "HF_HUB_OFFLINE": "1"}
            print(f"fake server at {url}; concurrency {args.concurrency}; judge markers; SQLite store")
            print("probes/s: whole run incl. set-up (suite load, judge compile); pipeline: first request"
                  " to last write")
            print(f"{'probes':>8} {'run s':>8} {'probes/s':>10} {'pipeline/s':>11} {'wall s':>8} {'peak RSS MB':>12}")
            for n in sizes:
                r = run_once(url, f"bench{n}", env, root / f"runs{n}", args.concurrency)
                print(f"{r['probes']:>8.0f} {r['run_s']:>8.2f} {r['probes_per_s']:>10.0f} "
                      f"{r['pipeline_per_s']:>11.0f} {r['wall_s']:>8.2f} {r['peak_rss_mb']:>12.1f}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
