"""`latentwall judge IN.jsonl -o OUT.jsonl`: label any prompt/response file."""

from __future__ import annotations

import argparse
from pathlib import Path

from latentwall.cli._command import command, say
from latentwall.labels import DEFAULT_JUDGE


def arguments(j: argparse.ArgumentParser) -> None:
    j.add_argument("input", help="JSONL with prompt, response and optionally id, reasoning, language")
    j.add_argument("-o", "--output", required=True, help="output JSONL (each row plus label and rationale)")
    j.add_argument("--judge", default=DEFAULT_JUDGE, help="judge name (default markers)")


@command("judge", "label an existing prompt/response JSONL file", arguments=arguments, order=20)
def handle(args: argparse.Namespace) -> int:
    from latentwall.judges import judge_file

    outp = Path(args.output)
    n, counts = judge_file(Path(args.input), outp, args.judge)
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    say(f"judged {n} rows with {args.judge} → {outp}" + (f" ({summary})" if summary else ""))
    return 0
