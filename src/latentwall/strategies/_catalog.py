"""The list of strategies with their arguments, for `latentwall strategies` (registers nothing)."""

from __future__ import annotations

from typing import Any

from latentwall.strategies._base import STRATEGIES


def strategy_catalog() -> list[dict[str, Any]]:
    """Every registered strategy: name, one-line summary, argument help, prefill need."""
    out = []
    for name in STRATEGIES.names():
        cls = STRATEGIES.get(name)
        doc = " ".join((cls.__doc__ or "").split())
        out.append({
            "name": name,
            "summary": doc,
            "args": getattr(cls, "arg_help", "none"),
            "needs_prefill": bool(cls.needs_prefill),
            "module": cls.__module__,
        })
    return out
