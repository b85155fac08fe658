"""Errors the command line reports in one line (no traceback unless --debug)."""

from __future__ import annotations


class LatentwallError(Exception):
    """Base for every error that is the user's input or environment, not a bug."""


class DataError(LatentwallError):
    """A data file (suite, markers, replay, eval set) is malformed; names file, line and field."""

    def __init__(self, path: str, line: int | None, field: str | None, message: str) -> None:
        self.path, self.line, self.field, self.message = str(path), line, field, message
        where = self.path + (f":{line}" if line is not None else "")
        what = f" field '{field}':" if field else ""
        super().__init__(f"{where}:{what} {message}")


class ConfigError(LatentwallError):
    """Bad command-line input: unknown target kind, unknown suite, bad option value."""


class TargetError(LatentwallError):
    """A target cannot be built or reached at all (missing file, missing extra, server down)."""
