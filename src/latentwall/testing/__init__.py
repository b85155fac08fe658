"""Test doubles that speak real protocols: a fake OpenAI-compatible server with fault switches,
and synthetic runs written through the real store API (`synthetic_store`, loaded on use)."""

from typing import Any

from latentwall.testing._server import (
    DEFAULT_TRIGGERS,
    REFUSAL_EN,
    REFUSAL_ZH,
    FakeConfig,
    FakeOpenAIServer,
    default_answer,
    is_triggered,
)

__all__ = [
    "DEFAULT_TRIGGERS", "REFUSAL_EN", "REFUSAL_ZH", "FakeConfig", "FakeOpenAIServer",
    "default_answer", "is_triggered", "synthetic_probe", "synthetic_store", "write_synthetic_run",
]


def __getattr__(name: str) -> Any:
    """The synthetic-run writer pulls in the store and the judges; load it only when asked for."""
    if name in ("synthetic_probe", "synthetic_store", "write_synthetic_run"):
        from latentwall.testing import _synthetic

        return getattr(_synthetic, name)
    raise AttributeError(name)
