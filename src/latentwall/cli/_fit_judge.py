"""`latentwall fit-judge`: refit the offline judge's weights on labelled data."""

from __future__ import annotations

import argparse
from pathlib import Path

from latentwall.cli._command import command, say


def arguments(fj: argparse.ArgumentParser) -> None:
    fj.add_argument("file", nargs="*", help="labelled JSONL or JSONL.gz file(s) (prompt, response, label)")
    fj.add_argument("-o", "--output", required=True, help="weights file to write (JSON)")
    fj.add_argument("--from-features", metavar="TABLE", help="fit on a feature table written by --features-out")
    fj.add_argument("--features-out", metavar="TABLE", help="also write the signals of every row (CSV, .gz to compress)")
    fj.add_argument("--report", metavar="JSON", help="also write the fit report (cross-validated and held-back figures)")
    fj.add_argument("-C", type=float, default=None, help="inverse regularisation strength (default 3)")
    fj.add_argument("--held-back", type=float, default=None, help="share of requests held back to measure (default 0.2)")


@command("fit-judge", "fit the offline judge's weights on labelled data", arguments=arguments, order=40)
def handle(args: argparse.Namespace) -> int:
    from latentwall.judges import refit

    out = Path(args.output)
    res = refit([Path(f) for f in args.file], out,
                from_features=Path(args.from_features) if args.from_features else None,
                features_out=Path(args.features_out) if args.features_out else None,
                report=Path(args.report) if args.report else None, c=args.C, held_back=args.held_back,
                on_read=lambda n: say(f"reading {n} labelled responses …"))
    back = res.report.get("held_back", {}).get("all")
    cv = res.report["cross_validated"]["all"]
    msg = (f"fitted on {res.model.meta['rows']['fitted']} rows from {len(res.report['sources'])} file(s) → {out}; "
           f"cross-validated macro-F1 {cv['macro_f1']:.3f}")
    if back:
        msg += f"; held back ({back['n']} rows) macro-F1 {back['macro_f1']:.3f}, ECE {back['ece']}"
    say(msg)
    say(f"use it with: --judge markers:{out}")
    return 0
