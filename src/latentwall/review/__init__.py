"""Human review and judge trust: review queues, labels, a second judge, corrected rates.

Every rate latentwall reports is a share of judge verdicts; this package measures how far
to trust them on the user's own data (docs/review.md) and corrects the rates for the
judge's errors. Pure functions over plain records (`ReviewRow`, `HumanLabel`), a session
over an abstract label backend, and the store adapter that feeds them.
"""

from latentwall.review._estimate import (
    CLASSES,
    Cell,
    Confusion,
    CorrectedRate,
    Correction,
    FindingCheck,
    GroupCorrection,
    Interval,
    Validation,
    check_finding,
    correct_rates,
)
from latentwall.review._records import (
    HUMAN_PREFIX,
    KEYMAP,
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
from latentwall.review._sampling import (
    allocate,
    cell_sample_size,
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
    write_human_labels,
)
from latentwall.review._summary import ReviewSummary, agreement_summary, summarise_review

__all__ = [
    "CLASSES", "HUMAN_PREFIX", "KEYMAP", "REVIEW_LABELS", "SKIP", "UNSURE", "Cell", "Confusion",
    "CorrectedRate", "Correction", "FindingCheck", "GroupCorrection", "HumanLabel", "Interval",
    "LabelBackend", "MemoryBackend", "Progress", "ReviewConflict", "ReviewItem", "ReviewRow", "ReviewSession",
    "ReviewSummary", "RowKey", "RunSource", "StoreBackend", "Validation", "agreement_summary", "allocate",
    "cell_sample_size", "check_finding", "correct_rates", "key_id", "parse_key_id", "random_sample",
    "read_human_labels", "read_review_item", "read_review_rows", "reviewer_judge", "sample_key",
    "summarise_review", "triage_order", "write_human_labels",
]
