"""`latentwall export`: responses and judgements as JSONL, CSV, Parquet, or the summary."""

from __future__ import annotations

import argparse

from latentwall.cli._command import command, say


def arguments(ex: argparse.ArgumentParser) -> None:
    ex.add_argument("runs", nargs="*", metavar="RUN")
    ex.add_argument("-o", "--output", required=True, help="file; the format follows the suffix unless --format")
    ex.add_argument("--format", default=None, choices=["jsonl", "csv", "parquet", "summary"])
    ex.add_argument("--run-dir", default=None)
    ex.add_argument("--no-excel-safe", action="store_true",
                    help="CSV: keep cells exactly (default prefixes formula-like cells with ')")


@command("export", "export responses and judgements (JSONL, CSV, Parquet) or the summary", arguments=arguments,
         order=130)
def handle(args: argparse.Namespace) -> int:
    from latentwall.errors import ConfigError
    from latentwall.export import export_run
    from latentwall.store import resolve_runs

    refs = resolve_runs(args.runs, args.run_dir)
    if len({r.store_path for r in refs}) > 1:
        raise ConfigError("export runs of one run directory at a time")
    n = export_run(refs[0].store_path, [r.run_id for r in refs], args.output, args.format,
                   excel_safe=not args.no_excel_safe)
    say(f"exported {n} rows of {len(refs)} run(s) to {args.output}")
    return 0
