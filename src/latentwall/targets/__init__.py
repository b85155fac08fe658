"""Targets: models, guarded models and recorded responses, behind one interface.

Each kind lives in one private module that registers itself with `@register_target`.
"""

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

__all__ = [
    "TARGETS", "GenParams", "Request", "Response", "Target", "make_target", "parse_spec", "redact_spec",
    "register_target",
]
