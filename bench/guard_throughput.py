"""How fast the keyword guard reads text, and how that scales with the size of the list.

Why: an output filter reads every answer of a run (hundreds of thousands on a cluster),
and TC260-003 asks for a keyword library of at least 10,000 entries. The guard must stay
far below the model's own time per answer whatever the list size; Aho-Corasick reads
each character once, a regex alternation would try every keyword at every position.

    .venv/bin/python bench/guard_throughput.py [--seconds 2]

Prints texts/s and characters/s for the shipped lists (default and full normalisation)
and for synthetic lists of 1,000 and 10,000 keywords, on the suites' probe texts and on
answer-length texts; with pyahocorasick installed, for both matchers.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from latentwall.guards import AhoCorasick, make_guard
from latentwall.suites import get_suite


def _rate(fn, texts: list[str], seconds: float) -> tuple[float, float]:
    n = chars = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for t in texts:
            fn(t)
            n += 1
            chars += len(t)
    dt = time.perf_counter() - t0
    return n / dt, chars / dt


def _synthetic_list(path: Path, n: int, seed: int = 0) -> Path:
    """n keywords that never occur in the suites (random CJK pairs/triples and Latin words)."""
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < n:
        if rng.random() < 0.5:
            words.add("".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(rng.randint(2, 4))))
        else:
            words.add("zq" + "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(rng.randint(4, 9))))
    lines = ["name: synthetic", "keywords:", "  synthetic:"] + [f'    - "{w}"' for w in sorted(words)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = ap.parse_args()
    probes = [p.text for s in ("china", "lookalikes", "hazards") for p in get_suite(s).iter_probes()]
    rng = random.Random(1)
    answers = [" ".join(rng.sample(probes, 8)) for _ in range(200)]  # ~1,000-character answers
    backends = AhoCorasick.installed()

    with tempfile.TemporaryDirectory() as tmp:
        lists = {
            "shipped (china+harm)": "china+harm",
            "synthetic 1,000": str(_synthetic_list(Path(tmp) / "k1000.yaml", 1000)),
            "synthetic 10,000": str(_synthetic_list(Path(tmp) / "k10000.yaml", 10000)),
        }
        print(f"{len(probes)} probe texts (mean {sum(map(len, probes)) / len(probes):.0f} chars), "
              f"{len(answers)} answer-length texts (mean {sum(map(len, answers)) / len(answers):.0f} chars)")
        print(f"{'list':24} {'normalise':9} {'matcher':14} {'build s':>8} {'probes/s':>10} {'answers/s':>10} "
              f"{'Mchar/s':>8}")
        for label, lst in lists.items():
            for norm in ("default", "all"):
                for backend in backends:
                    t0 = time.perf_counter()
                    guard = make_guard(f"keyword:lists={lst},normalise={norm},matcher={backend}")
                    build = time.perf_counter() - t0
                    p_rate, _ = _rate(guard.scan_text, probes, args.seconds)
                    a_rate, a_chars = _rate(guard.scan_text, answers, args.seconds)
                    print(f"{label:24} {norm:9} {backend:14} {build:8.2f} {p_rate:10,.0f} {a_rate:10,.0f} "
                          f"{a_chars / 1e6:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
