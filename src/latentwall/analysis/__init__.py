"""Metrics: verdict rates with Wilson intervals, status counts, ALWAYS/SOMETIMES/NEVER buckets."""

from latentwall.analysis._compare import COMPARE_SCHEMA, compare_runs, render_compare
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
from latentwall.analysis._paired import PAIRED_SCHEMA, paired_control_gap, paired_section_html
from latentwall.analysis._splinter import SPLINTER_SCHEMA, splinter_index, splinter_section_html
from latentwall.analysis._stats import Rate, wilson

__all__ = [
    "BUCKETS",
    "COMPARE_SCHEMA",
    "DEFAULT_BY",
    "PAIRED_SCHEMA",
    "SPLINTER_SCHEMA",
    "SUMMARY_SCHEMA",
    "GroupStats",
    "Rate",
    "Summary",
    "build_json_summary",
    "compare_runs",
    "effective_label",
    "paired_control_gap",
    "paired_section_html",
    "render_compare",
    "run_meta",
    "splinter_index",
    "splinter_section_html",
    "summarise",
    "wilson",
]
