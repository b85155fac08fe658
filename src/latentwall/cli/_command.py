"""The command line's plugin family: each command is one module of this package that
registers itself with `@command`, so `latentwall --help` lists it and `main` dispatches to it.
Handlers import what they need inside, so `latentwall --help` stays instant."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from latentwall.registry import Registry
from latentwall.text import terminal_text

Handler = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Command:
    """A subcommand: its name, one-line help, arguments, handler and place in `--help`.
    `add_parser` builds a parser of its own instead (the lab's nested commands)."""

    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None] | None
    handle: Handler
    order: int = 500
    add_parser: Callable[[Any], Any] | None = None


COMMANDS: Registry[Command] = Registry("command", "latentwall.cli")


def command(name: str, help: str, *, arguments: Callable[[argparse.ArgumentParser], None] | None = None,
            order: int = 500, add_parser: Callable[[Any], Any] | None = None) -> Callable[[Handler], Handler]:
    """Decorator on a command's handler: register it as `latentwall NAME`."""

    def deco(fn: Handler) -> Handler:
        COMMANDS.add(name, Command(name, help, arguments, fn, order, add_parser))
        return fn

    return deco


def commands() -> list[Command]:
    return sorted((c for _, c in COMMANDS.items()), key=lambda c: c.order)


# -- small shared helpers of the command modules -----------------------------------------


def csv_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def pairs(items: list[str], flag: str) -> dict[str, str]:
    """KEY=VALUE options as a dict; anything else is a one-line error naming the flag."""
    from latentwall.errors import ConfigError

    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} expects KEY=VALUE, got '{item}'")
        out[key.strip()] = value
    return out


def out() -> Console:
    return Console(soft_wrap=True)


def err() -> Console:
    return Console(stderr=True, soft_wrap=True)


def say(message: str) -> None:
    """One message on stderr, markup shown as written."""
    err().print(escape(message))


def print_table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    """A rich table on a terminal; tab-separated lines when piped, so scripts can cut them."""
    if sys.stdout.isatty():
        table = Table(title=escape(terminal_text(title)))
        for col in columns:
            table.add_column(col)
        for row in rows:
            table.add_row(*(escape(terminal_text(c)) for c in row))
        out().print(table)
    else:
        print("\t".join(columns))
        for row in rows:
            print("\t".join(terminal_text(c).replace("\t", " ") for c in row))


def print_json(doc: Any, *, default: Any = None) -> None:
    import json

    json.dump(doc, sys.stdout, ensure_ascii=False, indent=1, default=default)
    sys.stdout.write("\n")
