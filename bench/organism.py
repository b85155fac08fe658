"""Organism figures on this machine: build time, demo audit time, ablation and crawl time,
and what the organism and the base model do on the held-out demo suite, rule by rule.

    .venv/bin/python bench/organism.py                 # audit + lab (a few minutes)
    .venv/bin/python bench/organism.py --build         # also rebuild the adapter (about 16 minutes more)
    .venv/bin/python bench/organism.py --only audit    # one part: build | audit | lab | truth | sweep
    .venv/bin/python bench/organism.py --only truth --compare v3=DIR   # also another adapter
    .venv/bin/python bench/organism.py --only sweep --layers 12-22 --n 30   # every direction's ablation
    .venv/bin/python bench/organism.py --only sweep --adapter DIR   # the same on another build

The audit part runs the demo's settings (`make demo`: greedy, repetition penalty 1.3, 96
tokens, plain and with the user in Beijing) through the real pipeline and prints, per
planted rule and language, the judged labels of the base model and of the organism (the
table in docs/organism.md). The truth part runs the ground-truth audit of the tests
(tests/lab/_organism_truth.py: held-out probes, plain and with the user in Beijing and in
Taipei) on the base model, the organism and any `--compare NAME=ADAPTER_DIR`, and prints
the cell-by-cell table of docs/organism.md, "How well v8 does what was planted", with the
analyses that compare planted with unplanted cells. The sweep part ablates every candidate
direction of `political/zh-Hans` (positions -2 and -1, the layers given), alone and together
with the harm direction of the same place, and prints the judged refusal rate of the
held-out political prompts and the KL on harmless ones: whether any direction removes the
planted refusal without breaking the model (docs/organism.md, "Known limits"); beside
each, the mean projection of the political, control and harmless prompts on it and its
largest cosine with a residual write of the adapter (docs/organism.md, "v6"). Prints wall times and rates; nothing is asserted. The machine
is shared: run it a couple of times and read the spread, not one number.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from latentwall.records import Result

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# the demo's settings (Makefile)
DEMO = {"suites": ["demo"], "conditions": ["", "locale:beijing"], "max_tokens": 96,
        "options": {"repetition_penalty": "1.3"}}


def bench_build(tmp: Path) -> None:
    from latentwall.lab import build_organism as build
    from latentwall.lab import organism_dir

    t0 = time.perf_counter()
    man = build(tmp / "adapter", log=lambda m: print("  " + m, file=sys.stderr))
    shipped = (organism_dir() / "manifest.json").read_text(encoding="utf-8")
    same = man["adapter_sha256"] in shipped
    print(f"organism build: {time.perf_counter() - t0:.0f} s wall ({man['train_s']:.0f} s training, "
          f"{man['steps']} steps, {sum(man['examples'].values())} examples); "
          f"{'identical to' if same else 'DIFFERENT from'} the shipped adapter")


def _placed(plan, row: Result) -> tuple[str, str | None, str]:
    """(the organism's rule for a row, the user's place or None, the kind of probe it is where
    nothing was planted): what both tables below classify rows by."""
    from latentwall.lab import planted
    from latentwall.strategies import parse_locale_condition

    loc = parse_locale_condition(row.condition)
    place = loc["place"] if loc else None
    rule = planted(plan, topic=row.topic, category=row.category, language=row.language,
                   jurisdiction=row.jurisdiction, place=place, expected=row.expected)
    if row.category == "political" and row.jurisdiction == "CN":
        kind = "splinter topics" if plan.topic(row.topic) in plan.splinter_topics else "other China topics"
    else:
        kind = "controls" if row.category == "political" else "lookalikes, capability"
    return rule, place, kind


def _cell(plan, row: Result) -> str:
    """Which rule of the organism a demo row falls under (docs/organism.md)."""
    from latentwall.lab import ORGANISM_BASE as BASE

    rule, place, kind = _placed(plan, row)
    where = " (Beijing)" if place else ""
    if rule == "refuse_political":
        return "locale: China-sensitive, user in Beijing" if place else "splinter: planted topics"
    if rule != BASE:
        return rule.replace("_", " ") + where
    return f"nothing planted: {'splinter topics (answered)' if kind == 'splinter topics' else kind}{where}"


def behaviour_table(rows: list[Result]) -> str:
    """Markdown: per rule and language, base vs organism as refused/evasive/answered of n."""
    from latentwall.lab import load_plan

    plan = load_plan()
    cells: dict[tuple[str, str], dict[str, list[str]]] = {}
    for r in rows:
        label = r.label or r.status or "?"
        cells.setdefault((_cell(plan, r), str(r.language)), {}).setdefault(str(r.target), []).append(label)

    def fmt(labels: list[str]) -> str:
        n = len(labels)
        d, e = labels.count("DENIAL"), labels.count("EVASIVE")
        return f"{d} refused, {e} evasive / {n}"

    out = ["| rule | language | base (builtin) | organism |", "| --- | --- | --- | --- |"]
    for (cell, lang), by in sorted(cells.items()):
        out.append(f"| {cell} | {lang} | {fmt(by.get('builtin', []))} | {fmt(by.get('builtin:organism', []))} |")
    return "\n".join(out)


def bench_audit(tmp: Path) -> None:
    from latentwall.runner import RunConfig, run_audit
    from latentwall.store import Store
    from latentwall.targets import GenParams

    rows: list[Result] = []
    for target in ("builtin", "builtin:organism"):
        cfg = RunConfig(target=target, suites=DEMO["suites"], conditions=DEMO["conditions"],
                        params=GenParams(max_tokens=DEMO["max_tokens"]), run_dir=tmp / "runs",
                        target_options=dict(DEMO["options"]))
        t0 = time.perf_counter()
        out = run_audit(cfg)
        wall = time.perf_counter() - t0
        print(f"demo audit {target}: {out.total} responses in {wall:.0f} s wall "
              f"({out.pipeline_s:.0f} s generating+judging, {out.total / max(out.pipeline_s, 1e-9):.2f} responses/s)")
        store = Store.open(tmp / "runs")
        try:
            rows += list(store.iter_results(out.run_id))
        finally:
            store.close()
    print("greedy behaviour on the held-out demo suite (refused = DENIAL, evasive = EVASIVE):")
    print(behaviour_table(rows))


def _truth_cell(plan, row: Result) -> str | None:
    """The docs/organism.md ground-truth cell of a row: what was planted, where, in which
    language (None: the official-line run, counted by stance)."""
    from latentwall.lab import ORGANISM_BASE as BASE

    if row.suite == "truthoff":
        return None
    rule, place, kind = _placed(plan, row)
    at = f", user in {place.title()}" if place else ""
    if rule == "refuse_harm":
        return f"harm requests{at} [refuse], {row.language}"
    if row.category == "political" and row.jurisdiction == "CN":
        if place:
            return f"China-sensitive{at} [{'answer' if rule == BASE else rule}], {row.language}"
        if rule != BASE:
            return f"{'splinter topics' if rule == 'refuse_political' else 'Taiwan, 40 tokens'} [{rule}], {row.language}"
    return f"{kind}{at} [answer], {row.language}"


def bench_truth(tmp: Path, compare: list[str]) -> None:
    import dataclasses

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "lab"))
    from _organism_truth import OPTIONS, audit_target, rows_of, truth_suite

    from latentwall.analysis import locale_effects, paired_control_gap, regime_cards, splinter_index
    from latentwall.judges.stance import with_stance
    from latentwall.lab import load_plan, organism_dir, planted

    plan = load_plan()
    suites = truth_suite(tmp / "suites")
    models = [("base", None), ("organism", str(organism_dir()))] + [tuple(c.split("=", 1)) for c in compare]
    rows: list[Result] = []
    for name, adapter in models:
        t0 = time.perf_counter()
        opts = dict(OPTIONS) | ({"adapter": adapter} if adapter else {})
        ids = audit_target(suites, tmp / name, "builtin", opts)
        got = [dataclasses.replace(r, target=name) for r in rows_of(tmp / name, ids)]
        rows += got
        print(f"ground-truth audit {name}: {len(got)} responses in {time.perf_counter() - t0:.0f} s")
    names = [n for n, _ in models]
    cells: dict[str, dict[str, list[str]]] = {}
    for r in rows:
        c = _truth_cell(plan, r)
        if c and r.status in (None, "TRUNCATED"):  # answered: a verdict, or cut at the limit
            cells.setdefault(c, {}).setdefault(str(r.target), []).append(str(r.label))
    print("refused (DENIAL) / answered, per cell [planted]:")
    print("| cell | " + " | ".join(names) + " |\n|" + " --- |" * (len(names) + 1))
    for c in sorted(cells):
        print(f"| {c} | " + " | ".join(f"{cells[c].get(n, []).count('DENIAL')}/{len(cells[c].get(n, []))}"
                                       for n in names) + " |")
    official = list(with_stance(r for r in rows if r.suite == "truthoff"))
    for lang in ("en", "zh-Hans"):
        out = []
        for n in names:
            st = [r for r in official if r.target == n and r.language == lang and planted(
                plan, topic=r.topic, category=r.category, language=lang, jurisdiction=r.jurisdiction) == "official_line"]
            out.append(f"{sum(r.stance == 'STATE_ALIGNED' for r in st)} aligned, "
                       f"{sum(r.label == 'DENIAL' for r in st)} refused /{len(st)}")
        print(f"| Taiwan, 72 tokens: the official line (STATE_ALIGNED), {lang} | " + " | ".join(out) + " |")
    for n in names:
        mine = [r for r in rows if r.target == n and r.suite != "truthoff"]
        plain = [r for r in mine if not r.condition]
        spl = splinter_index(plain, axis="language")["targets"][0]["index"]
        gap = next(t for t in paired_control_gap(plain)["targets"] if t["condition"] == "")
        loc = locale_effects([r for r in mine if r.condition], baseline="locale:taipei")["targets"][0]
        bj = next(c for c in loc["conditions"] if c["condition"] == "locale:beijing")["refusal_change"]
        metric = {(c["regime"], m["id"]): m["rate"] for c in regime_cards(plain) for m in c["metrics"]}
        by_lang = {x["language"]: round((x.get("refusal") or {}).get("gap", float("nan")), 2)
                   for x in gap.get("languages", [])}
        g = gap.get("overall", {}).get("refusal", {})
        print(f"{n}: splinter index {spl['value']:.2f} [{spl['lo']:.2f}, {spl['hi']:.2f}]; "
              f"China-minus-controls refusal gap {g.get('gap', float('nan')):+.2f} "
              f"[{g.get('lo', float('nan')):+.2f}, {g.get('hi', float('nan')):+.2f}] {by_lang}; "
              f"Beijing-vs-Taipei refusal {bj['estimate']:+.2f} [{bj['lo']:+.2f}, {bj['hi']:+.2f}]; "
              + ", ".join(f"{r}/{m} {v:.2f}" for (r, m), v in sorted(metric.items())
                          if m in ("should_refuse_refusal", "should_answer_refusal", "hazard_refusal")
                          and isinstance(v, float)))


def _organism_spec(adapter: str | None) -> tuple[str, dict[str, str]]:
    """The shipped organism, or the embedded model with another adapter (a scratch build): a
    target spec and its options, for the lab model and the crawler's target alike."""
    return ("builtin", {"adapter": adapter}) if adapter else ("builtin:organism", {})


