"""Strict reading of a model-as-judge: its rubric file and its one-JSON-object reply.

Shared by the LLM judge and the LLM stance scorer, so both refuse the same malformed
replies (JUDGE_ERROR, never a guessed label) and read rubrics the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from latentwall.errors import DataError

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
    from latentwall.targets import TARGETS, parse_spec

    options = dict(target_options or {})
    if getattr(TARGETS.get(parse_spec(spec)[0]), "takes_api_key", False):
        options.setdefault("api_key_env", JUDGE_API_KEY_ENV if os.environ.get(JUDGE_API_KEY_ENV, "").strip()
                           else "none")
    return options


def judge_model(
    who: str, target: Any, target_options: Any, max_tokens: int, max_chars: int
) -> tuple[Any, Any, int]:
    """(target, greedy GenParams, max_chars) for a model used as a judge or scorer."""
    from latentwall.errors import ConfigError
    from latentwall.targets import GenParams, make_target

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
