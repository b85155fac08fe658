"""The `latentwall` command."""

from latentwall.cli._main import main

__all__ = ["main"]
