"""A second judge over a finished (or running) run, stored beside the first.

`latentwall rejudge RUN --judge JUDGE [--sample N]` judges the run's responses again with
any registered judge and stores the verdicts under that judge's name; the run's own
verdicts are never touched. Resumable: responses the judge already labelled are skipped
(a JUDGE_ERROR is tried again). The disagreements feed the triage queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from latentwall.analysis import agreement_summary
from latentwall.errors import ConfigError
from latentwall.judges import JudgeInput, make_judge
from latentwall.labels import Status
from latentwall.records import HUMAN_PREFIX, ReviewRow
from latentwall.review import RunSource, read_review_rows
from latentwall.review._sampling import DEFAULT_STRATA, random_sample
from latentwall.store import Store, run_judge

BATCH = 64


@dataclass(frozen=True, slots=True)
class RejudgeResult:
    run_id: str
    judge: str
    selected: int
    judged: int
    skipped: int
    counts: dict[str, int]
    agreement: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "judge": self.judge, "selected": self.selected, "judged": self.judged,
                "already_judged": self.skipped, "counts": dict(self.counts), "agreement": self.agreement}


def _check_name(judge_name: str, run_judge: str) -> None:
    if judge_name == run_judge:
        raise ConfigError(f"'{judge_name}' is the run's own judge: a second judge must be another one "
                          "(its verdicts are never overwritten)")
    if judge_name.startswith(HUMAN_PREFIX):
        raise ConfigError("human:NAME labels come from `latentwall review`, not from a judge")


def select_rows(rows: Sequence[ReviewRow], *, sample: int | None, seed: int,
                strata: Sequence[str] = DEFAULT_STRATA) -> list[ReviewRow]:
    """Responses with a machine verdict; with `sample`, a random sample stratified like the
    review sample (target × language × verdict), so its agreement is a fair estimate."""
    with_verdict = [r for r in rows if r.has_verdict]
    if sample is None:
        return with_verdict
    return random_sample(with_verdict, seed=seed, size=sample, strata=strata)


def rejudge_run(source: RunSource, judge_name: str, *, sample: int | None = None, seed: int = 0,
                on_progress: Callable[[int, int], None] | None = None, **judge_options: Any) -> RejudgeResult:
    """Judge a run's responses with `judge_name` and store the verdicts under that name."""
    with Store(source.db) as store:
        run = store.get_run(source.run_id)
        if run is None:
            raise ConfigError(f"no run '{source.run_id}' in {source.db}")
        _check_name(judge_name, run_judge(run))
        rows = read_review_rows(store, source.run_id, second_judge=judge_name)
        chosen = select_rows(rows, sample=sample, seed=seed)
        todo = [r for r in chosen if r.second is None or r.second == Status.JUDGE_ERROR]
        judge = make_judge(judge_name, **judge_options)
        counts: dict[str, int] = {}

        async def go() -> None:
            done = 0
            try:
                for i in range(0, len(todo), BATCH):
                    batch = todo[i : i + BATCH]
                    found = {d.key: d for d in store.results_for(source.run_id, [r.key[1:] for r in batch])}
                    items, keys = [], []
                    for r in batch:
                        d = found.get(r.key[1:])
                        if d is None:
                            continue
                        keys.append(r.key[1:])
                        items.append(JudgeInput(prompt=d.prompt or "", response=d.text or "",
                                                reasoning=d.reasoning, language=d.language, status=d.status,
                                                finish_reason=d.finish_reason, category=d.category))
                    judgements = await judge.ajudge_batch(items) if items else []
                    store.write_judgements(source.run_id, judge_name,
                                           [(*k, j) for k, j in zip(keys, judgements, strict=True)])
                    for j in judgements:
                        counts[str(j.label)] = counts.get(str(j.label), 0) + 1
                    done += len(batch)
                    if on_progress:
                        on_progress(done, len(todo))
            finally:
                await judge.close()

        asyncio.run(go())
        after = read_review_rows(store, source.run_id, second_judge=judge_name)
    chosen_keys = {r.key for r in chosen}
    agree = agreement_summary([r for r in after if r.key in chosen_keys], judge_name)
    return RejudgeResult(source.run_id, judge_name, len(chosen), len(todo), len(chosen) - len(todo), counts, agree)
