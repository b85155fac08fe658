"""Targets: models, guarded models and recorded responses, behind one interface.

Each kind lives in one private module that registers itself with `@register_target`.
"""

from latentwall.targets._adapter import CONFIG_NAME as ADAPTER_CONFIG
from latentwall.targets._adapter import WEIGHTS_NAME as ADAPTER_WEIGHTS
from latentwall.targets._base import (
    TARGETS,
    GenParams,
    Request,
    Response,
    Target,
    make_target,
    parse_spec,
    redact_spec,
    register_target,
)
from latentwall.targets._hf import HFEngine, HFTarget
from latentwall.targets._llamacpp import LLAMACPP_HINT, LlamaCppEngine, llamacpp_available
from latentwall.targets._local import (
    Checkpoint,
    cut_completion,
    plain_prompt,
    render_chat,
    resolve_checkpoint,
)
from latentwall.targets._openai import MAX_CONCURRENCY, OpenAITarget, parse_retry_after, split_spec
from latentwall.targets._reasoning import split_reasoning, think_opened
from latentwall.targets._replay import ReplayTarget, normalise_prompt

__all__ = [
    "ADAPTER_CONFIG",
    "ADAPTER_WEIGHTS",
    "LLAMACPP_HINT",
    "MAX_CONCURRENCY",
    "TARGETS",
    "Checkpoint",
    "GenParams",
    "HFEngine",
    "HFTarget",
    "LlamaCppEngine",
    "OpenAITarget",
    "ReplayTarget",
    "Request",
    "Response",
    "Target",
    "cut_completion",
    "llamacpp_available",
    "make_target",
    "normalise_prompt",
    "parse_retry_after",
    "parse_spec",
    "plain_prompt",
    "redact_spec",
    "register_target",
    "render_chat",
    "resolve_checkpoint",
    "split_reasoning",
    "split_spec",
    "think_opened",
]
