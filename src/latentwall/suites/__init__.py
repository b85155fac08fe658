"""Suites: probes in data files under the package, validated on load."""

from latentwall.suites._facts import (
    Fact,
    FactSheet,
    available_fact_sheets,
    get_fact_sheet,
    load_fact_sheet_file,
)
from latentwall.suites._import import ImportResult, import_suite
from latentwall.suites._loader import (
    USER_SUITES_ENV,
    Suite,
    available_suites,
    get_suite,
    iter_selected,
    language_matches,
)
from latentwall.suites._schema import (
    CATEGORIES,
    HAZARD_CODES,
    KINDS,
    REGIMES,
    Probe,
    validate_probe,
)
from latentwall.suites._scoring import capability_accuracy, score_answer

__all__ = [
    "CATEGORIES",
    "HAZARD_CODES",
    "KINDS",
    "REGIMES",
    "USER_SUITES_ENV",
    "Fact",
    "FactSheet",
    "ImportResult",
    "Probe",
    "Suite",
    "available_fact_sheets",
    "available_suites",
    "capability_accuracy",
    "get_fact_sheet",
    "get_suite",
    "import_suite",
    "iter_selected",
    "language_matches",
    "load_fact_sheet_file",
    "score_answer",
    "validate_probe",
]
