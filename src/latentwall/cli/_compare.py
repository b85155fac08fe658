"""`latentwall compare`: per-probe disagreements, paired tests and the topics that moved."""

from __future__ import annotations

import argparse
from itertools import chain

from latentwall.cli._command import command, out, print_json, say


def arguments(cp: argparse.ArgumentParser) -> None:
    cp.add_argument("runs", nargs="+", metavar="RUN", help="RUN_A RUN_B, or one RUN with --target-a/--target-b")
    cp.add_argument("--run-dir", default=None)
    cp.add_argument("--target-a", default=None, help="target label inside the run(s) for side A")
    cp.add_argument("--target-b", default=None, help="target label inside the run(s) for side B")
    cp.add_argument("--max-rows", type=int, default=20, help="rows per table in the terminal")
    cp.add_argument("--json", action="store_true")


@command("compare", "per-probe disagreements, paired tests and topics that moved between two runs",
         arguments=arguments, order=140)
def handle(args: argparse.Namespace) -> int:
    from latentwall.analysis import compare_runs, corrector
    from latentwall.errors import ConfigError
    from latentwall.report import render_compare
    from latentwall.store import resolve_runs

    if len(args.runs) > 2:
        raise ConfigError("compare takes RUN_A RUN_B, or one RUN with --target-a and --target-b")
    # reviewers' labels come along: with a random human sample the rates are also corrected
    if len(args.runs) == 1:
        if not (args.target_a and args.target_b):
            raise ConfigError("with one RUN, name the two targets to compare: --target-a T --target-b T")
        rows = list(chain.from_iterable(r.results(others=True) for r in resolve_runs(args.runs, args.run_dir)))
        res = compare_runs(rows, None, target_a=args.target_a, target_b=args.target_b, corrector=corrector(rows))
    else:
        rows_a = list(chain.from_iterable(r.results(others=True) for r in resolve_runs([args.runs[0]], args.run_dir)))
        rows_b = list(chain.from_iterable(r.results(others=True) for r in resolve_runs([args.runs[1]], args.run_dir)))
        res = compare_runs(rows_a, rows_b, target_a=args.target_a, target_b=args.target_b,
                           label_a=args.runs[0], label_b=args.runs[1], corrector=corrector(rows_a + rows_b))
    if args.json:
        print_json(res.to_dict())
    else:
        render_compare(res, out(), max_rows=args.max_rows)
    if res.reason:
        say(f"cannot compare: {res.reason}")
        return 1
    return 0
