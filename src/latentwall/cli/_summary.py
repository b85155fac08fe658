"""`latentwall summary`: the summary table (or JSON) of runs already made."""

from __future__ import annotations

import argparse
from itertools import chain

from latentwall.cli._command import command, csv_list, print_json

BY_FIELDS = {"target", "run_id", "suite", "topic", "language", "category", "kind", "jurisdiction",
             "condition", "group", "risk_code", "hazard"}


def arguments(sm: argparse.ArgumentParser) -> None:
    sm.add_argument("runs", nargs="*", metavar="RUN")
    sm.add_argument("--run-dir", default=None)
    sm.add_argument("--json", action="store_true")
    sm.add_argument("--by", type=csv_list, default=["target", "suite", "language"],
                    help="breakdown fields (default target,suite,language; add topic, kind, category ...)")


@command("summary", "print the summary of one or more runs", arguments=arguments, order=80)
def handle(args: argparse.Namespace) -> int:
    from latentwall.analysis import (
        build_json_summary,
        corrector,
        summarise,
        summary_corrections,
        to_json,
    )
    from latentwall.errors import ConfigError
    from latentwall.report import print_summary
    from latentwall.store import resolve_runs

    refs = resolve_runs(args.runs, args.run_dir)
    if args.json:
        from latentwall.analysis import DEFAULT_BY, review_analysis, with_corrections

        rows = list(chain.from_iterable(r.results(others=True) for r in refs))
        # every group's corrected rates, where the runs have a random human sample
        doc = with_corrections(build_json_summary([r.meta() for r in refs], rows), rows, DEFAULT_BY)
        review = review_analysis(rows)
        if not review.not_applicable:  # human labels or a second judge: agreement, corrected rates
            doc["review"] = review.to_dict()
        print_json(doc)
        return 0
    bad = [b for b in args.by if b not in BY_FIELDS]
    if bad:
        raise ConfigError(f"--by: unknown field '{bad[0]}' (known: {', '.join(sorted(BY_FIELDS))})")
    rows = list(chain.from_iterable(r.results(others=True) for r in refs))
    k = corrector(rows)
    corrected = None if k is None else to_json(summary_corrections(k, rows, tuple(args.by)))
    print_summary(summarise(rows, by=tuple(args.by)), corrected=corrected)
    return 0
