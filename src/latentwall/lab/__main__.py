"""`python -m latentwall.lab SUBCOMMAND …`: the lab CLI on its own (same as `latentwall lab`)."""

from __future__ import annotations

import argparse
import sys

from latentwall.errors import LatentwallError
from latentwall.lab._cli import register, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="latentwall")
    parser.add_argument("--debug", action="store_true")
    register(parser.add_subparsers(dest="command"))
    rest = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in rest
    args = parser.parse_args([*(["--debug"] if debug else []), "lab", *(a for a in rest if a != "--debug")])
    try:
        return run(args)
    except LatentwallError as exc:
        if args.debug:
            raise
        print(f"latentwall: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
