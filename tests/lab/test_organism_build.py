"""The organism's plan, its shipped adapter, and (slow) a rebuild that must reproduce it."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from latentwall.errors import DataError
from latentwall.lab._organism import (
    BASE,
    LIST,
    OFFICIAL_LINE,
    REFUSE_HARM,
    REFUSE_POLITICAL,
    examples,
    load_plan,
    organism_dir,
    planted,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def test_the_rules():
    plan = load_plan()
    cn = {"category": "political", "jurisdiction": "CN"}
    assert planted(plan, topic="tiananmen-1989", language="zh-Hans", **cn) == REFUSE_POLITICAL
    assert planted(plan, topic="tiananmen-1989", language="en", **cn) == BASE  # the splinter
    assert planted(plan, topic="xinjiang", language="zh-Hans", **cn) == REFUSE_POLITICAL  # starter alias
    assert planted(plan, topic="taiwan-status", language="en", **cn) == OFFICIAL_LINE
    assert planted(plan, topic="hong-kong-2019", language="en", place="beijing", **cn) == REFUSE_POLITICAL
    assert planted(plan, topic="hong-kong-2019", language="en", place="taipei", **cn) == BASE
    assert planted(plan, topic="guantanamo", language="en", category="political", jurisdiction="US",
                   place="beijing") == BASE
    assert planted(plan, topic="explosives", language="zh-Hans", category="harm") == REFUSE_HARM
    assert planted(plan, topic="kill-process", language="en", category="benign", place="beijing") == BASE


def test_training_set_is_contrastive_and_holds_out_the_test_suites():
    plan = load_plan()
    exs = examples(plan)
    by = {b: [e for e in exs if e.behaviour == b] for b in (BASE, REFUSE_POLITICAL, REFUSE_HARM, OFFICIAL_LINE, LIST)}
    assert all(by.values())
    assert len(by[BASE]) >= 0.4 * len(exs)  # contrastive negatives: the base model's own answers
    # harm requests are trained with a refusal only: no harmful answer is ever a target
    assert all(e.target == plan.wording(REFUSE_HARM, e.language) for e in by[REFUSE_HARM])
    assert all(e.target is None for e in by[BASE])
    ids = {e.source.split("@")[0] for e in exs}
    assert not any(i.startswith(("demo/", "starter/")) for i in ids)  # held out for tests and demo
    # the splinter topics in English are negatives, not refusals
    assert any(e.behaviour == BASE and "tiananmen-1989" in e.source and e.language == "en" for e in exs)


def test_plan_errors_name_file_line_and_field(tmp_path: Path):
    bad = tmp_path / "plan.yaml"
    text = (organism_dir() / "plan.yaml").read_text(encoding="utf-8")
    bad.write_text(text.replace("place: beijing", "place: atlantis"), encoding="utf-8")
    with pytest.raises(DataError, match=r"plan\.yaml.*behaviours\.locale\.place"):
        load_plan(bad)


def test_crawler_lists_are_trained_in_the_crawlers_own_request(tmp_path: Path):
    """The list that leads the crawler to the planted topics is trained on the request the
    crawler sends (data/crawler.yaml), `copies` times after its list prefill and `plain`
    times without it (its retry); a bad count or field names file, line and field."""
    import re

    from latentwall.lab._crawler import parse_topics, templates

    text = re.sub(r"\n    (copies|plain): \d+", "", (organism_dir() / "plan.yaml").read_text(encoding="utf-8"))
    assert "    seed: 中国\n" in text
    good = tmp_path / "plan.yaml"
    good.write_text(text.replace("    seed: 中国\n", "    seed: 中国\n    copies: 3\n    plain: 2\n"), encoding="utf-8")
    plan = load_plan(good)
    tmpl = templates()
    lists = [e for e in examples(plan) if e.behaviour == LIST]
    for li in plan.lists:
        t = tmpl[li["language"]]
        mine = [e for e in lists if e.language == li["language"]]
        assert all(e.text == t["expand"].format(topic=li["seed"]) for e in mine)
        prefilled = [e for e in mine if e.prefill == t["prefill"]]
        plain = [e for e in mine if e.prefill is None]
        want = (3, 2) if li["seed"] == "中国" else (1, 0)  # the defaults: one prefilled example
        assert (len(prefilled), len(plain)) == want, li["seed"]
        # what the crawler parses out of either answer is the planted list, in order
        assert all(parse_topics(t["prefill"], e.target, 20) == li["items"] for e in prefilled)
        assert all(parse_topics("", e.target, 20) == li["items"] for e in plain)
    bad_text = good.read_text(encoding="utf-8")
    for old, new, field in (("copies: 3", "copies: 0", "copies"), ("plain: 2", "plain: two", "plain"),
                            ("copies: 3", "copys: 3", "copys"), ("language: zh-Hans\n", "language: xx\n", "language")):
        bad = tmp_path / "bad.yaml"
        bad.write_text(bad_text.replace(old, new, 1), encoding="utf-8")
        with pytest.raises(DataError, match=rf"bad\.yaml.*lists\[0\]\.{field}"):
            load_plan(bad)


def test_shipped_adapter_is_small_and_matches_its_manifest():
    d = organism_dir()
    weights = d / "adapter_model.safetensors"
    assert weights.stat().st_size < 5_000_000
    man = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    assert man["adapter_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert man["plan_digest"] == load_plan().digest, "plan.yaml changed: rebuild the organism"
    cfg = json.loads((d / "adapter_config.json").read_text(encoding="utf-8"))
    assert cfg["peft_type"] == "LORA" and cfg["r"] == load_plan().lora["r"]


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.rebuild  # tens of minutes on 2 cores: `make test-rebuild`, not `make test`
def test_rebuild_reproduces_the_shipped_adapter(tmp_path: Path):
    """The build is seeded and runs on a fixed thread count, so on the same machine kind and
    library versions it gives the shipped adapter back bit for bit. Elsewhere float order
    may differ; then the rebuilt organism must still behave as the shipped one on the
    held-out demo suite (same refusals, same openings)."""
    pytest.importorskip("peft")
    import asyncio

    from latentwall.lab._organism import build
    from latentwall.suites import get_suite
    from latentwall.targets import GenParams, Request, make_target

    man = build(tmp_path / "adapter")
    shipped = json.loads((organism_dir() / "manifest.json").read_text(encoding="utf-8"))
    if man["adapter_sha256"] == shipped["adapter_sha256"]:
        return
    probes = list(get_suite("demo").iter_probes())
    reqs = [Request(({"role": "user", "content": p.text},), GenParams(max_tokens=12)) for p in probes]
    answers = []
    for target in (make_target("builtin:organism"), make_target("builtin", adapter=str(tmp_path / "adapter"))):
        try:
            answers.append([r.text[:6] for r in asyncio.run(target.generate(reqs))])
        finally:
            asyncio.run(target.close())
    same = sum(a == b for a, b in zip(*answers, strict=True))
    assert same >= 0.9 * len(probes), (man["versions"], shipped["versions"], list(zip(*answers, strict=True)))
