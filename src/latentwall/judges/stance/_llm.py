"""The LLM stance scorer: any target reads the fact sheet and the stance rubric
(judges/data/stance_rubric.md) and answers one strict JSON object - stance, fabrication,
contradicted facts, rationale; anything else is JUDGE_ERROR, never a guessed stance. It runs
on the model-judge engine the LLM judge uses (batching, strict parsing, its own API key).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from latentwall.datafiles import package_data
from latentwall.judges._engine import ModelJudge, ReplyError, parse_json_reply, read_rubric
from latentwall.judges.stance._result import JUDGE_ERROR, NOT_APPLICABLE, STANCES, StanceResult
from latentwall.suites import FactSheet
from latentwall.targets import Request, Response, Target

DEFAULT_MAX_TOKENS = 500
DEFAULT_MAX_CHARS = 8000
_LLM_KEYS = frozenset({"stance", "fabrication", "contradicted_facts", "rationale"})
_PLACEHOLDER = re.compile(r"\{\{(PROMPT|RESPONSE|LANGUAGE|TOPIC|FACT_SHEET)\}\}")


# The stance scorer's reply errors are the LLM judge's: one strict format, one error type.
StanceReplyError = ReplyError


@dataclass(frozen=True, slots=True)
class StanceItem:
    """One answer for the LLM scorer: the question, the answer, its language and fact sheet."""

    prompt: str
    response: str
    sheet: FactSheet
    language: str | None = None


@dataclass(frozen=True, slots=True)
class StanceRubric:
    system: str
    template: str
    path: str
    sha: str


@lru_cache(maxsize=4)
def load_stance_rubric(path: str | None = None) -> StanceRubric:
    """System text, the line `<!-- item -->`, then the item template with its placeholders."""

    p = Path(path) if path else package_data("latentwall.judges", "data", "stance_rubric.md")
    system, template, sha = read_rubric(p, ("{{PROMPT}}", "{{RESPONSE}}", "{{FACT_SHEET}}"))
    return StanceRubric(system, template, str(p), sha)


def render_fact_sheet(sheet: FactSheet, language: str | None) -> str:
    """The sheet as the LLM scorer reads it: English plus the question's language."""
    langs = ["en"] + ([language] if language and language != "en" else [])

    def pick(d: Mapping[str, Any]) -> list[tuple[str, Any]]:
        return [(lang, d[lang]) for lang in langs if lang in d] or list(d.items())[:1]

    lines = [f"Title: {' / '.join(v for _, v in pick(sheet.title))}"]
    lines += [f"Summary ({lang}): {v}" for lang, v in pick(sheet.summary)]
    lines.append("Facts (id: claim):")
    for f in sheet.facts:
        for lang, claim in pick(f.claim):
            lines.append(f"- [{f.id}] ({lang}) {claim}")
    for name, table in (("State / official narrative wording", sheet.state_narrative),
                        ("Independent-account wording", sheet.independent)):
        for lang, phrases in pick(table):
            lines.append(f"{name} ({lang}): " + "; ".join(phrases))
    for who, table in sheet.other_lines:
        for lang, phrases in pick(table):
            lines.append(f"Wording of neither side, used by {who} ({lang}): " + "; ".join(phrases))
    return "\n".join(lines)


def render_stance_item(rubric: StanceRubric, item: StanceItem, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """One pass over the template, so text inside the answer is never substituted again."""
    response = item.response
    if len(response) > max_chars:
        cut = len(response) - max_chars
        response = response[:max_chars] + f"\n[... {cut} more characters not shown]"
    values = {
        "PROMPT": item.prompt, "RESPONSE": response, "LANGUAGE": item.language or "unknown",
        "TOPIC": item.sheet.topic, "FACT_SHEET": render_fact_sheet(item.sheet, item.language),
    }
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], rubric.template)


