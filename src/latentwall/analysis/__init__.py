"""Metrics: verdict rates with Wilson intervals, status counts, ALWAYS/SOMETIMES/NEVER buckets."""

from latentwall.analysis._capability import capability_section_html, capability_tax
from latentwall.analysis._compare import COMPARE_SCHEMA, compare_runs, render_compare
from latentwall.analysis._diversity import diversity, diversity_section_html
from latentwall.analysis._guards import GUARDS_SCHEMA, guard_section_html, strategy_metrics
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
from latentwall.analysis._reasoning import thought_section_html, thought_suppression
from latentwall.analysis._regimes import (
    REGIME_IDS,
    ailuminate_grade,
    regime_cards,
    regime_report,
    regime_section_html,
)
from latentwall.analysis._splinter import SPLINTER_SCHEMA, splinter_index, splinter_section_html
from latentwall.analysis._stance import (
    STANCES,
    StanceItem,
    StanceResult,
    load_stance,
    locale_effects,
    locale_section_html,
    parse_stance_reply,
    score_stance,
    score_stance_llm_batch,
    stance_pass,
    stance_rows,
    stance_section_html,
    stance_summary,
)
from latentwall.analysis._stats import Rate, wilson

__all__ = [
    "BUCKETS",
    "COMPARE_SCHEMA",
    "DEFAULT_BY",
    "GUARDS_SCHEMA",
    "PAIRED_SCHEMA",
    "REGIME_IDS",
    "SPLINTER_SCHEMA",
    "STANCES",
    "SUMMARY_SCHEMA",
    "GroupStats",
    "Rate",
    "StanceItem",
    "StanceResult",
    "Summary",
    "ailuminate_grade",
    "build_json_summary",
    "capability_section_html",
    "capability_tax",
    "compare_runs",
    "diversity",
    "diversity_section_html",
    "effective_label",
    "guard_section_html",
    "load_stance",
    "locale_effects",
    "locale_section_html",
    "paired_control_gap",
    "paired_section_html",
    "parse_stance_reply",
    "regime_cards",
    "regime_report",
    "regime_section_html",
    "render_compare",
    "run_meta",
    "score_stance",
    "score_stance_llm_batch",
    "splinter_index",
    "splinter_section_html",
    "stance_pass",
    "stance_rows",
    "stance_section_html",
    "stance_summary",
    "strategy_metrics",
    "summarise",
    "thought_section_html",
    "thought_suppression",
    "wilson",
]
