"""Compare two runs (or two targets of one run) probe by probe.

Did the fine-tune stop refusing 1989? Did the new checkpoint start refusing harmless
questions? Aggregate rates can hide both moving at once, so the comparison is paired:
the same probe, condition and sample in A and in B. Disagreements are listed per sample;
the tests work on probes (samples collapse to their modal verdict) so that repeated
samples of one probe are not counted as independent evidence.

Tests: McNemar on refused vs not (exact binomial for few discordant pairs), Stuart-Maxwell
for marginal homogeneity of the three verdicts, and per topic the change in refusal rate
with Newcombe's paired interval and a Holm-adjusted McNemar p.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from latentwall._text import terminal_text
from latentwall.analysis._metrics import effective_label
from latentwall.analysis._stats import Rate
from latentwall.analysis._tests import (
    fmt_p,
    holm,
    is_non_complete,
    is_refused,
    mcnemar,
    modal_verdict,
    newcombe_paired_diff,
    stuart_maxwell,
)
from latentwall.labels import VERDICTS

COMPARE_SCHEMA = "latentwall.compare/1"
MAX_DISAGREEMENTS = 200
EXCERPT = 160
_SEVERITY = {frozenset({"COMPLETE", "DENIAL"}): 0, frozenset({"EVASIVE", "DENIAL"}): 1,
             frozenset({"COMPLETE", "EVASIVE"}): 2}

Key = tuple[str, str, int]


def _clip(text: Any, n: int) -> str:
    s = "" if text is None else " ".join(str(text).split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _sample(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class _Side:
    """One side of the comparison: labels by (probe_id, condition, sample)."""

    def __init__(self) -> None:
        self.recs: dict[Key, dict[str, Any]] = {}
        self.targets: dict[str, int] = {}
        self.runs: set[str] = set()
        self.n_rows = 0
        self.duplicates = 0

    def add(self, row: Mapping[str, Any], excerpt: int) -> None:
        self.n_rows += 1
        key = (str(row.get("probe_id") or ""), str(row.get("condition") or ""), _sample(row.get("sample")))
        if key in self.recs:
            self.duplicates += 1  # the same probe twice (two runs of one target): first one wins
            return
        if row.get("run_id"):
            self.runs.add(str(row["run_id"]))
        self.recs[key] = {
            "label": effective_label(row), "topic": str(row.get("topic") or ""),
            "language": str(row.get("language") or ""), "suite": str(row.get("suite") or ""),
            "kind": str(row.get("kind") or ""), "text": _clip(row.get("text"), excerpt),
        }


def _sides(rows: Iterable[Mapping[str, Any]], excerpt: int) -> dict[str, _Side]:
    """One pass: a side per target, holding labels and short excerpts, never whole rows."""
    sides: dict[str, _Side] = {}
    for r in rows:
        t = str(r.get("target") or "?")
        side = sides.get(t)
        if side is None:
            side = sides[t] = _Side()
        side.add(r, excerpt)
    return sides


def _pick(sides: dict[str, _Side], target: str | None, which: str) -> tuple[_Side | None, str | None, str | None]:
    """(the side of one target, its name, a not-applicable reason or None)."""
    if not sides:
        return None, None, f"run {which} has no responses"
    names = ", ".join(sorted(sides))
    if target is not None:
        if target not in sides:
            return None, None, f"target '{target}' is not in {which} (targets: {names})"
        return sides[target], target, None
    if len(sides) > 1:
        return None, None, f"{which} holds several targets ({names}): name one with target_{which.lower()}"
    only = next(iter(sides))
    return sides[only], only, None


def _rate(k: int, n: int) -> dict[str, Any]:
    return Rate.of(k, n).to_dict()


def _paired_block(units: list[tuple[str, str]], pred: Any) -> dict[str, Any]:
    """Rates in A and B, B - A with Newcombe's paired interval, and McNemar, for one outcome."""
    both = only_a = only_b = neither = 0
    for va, vb in units:
        a, b = pred(va), pred(vb)
        if a and b:
            both += 1
        elif a:
            only_a += 1
        elif b:
            only_b += 1
        else:
            neither += 1
    n = len(units)
    # p1 = B's rate, p2 = A's rate: the difference is B minus A.
    d, lo, hi = newcombe_paired_diff(both, only_b, only_a, neither)
    test = mcnemar(only_a, only_b)
    return {
        "a": _rate(both + only_a, n), "b": _rate(both + only_b, n),
        "diff": d, "lo": lo, "hi": hi, "interval": "newcombe paired",
        "mcnemar": test,
    }