def parse_stance_reply(text: str, fact_ids: Iterable[str] | None = None) -> tuple[str, bool, tuple[str, ...], str]:
    """(stance, fabrication, contradicted_facts, rationale) from a strict reply.

    Exactly one JSON object (optionally in one ``` fence), exactly the four keys, stance one
    of STANCES, fabrication a JSON boolean, contradicted_facts a list of distinct fact ids of
    the sheet (when `fact_ids` is given), rationale a non-empty string. Anything else raises
    StanceReplyError saying what is wrong.
    """
    obj = parse_json_reply(text, _LLM_KEYS)
    stance, fab, contradicted, rationale = obj["stance"], obj["fabrication"], obj["contradicted_facts"], obj["rationale"]
    if not isinstance(stance, str) or stance not in STANCES:
        raise StanceReplyError(f"stance {stance!r} is not one of {', '.join(STANCES)}")
    if not isinstance(fab, bool):
        raise StanceReplyError(f"fabrication must be true or false, got {fab!r}")
    if not isinstance(contradicted, list) or not all(isinstance(x, str) and x for x in contradicted):
        raise StanceReplyError("contradicted_facts must be a list of fact ids")
    if len(set(contradicted)) != len(contradicted):
        raise StanceReplyError("contradicted_facts lists a fact twice")
    if fact_ids is not None:
        known = set(fact_ids)
        unknown = [x for x in contradicted if x not in known]
        if unknown:
            raise StanceReplyError(f"contradicted_facts has unknown fact id(s): {', '.join(unknown)}")
    if not isinstance(rationale, str) or not rationale.strip():
        raise StanceReplyError("rationale must be a non-empty string")
    return stance, fab, tuple(contradicted), rationale.strip()


class LLMStanceScorer:
    """A target behind the stance rubric, on the model-judge engine the LLM judge uses."""

    def __init__(
        self,
        target: str | Target,
        *,
        rubric: str | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        max_chars: int = DEFAULT_MAX_CHARS,
        target_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.engine = ModelJudge("stance scorer", "stance", target, target_options, max_tokens, max_chars)
        self.target, self.params, self.max_chars = self.engine.target, self.engine.params, self.engine.max_chars
        self.rubric = load_stance_rubric(rubric)
        self.scorer = f"llm:{self.target.label}"

    async def start(self) -> None:
        await self.engine.start()

    async def close(self) -> None:
        await self.engine.close()

    def _error(self, why: str) -> StanceResult:
        return StanceResult(JUDGE_ERROR, rationale=f"JUDGE_ERROR: {why}", reason="judge-error", scorer=self.scorer)

    def _result(self, item: StanceItem, resp: Response) -> StanceResult:
        why = self.engine.unusable(resp)
        if why is not None:
            return self._error(why)
        try:
            stance, fab, contradicted, rationale = parse_stance_reply(resp.text or "", (f.id for f in item.sheet.facts))
        except StanceReplyError as exc:
            return self._error(f"unparseable stance reply: {exc}")
        return StanceResult(
            stance, rationale=rationale, fabrication=fab, contradicted_facts=contradicted,
            evidence=tuple(f"contradicts fact {x}" for x in contradicted),
            reason="llm-not-applicable" if stance == NOT_APPLICABLE else None, scorer=self.scorer,
            extra={"judge_model": self.target.label, "rubric_sha256": self.rubric.sha},
        )

    def _request(self, item: StanceItem) -> Request:
        return self.engine.request(self.rubric.system, render_stance_item(self.rubric, item, self.max_chars))

    async def score(self, items: Sequence[StanceItem]) -> list[StanceResult]:
        """One result per item, in order; a failed batch becomes JUDGE_ERROR for its items."""
        return await self.engine.map(items, self._request, self._result, self._error)


async def score_stance_llm_batch(
    items: Sequence[StanceItem], target_spec: str | Target, **options: Any
) -> list[StanceResult]:
    """Score items with an LLM behind `target_spec` (a spec string or a Target); the target
    is started and closed here. Options: rubric, max_tokens, max_chars, target_options."""
    scorer = LLMStanceScorer(target_spec, **options)
    if not items:
        return []
    await scorer.start()
    try:
        return await scorer.score(items)
    finally:
        await scorer.close()
