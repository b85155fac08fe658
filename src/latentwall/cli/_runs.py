"""`latentwall runs`: the runs in a run directory."""

from __future__ import annotations

import argparse

from latentwall.cli._command import command, print_json, print_table
from latentwall.store import default_run_dir


def arguments(ls: argparse.ArgumentParser) -> None:
    ls.add_argument("--run-dir", default=None)
    ls.add_argument("--json", action="store_true")


@command("runs", "list the runs in a run directory", arguments=arguments, order=70)
def handle(args: argparse.Namespace) -> int:
    from latentwall.store import resolve_runs

    metas = [r.meta() for r in resolve_runs([], args.run_dir)]
    if args.json:
        print_json({"runs": metas})
        return 0
    print_table(f"runs in {args.run_dir or default_run_dir()}",
                ["run", "target", "suites", "status", "responses", "created"], [
        [m["run_id"], m["target"], ",".join(m["suites"]), m["status"],
         f"{m['counts'].get('responses', 0)}/{m.get('total') or '?'}", m["created"]]
        for m in metas
    ])
    return 0