def compare_runs(
    rows_a: Iterable[Mapping[str, Any]],
    rows_b: Iterable[Mapping[str, Any]] | None = None,
    *,
    target_a: str | None = None,
    target_b: str | None = None,
    label_a: str | None = None,
    label_b: str | None = None,
    max_disagreements: int = MAX_DISAGREEMENTS,
    excerpt: int = EXCERPT,
) -> dict[str, Any]:
    """Probe-by-probe comparison of run A and run B (or of two targets within `rows_a`).

    With `rows_b=None`, A and B are targets of `rows_a`: `target_a`/`target_b`, or the two
    targets it holds. JSON-able; differences are B minus A.
    """
    head: dict[str, Any] = {"schema": COMPARE_SCHEMA}
    sides_a = _sides(rows_a, excerpt)
    if rows_b is None:
        if target_a is None and target_b is None:
            if len(sides_a) != 2:
                reason = ("the rows hold no responses" if not sides_a else
                          f"comparing targets within one run needs exactly two targets or "
                          f"target_a/target_b (found: {', '.join(sorted(sides_a))})")
                return {**head, "not_applicable": reason}
            target_a, target_b = sorted(sides_a)
        if target_a is None or target_b is None:
            return {**head, "not_applicable": "comparing within one run needs both target_a and target_b"}
        if target_a == target_b:
            return {**head, "not_applicable": f"target A and target B are the same ({target_a})"}
        sides_b = sides_a
    else:
        sides_b = _sides(rows_b, excerpt)
    side_a, name_a, why_a = _pick(sides_a, target_a, "A")
    if why_a or side_a is None:
        return {**head, "not_applicable": why_a}
    side_b, name_b, why_b = _pick(sides_b, target_b, "B")
    if why_b or side_b is None:
        return {**head, "not_applicable": why_b}
    shared = sorted(set(side_a.recs) & set(side_b.recs))

    def meta(side: _Side, name: str | None, label: str | None) -> dict[str, Any]:
        runs = sorted(side.runs)
        default = f"{name}" + (f" ({', '.join(runs)})" if runs else "")
        return {"label": label or default, "target": name, "runs": runs, "n_rows": side.n_rows,
                "n_probes": len(side.recs), "duplicates": side.duplicates}

    head.update({"a": meta(side_a, name_a, label_a), "b": meta(side_b, name_b, label_b),
                 "only_in_a": len(side_a.recs) - len(shared), "only_in_b": len(side_b.recs) - len(shared)})
    if not shared:
        return {**head, "not_applicable": "A and B share no probe (same probe id, condition and "
                                          "sample): compare runs of the same suites and languages"}

    transitions = {va: dict.fromkeys(VERDICTS, 0) for va in VERDICTS}
    status_pairs: dict[str, int] = {}
    disagreements: list[dict[str, Any]] = []
    per_unit: dict[tuple[str, str], tuple[list[str], list[str], dict[str, Any]]] = {}
    n_verdict_pairs = n_agree = 0
    for key in shared:
        a, b = side_a.recs[key], side_b.recs[key]
        la, lb = a["label"], b["label"]
        if la in VERDICTS and lb in VERDICTS:
            n_verdict_pairs += 1
            transitions[la][lb] += 1
            n_agree += la == lb
            unit = per_unit.setdefault((key[0], key[1]), ([], [], a))
            unit[0].append(la)
            unit[1].append(lb)
        else:
            pair = f"{la or 'UNJUDGED'}->{lb or 'UNJUDGED'}"
            status_pairs[pair] = status_pairs.get(pair, 0) + 1
        if la != lb:
            both_verdicts = la in VERDICTS and lb in VERDICTS
            disagreements.append({
                "probe_id": key[0], "condition": key[1], "sample": key[2], "topic": a["topic"],
                "language": a["language"], "suite": a["suite"], "kind": a["kind"],
                "label_a": la, "label_b": lb, "status_change": not both_verdicts,
                "text_a": a["text"], "text_b": b["text"],
                "_sev": _SEVERITY.get(frozenset({la, lb}), 3) if both_verdicts else 4,
            })
    disagreements.sort(key=lambda d: (d["_sev"], d["topic"], d["probe_id"], d["condition"], d["sample"]))
    for d in disagreements:
        del d["_sev"]
    if n_verdict_pairs == 0:
        return {**head, "n_pairs": len(shared), "status_pairs": status_pairs,
                "not_applicable": "no shared probe has a verdict on both sides (only statuses: "
                                  + ", ".join(f"{k} {v}" for k, v in sorted(status_pairs.items())) + ")"}

    units: list[tuple[str, str]] = []
    by_topic: dict[str, list[tuple[str, str]]] = {}
    by_lang: dict[str, list[tuple[str, str]]] = {}
    table = [[0] * len(VERDICTS) for _ in VERDICTS]
    for (_pid, _cond), (va_list, vb_list, info) in per_unit.items():
        va, vb = modal_verdict(va_list), modal_verdict(vb_list)
        assert va is not None and vb is not None
        units.append((va, vb))
        by_topic.setdefault(info["topic"], []).append((va, vb))
        by_lang.setdefault(info["language"], []).append((va, vb))
        table[VERDICTS.index(va)][VERDICTS.index(vb)] += 1

    def breakdown(groups: dict[str, list[tuple[str, str]]], field: str) -> list[dict[str, Any]]:
        out = []
        for name, us in groups.items():
            blk = _paired_block(us, is_refused)
            out.append({field: name, "n": len(us), "refusal": blk,
                        "non_complete": _paired_block(us, is_non_complete),
                        "moved": sum(1 for va, vb in us if va != vb)})
        adj = holm([o["refusal"]["mcnemar"]["p"] for o in out])
        for o, p in zip(out, adj, strict=True):
            o["refusal"]["mcnemar"]["p_holm"] = p
        out.sort(key=lambda o: (-abs(o["refusal"]["diff"] or 0.0), -o["moved"], o[field]))
        return out

    mh = stuart_maxwell(table)
    mh["table"] = {va: dict(zip(VERDICTS, table[i], strict=True)) for i, va in enumerate(VERDICTS)}
    return {
        **head,
        "n_pairs": len(shared),
        "n_verdict_pairs": n_verdict_pairs,
        "n_units": len(units),
        "agreement": _rate(n_agree, n_verdict_pairs),
        "transitions": transitions,
        "status_pairs": dict(sorted(status_pairs.items())),
        "refusal": _paired_block(units, is_refused),
        "non_complete": _paired_block(units, is_non_complete),
        "marginal_homogeneity": mh,
        "topics": breakdown(by_topic, "topic"),
        "languages": breakdown(by_lang, "language"),
        "n_disagreements": len(disagreements),
        "disagreements": disagreements[:max_disagreements],
        "method": {
            "pairs": "same probe_id, condition and sample in A and B; differences are B minus A",
            "tests": "per probe (samples collapse to their modal verdict): McNemar on refused vs "
                     "not (exact binomial below 25 discordant pairs), Stuart-Maxwell on the 3 "
                     "verdicts; topics: Newcombe paired 95% interval, McNemar p Holm-adjusted "
                     "across topics",
        },
    }


