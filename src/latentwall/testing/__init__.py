"""Test doubles that speak real protocols: a fake OpenAI-compatible server with fault switches."""

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
    "default_answer", "is_triggered",
]
