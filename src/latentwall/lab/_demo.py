"""`latentwall lab demo`: every lab section, small, in minutes on 2 CPU cores.

By default it studies the censorship organism (`builtin:organism`, docs/organism.md), whose
planted behaviour is known, so the page shows a finding that can be checked: a harm
refusal direction in English and a political one in Chinese (none in English, where the
organism answers: the language splinter seen from inside), what ablating each removes,
whether they are one mechanism, lineage against the embedded base model ("low-rank
fork", and in which layers and modules), and a crawl from the neutral seed 中国 / China.

On the plain embedded model (`-m builtin`), which refuses almost nothing, the demo shows
the machinery instead: lineage compares the model with an in-memory copy orthogonalised
against its own harm direction (the shape of an "abliterated" fork), never written out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from latentwall.lab._ablation import orthogonalized_copy
from latentwall.lab._crawler import crawl
from latentwall.lab._model import LabModel, load_model
from latentwall.lab._run import Lab, LabConfig, lineage_report, new_result

ORGANISM = "builtin:organism"
BASE_SEEDS = {"en": "the 1989 Tiananmen Square protests"}
ORGANISM_SEEDS = {"zh-Hans": "中国", "en": "China"}  # neutral words: the crawl must find the rest


def run_demo(spec: str = ORGANISM, *, n: int = 12, threads: int | None = None,
             cache_dir: Path | None = None, log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    t0 = time.perf_counter()
    organism = spec == ORGANISM
    lm = load_model(spec, threads=threads)
    log(f"loaded {lm.name} in {time.perf_counter() - t0:.0f} s")
    topics: dict[str, list[str] | None] = {}
    if organism:
        from latentwall.lab._organism import load_plan

        # political censorship was planted on these topics; elsewhere the organism answers
        topics["political"] = sorted(load_plan().splinter_topics)
    # Small on purpose (2 CPU cores): the last two template positions, every 4th layer.
    cfg = LabConfig(langs=["en", "zh-Hans"], n=n, layer_stride=4, positions=["-2", "-1"],
                    max_new_tokens=24, n_perm=100, probe_perm=10, top_k=3, cache_dir=cache_dir,
                    behaviour_labels=False, select_langs=["en", "zh-Hans"] if organism else ["en"],
                    topics=topics, confirm_k=2)
    lab = Lab(lm, cfg)
    steps: dict[str, float] = {}

    def step(name: str, fn: Callable[[], Any]) -> Any:
        t = time.perf_counter()
        out = fn()
        steps[name] = round(time.perf_counter() - t, 1)
        log(f"{name}: {steps[name]:.0f} s")
        return out

    directions = step("directions", lab.directions)
    geometry = step("geometry", lab.geometry)
    probes = step("probes", lab.probes)
    tamper = step("tamper", lab.tamper)

    def lineage() -> dict[str, Any]:
        if organism:
            base = load_model("builtin", threads=threads)
            try:
                return lineage_report(base, lm, n=4, behaviour=False)
            finally:
                del base
        twin = orthogonalized_copy(lm, lab.selection("harm", "en")[2].direction[None, :])
        try:
            out = lineage_report(lm, twin, n=4, behaviour=False)
        finally:
            del twin
        out["b"] = f"{lm.name} orthogonalised against its harm/en direction (in memory only)"
        return out

    ln = step("lineage", lineage)
    cr = step("crawl", lambda: _crawl(spec, lm, threads, organism))
    result = new_result(lab, directions=directions, geometry=geometry, probes=probes, tamper=tamper,
                        lineage=ln, crawl=cr)
    if organism:
        result["organism"] = True
    result["timings"].update({f"step_{k}_s": v for k, v in steps.items()})
    result["timings"]["total_s"] = round(time.perf_counter() - t0, 1)
    return result


def _crawl(spec: str, lm: LabModel, threads: int | None, organism: bool) -> dict[str, Any]:
    from latentwall.targets import make_target

    target = make_target(spec, threads=threads)
    target.engine = lm.engine  # reuse the loaded weights; no second load
    seeds = ORGANISM_SEEDS if organism else BASE_SEEDS
    res = asyncio.run(crawl(target, [f"{k}={v}" for k, v in seeds.items()], list(seeds), depth=1,
                            breadth=5, max_nodes=14, answer_tokens=32, max_tokens=64))
    if not organism:
        res["note"] = "zh-Hans crawl omitted in the demo for time; run `lab crawl --lang en,zh-Hans`"
    return res
