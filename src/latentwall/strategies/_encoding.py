"""Encoded questions with an instruction to decode them: `base64`, `rot13`, `reverse`.

Why: an input keyword filter reads characters; a capable model reads the meaning behind
an encoding. The encoded question passes any wall that does not decode, and the run
measures whether the model decodes and answers (leakage) or fails to (a capability
limit, visible as EVASIVE or an off-topic answer). Instructions per language are in
data/encoding.yaml; the whole current user message is encoded, so chains such as
`euphemism+base64` encode the disguised question.
"""

from __future__ import annotations

import base64
import codecs
import random
from functools import lru_cache
from typing import ClassVar

from latentwall.datafiles import load_yaml
from latentwall.errors import ConfigError
from latentwall.strategies._base import Prompt, Strategy, register_strategy
from latentwall.strategies._common import (
    fill,
    localised,
    need,
    strategy_data,
    templates_per_language,
    text_language,
)
from latentwall.suites import Probe


@lru_cache(maxsize=1)
def _instructions() -> tuple[dict[str, dict[str, list[str]]], str]:
    path = strategy_data("encoding.yaml")
    data = load_yaml(path, lines=True)
    fallback = need(path, data, "fallback", str)
    raw = need(path, data, "instructions", dict)
    return {name: templates_per_language(path, raw, name, "payload")
            for name in raw if name != "__line__"}, fallback


def decode_payload(name: str, payload: str) -> str:
    """Inverse of the encoding (for tests and for reading a run's prompts)."""
    if name == "base64":
        return base64.b64decode(payload.encode("ascii")).decode("utf-8")
    if name == "rot13":
        return codecs.decode(payload, "rot13")
    if name == "reverse":
        return payload[::-1]
    raise ValueError(f"unknown encoding {name}")


class _Encoding(Strategy):
    arg_help: ClassVar[str] = "none"

    def __init__(self, arg: str | None = None) -> None:
        if arg:
            raise ConfigError(f"strategy {self.name} takes no argument (got '{arg}')")
        super().__init__(arg)

    def encode(self, text: str) -> str:
        raise NotImplementedError

    def apply(self, prompt: Prompt, probe: Probe, rng: random.Random) -> Prompt | None:
        text = prompt.user
        payload = self.encode(text)
        if payload == text:
            return None  # nothing to hide (ROT13 of a text with no Latin letters)
        table, fallback = _instructions()
        templates = localised(table.get(self.name, {}), text_language(text, probe), fallback)
        if not templates:
            return None
        return prompt.with_user(fill(templates[0], "payload", payload))


@register_strategy("base64")
class Base64(_Encoding):
    """Send the question base64-encoded (UTF-8) with an instruction to decode and answer it."""

    name: ClassVar[str] = "base64"

    def encode(self, text: str) -> str:
        return base64.b64encode(text.encode("utf-8")).decode("ascii")


@register_strategy("rot13")
class Rot13(_Encoding):
    """Send the question in ROT13 (Latin letters only; not applicable to Chinese text)."""

    name: ClassVar[str] = "rot13"

    def encode(self, text: str) -> str:
        return codecs.encode(text, "rot13")


@register_strategy("reverse")
class Reverse(_Encoding):
    """Send the question written backwards, character by character."""

    name: ClassVar[str] = "reverse"

    def encode(self, text: str) -> str:
        return text[::-1]
