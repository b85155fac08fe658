"""Progress display: a rich bar with rate and ETA on stderr, or nothing.

The description is the target's label, which can come from a server or a file name: it is
cleaned of terminal escapes and, for rich, of markup before it is shown.
"""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from latentwall.text import terminal_text


class ProgressSink(Protocol):
    def start(self, total: int, completed: int, description: str) -> None: ...
    def advance(self, n: int) -> None: ...
    def note(self, text: str) -> None: ...
    def stop(self) -> None: ...


class NullProgress:
    def start(self, total: int, completed: int, description: str) -> None:
        pass

    def advance(self, n: int) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def stop(self) -> None:
        pass


class PlainProgress:
    """For logs (stderr not a terminal): a line at the first result, then every ~10%
    or 30 s, then at the end. Silent until work starts, so an early error stays one line."""

    def __init__(self, stream: TextIO | None = None, every_s: float = 30.0) -> None:
        self.stream = stream or sys.stderr
        self.every_s = every_s
        self.total = self.done = self.start_at = 0
        self.description = ""
        self._t0 = self._last_t = 0.0
        self._last_pct = -1
        self._note = ""

    def start(self, total: int, completed: int, description: str) -> None:
        self.total, self.done, self.start_at = total, completed, completed
        self.description = terminal_text(description)
        self._t0 = self._last_t = time.monotonic()

    def _line(self) -> None:
        elapsed = time.monotonic() - self._t0
        new = self.done - self.start_at
        rate = new / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else float("nan")
        eta_s = f"{eta:.0f}s" if eta == eta else "?"
        note = f" ({self._note})" if self._note else ""
        print(f"{self.description}: {self.done}/{self.total} {rate:.1f}/s eta {eta_s}{note}",
              file=self.stream, flush=True)

    def advance(self, n: int) -> None:
        first = self.done == self.start_at
        self.done += n
        pct = int(100 * self.done / self.total) // 10 if self.total else 0
        now = time.monotonic()
        if first or pct != self._last_pct or now - self._last_t >= self.every_s or self.done >= self.total:
            self._last_pct, self._last_t = pct, now
            self._line()

    def note(self, text: str) -> None:
        self._note = terminal_text(text)

    def stop(self) -> None:
        pass


class _RateColumn(ProgressColumn):
    """Responses per second over the whole run, steadier than rich's windowed speed."""

    def render(self, task: Task) -> Text:
        elapsed = task.finished_time if task.finished else task.elapsed
        done = task.completed - task.fields.get("start_at", 0)
        if not elapsed or done <= 0:
            return Text("  -- /s", style="progress.data.speed")
        return Text(f"{done / elapsed:6.1f}/s", style="progress.data.speed")


class RichProgress:
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TextColumn("elapsed"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[note]}", style="dim"),
            console=self.console,
            transient=False,
        )
        self._task: int | None = None

    def start(self, total: int, completed: int, description: str) -> None:
        self._progress.start()
        self._task = self._progress.add_task(
            escape(terminal_text(description)), total=total, completed=completed, start_at=completed, note=""
        )

    def advance(self, n: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, n)

    def note(self, text: str) -> None:
        if self._task is not None:
            self._progress.update(self._task, note=escape(terminal_text(text)))

    def stop(self) -> None:
        self._progress.stop()
