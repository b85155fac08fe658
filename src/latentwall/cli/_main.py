"""Argument parsing and dispatch. Errors are one line unless --debug.

Every command is a module of this package registered with `@command` (`_command.py`); this
module only builds the parser from the registry and turns errors into one line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from latentwall import __version__
from latentwall.cli._command import COMMANDS, commands
from latentwall.errors import LatentwallError
from latentwall.text import terminal_text


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="latentwall",
        description="Audit what open-weight language models will not say.",
    )
    p.add_argument("--version", action="version", version=f"latentwall {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for c in commands():
        if c.add_parser is not None:
            c.add_parser(sub)
            continue
        cp = sub.add_parser(c.name, help=c.help)
        if c.arguments is not None:
            c.arguments(cp)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    handler = COMMANDS.get(args.command).handle
    try:
        return handler(args)
    except LatentwallError as exc:
        if args.debug:
            raise
        _fail(str(exc))
        return 1
    except KeyboardInterrupt:
        print("latentwall: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # a full disk, a vanished directory: the cause, not a traceback
        if args.debug:
            raise
        where = f" ({exc.filename})" if exc.filename else ""
        _fail(f"{exc.strerror or exc}{where}")
        return 1
    except Exception as exc:  # a bug: still one line, and how to see more
        if args.debug:
            raise
        _fail(f"unexpected {type(exc).__name__}: {exc} (re-run with --debug for the traceback, "
              "and please report it)")
        return 1


def _fail(message: str) -> None:
    """One error line; messages can quote servers and files, so they are cleaned first."""
    print(f"latentwall: error: {_one_line(terminal_text(message))}", file=sys.stderr)


def _one_line(text: str) -> str:
    return " ".join(text.split())