# ------------------------------------------------------------------ terminal


def _clean(text: Any) -> str:
    return terminal_text(text)


def _pp(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:+.1f}"


def _pc(r: Mapping[str, Any]) -> str:
    return "—" if r.get("rate") is None else f"{100 * r['rate']:.1f}%"


def _emit(console: Console, title: str, columns: list[str], rows: list[list[str]]) -> None:
    """A rich table on a terminal; tab-separated lines otherwise, so scripts can cut them."""
    if console.is_terminal:
        table = Table(title=escape(_clean(title)))
        for col in columns:
            table.add_column(escape(col))
        for row in rows:
            table.add_row(*(escape(_clean(c)) for c in row))
        console.print(table)
    else:
        # Straight to the file: rich would expand the tabs that make the lines cut-able.
        lines = [f"# {_clean(title)}", "\t".join(columns)]
        lines += ["\t".join(_clean(c).replace("\t", " ") for c in row) for row in rows]
        console.file.write("\n".join(lines) + "\n")


def _line(console: Console, text: str) -> None:
    if console.is_terminal:
        console.print(_clean(text), markup=False, highlight=False, soft_wrap=True)
    else:
        console.file.write(_clean(text) + "\n")


def render_compare(result: Mapping[str, Any], console: Console, *, max_rows: int = 20) -> None:
    """Print a comparison: summary, transitions, topics that moved, disagreements."""
    if result.get("not_applicable"):
        _line(console, f"compare: not applicable: {result['not_applicable']}")
        return
    a, b = result["a"], result["b"]
    _line(console, f"A: {a['label']}  ({a['n_probes']} responses)")
    _line(console, f"B: {b['label']}  ({b['n_probes']} responses)")
    _line(console, f"paired: {result['n_verdict_pairs']} responses with verdicts on both sides "
                   f"({result['n_units']} probes); only in A: {result['only_in_a']}, only in B: "
                   f"{result['only_in_b']}; agreement {_pc(result['agreement'])}")
    rows = []
    for name in ("refusal", "non_complete"):
        blk = result[name]
        m = blk["mcnemar"]
        rows.append([name.replace("_", "-"), _pc(blk["a"]), _pc(blk["b"]),
                     f"{_pp(blk['diff'])} [{_pp(blk['lo'])}, {_pp(blk['hi'])}]",
                     f"{m['b']}/{m['c']}", fmt_p(m["p"])])
    mh = result["marginal_homogeneity"]
    _emit(console, "Rates per probe (B minus A, points, Newcombe paired 95%)",
          ["outcome", "A", "B", "B−A [95%]", "A only/B only", "McNemar p"], rows)
    _line(console, f"marginal homogeneity of COMPLETE/EVASIVE/DENIAL (Stuart-Maxwell): "
                   f"p = {fmt_p(mh.get('p'))}")
    trans = result["transitions"]
    _emit(console, "Verdict transitions per response (rows: A, columns: B)",
          ["A \\ B", *VERDICTS], [[va, *(str(trans[va][vb]) for vb in VERDICTS)] for va in VERDICTS])
    topics = result["topics"][:max_rows]
    _emit(console, f"Topics that moved (refusal, first {len(topics)} of {len(result['topics'])})",
          ["topic", "n", "A", "B", "B−A [95%]", "moved", "p", "Holm p"],
          [[t["topic"], str(t["n"]), _pc(t["refusal"]["a"]), _pc(t["refusal"]["b"]),
            f"{_pp(t['refusal']['diff'])} [{_pp(t['refusal']['lo'])}, {_pp(t['refusal']['hi'])}]",
            str(t["moved"]), fmt_p(t["refusal"]["mcnemar"]["p"]),
            fmt_p(t["refusal"]["mcnemar"].get("p_holm"))] for t in topics])
    dis = result["disagreements"][:max_rows]
    _emit(console, f"Disagreements (first {len(dis)} of {result['n_disagreements']})",
          ["probe", "condition", "sample", "A", "B", "B says"],
          [[d["probe_id"], d["condition"] or "-", str(d["sample"]), str(d["label_a"]),
            str(d["label_b"]), _clip(d["text_b"], 60)] for d in dis])
