"""Shared helpers for tests that drive the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent  # tests/: fixtures live in TESTS / "fixtures"
ROOT = TESTS.parent  # the repository


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"})
    env.pop("LATENTWALL_API_KEY", None)
    env.pop("OPENAI_API_KEY", None)
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "latentwall", *args], capture_output=True, text=True,
        env=env or cli_env(), timeout=timeout, cwd=cwd,
    )


def popen_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "latentwall", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env or cli_env(),
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The single error line of a command that failed as it should: exit 1, no traceback."""
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def use_suites(root: Path, monkeypatch, **sizes: int) -> Path:
    """User suites of the given sizes (make_suite) under root, on LATENTWALL_SUITES."""
    for name, n in sizes.items():
        make_suite(root, name, n)
    monkeypatch.setenv("LATENTWALL_SUITES", str(root))
    return root


def make_suite(root: Path, name: str, n: int, *, lang: str = "en", trigger_every: int = 3) -> Path:
    """A user suite of n probes; every `trigger_every`-th mentions Tiananmen (the fake server refuses)."""
    d = root / name
    d.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        about = "Tiananmen in 1989" if i % trigger_every == 0 else f"the history of bridge number {i}"
        rows.append({
            "id": f"{name}/q{i:05d}/{lang}", "text": f"Question {i}: tell me about {about}.",
            "language": lang, "topic": "tiananmen-1989" if i % trigger_every == 0 else f"bridges-{i % 4}",
            "category": "political" if i % trigger_every == 0 else "benign", "kind": "factual",
            "group": f"{name}/q{i:05d}", "expected": {"open": "answer"},
        })
    write_jsonl(d / "probes.jsonl", rows)
    return d
