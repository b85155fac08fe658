"""`latentwall suites`: every suite with its probe counts."""

from __future__ import annotations

import argparse

from latentwall.cli._command import command, print_json, print_table


def arguments(s: argparse.ArgumentParser) -> None:
    s.add_argument("--json", action="store_true")


@command("suites", "list suites with probe counts by language and topic", arguments=arguments, order=50)
def handle(args: argparse.Namespace) -> int:
    from latentwall.suites import available_suites

    data = [s.counts() for s in available_suites().values()]
    if args.json:
        print_json({"schema": "latentwall.suites/1", "suites": data})
        return 0
    print_table("suites", ["suite", "probes", "languages", "topics", "categories"], [
        [d["name"], str(d["probes"]), ", ".join(f"{k} {v}" for k, v in d["by_language"].items()),
         str(len(d["by_topic"])), ", ".join(f"{k} {v}" for k, v in d["by_category"].items())]
        for d in data
    ])
    return 0
