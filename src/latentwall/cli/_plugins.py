"""`latentwall targets`, `strategies`, `guards`: what is installed, from the registries."""

from __future__ import annotations

import argparse

from latentwall.cli._command import command, print_json, print_table


def _first_paragraph(cls: type) -> str:
    return " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())


@command("targets", "list target kinds and judges", order=160)
def targets(args: argparse.Namespace) -> int:
    from latentwall.judges import JUDGES
    from latentwall.targets import TARGETS

    print_table("target kinds (run -t SPEC; options with -O key=value)", ["kind", "spec", "what it is"],
                [[n, TARGETS.get(n).usage or n, _first_paragraph(TARGETS.get(n))] for n in TARGETS.names()])
    print_table("judges (run --judge NAME)", ["judge", "spec", "what it does"],
                [[n, JUDGES.get(n).usage or n, _first_paragraph(JUDGES.get(n))] for n in JUDGES.names()])
    return 0


@command("strategies", "list the strategies a condition can chain", order=170)
def strategies(args: argparse.Namespace) -> int:
    from latentwall.strategies import STRATEGIES

    rows = []
    for name in STRATEGIES.names():
        cls = STRATEGIES.get(name)
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        rows.append([name, "yes" if cls.needs_prefill else "", doc])
    print_table("strategies (chain with +, arguments after :)", ["strategy", "needs prefill", "what it does"], rows)
    return 0


def guard_arguments(gd: argparse.ArgumentParser) -> None:
    gd.add_argument("--json", action="store_true")


@command("guards", "list the guards and their keyword lists", arguments=guard_arguments, order=180)
def guards(args: argparse.Namespace) -> int:
    from latentwall.guards import guard_catalog, keyword_list_catalog

    catalog, lists = guard_catalog(), keyword_list_catalog()
    if args.json:
        print_json({"guards": catalog, "keyword_lists": lists}, default=str)
        return 0
    print_table("guards (use with run --guard NAME[:options])", ["guard", "what it does"],
                [[str(g.get("name", "")), str(g.get("summary", g.get("doc", "")))] for g in catalog])
    # Options are what a user writes after the colon; without them here they were only in --json.
    print_table("guard options (NAME:option=value,option=value)", ["guard", "option", "what it sets"],
                [[str(g.get("name", "")), str(opt), str(help_)] for g in catalog
                 for opt, help_ in (g.get("options") or {}).items()])
    print_table("keyword lists (keyword:lists=A+B)", ["list", "topics", "keywords"],
                [[str(k.get("name", "")),
                  ", ".join(f"{t} {n}" for t, n in (k.get("topics") or {}).items()),
                  str(k.get("keywords", ""))] for k in lists])
    return 0
