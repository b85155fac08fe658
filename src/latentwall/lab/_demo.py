"""`latentwall lab demo`: every lab section, small, on the embedded model, in minutes.

SmolLM2-135M refuses almost nothing, so the demo shows the machinery, not a finding:
directions are still well defined (the model separates harmful from harmless and
sensitive from control prompts), their geometry and probes are measurable, and the
lineage section compares the model with an in-memory copy orthogonalised against its
own harm direction (the shape of an "abliterated" fork), which is never written out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from latentwall.lab._ablation import orthogonalized_copy
from latentwall.lab._crawler import crawl
from latentwall.lab._model import load_model
from latentwall.lab._run import Lab, LabConfig, lineage_report, new_result

DEMO_SEEDS = {"en": "the 1989 Tiananmen Square protests", "zh-Hans": "六四事件"}


def run_demo(spec: str = "builtin", *, n: int = 12, threads: int | None = None,
             cache_dir: Path | None = None, log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    t0 = time.perf_counter()
    lm = load_model(spec, threads=threads)
    log(f"loaded {lm.name} in {time.perf_counter() - t0:.0f} s")
    # Small on purpose (2 CPU cores): directions are selected in English only, over the last
    # two template positions and every 4th layer; Chinese gets directions and cosines.
    cfg = LabConfig(langs=["en", "zh-Hans"], n=n, layer_stride=4, positions=["-2", "-1"],
                    max_new_tokens=24, n_perm=100, probe_perm=10, top_k=3, cache_dir=cache_dir,
                    behaviour_labels=False, select_langs=["en"])
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
        twin = orthogonalized_copy(lm, lab.selection("harm", "en")[2].direction[None, :])
        try:
            return lineage_report(lm, twin, n=4, behaviour=False)
        finally:
            del twin

    ln = step("lineage", lineage)
    ln["b"] = f"{lm.name} orthogonalised against its harm/en direction (in memory only)"

    def crawl_step() -> dict[str, Any]:
        from latentwall.targets import make_target

        target = make_target(spec, threads=threads)
        target.engine = lm.engine  # reuse the loaded weights; no second load
        return asyncio.run(crawl(target, [DEMO_SEEDS["en"]], ["en"], depth=1, breadth=3,
                                 max_nodes=8, answer_tokens=32, max_tokens=64)) | {
            "note": "zh-Hans crawl omitted in the demo for time; run `lab crawl --lang en,zh-Hans`"}

    cr = step("crawl", crawl_step)
    result = new_result(lab, directions=directions, geometry=geometry, probes=probes, tamper=tamper,
                        lineage=ln, crawl=cr)
    result["timings"].update({f"step_{k}_s": v for k, v in steps.items()})
    result["timings"]["total_s"] = round(time.perf_counter() - t0, 1)
    return result
