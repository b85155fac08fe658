"""`latentwall review`: human labels, their export and import, agreement and corrected rates.

Handlers import what they need, so `latentwall --help` stays instant. Runs are resolved
as every other command resolves them (`store.resolve_runs`). `rejudge` is `_rejudge.py`.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from latentwall.cli._command import command
from latentwall.cli._command import csv_list as _csv
from latentwall.cli._command import print_table as _print_table
from latentwall.errors import ConfigError

REVIEWER_ENV = "LATENTWALL_REVIEWER"
GROUP_FIELDS = ("target", "language", "topic", "suite", "category", "run_id", "condition")  # ReviewRow.get


def _part(value: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)/(\d+)", value.strip())
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise argparse.ArgumentTypeError("use I/K with 1 <= I <= K, e.g. 2/3")
    return int(m.group(1)), int(m.group(2))


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def arguments(rv: argparse.ArgumentParser) -> None:
    rv.add_argument("runs", nargs="*", metavar="RUN", help="run id (or prefix) or run directory; default: all runs")
    rv.add_argument("--run-dir", default=None)
    rv.add_argument("--name", default=None, help=f"reviewer name: labels are stored as judge human:NAME "
                                                 f"(default ${REVIEWER_ENV}, else your user name)")
    rv.add_argument("--queue", choices=["random", "triage"], default="random",
                    help="random: the stratified sample the corrected rates use (default); "
                         "triage: low confidence and judge disagreements first, to find errors")
    rv.add_argument("--sample", type=_positive, default=None, metavar="N",
                    help="size of the random sample (default: enough for ±5 points per target × language × verdict cell)")
    rv.add_argument("--seed", type=int, default=0, help="sample seed (default 0); the same seed gives the same sample")
    rv.add_argument("--strata", type=_csv, default=["target", "language"],
                    help="fields the sample is stratified by, besides the verdict (default target,language)")
    rv.add_argument("--blind", action="store_true",
                    help="hide the judge's verdict, confidence and rationale (no anchoring; recommended for the random queue)")
    rv.add_argument("--part", type=_part, default=None, metavar="I/K",
                    help="take the I-th of K disjoint shares of the queue (split the work in a team)")
    rv.add_argument("--second", default=None, metavar="JUDGE",
                    help="the second judge whose disagreements lead the triage queue (default: any found)")
    rv.add_argument("--tty", action="store_true", help="review in the terminal instead of a web page")
    rv.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    rv.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    rv.add_argument("--open", action="store_true", help="open the page in the default browser")
    rv.add_argument("--export", metavar="FILE", help="write the runs' human labels as JSONL (an eval-judge file) and exit")
    rv.add_argument("--export-queue", metavar="FILE",
                    help="write the queue's responses you have not labelled yet as JSONL (label left empty) to "
                         "label elsewhere and --import, and exit")
    rv.add_argument("--import", dest="import_", metavar="FILE", help="merge labels from a JSONL export and exit")
    rv.add_argument("--stats", action="store_true",
                    help="print agreement, the judge's confusion and corrected rates, and exit")
    rv.add_argument("--plan", action="store_true", help="print the random sample's size per cell and exit")
    rv.add_argument("--by", type=_csv, default=["target", "language"], help="--stats groups (default target,language)")
    rv.add_argument("--draws", type=_positive, default=2000, help="--stats bootstrap draws (default 2000)")
    rv.add_argument("--json", action="store_true", help="--stats, --import, --plan: JSON on stdout")


def _reviewer(name: str | None) -> str:
    if name:
        return name
    env = os.environ.get(REVIEWER_ENV)
    if env:
        return env
    try:
        user = re.sub(r"[^A-Za-z0-9._-]", "", getpass.getuser())[:40]
    except (OSError, KeyError):
        user = ""
    return user if user and user[0].isalnum() else "reviewer"


def _sources(args: argparse.Namespace) -> list[Any]:
    """The runs named on the command line as RunSource records."""
    from latentwall.review import RunSource
    from latentwall.store import resolve_runs

    return [RunSource(ref.store_path, ref.run_id) for ref in resolve_runs(args.runs, args.run_dir)]


def _err(text: str) -> None:
    from latentwall.text import terminal_text

    print(terminal_text(text), file=sys.stderr, flush=True)


def _print_blocks(blocks: list[Any]) -> None:
    from latentwall.text import terminal_text

    for b in blocks:
        if isinstance(b, str):
            print(terminal_text(b))
        else:
            _print_table(*b)


@command("review", "label responses by hand (web page or --tty); export, import, --stats", arguments=arguments,
         order=125)
def cmd_review(args: argparse.Namespace) -> int:
    from latentwall.records import reviewer_judge

    modes = [m for m in ("export", "export_queue", "import_", "stats", "plan") if getattr(args, m)]
    if len(modes) > 1:
        raise ConfigError("use one of --export, --export-queue, --import, --stats, --plan at a time")
    if args.name is not None:
        reviewer_judge(args.name)  # a bad name is an error before anything is read
    for flag, fields in (("--strata", args.strata), ("--by", args.by)):
        bad = [f for f in fields if f not in GROUP_FIELDS]
        if bad or not fields:
            raise ConfigError(f"{flag}: {', '.join(bad) or 'nothing'} is not one of {', '.join(GROUP_FIELDS)}")
    sources = _sources(args)
    if args.export:
        return _export(sources, Path(args.export), args.name)
    if args.export_queue:
        return _export_queue(sources, Path(args.export_queue), args)
    if args.import_:
        return _import(sources, Path(args.import_), args.json)
    if args.stats:
        return _stats(sources, args)
    if args.plan:
        return _plan(sources, args)
    return _interactive(sources, args)


def _interactive(sources: list[Any], args: argparse.Namespace) -> int:
    from latentwall.review import ReviewSession, StoreBackend

    reviewer = _reviewer(args.name)
    if args.tty and not sys.stdin.isatty():
        raise ConfigError("--tty needs a terminal on standard input (or use the web page: omit --tty)")
    with StoreBackend(sources, reviewer, second_judge=args.second) as backend:
        session = ReviewSession(backend, reviewer=reviewer, queue=args.queue, seed=args.seed, size=args.sample,
                                strata=args.strata, blind=args.blind, part=args.part)
        if args.tty:
            from latentwall.review import run_tty

            return run_tty(session)
        from latentwall.review import serve_review

        serve_review(session, host=args.host, port=args.port, open_browser=args.open)
    return 0


def _export(sources: list[Any], path: Path, name: str | None) -> int:
    from latentwall.review import StoreBackend, export_record, read_human_labels, write_export

    records = []
    with StoreBackend(sources, name or "export", readonly=True) as backend:
        rows = {r.key: r for r in backend.rows()}
        for s in sources:
            for lab in read_human_labels(backend.store_of(s.run_id), s.run_id, name):
                row = rows.get(lab.key)
                if row is not None:
                    records.append(export_record(lab, backend.item(row)))
    n = write_export(path, records)
    _err(f"exported {n} human labels → {path}")
    return 0


def _export_queue(sources: list[Any], path: Path, args: argparse.Namespace) -> int:
    from latentwall.review import ReviewSession, StoreBackend, export_record, write_export

    reviewer = _reviewer(args.name)
    with StoreBackend(sources, reviewer, second_judge=args.second, readonly=True) as backend:
        session = ReviewSession(backend, reviewer=reviewer, queue=args.queue, seed=args.seed, size=args.sample,
                                strata=args.strata, part=args.part)
        sample = args.seed if args.queue == "random" else None
        records = [export_record(None, backend.item(row), reviewer=reviewer, queue=args.queue, sample=sample)
                   for row in session.pending()]
    n = write_export(path, records)
    _err(f"wrote {n} responses of the {args.queue} queue to label (reviewer {reviewer}) → {path}; "
         "fill in each `label`, then `latentwall review --import` it")
    return 0


def _import(sources: list[Any], path: Path, as_json: bool) -> int:
    from latentwall.review import (
        plan_import,
        read_human_labels,
        read_labels,
        text_hash,
        write_human_labels,
        write_unmatched,
    )
    from latentwall.store import Store

    incoming = read_labels(path)
    known: dict[Any, str] = {}
    existing: dict[Any, Any] = {}
    for s in sources:
        with Store(s.db, readonly=True) as store:
            for d in store.iter_results(s.run_id):
                known[(s.run_id, *d.key)] = text_hash(d.text or "")
            for lab in read_human_labels(store, s.run_id):
                existing[(lab.key, lab.reviewer)] = lab
    report = plan_import(incoming, existing, known)
    db_of = {s.run_id: s.db for s in sources}
    by_db: dict[Path, list[Any]] = {}
    for lab in report.to_write:
        by_db.setdefault(db_of[lab.key[0]], []).append(lab)
    for db, labels in by_db.items():
        with Store(db) as store:
            write_human_labels(store, labels)
    side = write_unmatched(path, incoming, report)
    if as_json:
        json.dump({**report.to_dict(), "unmatched_file": str(side) if side else None}, sys.stdout, indent=1)
        sys.stdout.write("\n")
    _err(f"imported {path}: {report.summary()}")
    for line, key, why in report.unmatched[:10]:
        _err(f"  line {line}: {key}: {why}")
    if len(report.unmatched) > 10:
        _err(f"  … and {len(report.unmatched) - 10} more")
    if side:
        _err(f"the labels not imported are in {side}")
    return 3 if report.unmatched else 0


def _stats(sources: list[Any], args: argparse.Namespace) -> int:
    from latentwall.review import StoreBackend, read_human_labels, summarise_review, summary_blocks

    with StoreBackend(sources, "stats", readonly=True) as backend:
        rows = backend.rows()
        labels = [lab for s in sources for lab in read_human_labels(backend.store_of(s.run_id), s.run_id, args.name)]
    summary = summarise_review(rows, labels, by=args.by, strata=args.strata, draws=args.draws, seed=args.seed)
    if args.json:
        json.dump(summary.to_dict(), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        _print_blocks(summary_blocks(summary))
    return 0


def _plan(sources: list[Any], args: argparse.Namespace) -> int:
    from latentwall.review import StoreBackend, plan_summary, random_sample

    with StoreBackend(sources, "plan", readonly=True) as backend:
        rows = backend.rows()
    sample = random_sample(rows, seed=args.seed, size=args.sample, strata=args.strata, part=args.part)
    plan = plan_summary(rows, sample, args.strata)
    if args.json:
        json.dump({"total": len(sample), "cells": plan}, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return 0

    cols = [*args.strata, "verdict", "responses", "sample"]
    _print_table(f"random review sample: {len(sample)} responses", cols,
                 [[str(c[k]) for k in cols] for c in plan])
    return 0
