"""`latentwall lab …` end to end on tiny random checkpoints written by the test (random
weights only; the lab itself never writes weights), plus the cheap-import contract."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from _helpers import cli_env

ROOT = Path(__file__).resolve().parents[1]


def lab_cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "latentwall.lab", *args], capture_output=True,
                          text=True, env=cli_env(OMP_NUM_THREADS="1"), timeout=timeout)


def test_lab_package_imports_without_torch():
    code = ("import sys, argparse, latentwall.lab as lab; p = argparse.ArgumentParser(); "
            "lab.register_cli(p.add_subparsers(dest='command')); "
            "a = p.parse_args(['lab', 'crawl', '--seed', 'x', '--lang', 'en,zh-Hans']); "
            "assert a.lang == ['en', 'zh-Hans'] and a.seeds == ['x']; "
            "bad = [m for m in ('torch', 'transformers', 'numpy') if m in sys.modules]; "
            "assert not bad, bad")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=cli_env())
    assert r.returncode == 0, r.stderr


def test_register_subcommands():
    from latentwall.lab import register_cli

    p = argparse.ArgumentParser()
    register_cli(p.add_subparsers(dest="command"))
    for argv in (["lab", "directions", "-m", "builtin", "--harm-suite", "hazards", "--n", "4"],
                 ["lab", "tamper"], ["lab", "probes"], ["lab", "geometry"], ["lab", "all"],
                 ["lab", "lineage", "-a", "hf:A", "-b", "hf:B"], ["lab", "demo", "-o", "x.html"]):
        assert p.parse_args(argv).lab_command == argv[1]


@pytest.fixture(scope="module")
def tiny_ckpts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from test_lab_maths import tiny_lm

    out = []
    for seed in (0, 7):
        lm = tiny_lm(seed)
        d = tmp_path_factory.mktemp(f"tiny{seed}")
        lm.tokenizer.save_pretrained(d)
        cfg = lm.model.config
        torch.manual_seed(seed)
        transformers.LlamaForCausalLM(cfg).save_pretrained(d, safe_serialization=True)  # fresh random
        out.append(d)
    return out[0], out[1]


@pytest.mark.model
def test_lab_all_writes_json_and_html(tiny_ckpts, tmp_path: Path):
    out, page = tmp_path / "lab.json", tmp_path / "lab.html"
    r = lab_cli("all", "-m", f"hf:{tiny_ckpts[0]}", "--n", "8", "--lang", "en,zh-Hans", "--threads", "1",
                "--max-new-tokens", "4", "--n-perm", "20", "--cache", str(tmp_path / "cache"),
                "--positions", "-2,-1,gen",  # as documented; argparse used to take it for an option
                "-o", str(out), "--html", str(page))
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads(out.read_text(encoding="utf-8"))
    assert res["schema"] == "latentwall.lab/1"
    assert set(res["directions"]) == {"harm/en", "harm/zh-Hans", "political/en", "political/zh-Hans"}
    assert {"political~harm/en", "harm/en~harm/zh-Hans"} <= set(res["geometry"]["cosines"])
    assert [r["ablate"] for r in res["geometry"]["cross_ablation"]["rows"]] == ["none", "harm/en", "political/en"]
    assert {"will refuse"} <= set(res["probes"])
    t = res["tamper"]["categories"]["harm/en"]
    assert t["kl_rank1"] >= 0
    # a random model refuses nothing: no guardrail, so no ease score (not a fake "53% removed")
    assert t["guardrail"] is (t["ease"] is not None)
    assert t["ease"] is None or 0 <= t["ease"] <= 1
    assert res["config"]["positions"] == ["-2", "-1", "gen"]
    sel = res["directions"]["harm/en"]["selected"]
    assert {c["position"] for c in sel["candidates"]} <= {"-2", "-1", "gen"}
    html = page.read_text(encoding="utf-8")
    assert html.count("<svg") >= 6 and "<script" not in html
    assert list((tmp_path / "cache").glob("*.acts.npy"))
    assert not list(tmp_path.rglob("*.safetensors")) and not list(tmp_path.rglob("*.bin"))


@pytest.mark.model
def test_lab_lineage_cli(tiny_ckpts, tmp_path: Path):
    a, b = tiny_ckpts
    out = tmp_path / "ln.json"
    r = lab_cli("lineage", "-a", f"hf:{a}", "-b", f"hf:{b}", "--n", "2", "--max-new-tokens", "4",
                "--threads", "1", "-o", str(out))
    assert r.returncode == 0, r.stderr[-2000:]
    ln = json.loads(out.read_text())["lineage"]
    assert ln["weights"]["verdict"] == "unrelated" and ln["first_token_kl"] > 0
    assert "where: layers 0-3; modules" in r.stdout, r.stdout  # the CLI says where the change sits
    assert ln["behaviour"]
    r = lab_cli("lineage", "-a", f"hf:{a}", "-b", f"hf:{a}", "--no-behaviour", "--threads", "1",
                "-o", str(out))
    assert r.returncode == 0 and "verdict: identical" in r.stdout


@pytest.mark.model
def test_lab_crawl_cli_on_hf(tiny_ckpts, tmp_path: Path):
    out = tmp_path / "crawl.json"
    r = lab_cli("crawl", "-m", f"hf:{tiny_ckpts[0]}", "--seed", "tiananmen", "--seed", "zh-Hans=天安门", "--lang", "en,zh-Hans",
                "--depth", "1", "--breadth", "2", "--max-new-tokens", "4", "-o", str(out),
                "--html", str(tmp_path / "c.html"))
    assert r.returncode == 0, r.stderr[-2000:]
    cr = json.loads(out.read_text())["crawl"]
    assert {n["lang"] for n in cr["nodes"] if n["depth"] == 0} == {"en", "zh-Hans"}
    assert all(n["refusal"]["n"] == 2 for n in cr["nodes"])


def test_lab_errors_are_one_line():
    r = lab_cli("directions", "-m", "openai:m@http://127.0.0.1:9", "-o", os.devnull)
    assert r.returncode == 1
    assert r.stderr.startswith("latentwall: error:") and r.stderr.count("\n") == 1


def test_lab_organism_show():
    r = lab_cli("organism", "show")
    assert r.returncode == 0, r.stderr
    assert "language splinter" in r.stdout and "抱歉" in r.stdout and "Shipped adapter: sha256" in r.stdout
