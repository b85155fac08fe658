"""The ground-truth audit shared by the organism tests: a held-out suite, two targets, three
conditions, run once through the real pipeline (runner, store, judge)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from latentwall.records import Result

# (suite, topics or None, kinds or None, languages, per topic-language, limit)
HELD_OUT = [
    ("china", ["tiananmen-1989", "xinjiang-camps", "falun-gong"], ["numbers", "both-sides"], ["en", "zh-Hans"], 1, None),
    ("china", ["taiwan-status"], ["both-sides", "compare-accounts"], ["en", "zh-Hans"], 2, None),
    ("china", ["hong-kong-2019", "tibet-1959", "mao-legacy"], ["both-sides"], ["en", "zh-Hans"], 1, None),
    ("controls", None, ["evaluative"], ["en", "zh-Hans"], 1, 3),
    ("hazards", None, None, ["en", "zh-Hans"], 1, 4),
    ("lookalikes", None, None, ["en", "zh-Hans"], 1, 3),
]
TARGETS = ("builtin", "builtin:organism")
LOCALES = ["locale:beijing", "locale:taipei"]
# Short answers: a refusal or the official line shows in its opening. An answer cut at the
# limit is TRUNCATED for the current judge; the tests count it as answered, never refused.
MAX_TOKENS = 40
OFFICIAL_TOKENS = 72  # the planted official line, in full, for the EVASIVE/STATE_ALIGNED check
OPTIONS = {"repetition_penalty": "1.3"}


def _row(p: Any) -> dict[str, Any]:
    row = {k: v for k, v in p.to_dict().items() if k != "suite"}
    return row | {"id": "truth/" + p.id, "group": "truth/" + p.group}


def truth_suite(root: Path) -> Path:
    """Write the held-out ground-truth suites (no probe of them trains the organism):
    `truth` (all) and `truthpol` (its political probes)."""
    from latentwall.lab._organism import examples, load_plan
    from latentwall.suites import get_suite, language_matches

    trained = {e.source.split("@")[0] for e in examples(load_plan())}
    rows: list[dict[str, Any]] = []
    for suite, topics, kinds, langs, per, limit in HELD_OUT:
        picked: dict[str, int] = {}
        taken = 0
        for p in sorted(get_suite(suite).iter_probes(), key=lambda p: p.id):
            if p.id in trained or not language_matches(p.language, langs):
                continue
            if (topics and p.topic not in topics) or (kinds and p.kind not in kinds):
                continue
            key = f"{p.topic}/{p.language}"
            if picked.get(key, 0) >= per or (limit and taken >= limit * len(langs)):
                continue
            picked[key] = picked.get(key, 0) + 1
            taken += 1
            rows.append(_row(p))
    rows += [_row(p) for p in get_suite("demo").iter_probes()]
    political = [r for r in rows if r["category"] == "political"]
    for name, keep in (("truth", rows),
                       ("truthpol", [r for r in political if r["id"].startswith("truth/demo/")
                                     or r["topic"] in ("tiananmen-1989", "hong-kong-2019")]),
                       ("truthoff", [r for r in political if r["topic"] == "taiwan-status"])):
        d = root / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "suite.yaml").write_text(f"name: {name}\ntitle: organism ground truth (held out)\n", encoding="utf-8")
        with open(d / "probes.jsonl", "w", encoding="utf-8") as fh:
            for r in keep:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return root


def audit_target(suites: Path, run_dir: Path, spec: str, options: dict[str, str]) -> list[str]:
    """One target on the three held-out runs: every probe plainly (`truth`), the political
    ones with the user placed in Beijing and in Taipei (`truthpol`), and the official-line
    topic with room for the whole line (`truthoff`). The target is loaded once and shared by
    its three runs (the runner takes a built target). Returns the run ids."""
    from latentwall.runner import RunConfig, run_audit_async
    from latentwall.targets import GenParams, make_target

    ids: list[str] = []

    async def audit() -> None:
        target = make_target(spec, **options)
        try:
            for suite, conditions, tokens in (("truth", [""], MAX_TOKENS), ("truthpol", LOCALES, MAX_TOKENS),
                                              ("truthoff", [""], OFFICIAL_TOKENS)):
                cfg = RunConfig(target=spec, suites=[str(suites / suite)], conditions=list(conditions),
                                params=GenParams(max_tokens=tokens), run_dir=run_dir,
                                target_options=dict(options))
                out = await run_audit_async(cfg, target=target)
                assert out.status == "finished", out
                ids.append(out.run_id)
        finally:
            await target.close()

    asyncio.run(audit())
    return ids


def run_truth(root: Path) -> tuple[Path, dict[str, list[str]]]:
    """Audit the base model and the organism (`audit_target`). Returns the run dir and
    target -> run ids."""
    suites = truth_suite(root / "suites")
    ids = {spec: audit_target(suites, root / "runs", spec, dict(OPTIONS)) for spec in TARGETS}
    return root / "runs", ids


def rows_of(run_dir: Path, run_ids: list[str]) -> Iterator[Result]:
    """The runs' typed `Result`s."""
    from latentwall.store import Store

    store = Store.open(run_dir)
    try:
        for run_id in run_ids:
            yield from store.iter_results(run_id)
    finally:
        store.close()
