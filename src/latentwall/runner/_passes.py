"""Passes over a finished run: a second scorer reads every stored response and stores its
judgements beside the run's own (today: narrative stance, offline or by an LLM)."""

from __future__ import annotations

from typing import Any

from latentwall.errors import ConfigError
from latentwall.judges import Judgement, run_sync
from latentwall.judges.stance import (
    STANCE_JUDGE,
    STANCE_LLM_JUDGE,
    LLMStanceScorer,
    Sheets,
    StanceItem,
    applicability,
    score_stance,
)
from latentwall.records import ResultKey
from latentwall.store import Store
from latentwall.targets import Target


def stance_pass(
    store: Store,
    run_id: str,
    scorer: str | Target = "offline",
    *,
    verdict_judge: str | None = None,
    chunk: int = 256,
    **options: Any,
) -> dict[str, Any]:
    """Score every response of a run and store the stances as judgements under "stance"
    (offline) or "stance-llm" (scorer="llm:TARGET_SPEC"); the run's own labels are untouched.

    Every response gets a judgement (NOT_APPLICABLE ones say why), so a viewer can show the
    stance of each. Returns {"analysis": "stance_pass", "run_id", "judge", "scorer", "n_rows",
    "n_scored", "counts": {label: n}, "not_applicable": None | reason}. Run it after the run
    has finished: a later resume that retries ERROR rows does not redo the stance.
    `scorer` may also be a Target instance (an LLM scorer on that target).
    `verdict_judge` picks whose COMPLETE/EVASIVE labels decide applicability (default: the run's).
    """
    run = store.get_run(run_id)
    if run is None:
        raise ConfigError(f"no run '{run_id}' in {store.path}")
    llm_spec: str | Target | None
    if not isinstance(scorer, str):
        judge, llm_spec = STANCE_LLM_JUDGE, scorer
    elif scorer == "offline":
        judge, llm_spec = STANCE_JUDGE, None
    elif scorer.startswith("llm:") and scorer[4:].strip():
        judge, llm_spec = STANCE_LLM_JUDGE, scorer[4:].strip()
    else:
        raise ConfigError(f"stance scorer must be 'offline' or 'llm:TARGET_SPEC', got '{scorer}'")
    counts: dict[str, int] = {}
    n_rows = n_scored = 0
    sheets = Sheets()
    writer = type(store)(store.path)  # a second connection: the read cursor stays valid in WAL

    def write(items: list[tuple[str, str, int, Judgement]]) -> None:
        if items:
            writer.write_judgements(run_id, judge, items)
            items.clear()

    async def llm_pass() -> None:
        nonlocal n_rows, n_scored
        assert llm_spec is not None
        llm = LLMStanceScorer(llm_spec, **options)
        pending: list[tuple[ResultKey, StanceItem]] = []
        out: list[tuple[str, str, int, Judgement]] = []

        async def flush() -> None:
            nonlocal n_scored
            if pending:
                results = await llm.score([it for _, it in pending])
                for (key, _), res in zip(pending, results, strict=True):
                    counts[res.label] = counts.get(res.label, 0) + 1
                    out.append((*key, res.to_judgement(judge)))
                n_scored += len(pending)
                pending.clear()
            write(out)

        started = False
        try:
            for row in store.iter_results(run_id, judge=verdict_judge):
                n_rows += 1
                sheet, na = applicability(row, sheets)
                if sheet is None:
                    assert na is not None
                    counts[na.label] = counts.get(na.label, 0) + 1
                    out.append((*row.key, na.to_judgement(judge)))
                    continue
                if not started:
                    await llm.start()
                    started = True
                pending.append((row.key, StanceItem(
                    str(row.probe_text or row.prompt or ""), str(row.text or ""), sheet, row.language)))
                if len(pending) >= chunk:
                    await flush()
                elif len(out) >= chunk:
                    write(out)
            await flush()
        finally:
            if started:
                await llm.close()

    try:
        if llm_spec is None:
            out: list[tuple[str, str, int, Judgement]] = []
            for row in store.iter_results(run_id, judge=verdict_judge):
                n_rows += 1
                sheet, na = applicability(row, sheets)
                if sheet is None:
                    res = na
                else:
                    res = score_stance(str(row.text or ""), sheet, row.language)
                    n_scored += 1
                assert res is not None
                counts[res.label] = counts.get(res.label, 0) + 1
                out.append((*row.key, res.to_judgement(judge)))
                if len(out) >= chunk:
                    write(out)
            write(out)
        else:
            run_sync(llm_pass)
    finally:
        writer.close()
    reason = None
    if n_rows == 0:
        reason = f"run {run_id} has no responses"
    elif n_scored == 0:
        reason = "no response has both a fact sheet for its topic and a COMPLETE or EVASIVE label"
    return {
        "analysis": "stance_pass", "run_id": run_id, "judge": judge,
        "scorer": scorer if isinstance(scorer, str) else f"llm:{scorer.label}",
        "n_rows": n_rows, "n_scored": n_scored, "counts": dict(sorted(counts.items())),
        "not_applicable": reason,
    }
