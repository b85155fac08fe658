"""The one engine behind every model used as a judge: the LLM judge and the LLM stance scorer.

A target at temperature 0 behind a written rubric: started once per event loop, fed in its
own batches (`batch_size` requests, `concurrency` batches in flight), every reply read
strictly - exactly one JSON object, anything else is JUDGE_ERROR, never a guessed label -
and a bridge for callers that are not async. Its key comes from LATENTWALL_JUDGE_API_KEY,
never the audited server's.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import os
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from latentwall.errors import ConfigError, DataError
from latentwall.targets import (
    TARGETS,
    GenParams,
    Request,
    Response,
    Target,
    make_target,
    parse_spec,
)

X = TypeVar("X")
Y = TypeVar("Y")

ITEM_MARKER = "<!-- item -->"
_FENCE = re.compile(r"\A```[ \t]*(?:json|JSON)?[ \t]*\n(.*?)\n?[ \t]*```\Z", re.DOTALL)


class ReplyError(ValueError):
    """The judge model's reply does not follow the strict format."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ReplyError(f"duplicate key '{k}'")
        out[k] = v
    return out


def _snippet(text: str, n: int = 60) -> str:
    one = " ".join(text.split())
    return one if len(one) <= n else one[: n - 1] + "…"


def parse_json_reply(text: str, keys: Iterable[str]) -> dict[str, Any]:
    """Exactly one JSON object (optionally in one ``` fence) with exactly `keys`."""
    body = (text or "").strip()
    if not body:
        raise ReplyError("empty reply")
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    elif body.startswith("```"):
        raise ReplyError("code fence not closed, or text outside it")
    if not (body.startswith("{") and body.endswith("}")):
        raise ReplyError(f"reply is not a single JSON object: '{_snippet(text)}'")
    try:
        obj = json.loads(body, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise ReplyError(f"invalid JSON ({exc.msg} at char {exc.pos})") from None
    if not isinstance(obj, dict):
        raise ReplyError("reply is not a JSON object")
    wanted = set(keys)
    missing, extra = sorted(wanted - set(obj)), sorted(set(obj) - wanted)
    if missing:
        raise ReplyError(f"missing key(s): {', '.join(missing)}")
    if extra:
        raise ReplyError(f"unexpected key(s): {', '.join(extra)}")
    return obj


def read_rubric(path: Path, placeholders: Iterable[str]) -> tuple[str, str, str]:
    """(system text, item template, short sha) of a rubric: system text, the line
    `<!-- item -->`, then the item template, which must contain every placeholder."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(str(path), None, None, f"cannot read: {exc.strerror}") from None
    lines = text.splitlines()
    where = [i for i, line in enumerate(lines) if line.strip() == ITEM_MARKER]
    if len(where) != 1:
        raise DataError(str(path), (where[1] + 1) if len(where) > 1 else None, ITEM_MARKER,
                        f"the rubric needs exactly one line '{ITEM_MARKER}' before the item template")
    cut = where[0]
    system = "\n".join(lines[:cut]).strip()
    template = "\n".join(lines[cut + 1:]).strip()
    if not system:
        raise DataError(str(path), 1, "system", "no rubric text before the item template")
    for ph in placeholders:
        if ph not in template:
            raise DataError(str(path), cut + 2, ph, f"the item template must contain {ph}")
    return system, template, hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


# The key a judge or scorer sends: never the audited server's (LATENTWALL_API_KEY).
JUDGE_API_KEY_ENV = "LATENTWALL_JUDGE_API_KEY"


def judge_key_options(spec: str, target_options: Any) -> dict[str, Any]:
    """Target options for a model used as a judge or scorer: unless they name a key
    variable themselves, its key comes from LATENTWALL_JUDGE_API_KEY, or no key at all."""
    options = dict(target_options or {})
    if getattr(TARGETS.get(parse_spec(spec)[0]), "takes_api_key", False):
        options.setdefault("api_key_env", JUDGE_API_KEY_ENV if os.environ.get(JUDGE_API_KEY_ENV, "").strip()
                           else "none")
    return options


def judge_model(
    who: str, target: Any, target_options: Any, max_tokens: int, max_chars: int
) -> tuple[Any, Any, int]:
    """(target, greedy GenParams, max_chars) for a model used as a judge or scorer."""
    if max_tokens < 16 or max_chars < 100:
        raise ConfigError(f"{who}: max_tokens >= 16 and max_chars >= 100")
    if isinstance(target, str):
        target = make_target(target, **judge_key_options(target, target_options))
    return target, GenParams(temperature=0.0, top_p=1.0, max_tokens=int(max_tokens), seed=0), int(max_chars)


def unusable_reply(resp: Any, who: str, max_tokens: int) -> str | None:
    """Why a judge model's response cannot be read at all (before parsing), or None."""
    if resp.status == "ERROR":
        return f"{who} target error: {resp.error or 'no detail'}"
    if resp.status == "FILTERED":
        return f"{who} reply blocked by a filter"
    if resp.status == "TRUNCATED" or resp.finish_reason == "length":
        return f"{who} reply cut at the token limit ({max_tokens})"
    if resp.status not in (None, ""):
        return f"{who} target returned status {resp.status}"
    return None


def run_sync(coro_factory: Callable[[], Awaitable[Y]]) -> Y:
    """Run a coroutine to completion from sync code, even inside a running loop (a thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro_factory())  # type: ignore[arg-type]
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro_factory()).result()  # type: ignore[arg-type]


class ModelJudge:
    """A target used as a judge: greedy parameters, started once per event loop (connections
    belong to the loop that made them), fed its own batches."""

    def __init__(self, who: str, name: str, target: str | Target, target_options: Any, max_tokens: int,
                 max_chars: int) -> None:
        self.name = name  # "judge" / "stance": how its errors name it
        self.target, self.params, self.max_chars = judge_model(who, target, target_options, max_tokens, max_chars)
        self._started_in: asyncio.AbstractEventLoop | None = None
        self._start_lock: asyncio.Lock | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self._started_in is loop:
            return
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self._started_in is not loop:
                await self.target.start()
                self._started_in = loop

    async def close(self) -> None:
        self._start_lock = None
        if self._started_in is not None:
            self._started_in = None
            await self.target.close()

    def request(self, system: str, user: str) -> Request:
        return Request(messages=({"role": "system", "content": system}, {"role": "user", "content": user}),
                       params=self.params)

    def unusable(self, resp: Response) -> str | None:
        """Why a reply cannot be read at all (before parsing), or None."""
        return unusable_reply(resp, self.name, self.params.max_tokens)

    async def map(self, items: Sequence[X], request: Callable[[X], Request], read: Callable[[X, Response], Y],
                  error: Callable[[str], Y]) -> list[Y]:
        """One result per item, in order: `read(item, reply)`, or `error(why)` for every item
        of a batch whose target call failed (one failed batch must not sink the others)."""
        out: list[Y | None] = [None] * len(items)
        if items:
            await self.start()
            size = max(1, int(getattr(self.target, "batch_size", 1) or 1))
            sem = asyncio.Semaphore(max(1, int(getattr(self.target, "concurrency", 1) or 1)))
            chunks = [list(range(k, min(k + size, len(items)))) for k in range(0, len(items), size)]

            async def run(chunk: list[int]) -> None:
                async with sem:
                    try:
                        responses = await self.target.generate([request(items[i]) for i in chunk])
                        if len(responses) != len(chunk):
                            raise RuntimeError(f"{len(responses)} responses for {len(chunk)} requests")
                    except Exception as exc:
                        for i in chunk:
                            out[i] = error(f"{self.name} target failed: {type(exc).__name__}: {exc}")
                        return
                for i, resp in zip(chunk, responses, strict=True):
                    out[i] = read(items[i], resp)

            await asyncio.gather(*(run(c) for c in chunks))
        return [y if y is not None else error("not judged" if self.name == "judge" else "not scored")
                for y in out]
