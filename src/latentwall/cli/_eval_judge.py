"""`latentwall eval-judge`: a judge's figures on labelled data."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from latentwall.cli._command import command, out, print_json
from latentwall.labels import DEFAULT_JUDGE


def arguments(e: argparse.ArgumentParser) -> None:
    e.add_argument("--judge", default=DEFAULT_JUDGE)
    e.add_argument("--file", action="append", default=None,
                   help="labelled JSONL or JSONL.gz file(s) with prompt, response, label (default: the shipped sets)")
    e.add_argument("--holdout", action="store_true", help="measure on the blind held-out set")
    e.add_argument("--by", action="append", default=[], metavar="FIELD",
                   help="also slice by a field of the rows, e.g. --by model")
    e.add_argument("--compare", metavar="JUDGE", help="a second judge: report how often the two agree (Cohen's kappa)")
    e.add_argument("--misjudged", type=int, default=20, metavar="N", help="list the first N misjudged rows (default 20)")
    e.add_argument("--json", action="store_true")


@command("eval-judge", "a judge's macro-F1, accuracies, confusion and calibration on labelled data",
         arguments=arguments, order=30)
def handle(args: argparse.Namespace) -> int:
    from latentwall.judges import check_eval_file, evaluate_judge, holdout_path, make_judge

    paths = [Path(f) for f in args.file or []]
    for path in paths:  # an empty set would score 0% and exit 0: say what is wrong
        check_eval_file(path)
    if args.holdout:
        paths.append(holdout_path())
    judge = make_judge(args.judge)
    compare = make_judge(args.compare) if args.compare else None
    try:
        report = evaluate_judge(judge, paths or None, by=args.by, compare=compare)
    finally:
        for j in (judge, compare):
            if j is not None:
                _close_judge(j)
    if args.json:
        print_json(report.to_dict())
    else:
        out().print(report.render(misjudged=args.misjudged))
    return 0


def _close_judge(judge: Any) -> None:
    import asyncio

    try:
        asyncio.run(judge.close())
    except RuntimeError:
        pass
