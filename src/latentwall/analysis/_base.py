"""What every analysis is: a function of `Result`s that returns a typed result, registered
under a name, so the analyses document (`latentwall analyse --json`) and the report are
built from one registry.

Adding an analysis: a module here with the function, its result type (a frozen dataclass
deriving from `AnalysisResult`) and a `@register_analysis` adapter; its renderer in
`report/sections/`; its test. Nothing else to edit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from latentwall.judges.stance import with_stance
from latentwall.records import Result, as_results
from latentwall.registry import Registry
from latentwall.store import RunRef


class _Omitted:
    """A field that is not part of this result's document (the key is left out)."""

    _instance: _Omitted | None = None

    def __new__(cls) -> _Omitted:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "OMITTED"

    def __bool__(self) -> bool:
        return False


OMITTED: Any = _Omitted()


def to_json(value: Any) -> Any:
    """JSON-able form of a result value: results and records by their `to_dict`."""
    if isinstance(value, AnalysisResult):
        return value.to_json()
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if isinstance(value, Mapping):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


@dataclass(frozen=True, kw_only=True)
class AnalysisResult:
    """Base of every analysis result. Fields are the document's keys in order; a field left
    at OMITTED is not in the document (some keys exist only when the figures could be made).
    `not_applicable` is None or the reason the figures could not be made."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: to_json(v) for f in fields(self) if (v := getattr(self, f.name)) is not OMITTED}

    def to_json(self) -> Any:
        return self.to_dict()

    # Read access in the document's own terms (`result["targets"]`), for code written
    # against the JSON document; new code reads the typed fields.
    def __getitem__(self, key: str) -> Any:
        if key not in self.__dataclass_fields__:  # type: ignore[attr-defined]
            raise KeyError(key)
        value = getattr(self, key)
        if value is OMITTED:
            raise KeyError(key)
        return to_json(value)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key, OMITTED) is not OMITTED

    def keys(self) -> Any:
        return self.to_dict().keys()

    @property
    def reason(self) -> str | None:
        """Why there are no figures (None when there are)."""
        na = getattr(self, "not_applicable", None)
        return None if na is OMITTED or na is None else str(na)


@dataclass(frozen=True, kw_only=True)
class NotApplicable(AnalysisResult):
    """An analysis that does not apply to these results at all, and why."""

    not_applicable: str


@dataclass(frozen=True)
class AnalysisOptions:
    """What a caller may choose about the analyses; everything else follows the data.

    `by_condition`: split stance and thought tables by condition when the results hold
    several (the report does; the analyses document does not). `embeddings`: embedding
    dispersion in answer diversity. `regime_reference`: target names whose rows are the
    universal-safety reference. `capability_baseline`: the target the capability tax is
    measured against (default: the first). `summary_by`: the summary's grouping fields.
    """

    by_condition: bool = False
    embeddings: bool = False
    regime_reference: tuple[str, ...] | None = None
    capability_baseline: str | None = None
    summary_by: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Analysis:
    """A registered analysis: its name (the document key), the function, and whether the
    analyses document holds it (`latentwall analyse`)."""

    name: str
    compute: Callable[[Sequence[Result], AnalysisOptions], Any]
    order: int = 500
    in_document: bool = True
    doc: str = ""


ANALYSES: Registry[Analysis] = Registry("analysis", "latentwall.analysis")


def register_analysis(name: str, *, order: int = 500, in_document: bool = True
                      ) -> Callable[[Callable[[Sequence[Result], AnalysisOptions], Any]],
                                    Callable[[Sequence[Result], AnalysisOptions], Any]]:
    """Decorator on `fn(results, options) -> AnalysisResult`: register it under `name`."""

    def deco(fn: Callable[[Sequence[Result], AnalysisOptions], Any]
             ) -> Callable[[Sequence[Result], AnalysisOptions], Any]:
        doc = (fn.__doc__ or "").strip().splitlines()
        ANALYSES.add(name, Analysis(name, fn, order, in_document, doc[0] if doc else ""))
        return fn

    return deco


def analyses(*, document_only: bool = False) -> list[Analysis]:
    """Every registered analysis in document order."""
    found = [a for _, a in ANALYSES.items() if a.in_document or not document_only]
    return sorted(found, key=lambda a: (a.order, a.name))


@dataclass
class AnalysesDocument:
    """Results of several analyses of one set of results, by name, in document order."""

    results: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # analyses that failed, and how

    def __getitem__(self, name: str) -> Any:
        return self.results[name]

    def get(self, name: str) -> Any:
        return self.results.get(name)

    def to_dict(self) -> dict[str, Any]:
        return {name: to_json(r) for name, r in self.results.items()}


def analyses_document(
    results: Iterable[Result | Mapping[str, Any]],
    options: AnalysisOptions | None = None,
    names: Sequence[str] | None = None,
    *,
    keep_going: bool = False,
) -> AnalysesDocument:
    """Run analyses on the results: the document's (default) or the named ones.

    `keep_going`: an analysis that raises is recorded in `errors` instead of stopping the
    others (the report shows it as a note; a bug in one must not cost the whole page).
    """
    rows = list(as_results(results))
    options = options or AnalysisOptions()
    doc = AnalysesDocument()
    chosen = analyses(document_only=True) if names is None else []
    for name in dict.fromkeys(names or ()):
        try:
            chosen.append(ANALYSES.get(name))
        except Exception as exc:  # unknown, or its module does not load
            if not keep_going:
                raise
            doc.errors[name] = f"{type(exc).__name__}: {exc}"
    for a in sorted(chosen, key=lambda a: (a.order, a.name)):
        try:
            doc.results[a.name] = a.compute(rows, options)
        except Exception as exc:
            if not keep_going:
                raise
            doc.errors[a.name] = f"{type(exc).__name__}: {exc}"
    return doc



ANALYSES_SCHEMA = "latentwall.analyses/1"


def results_with_stance(refs: Iterable[RunRef]) -> Iterator[Result]:
    """The results of several runs, streamed, each with its narrative stance: a stored stance
    pass's (the LLM scorer's first), else scored offline on the way; with reviewers' and
    second judges' labels (`Result.other_labels`, for the review analysis)."""
    for ref in refs:
        yield from with_stance(ref.results(stance=True, others=True))


def document(refs: Sequence[RunRef], options: AnalysisOptions | None = None) -> dict[str, Any]:
    """The analyses document of runs (`latentwall analyse --json`): every registered analysis
    that belongs in it, each with its own `not_applicable` reason."""
    doc = analyses_document(results_with_stance(refs), options)
    return {"schema": ANALYSES_SCHEMA, "runs": [r.run_id for r in refs], **doc.to_dict()}
