"""`latentwall rejudge`: a second judge's verdicts stored beside the first, with agreement."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from latentwall.cli._command import command
from latentwall.cli._review import _err, _positive, _print_blocks, _sources


def arguments(rj: argparse.ArgumentParser) -> None:
    rj.add_argument("runs", nargs="+", metavar="RUN")
    rj.add_argument("--judge", required=True, help="the second judge, e.g. llm:openai:MODEL@URL or markers:W.json")
    rj.add_argument("--sample", type=_positive, default=None, metavar="N",
                    help="judge a random sample of N responses (stratified by target × language × verdict)")
    rj.add_argument("--seed", type=int, default=0)
    rj.add_argument("--run-dir", default=None)
    rj.add_argument("--json", action="store_true")


@command("rejudge", "judge runs again with a second judge, stored beside the first; agreement",
         arguments=arguments, order=126)
def cmd_rejudge(args: argparse.Namespace) -> int:
    from latentwall.review import agreement_blocks, rejudge_run
    from latentwall.runner import PlainProgress, RichProgress

    results = []
    for s in _sources(args):
        bar = RichProgress() if sys.stderr.isatty() else PlainProgress()
        started: list[int] = []

        def progress(done: int, total: int, bar: Any = bar, started: list[int] = started,
                     run_id: str = s.run_id) -> None:
            if not started:
                bar.start(total, 0, f"rejudge {run_id}")
                started.append(0)
            bar.advance(done - started[0])
            started[0] = done

        try:
            results.append(rejudge_run(s, args.judge, sample=args.sample, seed=args.seed, on_progress=progress))
        finally:
            if started:
                bar.stop()
    if args.json:
        json.dump({"rejudge": [r.to_dict() for r in results]}, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        for r in results:
            _err(f"run {r.run_id}: {r.judged} judged by {r.judge} ({r.skipped} already were) of {r.selected}")
            _print_blocks(agreement_blocks(r.agreement))
    return 0
