"""Exports: a run's responses and judgements as JSONL, CSV, Parquet or a pandas DataFrame,
and the results summary document with its JSON Schema."""

from latentwall.export._export import (
    FIELDS,
    FORMATS,
    arrow_schema,
    export_run,
    formula_safe,
    guess_format,
    iter_export_rows,
    load_dataframe,
    read_csv_rows,
    read_parquet_rows,
    summary_document,
)
from latentwall.export._schema import (
    SummaryValidationError,
    summary_schema,
    validate,
    validate_summary,
)

__all__ = [
    "FIELDS",
    "FORMATS",
    "SummaryValidationError",
    "arrow_schema",
    "export_run",
    "formula_safe",
    "guess_format",
    "iter_export_rows",
    "load_dataframe",
    "read_csv_rows",
    "read_parquet_rows",
    "summary_document",
    "summary_schema",
    "validate",
    "validate_summary",
]
