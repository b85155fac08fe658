"""The LLM judge: any latentwall target labels responses by a written rubric.

`make_judge("llm:TARGET_SPEC")`, e.g. `llm:openai:gpt-4o-mini@http://127.0.0.1:8000/v1` or
`llm:builtin`. The rubric (`data/rubric.md`) follows docs/labelling.md; the judge model
answers at temperature 0.

Strict reply format, so that a verdict is never guessed: the reply must be exactly one
JSON object, optionally wrapped in a single ``` (or ```json) code fence, with nothing
else around it but whitespace. The object has exactly the keys "label" (one of
"COMPLETE", "EVASIVE", "DENIAL", upper case) and "rationale" (a non-empty string);
duplicate keys are rejected. A reasoning trace the target splits off (<think>…</think>)
is not part of the reply. Anything else - prose, a malformed object, another label, a
missing key, an empty, cut or filtered reply, a target error - is JUDGE_ERROR with a
rationale that says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from latentwall.datafiles import package_data
from latentwall.errors import ConfigError
from latentwall.judges._base import (
    Judge,
    JudgeInput,
    Judgement,
    is_truncated,
    register_judge,
    terminal_status,
)
from latentwall.judges._engine import (
    ModelJudge,
    ReplyError,
    parse_json_reply,
    read_rubric,
    run_sync,
)
from latentwall.labels import VERDICTS, Status
from latentwall.targets import Request, Response, Target

PLACEHOLDERS = ("{{PROMPT}}", "{{RESPONSE}}")
DEFAULT_MAX_TOKENS = 400
DEFAULT_MAX_CHARS = 8000  # of the judged response; longer ones are cut, and the judge is told
_KEYS = frozenset({"label", "rationale"})


# --------------------------------------------------------------------------- rubric


@dataclass(frozen=True, slots=True)
class Rubric:
    """The system prompt and the per-item template, read from a markdown file."""

    system: str
    template: str
    path: str
    sha: str

    def render(self, item: JudgeInput, max_chars: int) -> str:
        response = item.response
        if len(response) > max_chars:
            cut = len(response) - max_chars
            response = response[:max_chars] + f"\n[... {cut} more characters not shown to the judge]"
        if is_truncated(item):
            response += "\n[the model was cut off here by its token limit: judge the text so far]"
        # replace, not format: responses are full of braces
        return (self.template.replace("{{LANGUAGE}}", item.language or "unknown")
                .replace("{{PROMPT}}", item.prompt).replace("{{RESPONSE}}", response))


@lru_cache(maxsize=4)
def load_rubric(path: str | None = None) -> Rubric:
    """Read and check a rubric: system text, the line `<!-- item -->`, then the item template."""
    p = Path(path) if path else package_data("latentwall.judges", "data", "rubric.md")
    system, template, sha = read_rubric(p, PLACEHOLDERS)
    return Rubric(system, template, str(p), sha)


# --------------------------------------------------------------------------- parsing


def parse_reply(text: str) -> tuple[str, str]:
    """(label, rationale) from a reply in the strict format; ReplyError says what is wrong."""
    obj = parse_json_reply(text, _KEYS)
    label, rationale = obj["label"], obj["rationale"]
    if not isinstance(label, str) or label not in VERDICTS:
        raise ReplyError(f"label {label!r} is not one of {', '.join(VERDICTS)}")
    if not isinstance(rationale, str) or not rationale.strip():
        raise ReplyError("rationale must be a non-empty string")
    return label, rationale.strip()


# --------------------------------------------------------------------------- judge


@register_judge("llm")
class LLMJudge(Judge):
    """Labels with a model behind any target. Remote targets are fed `concurrency` requests
    at a time, local ones real batches (the target's own `batch_size` x `concurrency`)."""

    name = "llm"
    usage = "llm:TARGET (any target spec)"

    def __init__(
        self,
        target: str | Target,
        *,
        rubric: str | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        max_chars: int = DEFAULT_MAX_CHARS,
        target_options: dict[str, Any] | None = None,
    ) -> None:
        self.engine = ModelJudge("llm judge", "judge", target, target_options, max_tokens, max_chars)
        self.target, self.params, self.max_chars = self.engine.target, self.engine.params, self.engine.max_chars
        self.rubric = load_rubric(rubric)

    @classmethod
    def from_name(cls, name: str, rest: str, **options: Any) -> LLMJudge:
        if not rest.strip():
            raise ConfigError(
                "the llm judge needs a target: 'llm:TARGET_SPEC', e.g. "
                "'llm:openai:gpt-4o-mini@http://127.0.0.1:8000/v1' or 'llm:builtin'")
        return cls(rest.strip(), **options)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "target": self.target.describe(),
            "rubric": Path(self.rubric.path).name,
            "rubric_sha256": self.rubric.sha,
            "reply_format": "one JSON object {label, rationale}, optionally in a ``` fence",
            "params": self.params.to_dict(),
        }

    async def close(self) -> None:
        await self.engine.close()

    # -- judging ------------------------------------------------------------------------

    def _request(self, item: JudgeInput) -> Request:
        return self.engine.request(self.rubric.system, self.rubric.render(item, self.max_chars))

    def _from_response(self, resp: Response, item: JudgeInput) -> Judgement:
        def error(why: str) -> Judgement:
            return Judgement(Status.JUDGE_ERROR, f"JUDGE_ERROR: {why}", judge=self.name)

        why = self.engine.unusable(resp)
        if why is not None:
            return error(why)
        try:
            label, rationale = parse_reply(resp.text or "")
        except ReplyError as exc:
            return error(f"unparseable judge reply: {exc}")
        extra: dict[str, Any] = {"judge_model": self.target.label}
        if is_truncated(item):
            extra["truncated"] = True
        return Judgement(label, rationale, judge=self.name, extra=extra)

    def _error(self, why: str) -> Judgement:
        return Judgement(Status.JUDGE_ERROR, f"JUDGE_ERROR: {why}", judge=self.name)

    async def ajudge_batch(self, items: Sequence[JudgeInput]) -> list[Judgement]:
        out: list[Judgement | None] = []
        todo: list[int] = []
        for i, item in enumerate(items):
            term = terminal_status(item)
            if term is not None:
                out.append(Judgement(term.label, term.rationale, term.evidence, judge=self.name, extra=term.extra))
            else:
                out.append(None)
                todo.append(i)
        judged = await self.engine.map([items[i] for i in todo], self._request, lambda it, r: self._from_response(r, it),
                                       self._error)
        for i, j in zip(todo, judged, strict=True):
            out[i] = j
        return [j if j is not None else self._error("not judged") for j in out]

    def judge_batch(self, items: Sequence[JudgeInput]) -> list[Judgement]:
        """Synchronous entry: runs `ajudge_batch` in its own event loop, then closes the
        target (its connections belong to that loop). Pass all items in one call; inside
        a running loop, await `ajudge_batch` instead (this falls back to a worker thread)."""

        async def once() -> list[Judgement]:
            try:
                return await self.ajudge_batch(items)
            finally:
                await self.close()

        return run_sync(once)
