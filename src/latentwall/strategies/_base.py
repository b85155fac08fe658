"""Strategies turn a probe into a variant prompt; a chain of them is a run condition.

A condition spec is strategies joined by '+', each `name` or `name:arg`, e.g.
`base64`, `roleplay+zero-width`, `locale:beijing`. The empty spec is the plain probe.
Every strategy is deterministic under the rng it is given (seeded per probe, condition
and run seed), so a run is reproducible and resumable.
"""

from __future__ import annotations

import hashlib
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import ClassVar

from latentwall.errors import ConfigError
from latentwall.registry import Registry, split_spec
from latentwall.suites import Probe


@dataclass(frozen=True, slots=True)
class Prompt:
    """What is sent: chat messages, and optionally text the assistant turn starts with."""

    messages: tuple[dict[str, str], ...]
    prefill: str | None = None

    @property
    def user(self) -> str:
        for m in reversed(self.messages):
            if m.get("role") == "user":
                return m.get("content", "")
        return ""

    def with_user(self, text: str) -> Prompt:
        """Replace the last user message, keeping the rest of the conversation."""
        msgs = list(self.messages)
        for i in range(len(msgs) - 1, -1, -1):
            if msgs[i].get("role") == "user":
                msgs[i] = {**msgs[i], "content": text}
                return replace(self, messages=tuple(msgs))
        return replace(self, messages=(*msgs, {"role": "user", "content": text}))

    def with_system(self, text: str, *, append: bool = True) -> Prompt:
        """Set (or extend) the system message."""
        msgs = list(self.messages)
        if msgs and msgs[0].get("role") == "system":
            content = f"{msgs[0]['content']}\n\n{text}" if append else text
            msgs[0] = {"role": "system", "content": content}
        else:
            msgs.insert(0, {"role": "system", "content": text})
        return replace(self, messages=tuple(msgs))


def plain_prompt(probe: Probe) -> Prompt:
    msgs: list[dict[str, str]] = []
    if probe.system:
        msgs.append({"role": "system", "content": probe.system})
    msgs.append({"role": "user", "content": probe.text})
    return Prompt(tuple(msgs))


class Strategy(ABC):
    """One perturbation. `needs_prefill` strategies run only on targets that support it."""

    name: ClassVar[str]
    needs_prefill: ClassVar[bool] = False

    def __init__(self, arg: str | None = None) -> None:
        self.arg = arg

    @property
    def spec(self) -> str:
        return self.name if self.arg is None else f"{self.name}:{self.arg}"

    @abstractmethod
    def apply(self, prompt: Prompt, probe: Probe, rng: random.Random) -> Prompt | None:
        """The variant, or None when the strategy does not apply to this probe."""


STRATEGIES: Registry[type[Strategy]] = Registry("strategy", "latentwall.strategies")
register_strategy = STRATEGIES.register


class Condition:
    """A chain of strategies applied in order to the plain probe."""

    def __init__(self, strategies: list[Strategy]) -> None:
        self.strategies = strategies
        self.id = "+".join(s.spec for s in strategies)

    @property
    def needs_prefill(self) -> bool:
        return any(s.needs_prefill for s in self.strategies)

    def render(self, probe: Probe, seed: int = 0) -> Prompt | None:
        prompt = plain_prompt(probe)
        if not self.strategies:
            return prompt
        digest = hashlib.sha256(f"{probe.id}\x00{self.id}\x00{seed}".encode()).digest()
        rng = random.Random(int.from_bytes(digest[:8], "big"))
        for strategy in self.strategies:
            nxt = strategy.apply(prompt, probe, rng)
            if nxt is None:
                return None
            prompt = nxt
        return prompt


def condition_specs(plain: bool, chains: list[str], locales: list[str]) -> list[str]:
    """The run's conditions: the plain probe (''), each strategy chain (items may hold
    several, comma-separated), and `locale:PLACE` for each place."""
    out = [""] if plain else []
    for item in chains:
        out += [c.strip() for c in item.split(",") if c.strip()]
    return out + [f"locale:{place}" for place in locales]


def make_condition(spec: str) -> Condition:
    """'' -> the plain probe; 'a+b:x' -> strategy a then strategy b with argument x."""
    spec = spec.strip()
    if not spec or spec == "plain":
        return Condition([])
    chain: list[Strategy] = []
    for part in spec.split("+"):
        if not part.strip():
            raise ConfigError(f"empty strategy in condition '{spec}'")
        name, arg = split_spec(part, "strategy")
        cls = STRATEGIES.get(name)
        chain.append(cls(arg if ":" in part else None))
    return Condition(chain)
