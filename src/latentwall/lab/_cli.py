"""`latentwall lab …`: the white-box lab on the command line.

`register(subparsers)` only builds argparse parsers (no torch import), so the core CLI
starts fast and works without the `models` extra; the heavy modules load when a lab
command actually runs.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from pathlib import Path
from typing import Any

from latentwall.errors import ConfigError, LatentwallError
from latentwall.labels import DEFAULT_JUDGE


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _common(p: argparse.ArgumentParser, model: bool = True) -> None:
    if model:
        p.add_argument("-m", "--model", default="builtin", help="builtin | hf:PATH (default builtin)")
    p.add_argument("--device", default="cpu", help="cpu | cuda[:N] (default cpu)")
    p.add_argument("--dtype", default="float32", help="float32 (default) | bfloat16 | float16 | auto")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--judge", default=DEFAULT_JUDGE, help="judge for refusals of generated answers")
    p.add_argument("--max-new-tokens", type=int, default=48, help="tokens generated per judged answer")


# "-2,-1,gen" looks like an option to argparse (it starts with '-' and is no plain
# negative number), so `--positions -2,-1,gen` failed; position lists count as values.
_POSITION_LIST = re.compile(r"^-\d+([.,].*)?$")


def _study(p: argparse.ArgumentParser) -> None:
    p._negative_number_matcher = _POSITION_LIST  # type: ignore[attr-defined]
    _common(p)
    p.add_argument("--harm-suite", default=None, help="harmful prompts (default hazards, else starter)")
    p.add_argument("--harmless-suite", default=None, help="harmless prompts (default lookalikes, else controls, starter)")
    p.add_argument("--political-suite", default=None, help="sensitive prompts (default china, else starter)")
    p.add_argument("--control-suite", default=None, help="matched controls (default controls, else lookalikes, starter)")
    p.add_argument("--capability-suite", default=None, help="capability probes (default capability, if present)")
    p.add_argument("--political-topics", type=_csv, default=None,
                   help="only these topics of the political suite, e.g. tiananmen-1989,xinjiang-camps")
    p.add_argument("--lang", type=_csv, default=["en"], help="languages, e.g. en,zh-Hans (default en)")
    p.add_argument("--n", type=int, default=32, help="prompts per set and language (default 32)")
    p.add_argument("--layer-stride", type=int, default=1, help="evaluate every Nth layer as a candidate")
    p.add_argument("--positions", type=_csv, default=None, help="candidate positions, e.g. -1,gen (default all)")
    p.add_argument("--kl-max", type=float, default=0.1)
    p.add_argument("--top-k", type=int, default=3, help="rank of the top-k ablation (default 3)")
    p.add_argument("--n-perm", type=int, default=200, help="permutations for the cosine null")
    p.add_argument("--select-lang", type=_csv, default=None,
                   help="languages where a direction is selected and ablated (default: every --lang)")
    p.add_argument("--expected-labels", action="store_true",
                   help="train 'will refuse' probes on suite labels, not on judged answers (faster)")
    p.add_argument("--cache", default=None, help="activation cache directory (default ~/.cache/latentwall/lab)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the activation cache")
    p.add_argument("-o", "--output", default="lab.json", help="result JSON (schema latentwall.lab/1)")
    p.add_argument("--html", default=None, help="also write a standalone HTML page with the figures")


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `lab` command and its subcommands to the main CLI's subparsers."""
    lab = subparsers.add_parser("lab", help="white-box lab: refusal directions, probes, ablation, lineage, crawler")
    sub = lab.add_subparsers(dest="lab_command", metavar="SUBCOMMAND")
    for name, text in (("directions", "difference-of-means refusal directions and the selected one"),
                       ("geometry", "political vs harm direction cosines, languages, cross-ablation"),
                       ("probes", "per-layer linear probes for 'will refuse' and 'politically sensitive'"),
                       ("tamper", "how cheaply each guardrail comes off under directional ablation"),
                       ("all", "directions, geometry, probes and tamper in one run")):
        _study(sub.add_parser(name, help=text))
    ln = sub.add_parser("lineage", help="is checkpoint B a modified fork of checkpoint A?")
    _common(ln, model=False)
    ln.add_argument("-a", required=True, help="checkpoint A (builtin | hf:PATH)")
    ln.add_argument("-b", required=True, help="checkpoint B (builtin | hf:PATH)")
    ln.add_argument("--suites", type=_csv, default=["starter"], help="suites for KL and behaviour (default starter)")
    ln.add_argument("--lang", type=_csv, default=["en"])
    ln.add_argument("--n", type=int, default=8, help="prompts per suite, role and language")
    ln.add_argument("--no-behaviour", action="store_true", help="skip the generated-answer comparison")
    ln.add_argument("-o", "--output", default="lab-lineage.json")
    ln.add_argument("--html", default=None)
    cr = sub.add_parser("crawl", help="forbidden-topic crawler from seed topics")
    cr.add_argument("-m", "--model", default="builtin",
                    help="builtin | hf:PATH | openai:MODEL@URL (needs prefill support)")
    cr.add_argument("--seed", dest="seeds", action="append", required=True,
                    help="seed topic (repeatable); LANG=TEXT pins it to one language, an untagged seed goes "
                         "to the languages of its script (seeds are never translated)")
    cr.add_argument("--lang", type=_csv, default=["en"], help="en, zh-Hans, zh-Hant (comma-separated)")
    cr.add_argument("--depth", type=int, default=2)
    cr.add_argument("--breadth", type=int, default=5, help="new topics taken per expansion")
    cr.add_argument("--max-nodes", type=int, default=60)
    cr.add_argument("--expand", choices=("all", "refused"), default="all")
    cr.add_argument("--judge", default=DEFAULT_JUDGE)
    cr.add_argument("--max-new-tokens", type=int, default=64)
    cr.add_argument("--batch-size", type=int, default=8)
    cr.add_argument("-o", "--output", default="lab-crawl.json")
    cr.add_argument("--html", default=None)
    de = sub.add_parser("demo", help="small end-to-end lab run on the censorship organism -> HTML page")
    de.add_argument("-m", "--model", default="builtin:organism",
                    help="builtin:organism (default: planted censorship, a known answer) or builtin")
    de.add_argument("-o", "--output", default="lab-report.html")
    de.add_argument("--json", default=None, help="also write the result JSON")
    de.add_argument("--threads", type=int, default=None)
    de.add_argument("--n", type=int, default=12, help="prompts per set and language (default 12)")
    de.add_argument("--cache", default=None)
    de.add_argument("--no-cache", action="store_true")
    org = sub.add_parser("organism", help="the censorship organism: build its adapter, show what it plants")
    org_sub = org.add_subparsers(dest="organism_command", metavar="ACTION")
    ob = org_sub.add_parser("build", help="train the organism's LoRA adapter (deterministic; about 35 minutes on 2 cores)")
    ob.add_argument("-o", "--output", default="organism-adapter",
                    help="folder for adapter_config.json, adapter_model.safetensors and manifest.json "
                         "(the shipped copy lives in src/latentwall/lab/data/organism)")
    ob.add_argument("--plan", default=None, help="plan YAML (default: the shipped plan.yaml)")
    org_sub.add_parser("show", help="what the organism plants, in which wording, and the shipped adapter's manifest")
    org.set_defaults(organism_parser=org)
    lab.set_defaults(lab_parser=lab, handler=run)
    return lab


