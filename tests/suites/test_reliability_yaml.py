"""Issue 17, point 4: a YAML alias bomb in a user suite is refused at once with file and
line, and it does not stop commands that do not use that suite."""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest

from _helpers import cli_env, make_suite
from latentwall.datafiles import load_yaml
from latentwall.errors import DataError

# 9 levels of 9 aliases each: under 1 KB, 9**9 (387 million) strings once expanded.
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))


def _limited() -> None:
    """Run the command in 2 GB of address space, so a bomb that goes off fails, not the host."""
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "latentwall", *args], capture_output=True, text=True,
                          env=env, timeout=120, preexec_fn=_limited)


@pytest.fixture()
def env(tmp_path):
    root = tmp_path / "suites"
    make_suite(root, "boom", 3)
    (root / "boom" / "suite.yaml").write_text(BOMB, encoding="utf-8")
    assert len(BOMB) < 1024
    return cli_env(LATENTWALL_SUITES=str(root), LATENTWALL_RUN_DIR=str(tmp_path / "runs"))


def test_aliases_are_refused_with_file_and_line(tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text(BOMB, encoding="utf-8")
    with pytest.raises(DataError, match=r"suite\.yaml:2: YAML alias \*a is not allowed"):
        load_yaml(path, lines=True)
    path.write_text('title: "**bold** * and a star"\nlist: [a, b]\n', encoding="utf-8")
    assert load_yaml(path) == {"title": "**bold** * and a star", "list": ["a", "b"]}


def test_suites_command_names_the_bomb_in_one_line(env):
    proc = _run("suites", env=env)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert "boom/suite.yaml:2" in proc.stderr and "alias" in proc.stderr


def test_other_suites_still_run(env):
    proc = _run("run", "-t", "builtin", "-s", "starter", "--dry-run", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "probes: 64" in proc.stdout
