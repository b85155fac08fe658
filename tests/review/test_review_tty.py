"""`latentwall review --tty` driven through a real pseudo-terminal: single key presses label,
a note is typed on its own line, undo takes the last label back, the labels are in the
store afterwards, and hostile answers never put an escape sequence on the screen."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest
from _review_fixtures import write_run

from _helpers import cli_env, run_cli
from latentwall.review import read_human_labels
from latentwall.store import Store

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")


class Terminal:
    def __init__(self, *args: str) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen([sys.executable, "-m", "latentwall", *args], stdin=slave, stdout=slave,
                                     stderr=slave, env=cli_env(COLUMNS="100", LINES="40"), close_fds=True)
        os.close(slave)
        self.out = b""

    def read_until(self, text: str, timeout: float = 60.0) -> str:
        end = time.monotonic() + timeout
        want = text.encode()
        start = len(self.out)
        while want not in self.out[start:]:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {text!r}; screen: {self.out[-1500:]!r}")
            if select.select([self.master], [], [], min(left, 0.5))[0]:
                try:
                    self.out += os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    break
        return self.out[start:].decode("utf-8", "replace")

    def press(self, keys: str, then: str) -> str:
        os.write(self.master, keys.encode())
        return self.read_until(then)

    def close(self) -> int:
        code = self.proc.wait(timeout=30)
        try:
            while select.select([self.master], [], [], 0.2)[0]:
                chunk = os.read(self.master, 65536)
                if not chunk:
                    break
                self.out += chunk
        except OSError:
            pass
        os.close(self.master)
        return code


def test_review_in_a_terminal(tmp_path):
    with Store.open(tmp_path / "runs") as store:
        write_run(store, "evil", "evil-model", 16, hostile=True)
        db = store.path
    t = Terminal("review", "--run-dir", str(tmp_path / "runs"), "--tty", "--name", "tia", "--sample", "8")
    try:
        screen = t.read_until("[q] quit")
        assert "tia · random queue · 0/8 labelled" in screen and "judge markers:" in screen
        assert "── answer ──" in screen and "rationale" in screen
        t.press("e", "labelled EVASIVE")
        t.press("n", "note (Enter")
        t.press("official line, no critique\n", "note for the next label: official line, no critique")
        t.press("d", "labelled DENIAL with a note")
        t.press("c", "labelled COMPLETE")
        screen = t.press("z", "undone")
        assert "2/8 labelled" in screen
        t.press("u", "labelled UNSURE")
        t.press("\x1b[A", "[q] quit")  # an arrow key is ignored
        t.press("q", "labelled in the random queue")
    finally:
        code = t.close()
    assert code == 0
    with Store(db, readonly=True) as store:
        labels = read_human_labels(store, "evil", "tia")
    assert sorted(lab.label for lab in labels) == ["DENIAL", "EVASIVE", "UNSURE"]
    assert [lab.note for lab in labels if lab.label == "DENIAL"] == ["official line, no critique"]
    # hostile answers: the only escape sequence on screen is our own clear-screen
    screen = t.out.decode("utf-8", "replace")
    assert "\x1b" not in screen.replace("\x1b[2J\x1b[H", "")
    assert "\u202e" not in screen and "PWNED-TITLE" not in screen  # a title change is removed whole
    shown = [h for h in ("<script>window.__pwned=1</script>", "red text", "evil⟨U+202E⟩eulav", "<img src=x")
             if h in screen]
    assert len(shown) >= 2, shown  # the rest of each hostile answer is there, as text


def test_tty_needs_a_terminal(tmp_path):
    with Store.open(tmp_path / "runs") as store:
        write_run(store, "r", "m", 4)
    p = run_cli("review", "--run-dir", str(tmp_path / "runs"), "--tty")
    assert p.returncode == 1 and "--tty needs a terminal" in p.stderr
    p = run_cli("review", "--run-dir", str(tmp_path / "runs"), "--stats", "--json")
    assert json.loads(p.stdout)["n_labels"] == 0