def run(args: argparse.Namespace) -> int:
    """Dispatch a parsed `lab` command; errors are LatentwallError (one line in the main CLI)."""
    cmd = getattr(args, "lab_command", None)
    if not cmd:
        args.lab_parser.print_help()
        return 2
    try:
        import numpy  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise LatentwallError(f"the lab needs torch, transformers and numpy ({exc.name} missing); "
                              "install the models extra: pip install 'latentwall[models]'") from None
    handler = {"directions": _cmd_study, "geometry": _cmd_study, "probes": _cmd_study,
               "tamper": _cmd_study, "all": _cmd_study, "lineage": _cmd_lineage,
               "crawl": _cmd_crawl, "demo": _cmd_demo, "organism": _cmd_organism}[cmd]
    return handler(args)


def _cache(args: argparse.Namespace) -> Path | None:
    if args.no_cache:
        return None
    from latentwall.lab._activations import default_cache_dir

    return Path(args.cache) if args.cache else default_cache_dir()


def _write(result: dict[str, Any], out: str | None, html_path: str | None) -> None:
    from latentwall.lab._report import write_html, write_json

    if out:
        write_json(result, out)
        print(f"wrote {out}", file=sys.stderr)
    if html_path:
        write_html(result, html_path)
        print(f"wrote {html_path}", file=sys.stderr)


