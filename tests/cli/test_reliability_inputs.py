"""Issue 17, point 8: bad input is one line naming the file (and line), never a traceback:
UTF-16, latin-1, binary, 100k-deep nesting, unclosed CSV quotes and empty files in `judge`,
`eval-judge`, `import-suite` and `replay:`; a UTF-8 BOM is accepted everywhere; `report` and `export`
onto a full disk say so and leave no partial file."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys

import pytest

from _helpers import cli_env, make_suite, one_line_error, run_cli
from latentwall.store import Store
from latentwall.testing import write_synthetic_run

GOOD = [{"prompt": "What is 2+2?", "response": "4.", "probe_id": "mini/q00000/en", "q": "What is 2+2?"}]


def _good_jsonl() -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in GOOD)


def _good_csv() -> str:
    return 'prompt,response,probe_id,q\r\n"What is 2+2?",4.,mini/q00000/en,"What is 2+2?"\r\n'


BAD_FILES = {
    # name: (bytes of a .jsonl, bytes of a .csv, what the error line says)
    "utf-16": (_good_jsonl().encode("utf-16"), _good_csv().encode("utf-16"), "UTF-16-encoded; save it as UTF-8"),
    "utf-16-no-bom": (_good_jsonl().encode("utf-16-le"), _good_csv().encode("utf-16-le"), "NUL bytes"),
    "latin-1": ('{"prompt": "café?", "response": "oui", "q": "café?"}\n'.encode("latin-1"),
                "prompt,response,q\r\ncafé?,oui,café?\r\n".encode("latin-1"), "not valid UTF-8"),
    "binary": (os.urandom(64) + b"\x00" * 16, os.urandom(64) + b"\x00" * 16, "NUL bytes"),
    "deep": (('{"prompt": "p", "response": ' + "[" * 100_000 + "]" * 100_000 + ', "q": "x"}\n').encode(),
             None, "nested too deeply"),
    "unclosed-quote": (None, b'prompt,response,probe_id,q\r\n"What is 2+2?,4.,mini/q00000/en,x\r\n',
                       "invalid CSV"),
    "empty": (b"", b"", None),
}


@pytest.fixture()
def env(tmp_path):
    root = tmp_path / "suites"
    make_suite(root, "mini", 2)
    return cli_env(LATENTWALL_SUITES=str(root), LATENTWALL_RUN_DIR=str(tmp_path / "runs"))


def _commands(tmp_path, path):
    yield "judge", ("judge", str(path), "-o", str(tmp_path / "out.jsonl"))
    yield "eval-judge", ("eval-judge", "--file", str(path))
    yield "import", ("import-suite", str(path), "--name", "imp", "--map", "text=q", "--set", "language=en",
                     "--set", "category=benign", "--set", "expected.open=answer", "--dest", str(tmp_path / "s"))
    yield "replay", ("run", "-t", f"replay:{path}", "-s", "mini")


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_input_files_are_one_line(env, tmp_path, case):
    as_jsonl, as_csv, says = BAD_FILES[case]
    for suffix, data in ((".jsonl", as_jsonl), (".csv", as_csv)):
        if data is None:
            continue
        path = tmp_path / f"{case}{suffix}"
        path.write_bytes(data)
        for name, cmd in _commands(tmp_path, path):
            if name in ("judge", "eval-judge") and suffix == ".csv":
                continue  # judges read JSONL only
            line = one_line_error(run_cli(*cmd, env=env))
            assert str(path) in line, (name, line)
            assert (says or "no ") in line, (name, suffix, line)
    assert not (tmp_path / "out.jsonl").exists() and not (tmp_path / "s" / "imp").exists()


def test_a_bom_is_accepted_by_every_reader(env, tmp_path):
    jsonl, csv_ = tmp_path / "bom.jsonl", tmp_path / "bom.csv"
    jsonl.write_bytes(b"\xef\xbb\xbf" + _good_jsonl().encode())
    csv_.write_bytes(b"\xef\xbb\xbf" + _good_csv().encode())
    proc = run_cli("judge", str(jsonl), "-o", str(tmp_path / "out.jsonl"), env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8"))["label"] == "COMPLETE"
    for i, src in enumerate((jsonl, csv_)):
        proc = run_cli("import-suite", str(src), "--name", f"b{i}", "--map", "text=q", "--set", "language=en",
                       "--set", "category=benign", "--set", "expected.open=answer", "--dest",
                       str(tmp_path / "s"), env=env)
        assert proc.returncode == 0, proc.stderr
        proc = run_cli("run", "-t", f"replay:{src}", "-s", "mini", "--limit", "1", "--fresh", env=env)
        assert proc.returncode == 0, proc.stderr


def test_an_unclosed_quote_is_not_imported_silently(tmp_path):
    from latentwall.errors import DataError
    from latentwall.suites import import_suite

    src = tmp_path / "x.csv"
    src.write_text('q\r\nfirst\r\n"second, never closed\r\nthird\r\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"x\.csv:2: invalid CSV"):
        import_suite(src, tmp_path / "s", "x", {"text": "q"},
                     {"language": "en", "category": "benign", "expected.open": "answer"})


def _full_disk() -> None:
    """Writes past 40 KB fail (EFBIG) as on a full disk, instead of killing the process."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (40 << 10, 40 << 10))


@pytest.mark.parametrize("out", ["r.html", "x.jsonl", "x.csv", "x.parquet"])
def test_report_and_export_onto_a_full_disk(tmp_path, out):
    if out.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    run_dir = tmp_path / "runs"
    with Store.open(run_dir) as store:
        # 300 answers that do not compress: every format is well over the 40 KB "disk".
        write_synthetic_run(store, "r1", "m", 300, status="finished")
        store.conn.execute("UPDATE responses SET text = text || ' ' || hex(randomblob(600))")
        store.conn.commit()
    dest = tmp_path / "out"
    cmd = ["report" if out.endswith(".html") else "export", "-o", str(dest / out), "--run-dir", str(run_dir)]
    proc = subprocess.run([sys.executable, "-m", "latentwall", *cmd], capture_output=True, text=True,
                          env=cli_env(), timeout=300, preexec_fn=_full_disk)
    line = one_line_error(proc)
    assert line.startswith(f"latentwall: error: cannot write {dest / out}: "), line
    assert list(dest.iterdir()) == []  # no partial file, no leftover temporary