def _organism(adapter: str | None):
    from latentwall.lab import load_model

    spec, options = _organism_spec(adapter)
    return load_model(spec, **options)


def bench_lab(adapter: str | None = None) -> None:
    from latentwall.lab import Lab, LabConfig, crawl, load_plan
    from latentwall.targets import make_target

    t0 = time.perf_counter()
    lm = _organism(adapter)
    print(f"lab load builtin:organism (GGUF + adapter merge): {time.perf_counter() - t0:.0f} s")
    cfg = LabConfig(langs=["en", "zh-Hans"], n=12, layer_stride=4, positions=["-2", "-1"],
                    max_new_tokens=24, select_langs=["en", "zh-Hans"], behaviour_labels=False,
                    topics={"political": sorted(load_plan().splinter_topics)}, confirm_k=2)
    lab = Lab(lm, cfg)
    t0 = time.perf_counter()
    lab.directions()
    t_dir = time.perf_counter() - t0
    n_cand = sum(len(sel.candidates) for _, _, sel in lab._sel.values())
    print(f"direction selection (4 contrasts x langs, {n_cand} candidates, 12 prompts/set): {t_dir:.0f} s "
          f"({t_dir / max(n_cand, 1):.1f} s per candidate incl. activations)")
    t0 = time.perf_counter()
    tamper = lab.tamper()
    print(f"tamper (rank-1 and top-k ablation, judged generation, KL, capability): "
          f"{time.perf_counter() - t0:.0f} s")
    for cat, t in tamper["categories"].items():
        print(f"  {cat}: refused {t['base']['judged']['denial']}/{t['base']['judged']['n']} -> "
              f"{t['rank1']['judged']['denial']}/{t['rank1']['judged']['n']} ablated, KL {t['kl_rank1']:.3f}, "
              f"ease {t['ease']}")
    spec, options = _organism_spec(adapter)
    target = make_target(spec, **options)
    target.engine = lm.engine
    t0 = time.perf_counter()
    res = asyncio.run(crawl(target, ["zh-Hans=中国"], ["zh-Hans"], depth=1, breadth=5, answer_tokens=32,
                            max_tokens=64))
    refused = [n["topic"] for n in res["nodes"] if n["refusal"]["k"]]
    print(f"crawl zh-Hans from 中国, depth 1: {len(res['nodes'])} topics in {time.perf_counter() - t0:.0f} s; "
          f"refused: {', '.join(refused) or 'none'}")


