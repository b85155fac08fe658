"""Judges: label responses COMPLETE / EVASIVE / DENIAL, or a terminal status.

Each judge lives in one private module that registers itself with `@register_judge`.
Models used as judges (the LLM judge, the LLM stance scorer) share one engine
(`ModelJudge`: batching, strict reply parsing, their own API key, a sync bridge). The
narrative-stance scorers live in `judges.stance`.
"""

from latentwall.judges._base import (
    JUDGES,
    Judge,
    JudgeInput,
    Judgement,
    make_judge,
    register_judge,
    terminal_status,
)
from latentwall.judges._engine import (
    JUDGE_API_KEY_ENV,
    ModelJudge,
    ReplyError,
    judge_key_options,
    parse_json_reply,
    read_rubric,
    run_sync,
)
from latentwall.judges._evaluate import (
    EvalItem,
    EvalReport,
    agreement,
    default_paths,
    evaluate_judge,
    holdout_path,
    load_eval_set,
)
from latentwall.judges._files import check_eval_file, judge_file, read_judge_rows
from latentwall.judges._fit import (
    FitResult,
    fit,
    is_held_back,
    out_of_fold,
    read_table,
    refit,
    rows_from_items,
    write_table,
)
from latentwall.judges._lexicon import MarkerBank, load_bank, load_marker_file
from latentwall.judges._linear import LinearModel, default_model_path, load_model
from latentwall.judges._llm import LLMJudge, load_rubric, parse_reply
from latentwall.judges._markers import UNREAD_CONFIDENCE, MarkersJudge
from latentwall.judges._signals import FEATURES, collapse_repeats, read_prompt, read_response

__all__ = [
    "FEATURES", "JUDGES", "JUDGE_API_KEY_ENV", "UNREAD_CONFIDENCE", "EvalItem", "EvalReport", "FitResult", "Judge",
    "JudgeInput", "Judgement", "LLMJudge", "LinearModel", "MarkerBank", "MarkersJudge", "ModelJudge", "ReplyError",
    "agreement", "check_eval_file", "collapse_repeats", "default_model_path", "default_paths", "evaluate_judge", "fit", "holdout_path",
    "is_held_back", "judge_file", "judge_key_options", "load_bank", "load_eval_set", "load_marker_file", "load_model",
    "load_rubric", "make_judge", "out_of_fold", "parse_json_reply", "parse_reply", "read_judge_rows", "read_prompt", "read_response",
    "read_rubric", "read_table", "refit", "register_judge", "rows_from_items", "run_sync", "terminal_status",
    "write_table",
]