def _cmd_study(args: argparse.Namespace) -> int:
    from latentwall.lab._model import load_model
    from latentwall.lab._run import Lab, LabConfig, new_result

    if args.n < 2:
        raise ConfigError("--n must be at least 2")
    lm = load_model(args.model, device=args.device, dtype=args.dtype, threads=args.threads)
    cfg = LabConfig(langs=args.lang, n=args.n, batch_size=args.batch_size, layer_stride=args.layer_stride,
                    positions=args.positions, kl_max=args.kl_max, max_new_tokens=args.max_new_tokens,
                    judge=args.judge, top_k=args.top_k, n_perm=args.n_perm, cache_dir=_cache(args),
                    select_langs=args.select_lang, behaviour_labels=not args.expected_labels,
                    suites={"harm": args.harm_suite, "harmless": args.harmless_suite,
                            "political": args.political_suite, "control": args.control_suite,
                            "capability": args.capability_suite},
                    topics={"political": args.political_topics})
    lab = Lab(lm, cfg)
    cmd = args.lab_command
    sections: dict[str, Any] = {"directions": lab.directions()}
    if cmd in ("geometry", "all"):
        sections["geometry"] = lab.geometry()
    if cmd in ("probes", "all"):
        sections["probes"] = lab.probes()
    if cmd in ("tamper", "all"):
        sections["tamper"] = lab.tamper()
    result = new_result(lab, **sections)
    _write(result, args.output, args.html)
    for key, d in result["directions"].items():
        sel = d["selected"]
        if not sel:
            continue
        print(f"{key}: position {sel['position']}, layer {sel['layer']}, "
              f"bypass {(sel['scores'] or {}).get('bypass')}")
    return 0


def _cmd_lineage(args: argparse.Namespace) -> int:
    from latentwall.lab._model import load_model
    from latentwall.lab._run import lineage_report, new_result

    a = load_model(args.a, device=args.device, dtype=args.dtype, threads=args.threads)
    b = load_model(args.b, device=args.device, dtype=args.dtype, threads=args.threads)
    ln = lineage_report(a, b, suites=args.suites, langs=args.lang, n=args.n,
                        behaviour=not args.no_behaviour, judge=args.judge,
                        max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)
    result = new_result(None, model={"name": a.name, "spec": args.a}, lineage=ln)
    _write(result, args.output, args.html)
    w = ln["weights"]
    print(f"verdict: {w['verdict']} ({w['why']})")
    if w["verdict"] != "identical":
        print(f"where: {w['where']['text']} ({w['changed_tensors']} of {w['tensors']} tensors changed)")
    return 0


def _cmd_crawl(args: argparse.Namespace) -> int:
    from latentwall.lab._crawler import crawl
    from latentwall.lab._run import new_result
    from latentwall.targets import make_target

    target = make_target(args.model)

    async def go() -> dict[str, Any]:
        try:
            return await crawl(target, args.seeds, args.lang, depth=args.depth, breadth=args.breadth,
                               max_nodes=args.max_nodes, judge=args.judge, expand=args.expand,
                               answer_tokens=args.max_new_tokens, batch=args.batch_size)
        finally:
            await target.close()

    res = asyncio.run(go())
    result = new_result(None, model={"name": target.label, "spec": args.model}, crawl=res)
    _write(result, args.output, args.html)
    refused = [n for n in res["nodes"] if n["refusal"]["k"]]
    for w in res.get("warnings", []):
        print(f"warning: {w}", file=sys.stderr)
    print(f"{len(res['nodes'])} topics to depth {res['max_depth_reached']}, {len(refused)} refused at least once, "
          f"{len(res['refused_unlisted'])} refused and in no suite")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from latentwall.lab._demo import run_demo

    t0 = time.perf_counter()
    result = run_demo(args.model, n=args.n, threads=args.threads, cache_dir=_cache(args),
                      log=lambda m: print(m, file=sys.stderr))
    _write(result, args.json, args.output)
    print(f"demo finished in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return 0


def _cmd_organism(args: argparse.Namespace) -> int:
    action = getattr(args, "organism_command", None)
    if not action:
        args.organism_parser.print_help()
        return 2
    from latentwall.lab._organism import build, describe

    if action == "show":
        print(describe())
        return 0
    try:
        import peft  # noqa: F401
    except ImportError:
        raise LatentwallError("building the organism needs peft; install the models extra: "
                              "pip install 'latentwall[models]'") from None
    manifest = build(args.output, plan_path=args.plan, log=lambda m: print(m, file=sys.stderr))
    print(f"organism adapter in {args.output}: sha256 {manifest['adapter_sha256'][:16]}, "
          f"{manifest['steps']} steps, loss {manifest['loss_first10']} -> {manifest['loss_last10']}, "
          f"{manifest['build_s']:.0f} s")
    return 0
