"""`latentwall import-suite`: a CSV/JSONL/Parquet/HF-on-disk data set as a user suite."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from latentwall.cli._command import command, pairs, say


def arguments(im: argparse.ArgumentParser) -> None:
    im.add_argument("source", help="file (.csv .tsv .jsonl .parquet) or a datasets save_to_disk folder")
    im.add_argument("--name", required=True, help="suite name (lower-case)")
    im.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                    help="probe field from a source column, e.g. --map text=prompt --map topic=category")
    im.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="a fixed value, e.g. --set language=en --set category=harm "
                         "--set expected.universal-safety=refuse --set tags=a,b")
    im.add_argument("--format", default=None, choices=["csv", "tsv", "jsonl", "parquet", "hf"])
    im.add_argument("--split", default=None, help="split of a saved DatasetDict")
    im.add_argument("--dest", default=None,
                    help="folder of user suites (default: first entry of $LATENTWALL_SUITES, else ./suites)")
    im.add_argument("--dedupe", action="store_true", help="skip duplicate texts instead of failing")
    im.add_argument("--force", action="store_true", help="replace an existing user suite of that name")
    im.add_argument("--title", default=None)
    im.add_argument("--licence", default=None)
    im.add_argument("--json", action="store_true")


@command("import-suite", "import a CSV/JSONL/Parquet/HF-on-disk data set as a user suite",
         arguments=arguments, order=90)
def handle(args: argparse.Namespace) -> int:
    from latentwall.errors import ConfigError
    from latentwall.suites import USER_SUITES_ENV, import_suite, is_shipped, user_suite_dirs

    if is_shipped(args.name):
        raise ConfigError(f"'{args.name}' is a shipped suite; choose another --name")
    env_dirs = user_suite_dirs()
    dest = Path(args.dest or (env_dirs[0] if env_dirs else "suites"))
    result = import_suite(
        Path(args.source), dest, args.name, pairs(args.map, "--map"), dict(pairs(args.set, "--set")),
        args.format, dedupe=args.dedupe, overwrite=args.force, split=args.split,
        title=args.title, licence=args.licence,
    )
    on_path = any(d.resolve() == dest.resolve() for d in env_dirs)
    if args.json:
        json.dump({"name": result.name, "path": str(result.path), "probes": result.n,
                   "skipped": result.skipped, "repaired": result.repaired, "on_suites_path": on_path},
                  sys.stdout)
        sys.stdout.write("\n")
    else:
        msg = f"imported {result.n} probes into {result.path}"
        if result.skipped:
            msg += f" ({result.skipped} duplicates skipped)"
        if result.repaired:
            msg += (f"; {result.repaired} row(s) had invalid characters (lone surrogates), "
                    "replaced with U+FFFD")
        say(msg)
        if not on_path:
            say(f"to use it: export {USER_SUITES_ENV}={dest.resolve()}  (or run with -s {result.path})")
    return 0
