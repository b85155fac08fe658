"""Opening a store and saying what a failure means: shared by its writes and its queries."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from latentwall.errors import LatentwallError


class StoreError(LatentwallError):
    """The store cannot be opened or written (disk full, read-only, corrupt)."""


def recovery_hint(path: Path) -> str:
    return (f"nothing was changed. Restore it from a backup, or recover what is readable with "
            f"sqlite3 '{path}' .recover | sqlite3 '{path}.recovered' (SQLite 3.41 or later), check it, "
            "and put it in place of the damaged file")


def store_error(exc: Exception, path: Path) -> StoreError:
    """What a failure of the store means for the user, in one line with the way out."""
    msg = str(exc)
    if "full" in msg:
        return StoreError(f"disk full: cannot write to {path} ({msg}); free space and re-run to resume")
    if "readonly" in msg or "read-only" in msg:
        return StoreError(f"store {path} is read-only ({msg})")
    if "locked" in msg:
        return StoreError(f"store {path} is locked by another process ({msg})")
    if "unable to open" in msg:  # a read-only or vanished directory, not damage
        return StoreError(f"cannot open store {path} for writing ({msg}): is its directory read-only? "
                          "Commands that only read (report, summary, export, runs) still work")
    if "disk I/O error" in msg:  # not damage: often a full disk (SQLite needs temporary space)
        return StoreError(f"cannot read or write {path}: disk I/O error (is the disk full, or the device "
                          "failing?); free space and re-run")
    if "no such table" in msg or "no such column" in msg:
        return StoreError(f"{path} is not a latentwall store, or a damaged one ({msg}); {recovery_hint(path)}")
    damaged = any(word in msg for word in ("malformed", "not a database", "corrupt", "encrypted"))
    if damaged or not isinstance(exc, sqlite3.Error):  # or rows that no longer parse (JSON, keys)
        return StoreError(f"store damaged: {path} ({msg or type(exc).__name__}); {recovery_hint(path)}")
    return StoreError(f"store {path}: {msg}")


# What a damaged store raises while it is read: SQLite's errors, and rows that do not parse.
READ_ERRORS = (sqlite3.DatabaseError, ValueError, KeyError, TypeError)

_T = TypeVar("_T")


def reads(fn: Callable[..., _T]) -> Callable[..., _T]:
    """A read query whose failure says 'store damaged' with the file and the way out."""

    @wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> _T:
        try:
            return fn(self, *args, **kwargs)
        except READ_ERRORS as exc:
            raise store_error(exc, self.path) from None

    return wrapper


def empty_store(path: Path) -> StoreError:
    return StoreError(f"store damaged: {path} is empty (0 bytes), so it holds no runs; it was not "
                      "started over. Restore it from a backup, or delete it to start a new store")


def connect_readonly(path: Path, timeout: float = 30.0) -> sqlite3.Connection:
    """A connection that cannot write, also to a store in a directory nobody may write to
    (an archive, a read-only mount): SQLite cannot make its -shm file there, but then
    nothing can be writing either, so the file is opened as immutable."""
    uri = f"file:{quote(str(path))}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)
    try:
        conn.execute("SELECT name FROM sqlite_master LIMIT 1").fetchall()
    except sqlite3.OperationalError as exc:
        conn.close()
        if "unable to open" not in str(exc) or os.access(path.parent, os.W_OK):
            raise
        conn = sqlite3.connect(uri + "&immutable=1", uri=True, check_same_thread=False)
        conn.execute("SELECT name FROM sqlite_master LIMIT 1").fetchall()
    return conn
