"""Framings around the question: `roleplay`, `hypothetical`, `academic`.

Why: many models decline a sensitive question asked plainly and answer it inside a
story, a thought experiment or a scholarly request; a keyword guard sees the same words
either way. The question goes into the frame verbatim. Templates per language are in
data/framings.yaml; `NAME:N` fixes the template, otherwise one is chosen under the seed.
"""

from __future__ import annotations

import random
from functools import lru_cache
from typing import ClassVar

from latentwall.datafiles import load_yaml
from latentwall.strategies._base import Prompt, Strategy, register_strategy
from latentwall.strategies._common import (
    fill,
    index_arg,
    localised,
    need,
    pick,
    strategy_data,
    templates_per_language,
    text_language,
)
from latentwall.suites import Probe


@lru_cache(maxsize=1)
def frames() -> tuple[dict[str, dict[str, list[str]]], str]:
    path = strategy_data("framings.yaml")
    data = load_yaml(path, lines=True)
    fallback = need(path, data, "fallback", str)
    raw = need(path, data, "frames", dict)
    return {name: templates_per_language(path, raw, name, "question")
            for name in raw if name != "__line__"}, fallback


class _Framing(Strategy):
    arg_help: ClassVar[str] = "N: always the N-th template (from 0); default: chosen under the seed"

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        self.index = index_arg(self.name, arg)

    def apply(self, prompt: Prompt, probe: Probe, rng: random.Random) -> Prompt | None:
        table, fallback = frames()
        text = prompt.user
        templates = localised(table.get(self.name, {}), text_language(text, probe), fallback)
        if not templates:
            return None
        return prompt.with_user(fill(pick(templates, rng, self.index), "question", text))


@register_strategy("roleplay")
class RolePlay(_Framing):
    """Ask inside a role-play: a candid retired journalist, an actor playing a historian, a novel's scene."""

    name: ClassVar[str] = "roleplay"


@register_strategy("hypothetical")
class Hypothetical(_Framing):
    """Ask as a hypothetical: no restrictions, a parallel world, a neutral observer."""

    name: ClassVar[str] = "hypothetical"


@register_strategy("academic")
class Academic(_Framing):
    """Ask as a historian or scholar would: a lecture, a literature review, a graduate seminar."""

    name: ClassVar[str] = "academic"