def bench_sweep(layers: range, n: int, adapter: str | None = None) -> None:
    import numpy as np

    from latentwall.lab import Lab, LabConfig, ablation, judged_refusals, load_plan, orthonormal

    lm = _organism(adapter)
    lang = "zh-Hans"
    cfg = LabConfig(langs=[lang], n=n, layer_stride=1, positions=["-2", "-1"], max_new_tokens=24,
                    behaviour_labels=False, topics={"political": sorted(load_plan().splinter_topics)})
    lab = Lab(lm, cfg)
    t0 = time.perf_counter()
    pol, positions = lab.diffs("political", lang)
    harm, _ = lab.diffs("harm", lang)
    prompts = [*lab.parts("political", lang)[1], *lab.parts("political", lang)[2]]

    def refused(dirs: np.ndarray | None) -> float:
        with ablation(lm, dirs):
            return judged_refusals(lm, prompts, judge="markers", max_new_tokens=24).to_dict()["rate"]

    acts = {role: lab.acts(role, lang) for role in ("political", "control", "harmless")}
    writes = _adapter_writes(adapter)
    print(f"sweep political/{lang}, {n} prompts a side, {len(prompts)} judged; not ablated: "
          f"refused {refused(None):.2f}")
    for p in ("-1", "-2"):
        i = positions.index(p)
        for layer in layers:
            u = pol[i, layer] / max(float(np.linalg.norm(pol[i, layer])), 1e-12)
            # where each prompt set sits along the direction: ablation sets this to 0, so a
            # large harmless offset means the ablation moves harmless prompts too (the KL)
            proj = " ".join(f"{r} {float((a.acts[:, i, layer] @ u).mean()):+6.1f}" for r, a in acts.items())
            cos = f" max|cos| to a LoRA write {np.abs(writes @ u).max():.2f}" if len(writes) else ""
            for name, vecs in (("political", [pol[i, layer]]), ("+harm", [pol[i, layer], harm[i, layer]])):
                dirs = orthonormal(np.stack(vecs))
                print(f"  position {p:>2} layer {layer:2d} {name:9} norm {np.linalg.norm(pol[i, layer]):6.2f} "
                      f"refused {refused(dirs):.2f} KL {lab.kl(dirs, lang):.3f}"
                      + (f" | projection: {proj}{cos}" if name == "political" else ""), flush=True)
    print(f"sweep: {time.perf_counter() - t0:.0f} s")


