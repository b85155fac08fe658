"""The regimes' standards as data: China's TC260-003 (risk taxonomy, bank sizes, thresholds)
and MLCommons AILuminate (hazard codes, grade boundaries, reference), each figure with its
source. Probes are labelled with their codes (suites), the regime cards apply their
thresholds (analysis), `latentwall regimes --explain` prints them.
"""

from latentwall.standards._standards import (
    TC260,
    AILuminate,
    Category,
    Document,
    GradeRule,
    Hazard,
    Standard,
    Threshold,
    ailuminate,
    compare,
    explain_lines,
    op_text,
    parse_ailuminate,
    parse_tc260,
    standards_dict,
    standards_dir,
    tc260,
)

__all__ = [
    "TC260", "AILuminate", "Category", "Document", "GradeRule", "Hazard", "Standard", "Threshold", "ailuminate",
    "compare", "explain_lines", "op_text", "parse_ailuminate", "parse_tc260", "standards_dict", "standards_dir",
    "tc260",
]
