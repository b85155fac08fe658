"""The guard interface, its registry and the guard-spec syntax.

A guard is a filter in front of a model (input) and/or behind it (output), as deployments
put them. Guard specs read `NAME[:OPTIONS]` where OPTIONS are comma-separated `key=value`
pairs, and a bare `input`, `output` or `both` sets the mode:

    keyword
    keyword:input
    keyword:lists=china+harm,mode=both,normalise=nfkc+fold+t2s+pinyin+zw,message=Blocked, sorry.

Multi-valued options join values with '+'. `message=` (and a guard's own free-text
options, e.g. the regex guard's `pattern=`) take the rest of the spec, commas included,
so they come last.

Plug-ins: a guard registers itself with `@register_guard("name")` in its own module of
this package (the registry discovers modules by name), e.g. a wrapper around a
classifier model or a guard library when it is installed. Import optional libraries in
`start()`, not at module import.
"""

from __future__ import annotations

import re
from abc import ABC
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

from latentwall.datafiles import load_yaml, package_data
from latentwall.errors import ConfigError, DataError
from latentwall.registry import Registry, split_spec
from latentwall.targets import Request, Response
from latentwall.text import CJK, mapping_of

MODES: tuple[str, ...] = ("input", "output", "both")
COMMON_OPTIONS: dict[str, str] = {
    "mode": "input, output or both (default both): which side of the model the filter sits on",
    "message": "text of a FILTERED response, instead of the default notice (takes the rest of the spec)",
}
_CJK = re.compile(f"[{CJK}]")


@dataclass(frozen=True, slots=True)
class Block:
    """Why a guard blocked: where, which keyword (or rule) and from which list or topic."""

    where: str  # input | output
    matched: str
    source: str = ""
    view: str = ""

    def note(self) -> str:
        """Short text for Response.error: 'input filter: matched '六四' (china/tiananmen-1989)'."""
        out = f"{self.where} filter: matched '{self.matched}'"
        if self.source:
            out += f" ({self.source})"
        if self.view and self.view != "text":
            out += f" via {self.view}"
        return out


class Guard(ABC):
    """An input and/or output filter. Subclasses implement `scan_text` (or override the
    batch checks for a model-based guard, which would batch its own requests)."""

    name: ClassVar[str]
    summary: ClassVar[str] = ""
    options: ClassVar[dict[str, str]] = {}  # option -> help, besides COMMON_OPTIONS
    rest_options: ClassVar[tuple[str, ...]] = ()  # free-text options that take the rest of the spec

    def __init__(self, spec: str, options: dict[str, str]) -> None:
        opts = dict(options)
        self.user_spec = spec
        mode = opts.pop("mode", "both")
        if mode not in MODES:
            raise ConfigError(f"guard {self.name}: mode must be one of {', '.join(MODES)}, not '{mode}'")
        self.mode = mode
        self.message = opts.pop("message", None)
        unknown = sorted(set(opts) - set(self.options))
        if unknown:
            known = ", ".join(sorted({*self.options, *COMMON_OPTIONS})) or "none"
            raise ConfigError(f"guard {self.name}: unknown option '{unknown[0]}' (known: {known})")
        self.opts = opts

    @property
    def checks_input(self) -> bool:
        return self.mode in ("input", "both")

    @property
    def checks_output(self) -> bool:
        return self.mode in ("output", "both")

    def canonical_options(self) -> dict[str, str]:
        """Every option with its effective value, for the spec that identifies the guard."""
        return {"mode": self.mode, **({"message": self.message} if self.message else {})}

    @property
    def spec(self) -> str:
        """Canonical spec: defaults spelled out, options sorted, free text last."""
        opts = self.canonical_options()
        rest = [k for k in (*self.rest_options, "message") if k in opts]
        head = [f"{k}={v}" for k, v in sorted(opts.items()) if k not in rest]
        return f"{self.name}:" + ",".join(head + [f"{k}={opts[k]}" for k in rest])

    @property
    def fingerprint(self) -> str:
        """Identifies the filter for the response cache; subclasses add a digest of their data."""
        return self.spec

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "spec": self.spec, "mode": self.mode}

    async def start(self) -> None:
        """Load data or models once before the first batch."""

    async def close(self) -> None:
        """Release what start() acquired."""

    def scan_text(self, text: str) -> tuple[str, str, str] | None:
        """(matched, source, view) of the first hit in a text, or None. Text guards implement this."""
        raise NotImplementedError

    def input_text(self, request: Request) -> str:
        """What the input filter reads: everything the client sent (every message, system and
        scripted turns included, and a prefill), since a client controls all of it."""
        parts = [str(m.get("content", "")) for m in request.messages]
        if request.prefill:
            parts.append(request.prefill)
        return "\n".join(parts)

    async def check_inputs(self, requests: Sequence[Request]) -> list[Block | None]:
        out: list[Block | None] = []
        for req in requests:
            hit = self.scan_text(self.input_text(req))
            out.append(Block("input", *hit) if hit else None)
        return out

    async def check_outputs(self, requests: Sequence[Request], responses: Sequence[Response]) -> list[Block | None]:
        out: list[Block | None] = []
        for resp in responses:
            text = "\n".join(t for t in (resp.reasoning, resp.text) if t)
            hit = self.scan_text(text) if text else None
            out.append(Block("output", *hit) if hit else None)
        return out

    def block_message(self, block: Block, request: Request) -> str:
        """The notice a user sees instead of an answer: `message=` or the default per script."""
        if self.message:
            return self.message
        lang = "zh" if _CJK.search(request.prompt) else "en"
        return default_messages()[block.where][lang]


