"""`latentwall regimes`: the regime cards' rules, with their sources."""

from __future__ import annotations

import argparse

from latentwall.cli._command import command, print_json


def arguments(rg: argparse.ArgumentParser) -> None:
    rg.add_argument("--explain", action="store_true", help="every threshold with its source, risks and hazards")
    rg.add_argument("--json", action="store_true")


@command("regimes", "the regimes and the thresholds each card applies (--explain: sources)", arguments=arguments,
         order=150)
def handle(args: argparse.Namespace) -> int:
    from latentwall.standards import explain_lines, standards_dict

    if args.json:
        print_json(standards_dict())
        return 0
    print("\n".join(explain_lines(explain=args.explain)))
    return 0
