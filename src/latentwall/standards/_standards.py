"""The standards the regime cards apply, read from data files with their sources.

standards/data/tc260.yaml (the `cac` card) and ailuminate.yaml (the
`universal-safety` card) hold every threshold, grade boundary, risk and hazard code with the
document it comes from and `as_reported` where the primary text was not read. They are
validated on load; every error names file, line and field.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from latentwall.datafiles import load_yaml, package_data
from latentwall.errors import DataError

OPS = ("<", "<=", ">", ">=")
UNITS = ("share", "questions", "entries")
GRADE_ON = ("unsafe", "ratio", "otherwise")
HAZARD_GROUP_ORDER = ("physical", "non-physical", "contextual")
_EPS = 1e-9  # 0.15 / 0.1 is 1.4999999999999998 in floating point; a boundary is a boundary


def compare(x: float, op: str, value: float) -> bool:
    """`x op value`, with boundaries decided as written, not by floating-point noise."""
    if op == "<":
        return x < value - _EPS
    if op == "<=":
        return x <= value + _EPS
    if op == ">":
        return x > value + _EPS
    return x >= value - _EPS


def op_text(op: str) -> str:
    return {"<=": "≤", ">=": "≥"}.get(op, op)


@dataclass(frozen=True)
class Document:
    id: str
    name: str
    seen: bool


@dataclass(frozen=True)
class Threshold:
    """One numeric requirement of a standard, e.g. refusal rate >= 0.95 on should-refuse questions."""

    id: str
    label: str
    op: str
    value: float
    unit: str
    source: str
    as_reported: bool
    min_sample: int | None = None
    scope: tuple[str, ...] = ()  # risk categories it applies to (A.1 ...), empty = all
    checked: bool = True
    why_not_checked: str | None = None

    def holds(self, x: float) -> bool:
        return compare(x, self.op, self.value)

    def text(self) -> str:
        v = f"{100 * self.value:g}%" if self.unit == "share" else f"{self.value:,.0f} {self.unit}"
        return f"{op_text(self.op)} {v}"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "op": self.op, "value": self.value, "unit": self.unit,
                "min_sample": self.min_sample, "scope": list(self.scope), "checked": self.checked,
                "why_not_checked": self.why_not_checked, "source": self.source, "as_reported": self.as_reported}


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    risks: tuple[tuple[str, str], ...]  # (code, name)


@dataclass(frozen=True)
class GradeRule:
    grade: str
    on: str
    op: str | None
    value: float | None
    source: str
    as_reported: bool

    def text(self) -> str:
        if self.on == "otherwise":
            return "otherwise"
        assert self.op is not None and self.value is not None
        if self.on == "unsafe":
            return f"unsafe share {op_text(self.op)} {100 * self.value:g}%"
        return f"unsafe share {op_text(self.op)} {self.value:g}× the reference's"


@dataclass(frozen=True)
class Hazard:
    code: str
    name: str
    group: str


@dataclass(frozen=True)
class Standard:
    """What both standards share: identity, documents and notes."""

    id: str
    regime: str
    title: str
    summary: str
    documents: tuple[Document, ...]
    notes: tuple[str, ...]
    path: str


@dataclass(frozen=True)
class TC260(Standard):
    categories: tuple[Category, ...] = ()
    thresholds: tuple[Threshold, ...] = ()

    def threshold(self, tid: str) -> Threshold:
        for t in self.thresholds:
            if t.id == tid:
                return t
        raise DataError(self.path, None, "thresholds", f"no threshold with id '{tid}' (the card needs it)")

    def risks(self, scope: tuple[str, ...] = ()) -> list[str]:
        """Sub-risk codes of the given categories (all 31 when scope is empty), in order."""
        return [code for c in self.categories if not scope or c.code in scope for code, _ in c.risks]

    def category_names(self) -> dict[str, str]:
        return {c.code: c.name for c in self.categories}


@dataclass(frozen=True)
class AILuminate(Standard):
    hazards: tuple[Hazard, ...] = ()
    hazards_source: str = ""
    hazards_as_reported: bool = True
    grades: tuple[GradeRule, ...] = ()
    reference_definition: str = ""
    reference_source: str = ""
    reference_as_reported: bool = True
    reference_user_chosen: str = ""

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(h.code for h in self.hazards)

    def groups(self) -> dict[str, tuple[str, ...]]:
        return {g: tuple(h.code for h in self.hazards if h.group == g) for g in HAZARD_GROUP_ORDER}

    def grade(self, unsafe: float | None, ratio: float | None) -> str | None:
        """The first rule that holds; a ratio rule is skipped when the ratio is unknown, and
        then nothing below it can be decided either (None)."""
        if unsafe is None:
            return None
        for rule in self.grades:
            if rule.on == "unsafe":
                assert rule.op is not None and rule.value is not None
                if compare(unsafe, rule.op, rule.value):
                    return rule.grade
            elif ratio is None:
                return None
            elif rule.on == "otherwise":
                return rule.grade
            else:
                assert rule.op is not None and rule.value is not None
                if compare(ratio, rule.op, rule.value):
                    return rule.grade
        return None

    def scale_text(self) -> str:
        return "; ".join(f"{r.grade}: {r.text()}" for r in self.grades)


# --------------------------------------------------------------------------- validation


class _Reader:
    """Typed field access on one YAML mapping, every error naming file, line and field."""

    def __init__(self, path: str, obj: Any, where: str, line: int | None) -> None:
        self.path, self.where = path, where
        if not isinstance(obj, dict):
            raise DataError(path, line, where or None, "must be a mapping")
        self.obj = obj
        self.line = obj.get("__line__", line)

    def _f(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, msg: str) -> DataError:
        return DataError(self.path, self.line, self._f(key), msg)

    def known(self, allowed: set[str]) -> None:
        for key in self.obj:
            if key != "__line__" and key not in allowed:
                raise self.fail(key, f"unknown field (allowed: {', '.join(sorted(allowed))})")

    def text(self, key: str, *, required: bool = True) -> str | None:
        v = self.obj.get(key)
        if v is None and not required:
            return None
        if not isinstance(v, str) or not v.strip():
            raise self.fail(key, "must be non-empty text" if v is not None else "is required")
        return " ".join(v.split())

    def flag(self, key: str, *, default: bool | None = None) -> bool:
        v = self.obj.get(key, default)
        if not isinstance(v, bool):
            raise self.fail(key, "must be true or false" if key in self.obj else "is required (true or false)")
        return v

    def number(self, key: str, *, required: bool = True) -> float | None:
        v = self.obj.get(key)
        if v is None and not required:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.fail(key, "must be a number" if v is not None else "is required")
        return float(v)

    def choice(self, key: str, options: tuple[str, ...], *, required: bool = True) -> str | None:
        v = self.obj.get(key)
        if v is None and not required:
            return None
        if v not in options:
            raise self.fail(key, f"'{v}' is not one of {', '.join(options)}")
        return str(v)

    def items(self, key: str) -> list[_Reader]:
        v = self.obj.get(key)
        if not isinstance(v, list) or not v:
            raise self.fail(key, "must be a non-empty list")
        return [_Reader(self.path, x, f"{self._f(key)}[{i}]", self.line) for i, x in enumerate(v)]

    def texts(self, key: str, *, required: bool = False) -> tuple[str, ...]:
        v = self.obj.get(key)
        if v is None and not required:
            return ()
        if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
            raise self.fail(key, "must be a list of non-empty texts")
        return tuple(" ".join(x.split()) for x in v)


def _unique(readers: list[_Reader], values: list[str], key: str) -> None:
    seen: set[str] = set()
    for r, v in zip(readers, values, strict=True):
        if v in seen:
            raise r.fail(key, f"'{v}' appears twice")
        seen.add(v)


def _head(r: _Reader, extra: set[str], regime: str) -> dict[str, Any]:
    r.known({"id", "regime", "title", "summary", "documents", "notes"} | extra)
    if r.obj.get("regime") != regime:
        raise r.fail("regime", f"must be '{regime}'")
    docs = []
    doc_readers = r.items("documents")
    for d in doc_readers:
        d.known({"id", "name", "seen"})
        docs.append(Document(d.text("id") or "", d.text("name") or "", d.flag("seen")))
    _unique(doc_readers, [d.id for d in docs], "id")
    return {"id": r.text("id"), "regime": regime, "title": r.text("title"), "summary": r.text("summary"),
            "documents": tuple(docs), "notes": r.texts("notes"), "path": r.path}


def _source(r: _Reader) -> tuple[str, bool]:
    src = r.text("source") or ""
    if len(src) < 10:
        raise r.fail("source", "must name the document the figure comes from")
    return src, r.flag("as_reported")


def parse_tc260(data: Any, path: str) -> TC260:
    r = _Reader(path, data, "", 1)
    head = _head(r, {"categories", "thresholds"}, "cac")
    cats: list[Category] = []
    cat_readers = r.items("categories")
    for c in cat_readers:
        c.known({"code", "name", "risks"})
        code = c.text("code") or ""
        risks = []
        for i, rk in enumerate(c.items("risks"), start=1):
            rk.known({"code", "name"})
            rcode = rk.text("code") or ""
            if rcode != f"{code}.{i}":
                raise rk.fail("code", f"'{rcode}' out of order: expected {code}.{i}")
            risks.append((rcode, rk.text("name") or ""))
        cats.append(Category(code, c.text("name") or "", tuple(risks)))
    _unique(cat_readers, [c.code for c in cats], "code")
    codes = {c.code for c in cats}
    ths: list[Threshold] = []
    th_readers = r.items("thresholds")
    for t in th_readers:
        t.known({"id", "label", "op", "value", "unit", "min_sample", "scope", "checked", "why_not_checked",
                 "source", "as_reported"})
        unit = t.choice("unit", UNITS) or ""
        value = t.number("value") or 0.0
        if unit == "share" and not 0 <= value <= 1:
            raise t.fail("value", f"{value} is not a share between 0 and 1")
        scope = t.texts("scope")
        for s in scope:
            if s not in codes:
                raise t.fail("scope", f"'{s}' is not a risk category of this standard ({', '.join(sorted(codes))})")
        ms = t.number("min_sample", required=False)
        if ms is not None and (ms < 1 or ms != int(ms)):
            raise t.fail("min_sample", "must be a whole number of questions")
        checked = t.flag("checked", default=True)
        why = t.text("why_not_checked", required=not checked)
        src, rep = _source(t)
        ths.append(Threshold(t.text("id") or "", t.text("label") or "", t.choice("op", OPS) or "", value, unit,
                             src, rep, int(ms) if ms is not None else None, scope, checked, why))
    _unique(th_readers, [t.id for t in ths], "id")
    return TC260(**head, categories=tuple(cats), thresholds=tuple(ths))


def parse_ailuminate(data: Any, path: str) -> AILuminate:
    r = _Reader(path, data, "", 1)
    head = _head(r, {"hazards", "hazards_source", "hazards_as_reported", "grades", "reference"}, "universal-safety")
    hz_readers = r.items("hazards")
    hazards = []
    for h in hz_readers:
        h.known({"code", "name", "group"})
        hazards.append(Hazard(h.text("code") or "", h.text("name") or "", h.choice("group", HAZARD_GROUP_ORDER) or ""))
    _unique(hz_readers, [h.code for h in hazards], "code")
    grades = []
    g_readers = r.items("grades")
    for i, g in enumerate(g_readers):
        g.known({"grade", "by", "op", "value", "source", "as_reported"})
        on = g.choice("by", GRADE_ON) or ""
        last = i == len(g_readers) - 1
        if (on == "otherwise") != last:
            raise g.fail("by", "the last rule, and only the last, must be 'otherwise'")
        op = g.choice("op", OPS, required=on != "otherwise")
        value = g.number("value", required=on != "otherwise")
        if on == "unsafe" and value is not None and not 0 <= value <= 1:
            raise g.fail("value", f"{value} is not a share between 0 and 1")
        src, rep = _source(g)
        grades.append(GradeRule(g.text("grade") or "", on, op, value, src, rep))
    _unique(g_readers, [g.grade for g in grades], "grade")
    ref = _Reader(path, r.obj.get("reference"), "reference", r.line)
    ref.known({"definition", "source", "as_reported", "user_chosen"})
    ref_src, ref_rep = _source(ref)
    return AILuminate(
        **head, hazards=tuple(hazards), hazards_source=r.text("hazards_source") or "",
        hazards_as_reported=r.flag("hazards_as_reported"), grades=tuple(grades),
        reference_definition=ref.text("definition") or "", reference_source=ref_src,
        reference_as_reported=ref_rep, reference_user_chosen=ref.text("user_chosen") or "",
    )


def standards_dir() -> Path:
    return package_data("latentwall.standards", "data")


@lru_cache(maxsize=1)
def tc260() -> TC260:
    path = standards_dir() / "tc260.yaml"
    return parse_tc260(load_yaml(path, lines=True), str(path))


@lru_cache(maxsize=1)
def ailuminate() -> AILuminate:
    path = standards_dir() / "ailuminate.yaml"
    return parse_ailuminate(load_yaml(path, lines=True), str(path))


# --------------------------------------------------------------------------- explain


def _reported(as_reported: bool) -> str:
    return " [as reported]" if as_reported else ""


def _documents(std: Standard) -> list[str]:
    return [f"    - {d.name}" + ("" if d.seen else " (primary text not read by latentwall: as reported)")
            for d in std.documents]


def explain_lines(*, explain: bool = False) -> list[str]:
    """The regimes and what each card checks; with `explain`, every figure's source too."""
    t, a = tc260(), ailuminate()
    out = [f"cac — {t.title}"]
    if explain:
        out.append(f"  {t.summary}")
    out.append("  Thresholds:")
    for th in t.thresholds:
        sample = f" (sample ≥ {th.min_sample:,})" if th.min_sample else ""
        scope = f" [{', '.join(th.scope)}]" if th.scope else ""
        unchecked = f" — not checked: {th.why_not_checked}" if not th.checked else ""
        out.append(f"    {th.label}{scope}: {th.text()}{sample}{unchecked}{_reported(th.as_reported)}")
        if explain:
            out.append(f"      source: {th.source}")
    if explain:
        out.append("  Risks (appendix A):")
        for c in t.categories:
            out.append(f"    {c.code} {c.name}: " + "; ".join(f"{code} {name}" for code, name in c.risks))
        out += ["  Documents:", *_documents(t), "  Notes:", *(f"    - {n}" for n in t.notes)]
    out.append(f"universal-safety — {a.title}")
    if explain:
        out += [f"  {a.summary}"]
    out.append("  Grades (first rule that holds):")
    for g in a.grades:
        out.append(f"    {g.grade}: {g.text()}{_reported(g.as_reported)}")
        if explain:
            out.append(f"      source: {g.source}")
    groups = a.groups()
    out.append("  Hazards: " + "; ".join(f"{grp} {', '.join(codes)}" for grp, codes in groups.items())
               + _reported(a.hazards_as_reported))
    if explain:
        out.append(f"      source: {a.hazards_source}")
        out += [f"  Reference: {a.reference_definition}{_reported(a.reference_as_reported)}",
                f"      source: {a.reference_source}", f"  Reference in latentwall: {a.reference_user_chosen}",
                "  Documents:", *_documents(a), "  Notes:", *(f"    - {n}" for n in a.notes)]
    out.append("open — Open: everything answered")
    out.append("    COMPLETE rate over all probes and the INDEPENDENT share of narrative stance; no external standard.")
    return out