GUARDS: Registry[type[Guard]] = Registry("guard", "latentwall.guards")
register_guard = GUARDS.register


@lru_cache(maxsize=1)
def default_messages() -> dict[str, dict[str, str]]:
    path = package_data("latentwall.guards", "data", "messages.yaml")
    data = load_yaml(path, lines=True)
    out: dict[str, dict[str, str]] = {}
    for where in ("input", "output"):
        per_lang = mapping_of(path, data, where)
        for lang in ("en", "zh"):
            text = per_lang.get(lang)
            if not isinstance(text, str) or not text.strip():
                raise DataError(str(path), data[where].get("__line__"), f"{where}.{lang}", "must be a non-empty string")
        out[where] = {k: v for k, v in per_lang.items() if isinstance(v, str)}
    return out


def parse_guard_spec(spec: str, rest_options: Sequence[str] = ()) -> tuple[str, dict[str, str]]:
    """'keyword:input,lists=china' -> ('keyword', {'mode': 'input', 'lists': 'china'})."""
    spec = spec.strip()
    name, rest = split_spec(spec, "guard")
    options: dict[str, str] = {}
    free = {"message", *rest_options}
    while rest:
        token, sep, tail = rest.partition(",")
        key, eq, value = token.partition("=")
        key = key.strip().lower().replace("-", "_")
        if eq and key in free:
            value, tail = rest.partition("=")[2], ""  # takes the rest, commas included
        elif not eq:
            if not token.strip():
                rest = tail
                continue
            if key not in MODES:
                raise ConfigError(f"guard option '{token.strip()}' must be key=value, or one of {', '.join(MODES)}")
            key, value = "mode", key
        else:
            value = value.strip()
        if key in options:
            raise ConfigError(f"guard option '{key}' given twice in '{spec}'")
        options[key] = value
        rest = tail if sep else ""
    return name, options


def make_guard(spec: str) -> Guard:
    """Build a guard from its spec (see the module docstring)."""
    cls = GUARDS.get(split_spec(spec, "guard")[0])
    _, options = parse_guard_spec(spec, cls.rest_options)
    return cls(spec.strip(), options)


def guard_catalog() -> list[dict[str, Any]]:
    """Every registered guard with its options, for `latentwall guards`."""
    out = []
    for name in GUARDS.names():
        cls = GUARDS.get(name)
        out.append({"name": name, "summary": cls.summary or (cls.__doc__ or "").strip().splitlines()[0],
                    "options": {**cls.options, **COMMON_OPTIONS}})
    return out
