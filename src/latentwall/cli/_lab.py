"""`latentwall lab …`: the white-box lab's commands (its own parser, built without torch)."""

from __future__ import annotations

import argparse
from typing import Any

from latentwall.cli._command import command


def _add(subparsers: Any) -> Any:
    from latentwall.lab import register_cli

    return register_cli(subparsers)


@command("lab", "the white-box lab", order=190, add_parser=_add)
def handle(args: argparse.Namespace) -> int:
    return int(args.handler(args))
