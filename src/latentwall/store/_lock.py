"""One process per run: an advisory lock file beside the store, held while a run runs.

Two processes on the same run would both ask every request. The lock is `flock`, so the
kernel releases it when the process dies, even by `kill -9`: a lock is never stale, and
"is the run's lock held?" tells a live run from one whose process is gone.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from latentwall.errors import LatentwallError

try:
    import fcntl
except ImportError:  # not POSIX: no locking, and every "running" run counts as live
    fcntl = None  # type: ignore[assignment]


class RunLockedError(LatentwallError):
    """The run is being run by another process right now."""


def lock_path(db: Path, run_id: str) -> Path:
    return db.parent / f".{db.name}.locks" / f"{run_id}.lock"


class RunLock:
    """Held from `acquire()` to `release()`; the file keeps the holder's pid for messages."""

    def __init__(self, db: Path, run_id: str) -> None:
        self.path = lock_path(db, run_id)
        self.run_id = run_id
        self._fd: int | None = None

    def acquire(self) -> None:
        if fcntl is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            raise RunLockedError(
                f"run {self.run_id} is being run by another process"
                + (f" (pid {holder})" if holder.isdigit() else "")
                + ": wait for it to finish, or stop it, then re-run to resume") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode("ascii"))
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def run_is_live(db: Path, run_id: str) -> bool:
    """True while some process holds the run's lock (read-only: takes nothing for long)."""
    if fcntl is None:
        return True
    try:
        fd = os.open(lock_path(db, run_id), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
