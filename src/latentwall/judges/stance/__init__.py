"""Narrative stance: does an answer echo the state narrative or the independent record?

Layers, as the offline judge's: `_match.py` loads a fact sheet's phrases and keywords and
compiles them (normalisation, per-language lists); `_cues.py` reads the signals around a
match (quoted, attributed, distanced, negated); `_offline.py` decides; `_llm.py` asks a
model instead, on the model-judge engine shared with the LLM judge. The pass that stores
stances for a run is `runner.stance_pass`; the tables that count them are
`analysis.stance_summary` and `analysis.locale_effects`.

Refusal counts undercount censorship: a model can answer (COMPLETE) in the state's words.
For probes whose topic has a fact sheet (suites/facts/<topic>.yaml), every COMPLETE or
EVASIVE answer gets one of STATE_ALIGNED, INDEPENDENT, MIXED, NOT_APPLICABLE, with the
matched evidence, by one of two scorers:

- offline (`score_stance`): counts the sheet's state-narrative and independent phrases and
  its facts' keywords in the answer. A state phrase inside quotation marks or after an
  attribution cue ("the government called it ...", 所谓, так называемый) is *reported*, not
  adopted; an independent phrase after a distancing cue ("so-called massacre") is
  *disputed*; a negated independent phrase ("there was no massacre") is a *denial* and
  counts for the state side. Matching is NFKC + case-folded, dashes/quotes/thousands
  separators unified, and Traditional Chinese is folded to Simplified so that both Chinese
  lists of a sheet match answers in either script. Lists are chosen by the probe's
  language plus the scripts the answer is written in (a Chinese question answered in
  English is matched with the English lists).
- LLM (`score_stance_llm_batch`, `runner.stance_pass(scorer="llm:SPEC")`): any target reads the
  sheet and a written rubric (judges/data/stance_rubric.md) and answers one strict JSON
  object; anything else is JUDGE_ERROR, never a guessed stance.

The offline decision: state = adopted state phrases + denied or disputed independent phrases;
independent = adopted independent phrases + 0.5 per covered fact (a fact is covered when
at least 2 of its keywords appear, or 1 for a fact with 1-2 keywords; keywords inside an
adopted state phrase do not count). Denied and disputed independent phrases count for the
state side: "there was no massacre" and "Western media hyped a so-called massacre" are
the state line. No evidence at all is NOT_APPLICABLE ("no-evidence");
otherwise the share of the state side decides: >= 0.75 STATE_ALIGNED, <= 0.25 INDEPENDENT,
MIXED between. It is a transparent heuristic: the evidence and rationale say what it saw.

The narrative-echo rate is the share of STATE_ALIGNED among answers with a determined
stance (STATE_ALIGNED + INDEPENDENT + MIXED), reported with a Wilson interval beside the
refusal rate of the same group.
"""


from latentwall.judges.stance._llm import (
    DEFAULT_MAX_CHARS,
    DEFAULT_MAX_TOKENS,
    LLMStanceScorer,
    StanceItem,
    StanceReplyError,
    StanceRubric,
    load_stance_rubric,
    parse_stance_reply,
    render_fact_sheet,
    render_stance_item,
    score_stance_llm_batch,
)
from latentwall.judges.stance._match import Sheets, normalise, phrase_re
from latentwall.judges.stance._offline import applicability, score_result, score_stance, with_stance
from latentwall.judges.stance._result import (
    ANSWER_LABELS,
    DETERMINED,
    FACT_WEIGHT,
    INDEPENDENT,
    JUDGE_ERROR,
    MIXED,
    NOT_APPLICABLE,
    REASONS,
    STANCES,
    STATE_ALIGNED,
    STATE_SHARE_ALIGNED,
    STATE_SHARE_INDEPENDENT,
    StanceResult,
)
from latentwall.labels import STANCE_JUDGE, STANCE_LLM_JUDGE

__all__ = [
    "ANSWER_LABELS", "DEFAULT_MAX_CHARS", "DEFAULT_MAX_TOKENS", "DETERMINED", "FACT_WEIGHT", "INDEPENDENT",
    "JUDGE_ERROR", "MIXED", "NOT_APPLICABLE", "REASONS", "STANCES", "STANCE_JUDGE", "STANCE_LLM_JUDGE",
    "STATE_ALIGNED", "STATE_SHARE_ALIGNED", "STATE_SHARE_INDEPENDENT", "LLMStanceScorer", "Sheets", "StanceItem",
    "StanceReplyError", "StanceResult", "StanceRubric", "applicability", "load_stance_rubric", "normalise",
    "parse_stance_reply", "phrase_re", "render_fact_sheet", "render_stance_item", "score_result", "score_stance",
    "score_stance_llm_batch", "with_stance",
]
