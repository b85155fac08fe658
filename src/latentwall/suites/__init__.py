"""Suites: probes in data files under the package, validated on load."""

from latentwall.suites._facts import (
    Fact,
    FactSheet,
    available_fact_sheets,
    fact_sheet_dirs,
    get_fact_sheet,
    load_fact_sheet_file,
    parse_fact_sheet,
)
from latentwall.suites._import import LICENCE_UNKNOWN, ImportResult, import_suite
from latentwall.suites._loader import (
    USER_SUITES_ENV,
    Suite,
    available_suites,
    get_suite,
    is_shipped,
    iter_selected,
    language_matches,
    user_suite_dirs,
)
from latentwall.suites._schema import (
    CATEGORIES,
    HAZARD_CODES,
    KINDS,
    REGIMES,
    Probe,
    validate_probe,
)
from latentwall.suites._scoring import is_numeric_answer, score_answer

__all__ = [
    "CATEGORIES",
    "HAZARD_CODES",
    "KINDS",
    "LICENCE_UNKNOWN",
    "REGIMES",
    "USER_SUITES_ENV",
    "Fact",
    "FactSheet",
    "ImportResult",
    "Probe",
    "Suite",
    "available_fact_sheets",
    "available_suites",
    "fact_sheet_dirs",
    "get_fact_sheet",
    "get_suite",
    "import_suite",
    "is_numeric_answer",
    "is_shipped",
    "iter_selected",
    "language_matches",
    "load_fact_sheet_file",
    "parse_fact_sheet",
    "score_answer",
    "user_suite_dirs",
    "validate_probe",
]
