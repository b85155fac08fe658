"""Metrics: verdict rates with Wilson intervals, status counts, ALWAYS/SOMETIMES/NEVER buckets."""

from latentwall.analysis._metrics import (
    BUCKETS,
    DEFAULT_BY,
    SUMMARY_SCHEMA,
    GroupStats,
    Summary,
    build_json_summary,
    effective_label,
    run_meta,
    summarise,
)
from latentwall.analysis._stats import Rate, wilson

__all__ = [
    "BUCKETS",
    "DEFAULT_BY",
    "SUMMARY_SCHEMA",
    "GroupStats",
    "Rate",
    "Summary",
    "build_json_summary",
    "effective_label",
    "run_meta",
    "summarise",
    "wilson",
]
