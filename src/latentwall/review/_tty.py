"""`latentwall review --tty`: the review page's job in a terminal, one key per label.

Model output is hostile in a terminal too: every line of it goes through `terminal_text`
(escape sequences removed, controls and bidi overrides shown as ⟨U+XXXX⟩), so an answer
cannot recolour, retitle or rewrite the reviewer's screen. The only escape sequence on
screen is our own "clear screen" between responses.
"""

from __future__ import annotations

import os
import select
import shutil
import sys
from collections.abc import Callable
from typing import TextIO

from latentwall.errors import ConfigError, LatentwallError
from latentwall.records import KEYMAP, NOTE_MAX, ReviewItem
from latentwall.review._session import Progress, ReviewSession
from latentwall.text import terminal_text

CLEAR = "\x1b[2J\x1b[H"
SHOWN_LINES = 60
HELP = ("[c] COMPLETE  [e] EVASIVE  [d] DENIAL  [s] skip  [u] unsure  [n] note  [z] undo  "
        "[m] more/less  [q] quit")


def _lines(text: str | None) -> list[str]:
    """Model text as clean lines: split first, so line breaks survive the cleaning."""
    return [terminal_text(line) for line in (text or "").split("\n")]


def render(item: ReviewItem | None, progress: Progress, *, blind: bool, full: bool, note: str,
           message: str, width: int) -> str:
    rule = "─" * max(20, min(width, 100))
    counts = ", ".join(f"{k} {v}" for k, v in sorted(progress.counts.items()))
    pct = f" ({progress.done / progress.total:.0%})" if progress.total else ""
    out = [terminal_text(f"latentwall review · {progress.reviewer} · {progress.queue} queue"
                         f"{' · blind' if blind else ''} · {progress.done}/{progress.total} labelled{pct}"
                         + (f" · {counts}" if counts else "")), rule]
    if item is None:
        out += ["Queue done: every response in it has your label. A run that is still going may add",
                "more: press any key to look again, [z] to undo, [q] to quit."]
    else:
        r = item.row
        out.append(terminal_text(" · ".join(x for x in (
            r.target, r.language, r.topic, r.key[1], f"condition {r.key[2]}" if r.key[2] else "",
            f"sample {r.key[3]}", f"run {r.key[0]}") if x)))
        if blind:
            out.append("machine verdict hidden (blind review)")
        else:
            conf = "" if r.confidence is None else f" (confidence {r.confidence:.0%})"
            second = f" · second judge {item.second_judge}: {r.second}" if r.second else ""
            out.append(terminal_text(f"judge {item.judge}: {r.verdict}{conf}{second}"))
            if item.rationale:
                out.append(terminal_text(f"rationale: {item.rationale}"))
        out += ["── request ──", *_lines(item.prompt), "── answer ──"]
        answer = _lines(item.text)
        if not full and len(answer) > SHOWN_LINES:
            answer = [*answer[:SHOWN_LINES], f"… {len(answer) - SHOWN_LINES} more lines: [m] to show all"]
        out += answer
        if item.reasoning:
            out.append(f"(reasoning trace: {len(item.reasoning)} characters, not shown)")
    out.append(rule)
    if note:
        out.append(terminal_text(f"note for the next label: {note}"))
    if message:
        out.append(terminal_text(message))
    out.append(HELP)
    return "\n".join(out) + "\n"


class _Keys:
    """Single key presses from a terminal in cbreak mode; a line for notes in cooked mode."""

    def __init__(self, fd: int) -> None:
        import termios
        import tty

        self.fd, self._termios, self._tty = fd, termios, tty
        self.saved = termios.tcgetattr(fd)

    def __enter__(self) -> _Keys:
        self._tty.setcbreak(self.fd)
        return self

    def __exit__(self, *exc: object) -> None:
        self._termios.tcsetattr(self.fd, self._termios.TCSADRAIN, self.saved)

    def key(self) -> str:
        data = os.read(self.fd, 1)
        if not data:
            return "q"  # end of input
        if data == b"\x1b":  # an escape sequence (arrow keys ...): drain and ignore it
            while select.select([self.fd], [], [], 0.02)[0]:
                os.read(self.fd, 16)
            return ""
        return data.decode("ascii", "ignore")

    def line(self) -> str:
        self._termios.tcsetattr(self.fd, self._termios.TCSADRAIN, self.saved)
        try:
            return os.read(self.fd, 8192).decode("utf-8", "replace").strip()
        finally:
            self._tty.setcbreak(self.fd)


def run_tty(session: ReviewSession, *, stdin: TextIO | None = None, stdout: TextIO | None = None,
            width: Callable[[], int] | None = None) -> int:
    """Label from the terminal until the reviewer quits; returns the exit code."""
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    if not stdin.isatty():
        raise ConfigError("--tty needs a terminal on standard input (or use the web page: omit --tty)")
    cols = width or (lambda: shutil.get_terminal_size((100, 40)).columns)
    full, note, message = False, "", ""
    with _Keys(stdin.fileno()) as keys:
        while True:
            item = session.current()
            stdout.write(CLEAR + render(item, session.progress(), blind=session.blind, full=full, note=note,
                                        message=message, width=cols()))
            stdout.flush()
            message = ""
            k = keys.key().lower()
            if k in ("q", "\x04"):
                break
            if k == "z":
                message = "undone" if session.undo() is not None else "nothing to undo"
            elif k == "m":
                full = not full
            elif k == "n" and item is not None:
                stdout.write("note (Enter to keep it for the next label): ")
                stdout.flush()
                note = keys.line()[:NOTE_MAX]
            elif k in KEYMAP and item is not None:
                try:
                    lab = session.label(item.row.key, KEYMAP[k], note)
                except LatentwallError as exc:
                    message = f"not saved: {exc}"
                else:
                    message = f"labelled {lab.label}{' with a note' if lab.note else ''} · [z] to undo"
                    note, full = "", False
    p = session.progress()
    stdout.write(f"\n{p.done}/{p.total} labelled in the {p.queue} queue; labels are saved as you go.\n")
    stdout.flush()
    return 0
