"""Synthetic runs written through the real store API, for the report/viewer benches and tests.

Real audits take minutes of model time; the report, the viewer and the exports only need
rows shaped like a run's, in a real SQLite store, at any size. Everything is written the
way production writes it: responses and the run judge's labels by `write_results`, a
narrative stance as a stance pass stores it (judgements under the judge "stance").
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from latentwall.judges import Judgement
from latentwall.labels import DEFAULT_JUDGE, STANCE_JUDGE
from latentwall.store import ResultRecord, Store
from latentwall.suites import Probe
from latentwall.targets import Response

LABELS: tuple[str, ...] = ("COMPLETE", "COMPLETE", "EVASIVE", "DENIAL", "COMPLETE", "DENIAL",
                           "ERROR", "COMPLETE")
ANSWER = ("The events of that day are documented by many sources, including contemporary "
          "reporting, diplomatic cables and later memoirs. ") * 3


def synthetic_probe(suite: str, i: int, topics: Sequence[str], languages: Sequence[str]) -> Probe:
    topic = topics[i % len(topics)]
    lang = languages[(i // len(topics)) % len(languages)]
    return Probe(
        id=f"{suite}/{topic}/q{i:06d}/{lang.lower()}", suite=suite,
        text=f"Question {i} about {topic}?", language=lang, topic=topic,
        category="political" if i % 3 else "benign", kind="factual",
        group=f"{suite}/{topic}/q{i:06d}", expected={"open": "answer"},
        jurisdiction="CN" if i % 2 else "US",
    )


def write_synthetic_run(
    store: Store,
    run_id: str,
    target: str,
    n_rows: int,
    *,
    suite: str = "synth",
    topics: Sequence[str] = ("tiananmen", "taiwan", "xinjiang", "weather", "bridges"),
    languages: Sequence[str] = ("en", "zh-Hans"),
    conditions: Sequence[str] = ("",),
    samples: int = 1,
    status: str = "finished",
    start: int = 0,
    batch: int = 1_000,
    stance: bool = False,
    text: str = ANSWER,
    label_shift: int = 0,
) -> int:
    """Append `n_rows` responses (probe × condition × sample) from row index `start`; return n."""
    if start == 0:
        store.create_run(run_id, target, {
            "judge": DEFAULT_JUDGE, "suites": [suite], "samples": samples, "target_label": target,
            "params": {"temperature": 0.0, "max_tokens": 256, "seed": 0},
            "latentwall_version": "synthetic",
        })
    per_probe = len(conditions) * samples
    first_probe, last_probe = start // per_probe, (start + n_rows - 1) // per_probe
    store.add_probes(run_id, [(i, synthetic_probe(suite, i, topics, languages))
                              for i in range(first_probe, last_probe + 1)])
    records = []
    stances: list[tuple[str, str, int, Judgement]] = []
    for k in range(start, start + n_rows):
        i, rest = divmod(k, per_probe)
        cond, sample = conditions[rest // samples], rest % samples
        probe = synthetic_probe(suite, i, topics, languages)
        label = LABELS[(k + label_shift + i % 3) % len(LABELS)]
        resp = Response(text="" if label == "ERROR" else f"{text} [{k}]",
                        status="ERROR" if label == "ERROR" else None,
                        error="timeout" if label == "ERROR" else None,
                        finish_reason="stop", model=target, latency_s=0.1 + (k % 7) / 10)
        if stance:
            st = ("STATE_ALIGNED", "INDEPENDENT", "MIXED")[k % 3] if label == "COMPLETE" else "NOT_APPLICABLE"
            stances.append((probe.id, cond, sample, Judgement(
                st, f"{st}: synthetic stance", (), judge=STANCE_JUDGE, extra={"scorer": "offline", "stance": st})))
        records.append(ResultRecord(
            run_id, probe.id, cond, sample, f"{run_id}-{k}", probe.text, resp,
            Judgement(label, f"synthetic rationale {label.lower()}", (f"evidence {k}",)), DEFAULT_JUDGE,
        ))
        if len(records) >= batch:
            store.write_results(records)
            records.clear()
            store.write_judgements(run_id, STANCE_JUDGE, stances)
            stances.clear()
    store.write_results(records)
    store.write_judgements(run_id, STANCE_JUDGE, stances)
    store.update_run(run_id, status=status, total=start + n_rows,
                     **({"finished": "2025-01-01T00:00:00+00:00"} if status == "finished" else {}))
    return n_rows


def synthetic_store(run_dir: str | os.PathLike[str], n_rows: int, targets: int = 2,
                    **kw: object) -> Path:
    """A run directory with `targets` runs of `n_rows // targets` rows each; returns its db."""
    with Store.open(Path(run_dir)) as store:
        for t in range(targets):
            write_synthetic_run(store, f"run-{t}", f"model-{chr(97 + t)}", n_rows // targets,
                                label_shift=t, **kw)  # type: ignore[arg-type]
        return store.path
