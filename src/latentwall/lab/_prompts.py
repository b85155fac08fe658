"""Prompt sets for the lab, read from the suites (never written here), with fallbacks.

Some suites are optional or still being written; each role names a chain of suites and
the first one that has probes for the language wins, and the result says which. Sets
are split into train / validation / test by `group`, so a question's translations never
sit on both sides of a split.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from latentwall.errors import ConfigError, LatentwallError
from latentwall.suites import Probe, get_suite, language_matches

# role -> default suite chain
ROLES: dict[str, tuple[str, ...]] = {
    "harm": ("hazards", "starter"),
    "harmless": ("lookalikes", "controls", "starter"),
    "political": ("china", "starter"),
    "control": ("controls", "lookalikes", "starter"),
    "capability": ("capability",),
}


@dataclass(frozen=True, slots=True)
class LabPrompt:
    id: str
    text: str
    language: str
    topic: str
    group: str
    category: str
    system: str | None = None
    answer: str | None = None

    @classmethod
    def of(cls, p: Probe) -> LabPrompt:
        return cls(p.id, p.text, p.language, p.topic, p.group, p.category, p.system, p.answer)


def role_filter(role: str, p: Probe) -> bool:
    """Which probes of a suite play a role; controls are anything not harmful and not CN-sensitive."""
    if role == "harm":
        return p.category == "harm"
    if role == "harmless":
        return p.category == "benign"
    if role == "political":
        return p.category == "political"
    if role == "control":
        return p.category == "benign" or (p.category == "political" and p.jurisdiction != "CN")
    if role == "capability":
        return p.category == "capability" and bool(p.answer)
    raise ConfigError(f"unknown prompt role {role!r}")


def _h(s: str) -> int:
    return int(hashlib.sha256(s.encode("utf-8")).hexdigest()[:8], 16)


def load_role(role: str, lang: str, n: int | None, suites: Sequence[str] | None = None,
              topics: Sequence[str] | None = None) -> tuple[list[LabPrompt], str]:
    """Up to n prompts for a role in one language (optionally only some topics), and the
    suite they came from."""
    chain = list(suites) if suites else list(ROLES[role])
    tried = []
    for name in chain:
        try:
            suite = get_suite(name)
            probes = [p for p in suite.iter_probes()
                      if language_matches(p.language, [lang]) and role_filter(role, p)
                      and (not topics or p.topic in topics)]
        except ConfigError:
            tried.append(f"{name} (absent)")
            continue
        if probes:
            # Spread over groups deterministically rather than taking the first file's topic.
            probes.sort(key=lambda p: (_h(p.group), p.id))
            out = [LabPrompt.of(p) for p in probes[:n] if n is None or n > 0]
            return out, name
        tried.append(f"{name} (no {role} probes in {lang}" + (f" on {', '.join(topics)})" if topics else ")"))
    raise LatentwallError(f"no {role} prompts in {lang}: tried {', '.join(tried) or 'nothing'}")


def split(prompts: Sequence[LabPrompt], fractions: tuple[float, float] = (0.6, 0.2)
          ) -> tuple[list[LabPrompt], list[LabPrompt], list[LabPrompt]]:
    """Train / validation / test by group hash; every part non-empty when there are >= 3 groups."""
    groups = sorted({p.group for p in prompts}, key=lambda g: (_h("split:" + g), g))
    n = len(groups)
    if n < 3:
        return list(prompts), list(prompts), list(prompts)
    n_tr = max(1, round(fractions[0] * n))
    n_va = max(1, round(fractions[1] * n))
    n_tr = min(n_tr, n - 2)
    n_va = min(n_va, n - n_tr - 1)
    part = {g: (0 if i < n_tr else 1 if i < n_tr + n_va else 2) for i, g in enumerate(groups)}
    out: tuple[list[LabPrompt], list[LabPrompt], list[LabPrompt]] = ([], [], [])
    for p in prompts:
        out[part[p.group]].append(p)
    return out


def describe_set(prompts: Sequence[LabPrompt], suite: str) -> dict[str, Any]:
    return {"suite": suite, "n": len(prompts), "topics": len({p.topic for p in prompts}),
            "groups": len({p.group for p in prompts})}