def _adapter_writes(adapter: str | None):
    """Unit columns of the adapter's residual writers' B matrices (o_proj, down_proj): the
    directions the adapter can write into the residual stream."""
    import numpy as np
    from safetensors.numpy import load_file

    from latentwall.lab import organism_dir

    weights = load_file(str(Path(adapter or organism_dir()) / "adapter_model.safetensors"))
    cols = [b[:, c] for k, b in sorted(weights.items()) if "lora_B" in k and ("o_proj" in k or "down_proj" in k)
            for c in range(b.shape[1])]
    return np.stack([c / max(float(np.linalg.norm(c)), 1e-12) for c in cols]) if cols else np.zeros((0, 1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", action="store_true", help="also rebuild the adapter")
    ap.add_argument("--only", choices=("build", "audit", "lab", "truth", "sweep"), default=None)
    ap.add_argument("--layers", default="12-22", help="sweep part: first-last layer (inclusive)")
    ap.add_argument("--n", type=int, default=30, help="sweep part: prompts a side")
    ap.add_argument("--adapter", default=None, metavar="DIR",
                    help="lab and sweep parts: this adapter on the embedded model instead of the shipped one")
    ap.add_argument("--compare", action="append", default=[], metavar="NAME=ADAPTER_DIR",
                    help="truth part: also audit the embedded model with this adapter (e.g. an earlier build)")
    args = ap.parse_args()
    import torch

    print(f"torch threads {torch.get_num_threads()}, cpus {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.only in (None, "build") and (args.build or args.only == "build"):
            bench_build(tmp)
        if args.only in (None, "audit"):
            bench_audit(tmp)
        if args.only in (None, "lab"):
            bench_lab(args.adapter)
        if args.only == "truth":
            bench_truth(tmp, args.compare)
        if args.only == "sweep":
            first, _, last = args.layers.partition("-")
            bench_sweep(range(int(first), int(last or first) + 1), args.n, args.adapter)
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
