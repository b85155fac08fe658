"""Human review and judge trust: review queues, labels, a second judge, corrected rates.

Every rate latentwall reports is a share of judge verdicts; this package lets a person
measure how far to trust them on their own data (docs/review.md): the stratified random
sample and the triage queue, a `ReviewSession` over any label backend, the store adapter
(labels are judgements of `human:NAME`), the review page on loopback and the terminal mode,
JSONL export/import and `rejudge` (a second judge). The statistics - the judge's confusion,
misclassification-corrected rates, agreement - are numbers, so they live in
`latentwall.analysis` (the `review` analysis); the report section draws that result.
"""

from typing import Any

from latentwall.analysis import (
    CLASSES,
    Cell,
    Confusion,
    CorrectedRate,
    Correction,
    FindingCheck,
    GroupCorrection,
    Interval,
    ReviewSummary,
    Validation,
    agreement_summary,
    check_finding,
    correct_rates,
    summarise_review,
)
from latentwall.records import (
    DEFAULT_STRATA,
    HUMAN_PREFIX,
    KEYMAP,
    NOTE_MAX,
    REVIEW_LABELS,
    SKIP,
    UNSURE,
    HumanLabel,
    ReviewItem,
    ReviewRow,
    RowKey,
    key_id,
    parse_key_id,
    reviewer_judge,
)
from latentwall.review._jsonl import (
    ImportReport,
    export_record,
    plan_import,
    read_labels,
    text_hash,
    write_export,
    write_unmatched,
)
from latentwall.review._render import agreement_blocks, summary_blocks
from latentwall.review._sampling import (
    allocate,
    cell_sample_size,
    in_part,
    plan_summary,
    random_sample,
    sample_key,
    triage_order,
)
from latentwall.review._session import (
    LabelBackend,
    MemoryBackend,
    Progress,
    ReviewConflict,
    ReviewSession,
)
from latentwall.review._store import (
    RunSource,
    StoreBackend,
    read_human_labels,
    read_review_item,
    read_review_rows,
    review_row,
    verdict_judges,
    write_human_labels,
)

__all__ = [
    "CLASSES", "DEFAULT_STRATA", "HUMAN_PREFIX", "KEYMAP", "NOTE_MAX", "REVIEW_LABELS", "SKIP", "TOKEN_HEADER",
    "UNSURE", "Cell", "Confusion", "CorrectedRate", "Correction", "FindingCheck", "GroupCorrection", "HumanLabel",
    "ImportReport", "Interval", "LabelBackend", "MemoryBackend", "Progress", "ReviewConflict", "ReviewItem",
    "ReviewRow", "ReviewSession", "ReviewSummary", "RowKey", "RunSource", "StoreBackend", "Validation",
    "agreement_blocks", "agreement_summary", "allocate", "cell_sample_size", "check_finding", "correct_rates",
    "export_record", "in_part", "key_id", "parse_key_id", "plan_import", "plan_summary", "random_sample",
    "read_human_labels", "read_labels", "read_review_item", "read_review_rows", "rejudge_run", "review_row",
    "reviewer_judge", "run_tty", "sample_key", "serve_review", "start_review_server", "summarise_review",
    "summary_blocks", "text_hash", "triage_order", "verdict_judges", "write_export", "write_human_labels",
    "write_unmatched",
]

_LAZY = {  # the page pulls in aiohttp.web, rejudge the judges and runner, tty termios
    "TOKEN_HEADER": "_web", "serve_review": "_web", "start_review_server": "_web",
    "run_tty": "_tty", "rejudge_run": "_rejudge",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"latentwall.review.{_LAZY[name]}"), name)
    raise AttributeError(name)
