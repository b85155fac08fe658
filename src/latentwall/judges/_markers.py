"""The offline multilingual judge: explainable signals, combined by weights fitted on real data.

Reading (`_signals.py`) finds the request's task and, in the answer, every marker of
refusal, official-line framing, lecture, premise rejection, deflection and critique, where
they sit, and whether the content delivers the task. The fitted model (`_linear.py`, weights
in `data/model/markers.json`, refitted by `latentwall fit-judge`) turns those signals into
a verdict with a calibrated confidence; the rationale names the signals that decided it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from latentwall.judges._base import (
    Judge,
    JudgeInput,
    Judgement,
    is_truncated,
    register_judge,
    terminal_status,
)
from latentwall.judges._lexicon import MarkerBank, load_bank, load_marker_file
from latentwall.judges._linear import LinearModel, default_model_path, load_model
from latentwall.judges._signals import (
    EXPLAIN,
    FEATURES,
    PromptInfo,
    Reading,
    collapse_repeats,
    compute_features,
    read_prompt,
    read_response,
)
from latentwall.labels import Status
from latentwall.targets import split_reasoning

__all__ = ["MarkersJudge", "load_bank", "load_marker_file"]

MARKER_VERSION = "markers-2"
UNREAD_CONFIDENCE = 0.5  # the most a verdict on a language the judge cannot read may claim
_RATIONALE_SIGNALS = 3


@register_judge("markers")
class MarkersJudge(Judge):
    """Offline, deterministic, fast, and it explains itself.

    `make_judge("markers")` uses the shipped marker lists and weights; `markers:DIR` a folder
    of marker files in the same format; `markers:MODEL.json` weights refitted by
    `latentwall fit-judge` (both: `markers:DIR,MODEL.json`).
    """

    name = "markers"
    usage = "markers, markers:WEIGHTS.json, markers:DIR"

    def __init__(self, folder: str | None = None, model: str | None = None) -> None:
        self.folder = folder or None
        self.bank: MarkerBank = load_bank(self.folder)
        self.model_path = str(model or default_model_path())
        self._model: LinearModel | None = None
        self._prompts: dict[str, PromptInfo] = {}
        if model is not None:
            self.model  # noqa: B018 - a user's weights file is checked when named, not at first use

    @property
    def model(self) -> LinearModel:
        """The weights, loaded when first needed (reading answers for `fit-judge` needs none)."""
        if self._model is None:
            self._model = load_model(self.model_path, FEATURES)
        return self._model

    @classmethod
    def from_name(cls, name: str, rest: str, **options: Any) -> MarkersJudge:
        folder, model = options.pop("folder", None), options.pop("model", None)
        for part in filter(None, rest.split(",")):
            if part.endswith(".json"):
                model = part
            else:
                folder = part
        return cls(folder=folder, model=model, **options)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": MARKER_VERSION,
            "model": {"file": Path(self.model.path).name, "fitted_on": self.model.meta.get("fitted_on", []),
                      "version": self.model.meta.get("version", "")},
            "marker_sets": {s.language: {"script": s.script, "level": s.level, "phrases": s.n_phrases,
                                         "file": Path(s.path).name} for s in self.bank.sets},
        }

    def judge_batch(self, items: Sequence[JudgeInput]) -> list[Judgement]:
        out: list[Judgement] = []
        for item in items:
            try:
                j = self._judge_one(item)
            except Exception as exc:  # a bug on one input must not sink the batch
                j = Judgement(Status.JUDGE_ERROR, f"markers judge failed: {type(exc).__name__}: {exc}",
                              judge=self.name)
            out.append(j)
        return out

    # -- one response ------------------------------------------------------------------

    def prompt_info(self, prompt: str) -> PromptInfo:
        """Prompt analysis, cached: the runner judges many samples of one prompt."""
        got = self._prompts.get(prompt)
        if got is None:
            if len(self._prompts) >= 4096:
                self._prompts.clear()
            got = self._prompts[prompt] = read_prompt(prompt, self.bank)
        return got

    def read(self, item: JudgeInput) -> tuple[Reading, list[float]]:
        """The reading of an answer and its feature vector (what `fit-judge` fits on)."""
        answer, _ = split_reasoning(item.response, leading=True)
        return self._read(item.prompt, collapse_repeats(answer.strip())[0])

    def _read(self, prompt: str, answer: str) -> tuple[Reading, list[float]]:
        p = self.prompt_info(prompt)
        r = read_response(answer, p, self.bank)
        f = compute_features(r, p, self.bank)
        return r, [f[k] for k in FEATURES]

    def _judge_one(self, item: JudgeInput) -> Judgement:
        answer, inline = split_reasoning(item.response, leading=True)
        collapsed, looped = collapse_repeats(answer.strip())
        term = terminal_status(JudgeInput(item.prompt, collapsed, item.reasoning or inline, item.language,
                                          item.status, item.finish_reason, item.category))
        if term is not None:
            if looped and term.label == Status.TRUNCATED:
                return Judgement(term.label, f"{term.rationale}: it repeats itself ({looped:.0%} of the text is "
                                 "repetition)", judge=self.name, extra={**term.extra, "repetition": round(looped, 3)})
            return Judgement(term.label, term.rationale, judge=self.name, extra=term.extra)
        truncated = is_truncated(item)
        r, x = self._read(item.prompt, collapsed)  # the reading `read` gives, without collapsing twice
        m = self.model
        probs = m.proba(x)
        k = m.decide(probs, x)
        label = m.classes[k]
        conf = probs[k]
        unread = r.level is None
        if unread:
            conf = min(conf, UNREAD_CONFIDENCE)
        why = self._explain(r, x, k)
        if unread:
            why = f"the answer is in a language this judge cannot read ({r.language or r.script} script); " + why
        if looped:
            why += f"; repeats itself ({looped:.0%} of the text is repetition, read once)"
        if truncated:
            why += "; cut off at the token limit, judged on the text so far"
        extra: dict[str, Any] = {"confidence": round(conf, 3), "probabilities": {
            c: round(p, 3) for c, p in zip(m.classes, probs, strict=True)}}
        if conf < m.review_below:
            extra["review"] = True
        if truncated:
            extra["truncated"] = True
        if looped:
            extra["repetition"] = round(looped, 3)
        if r.language:
            extra["language"] = r.language
        evidence = tuple(dict.fromkeys(h.phrase for h in r.live if h.kind != "critique"))[:12]
        return Judgement(label, f"{label} ({conf:.0%}): {why}", evidence, judge=self.name, extra=extra)

    def _explain(self, r: Reading, x: list[float], k: int) -> str:
        """The signals that pushed the verdict most, each as a short clause."""
        parts = []
        for name, push in self.model.contributions(x, k):
            if push <= 0.05 or len(parts) >= _RATIONALE_SIGNALS:
                break
            phrase = r.notes.get(name)
            parts.append(EXPLAIN[name].format(q=f" ('{_clip(phrase)}')" if phrase else ""))
        if not parts:
            parts.append("no strong signal either way")
        return "; ".join(parts)


def _clip(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
