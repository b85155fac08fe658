"""`latentwall report`: a self-contained HTML report of one or more runs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from latentwall.cli._command import command, say
from latentwall.store import RunRef


def arguments(rep: argparse.ArgumentParser) -> None:
    rep.add_argument("runs", nargs="*", metavar="RUN",
                     help="run id (or prefix) in --run-dir, or a run directory (all its runs); default: all runs")
    rep.add_argument("-o", "--output", default="report.html")
    rep.add_argument("--run-dir", default=None)
    rep.add_argument("--lab", default=None, metavar="LAB.json",
                     help="embed the white-box figures of a `latentwall lab` result")
    rep.add_argument("--regime-reference", default=None, metavar="TARGET[,TARGET…]",
                     help="user-chosen reference for the universal-safety grade: targets in these runs, "
                          "combined the MLCommons way (see `latentwall regimes --explain`)")
    rep.add_argument("--capability-baseline", default=None, metavar="TARGET",
                     help="the target the capability tax is measured against (default: the first)")
    rep.add_argument("--name", action="append", default=[], metavar="SPEC=NAME",
                     help="show target SPEC as NAME in tables and charts (repeatable; default: the model the "
                          "responses record, else the spec shortened; the spec stays in methods)")
    rep.add_argument("--figures", default=None, metavar="DIR",
                     help="also write every chart to DIR as SVG, PNG, CSV (the numbers) and a caption, "
                          "with an index figures.json (needs the report extra)")
    rep.add_argument("--max-responses", type=int, default=None, metavar="N",
                     help="inline at most N responses in the page, the rest browsable with `latentwall view` "
                          "(default 20,000; 0: all)")
    rep.add_argument("--embeddings", action="store_true",
                     help="embedding dispersion in the diversity section (needs an embedding model package)")


def write_runs_report(refs: list[RunRef], path: Path, extras: dict[str, Any] | None = None,
                      **options: Any) -> Path:
    """The report of runs: their metadata, and their results with narrative stance."""
    from latentwall.analysis import results_with_stance
    from latentwall.report import write_report

    return write_report([r.meta() for r in refs], lambda: results_with_stance(refs), path, extras=extras or {},
                        **options)


def parse_names(items: list[str]) -> dict[str, str]:
    """--name SPEC=NAME items as a mapping (the last '=' splits, so a spec may hold '=')."""
    from latentwall.errors import ConfigError

    out = {}
    for item in items:
        spec, sep, name = item.rpartition("=")
        if not sep or not spec.strip() or not name.strip():
            raise ConfigError(f"--name wants SPEC=NAME, got {item!r}")
        out[spec.strip()] = name.strip()
    return out


@command("report", "write a self-contained HTML report of one or more runs", arguments=arguments, order=60)
def handle(args: argparse.Namespace) -> int:
    from latentwall.errors import ConfigError, DataError
    from latentwall.store import resolve_runs

    refs = resolve_runs(args.runs, args.run_dir)
    extras: dict[str, Any] = {}
    if args.lab:
        try:
            extras["lab"] = json.loads(Path(args.lab).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read {args.lab}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise DataError(args.lab, exc.lineno, None, f"invalid JSON: {exc.msg}") from None
        if not isinstance(extras["lab"], dict) or extras["lab"].get("schema") != "latentwall.lab/1":
            raise ConfigError(f"{args.lab} is not a `latentwall lab` result (schema latentwall.lab/1)")
    if args.regime_reference:
        extras["regime_reference"] = args.regime_reference
    if args.capability_baseline:
        extras["capability_baseline"] = args.capability_baseline
    if args.embeddings:
        extras["diversity_embeddings"] = True
    options: dict[str, Any] = {"names": parse_names(args.name)}
    targets = {str(r.run.get("target", "")) for r in refs}
    for spec in sorted(set(options["names"]) - targets):
        say(f"warning: --name {spec}=…: no run in this report has target {spec!r} "
            f"(targets: {', '.join(sorted(targets))})")
    if args.max_responses is not None:
        if args.max_responses < 0:
            raise ConfigError("--max-responses must be 0 (all) or more")
        options["max_responses"] = args.max_responses or None
    if args.figures:
        from latentwall.report import matplotlib_available

        if not matplotlib_available():
            raise ConfigError("--figures needs matplotlib: install the report extra (pip install 'latentwall[report]')")
        options["figures_dir"] = args.figures
    out = write_runs_report(refs, Path(args.output), extras, **options)
    say(f"report of {len(refs)} run(s) written to {out}")
    if args.figures:
        say(f"figures written to {args.figures} (index: {Path(args.figures) / 'figures.json'})")
    return 0