def standards_dict() -> dict[str, Any]:
    """Both standards as JSON-able data (what `latentwall regimes --json` prints)."""
    t, a = tc260(), ailuminate()

    def docs(std: Standard) -> list[dict[str, Any]]:
        return [{"id": d.id, "name": d.name, "seen": d.seen} for d in std.documents]

    return {
        "cac": {"id": t.id, "title": t.title, "summary": t.summary, "path": t.path, "documents": docs(t),
                "thresholds": [th.to_dict() for th in t.thresholds],
                "categories": [{"code": c.code, "name": c.name, "risks": [{"code": k, "name": n} for k, n in c.risks]}
                               for c in t.categories], "notes": list(t.notes)},
        "universal-safety": {
            "id": a.id, "title": a.title, "summary": a.summary, "path": a.path, "documents": docs(a),
            "hazards": [{"code": h.code, "name": h.name, "group": h.group} for h in a.hazards],
            "hazards_source": a.hazards_source, "hazards_as_reported": a.hazards_as_reported,
            "grades": [{"grade": g.grade, "by": g.on, "op": g.op, "value": g.value, "source": g.source,
                        "as_reported": g.as_reported} for g in a.grades],
            "reference": {"definition": a.reference_definition, "source": a.reference_source,
                          "as_reported": a.reference_as_reported, "user_chosen": a.reference_user_chosen},
            "notes": list(a.notes)},
        "open": {"title": "Open: everything answered", "thresholds": []},
    }
