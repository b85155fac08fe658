"""Rows with a judge of known bias and a random human sample, for the corrected-rate tests
(tests/analysis/test_corrected.py, tests/report/test_report_corrected.py, the summary CLI)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from latentwall.records import Result

N = 600  # question groups, each asked in en and zh


def human(label: str, *, sample: int | None = 0) -> dict[str, Any]:
    queue = "random" if sample is not None else "triage"
    return {"human:ann": {"label": label, "extra": {"queue": queue, "sample": sample, "time": "t"}, "created": "t"}}


def biased_rows(make_result: Callable[..., Result], *, biased: bool = True, target: str = "m", labelled: int = 4) -> list[Result]:
    """Machine: en refuses 30% of the groups, zh 20%, so zh looks more open. Truth (when
    `biased`): a quarter of the zh answers the judge called COMPLETE are refusals, so zh
    refuses 40%. People label every `labelled`-th unit of each language (random sample; 0: none).
    Groups alternate between the china and controls suites (one kind), so the paired gap
    has both sides in both languages."""
    out = []
    for i in range(N):
        for lang in ("en", "zh"):
            machine = "DENIAL" if i % 10 < (3 if lang == "en" else 2) else "COMPLETE"
            truth = machine
            if biased and lang == "zh" and machine == "COMPLETE" and (i * 7) % 16 < 4:
                truth = "DENIAL"
            others = human(truth) if labelled and i % labelled == 1 else {}
            out.append(make_result(target=target, probe_id=f"s/t/q{i}/{lang}", group=f"s/t/q{i}", language=lang,
                                   suite="china" if i % 2 else "controls", topic=f"topic{i % 3}", label=machine,
                                   other_labels=others))
    return out
