"""Strategies that change the conversation around the question, not its words:
`prefill`, `multi-turn`, `system-override`.

Why: refusal is often decided by the context (the system prompt, the conversation so far,
the first words of the answer) rather than by the question. These variants move one
piece of context each, with scripted, harmless texts from data files (prefill.yaml,
escalation.yaml, system.yaml), so every run sends the same conversation.
"""

from __future__ import annotations

import random
from dataclasses import replace
from functools import lru_cache
from typing import Any, ClassVar

from latentwall.datafiles import load_yaml
from latentwall.errors import ConfigError, DataError
from latentwall.strategies._base import Prompt, Strategy, register_strategy
from latentwall.strategies._common import fill, localised, need, strategy_data, text_language
from latentwall.suites import Probe


@lru_cache(maxsize=4)
def _presets(file: str, field: str) -> tuple[dict[str, Any], str, str]:
    """(presets, default name, fallback language) of a data file."""
    path = strategy_data(file)
    data = load_yaml(path, lines=True)
    presets = need(path, data, field, dict)
    default = need(path, data, "default", str)
    fallback = need(path, data, "fallback", str)
    names = [k for k in presets if k != "__line__"]
    if default not in names:
        raise DataError(str(path), data.get("__line__"), "default", f"'{default}' is not one of {', '.join(names)}")
    for name in names:
        per_lang = presets[name]
        if not isinstance(per_lang, dict) or fallback not in per_lang:
            raise DataError(str(path), presets.get("__line__"), f"{field}.{name}",
                            f"must map languages to texts, including the fallback '{fallback}'")
    return {k: v for k, v in presets.items() if k != "__line__"}, default, fallback


def _choose(name: str, file: str, field: str, arg: str | None) -> str:
    presets, default, _ = _presets(file, field)
    choice = arg or default
    if choice not in presets:
        raise ConfigError(f"strategy {name}: unknown preset '{choice}' (known: {', '.join(presets)})")
    return choice


class _Preset(Strategy):
    file: ClassVar[str]
    field: ClassVar[str]

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        self.preset = _choose(self.name, self.file, self.field, arg)

    def text_for(self, language: str, path_field: str) -> Any:
        presets, _, fallback = _presets(self.file, self.field)
        value = localised({k: v for k, v in presets[self.preset].items() if k != "__line__"}, language, fallback)
        if value is None:
            raise DataError(str(strategy_data(self.file)), None, path_field, f"no text for {language}")
        return value


@register_strategy("prefill")
class Prefill(_Preset):
    """Start the assistant's answer for it ("Sure. Here is...", or "Okay, the user is asking" with :think).

    Needs a target that supports prefill (hf:, builtin, openai: servers that continue a final assistant turn).
    """

    name: ClassVar[str] = "prefill"
    needs_prefill: ClassVar[bool] = True
    file: ClassVar[str] = "prefill.yaml"
    field: ClassVar[str] = "presets"
    arg_help: ClassVar[str] = "preset: sure (default), think, facts (data/prefill.yaml)"

    def apply(self, prompt: Prompt, probe: Probe, rng: random.Random) -> Prompt | None:
        text = self.text_for(text_language(prompt.user, probe), f"presets.{self.preset}")
        if not isinstance(text, str) or not text:
            return None
        return replace(prompt, prefill=text)


@register_strategy("system-override")
class SystemOverride(_Preset):
    """Replace the system prompt with one that asks for full, direct answers."""

    name: ClassVar[str] = "system-override"
    file: ClassVar[str] = "system.yaml"
    field: ClassVar[str] = "presets"
    arg_help: ClassVar[str] = "preset: independent (default), developer, historian (data/system.yaml)"

    def apply(self, prompt: Prompt, probe: Probe, rng: random.Random) -> Prompt | None:
        text = self.text_for(text_language(prompt.user, probe), f"presets.{self.preset}")
        if not isinstance(text, str) or not text:
            return None
        return prompt.with_system(text, append=False)


@register_strategy("multi-turn")
class MultiTurn(_Preset):
    """Ask after a scripted conversation: a history-class warm-up, small talk, or a precedent (:precedent).

    The precedent script has the assistant "already" answer a question about another government's wrongdoing.
    """

    name: ClassVar[str] = "multi-turn"
    file: ClassVar[str] = "escalation.yaml"
    field: ClassVar[str] = "scripts"
    arg_help: ClassVar[str] = "script: history (default), rapport, precedent (data/escalation.yaml)"

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        path = strategy_data(self.file)
        presets, _, _ = _presets(self.file, self.field)
        for lang, script in presets[self.preset].items():
            if lang == "__line__":
                continue
            where = f"scripts.{self.preset}.{lang}"
            turns = need(path, script, "turns", list, f"{where}.turns")
            for i, t in enumerate(turns):
                if not (isinstance(t, dict) and isinstance(t.get("user"), str) and isinstance(t.get("assistant"), str)):
                    raise DataError(str(path), script.get("__line__"), f"{where}.turns[{i}]",
                                    "needs a user and an assistant text")
            final = need(path, script, "final", str, f"{where}.final")
            if final.count("{question}") != 1:
                raise DataError(str(path), script.get("__line__"), f"{where}.final", "needs {question} exactly once")

    def apply(self, prompt: Prompt, probe: Probe, rng: random.Random) -> Prompt | None:
        script = self.text_for(text_language(prompt.user, probe), f"scripts.{self.preset}")
        msgs = list(prompt.messages)
        last = max((i for i, m in enumerate(msgs) if m.get("role") == "user"), default=None)
        if last is None:
            return None
        earlier: list[dict[str, str]] = []
        for t in script["turns"]:
            earlier += [{"role": "user", "content": t["user"]}, {"role": "assistant", "content": t["assistant"]}]
        question = {"role": "user", "content": fill(script["final"], "question", msgs[last]["content"])}
        return replace(prompt, messages=(*msgs[:last], *earlier, question, *msgs[last + 1:]))
