"""The one interface every target implements, and the records that cross it."""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from latentwall.registry import Registry, split_spec
from latentwall.text import repair, repaired_note


@dataclass(frozen=True, slots=True)
class GenParams:
    """Sampling parameters; part of the response-cache key."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 256
    seed: int | None = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Request:
    """One generation: chat messages plus parameters. `sample` distinguishes repeats."""

    messages: tuple[dict[str, str], ...]
    params: GenParams = GenParams()
    sample: int = 0
    probe_id: str | None = None
    # Text the assistant turn starts with (prefill); only some targets support it.
    prefill: str | None = None

    @property
    def prompt(self) -> str:
        """The last user message: what replay targets and judges match on."""
        for m in reversed(self.messages):
            if m.get("role") == "user":
                return m.get("content", "")
        return ""

    def seed(self) -> int | None:
        """Per-sample seed, so N samples at temperature > 0 differ but are reproducible."""
        return None if self.params.seed is None else self.params.seed + self.sample

    def cache_key(self, target_fingerprint: str) -> str:
        payload = json.dumps(
            [target_fingerprint, list(self.messages), self.params.to_dict(), self.seed(), self.prefill],
            ensure_ascii=False, sort_keys=True,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


_TEXT_FIELDS = ("text", "reasoning", "error", "model", "finish_reason")


@dataclass(slots=True)
class Response:
    """What came back. `status` is set only for terminal statuses the target itself knows:
    ERROR (transport/provider), FILTERED (provider or guard block), TRUNCATED (length).

    Every Response is the boundary where model and server text enters the tool: its text
    fields are made valid Unicode on creation (lone surrogates become U+FFFD), and each
    repair is said in `notes`, which the store keeps with the row.
    """

    text: str = ""
    reasoning: str | None = None
    finish_reason: str | None = None
    status: str | None = None
    error: str | None = None
    model: str | None = None
    latency_s: float | None = None
    usage: dict[str, int] = field(default_factory=dict)
    cached: bool = False
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in _TEXT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, str):
                fixed, n = repair(value)
                if n:
                    setattr(self, name, fixed)
                    self.notes.append(repaired_note(n, name))

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}  # type: ignore[attr-defined]


class Target(ABC):
    """A model (or recording of one) that answers batches of chat requests.

    The runner groups requests into batches of `batch_size` and keeps up to
    `concurrency` batches in flight: a remote server wants batch 1 × high concurrency,
    a local model wants a real batch × concurrency 1.
    """

    kind: ClassVar[str]
    usage: ClassVar[str] = ""  # how a spec of this kind is written, for `latentwall targets`
    batch_size: int = 1
    concurrency: int = 1
    supports_prefill: bool = False
    # Sends an API key (option `api_key_env`): judges and scorers give it their own key.
    takes_api_key: bool = False

    def __init__(self, spec: str) -> None:
        self.spec = spec

    @classmethod
    def from_spec(cls, spec: str, rest: str, **options: Any) -> Target:
        """Build from the part of the spec after 'kind:'; override to parse it."""
        return cls(spec, **options)

    @property
    def fingerprint(self) -> str:
        """Identifies the model behind the target for the response cache."""
        return self.spec

    @property
    def label(self) -> str:
        """Short human name for tables."""
        return self.spec

    def describe(self) -> dict[str, Any]:
        """Metadata for the run record and report methods section (never secrets)."""
        return {"kind": self.kind, "spec": self.spec}

    async def start(self) -> None:
        """Open connections or load weights; called once before the first batch."""

    @abstractmethod
    async def generate(self, batch: Sequence[Request]) -> list[Response]:
        """Answer every request of the batch, in order. Errors become Response(status=ERROR)
        unless the target is unusable altogether (then raise TargetError)."""

    async def close(self) -> None:
        """Release connections, memory."""


TARGETS: Registry[type[Target]] = Registry("target kind", "latentwall.targets")
register_target = TARGETS.register


_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def redact_spec(spec: str) -> str:
    """A spec safe to store and show: credentials in a URL (user:pass@) removed."""
    return _USERINFO.sub("", spec)


def parse_spec(spec: str) -> tuple[str, str]:
    """'openai:m@http://h' -> ('openai', 'm@http://h'); 'builtin' -> ('builtin', '')."""
    return split_spec(spec, "target")


def make_target(spec: str, **options: Any) -> Target:
    """Build a target from its spec string; `options` are kind-specific keyword arguments."""
    kind, rest = parse_spec(spec)
    cls = TARGETS.get(kind)
    return cls.from_spec(spec, rest, **options)
