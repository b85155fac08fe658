"""Analysis: numbers only. Every analysis is a function of `Result`s (latentwall.records)
that returns a typed result with `to_dict()`; none renders HTML or a terminal table (that is
`latentwall.report`). Each registers itself with `@register_analysis`, so the analyses
document (`latentwall analyse --json`) and the report are built from one registry.
"""

from latentwall.analysis._base import (
    ANALYSES,
    ANALYSES_SCHEMA,
    OMITTED,
    AnalysesDocument,
    Analysis,
    AnalysisOptions,
    AnalysisResult,
    NotApplicable,
    analyses,
    analyses_document,
    document,
    register_analysis,
    results_with_stance,
    to_json,
)
from latentwall.analysis._capability import (
    CapabilityAccuracy,
    CapabilityTax,
    CapabilityTaxes,
    b_minus_a,
    b_minus_a_paired,
    capability_accuracy,
    capability_tax,
)
from latentwall.analysis._compare import COMPARE_SCHEMA, Comparison, compare_runs
from latentwall.analysis._diversity import Diversity, diversity
from latentwall.analysis._guards import (
    GUARDS_SCHEMA,
    LAYERS,
    SETS,
    StrategyMetrics,
    strategy_metrics,
)
from latentwall.analysis._heat import SLOTS, STANCES_APPLICABLE, HeatCounts, heat_counts, rate_of
from latentwall.analysis._locale import LocaleEffects, locale_effects
from latentwall.analysis._metrics import (
    BUCKETS,
    DEFAULT_BY,
    SUMMARY_SCHEMA,
    GroupStats,
    Summary,
    build_json_summary,
    summarise,
)
from latentwall.analysis._paired import PAIRED_SCHEMA, PairedResult, paired_control_gap, side_of
from latentwall.analysis._reasoning import SHORT_FRACTION, ThoughtSuppression, thought_suppression
from latentwall.analysis._regimes import (
    REGIME_IDS,
    RegimeCard,
    RegimeCards,
    ailuminate_grade,
    regime_cards,
    regime_report,
)
from latentwall.analysis._splinter import SPLINTER_SCHEMA, SplinterResult, splinter_index
from latentwall.analysis._stance import DEFAULT_STANCE_BY, StanceSummary, stance_summary
from latentwall.analysis._stats import Rate, wilson
from latentwall.analysis._tally import Tally, group_by, sort_key, tally_by
from latentwall.analysis._tests import (
    binom_two_sided_half,
    bootstrap_ci,
    bootstrap_ratios,
    chi2_sf,
    cochran_q,
    fmt_p,
    gamma_q,
    holm,
    mcnemar,
    modal_verdict,
    newcombe_diff,
    newcombe_paired_diff,
    stuart_maxwell,
)

__all__ = [
    "ANALYSES", "ANALYSES_SCHEMA", "BUCKETS", "COMPARE_SCHEMA", "DEFAULT_BY", "DEFAULT_STANCE_BY", "GUARDS_SCHEMA",
    "LAYERS", "OMITTED", "PAIRED_SCHEMA", "REGIME_IDS", "SETS", "SHORT_FRACTION", "SLOTS", "SPLINTER_SCHEMA",
    "STANCES_APPLICABLE", "SUMMARY_SCHEMA", "AnalysesDocument", "Analysis", "AnalysisOptions", "AnalysisResult",
    "CapabilityAccuracy", "CapabilityTax", "CapabilityTaxes", "Comparison", "Diversity", "GroupStats", "HeatCounts",
    "LocaleEffects", "NotApplicable", "PairedResult", "Rate", "RegimeCard", "RegimeCards", "SplinterResult",
    "StanceSummary", "StrategyMetrics", "Summary", "Tally", "ThoughtSuppression", "ailuminate_grade", "analyses", "b_minus_a", "b_minus_a_paired",
    "analyses_document", "build_json_summary", "capability_accuracy", "capability_tax", "compare_runs", "diversity",
    "document", "fmt_p", "group_by", "heat_counts", "holm", "locale_effects", "mcnemar", "modal_verdict",
    "newcombe_diff", "newcombe_paired_diff", "paired_control_gap", "side_of", "binom_two_sided_half", "bootstrap_ci",
    "bootstrap_ratios", "chi2_sf", "cochran_q", "gamma_q", "stuart_maxwell", "rate_of", "regime_cards", "regime_report",
    "register_analysis", "results_with_stance", "sort_key", "splinter_index", "stance_summary", "strategy_metrics",
    "summarise", "tally_by", "thought_suppression", "to_json", "wilson",
]
