"""The `latentwall` command: one module per command, each registered with `@command`."""

from latentwall.cli._main import build_parser, main

__all__ = ["build_parser", "main"]
