"""`latentwall analyse`: every analysis of runs, as the analyses document."""

from __future__ import annotations

import argparse

from latentwall.cli._command import command, print_json, print_table


def arguments(an: argparse.ArgumentParser) -> None:
    an.add_argument("runs", nargs="*", metavar="RUN")
    an.add_argument("--run-dir", default=None)
    an.add_argument("--json", action="store_true")


@command("analyse", "every analysis of runs (splinter, paired gap, stance, regimes, ...)", arguments=arguments,
         order=110)
def handle(args: argparse.Namespace) -> int:
    from latentwall.analysis import document
    from latentwall.store import resolve_runs

    doc = document(resolve_runs(args.runs, args.run_dir))
    if args.json:
        print_json(doc, default=str)
        return 0
    rows = []
    for name, res in doc.items():
        if not isinstance(res, dict):
            continue
        na = res.get("not_applicable")
        rows.append([name, "not available: " + str(na) if na else "computed"])
    print_table("analyses (use --json for the figures, `latentwall report` for tables and charts)",
                ["analysis", "result"], rows)
    return 0
