"""The lab's result document ("latentwall.lab/1") and its HTML: inline SVG drawn here.

No plotting library: the figures are a few rectangles, polylines and labels, and
drawing them by hand keeps the page self-contained (no scripts, fonts or fetches). Every
string that comes from a model, a suite or the command line goes through `esc`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from latentwall.text import escape_html

SCHEMA = "latentwall.lab/1"
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")
# The one HTML escaper: bidi overrides and controls shown as ⟨U+XXXX⟩, then HTML-escaped.
esc = escape_html


def _num(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return esc(v)


def _finite(vals: Sequence[Any]) -> list[float]:
    return [float(v) for v in vals if v is not None and math.isfinite(float(v))]


# -- figures -----------------------------------------------------------------------------

def svg_heatmap(values: Sequence[Sequence[float | None]], row_labels: Sequence[str],
                title: str, *, mark: tuple[int, int] | None = None, cell: int = 14,
                reverse: bool = False, value_label: str = "") -> str:
    """rows x layers grid, colour from low (light) to high (dark); None cells hatched grey."""
    flat = _finite([v for row in values for v in row])
    lo, hi = (min(flat), max(flat)) if flat else (0.0, 1.0)
    span = (hi - lo) or 1.0
    n_rows, n_cols = len(values), max((len(r) for r in values), default=0)
    left, top = 70, 28
    w, h = left + n_cols * cell + 90, top + n_rows * cell + 34
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="lab-fig" width="{w}" height="{h}" '
             f'viewBox="0 0 {w} {h}" role="img" aria-label="{esc(title)}">',
             f'<text x="4" y="16" font-size="12" font-weight="bold">{esc(title)}</text>']
    for i, row in enumerate(values):
        y = top + i * cell
        parts.append(f'<text x="{left - 4}" y="{y + cell - 3}" font-size="10" text-anchor="end">'
                     f'{esc(row_labels[i])}</text>')
        for j, v in enumerate(row):
            x = left + j * cell
            if v is None or not math.isfinite(float(v)):
                fill = "#eeeeee"
                tip = "not evaluated"
            else:
                t = (float(v) - lo) / span
                t = 1 - t if reverse else t
                fill = _ramp(t)
                tip = f"layer {j}: {float(v):.4g}"
            parts.append(f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{fill}">'
                         f'<title>{esc(row_labels[i])} · {esc(tip)}</title></rect>')
    if mark is not None:
        i, j = mark
        parts.append(f'<rect x="{left + j * cell}" y="{top + i * cell}" width="{cell}" '
                     f'height="{cell}" fill="none" stroke="#000" stroke-width="2"/>')
    for j in range(0, n_cols, max(1, n_cols // 10)):
        parts.append(f'<text x="{left + j * cell + cell / 2}" y="{top + n_rows * cell + 12}" '
                     f'font-size="9" text-anchor="middle">{j}</text>')
    parts.append(f'<text x="{left}" y="{top + n_rows * cell + 28}" font-size="10">layer</text>')
    lx = left + n_cols * cell + 10
    for k in range(5):
        t = k / 4
        parts.append(f'<rect x="{lx}" y="{top + k * 12}" width="12" height="12" '
                     f'fill="{_ramp(1 - t if reverse else t)}"/>'
                     f'<text x="{lx + 16}" y="{top + k * 12 + 10}" font-size="9">'
                     f'{lo + t * span:.3g}</text>')
    if value_label:
        parts.append(f'<text x="{lx}" y="{top + 74}" font-size="9">{esc(value_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _ramp(t: float) -> str:
    t = min(1.0, max(0.0, t))
    r = round(247 - t * (247 - 8))
    g = round(251 - t * (251 - 48))
    b = round(255 - t * (255 - 107))
    return f"#{r:02x}{g:02x}{b:02x}"


def svg_lines(series: Sequence[dict[str, Any]], title: str, *, y_range: tuple[float, float] | None = None,
              width: int = 460, height: int = 220, y_label: str = "", ref: float | None = None) -> str:
    """Line chart over layers. Each series: {"label", "values", optional "lo"/"hi" band}."""
    all_vals = _finite([v for s in series for key in ("values", "lo", "hi") for v in (s.get(key) or [])])
    lo, hi = y_range if y_range else ((min(all_vals), max(all_vals)) if all_vals else (0.0, 1.0))
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    n = max((len(s.get("values") or []) for s in series), default=1)
    left, right, top, bottom = 44, 130, 24, 30
    pw, ph = width - left - right, height - top - bottom

    def px(i: int) -> float:
        return left + (pw * i / max(1, n - 1))

    def py(v: float) -> float:
        return top + ph * (1 - (v - lo) / (hi - lo))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="lab-fig" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}">',
             f'<text x="4" y="15" font-size="12" font-weight="bold">{esc(title)}</text>',
             f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>']
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        parts.append(f'<text x="{left - 4}" y="{py(v) + 3:.1f}" font-size="9" text-anchor="end">'
                     f'{v:.2g}</text><line x1="{left}" x2="{left + pw}" y1="{py(v):.1f}" '
                     f'y2="{py(v):.1f}" stroke="#eee"/>')
    if ref is not None and lo <= ref <= hi:
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{py(ref):.1f}" y2="{py(ref):.1f}" '
                     'stroke="#666" stroke-dasharray="3,3"/>')
    for j in range(0, n, max(1, n // 8)):
        parts.append(f'<text x="{px(j):.1f}" y="{top + ph + 12}" font-size="9" '
                     f'text-anchor="middle">{j}</text>')
    parts.append(f'<text x="{left + pw / 2}" y="{height - 4}" font-size="10" '
                 f'text-anchor="middle">layer</text>')
    if y_label:
        parts.append(f'<text x="10" y="{top + ph / 2}" font-size="10" '
                     f'transform="rotate(-90 10 {top + ph / 2})" text-anchor="middle">{esc(y_label)}</text>')
    for k, s in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        band_lo, band_hi = s.get("lo"), s.get("hi")
        if band_lo and band_hi:
            pts = [(px(i), py(v)) for i, v in enumerate(band_hi) if v is not None]
            pts += [(px(i), py(v)) for i, v in reversed(list(enumerate(band_lo))) if v is not None]
            if pts:
                parts.append('<polygon points="' + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
                             + f'" fill="{colour}" fill-opacity="0.15" stroke="none"/>')
        segs, cur = [], []
        for i, v in enumerate(s.get("values") or []):
            if v is None or not math.isfinite(float(v)):
                if cur:
                    segs.append(cur)
                cur = []
                continue
            cur.append(f"{px(i):.1f},{py(float(v)):.1f}")
        if cur:
            segs.append(cur)
        dash = ' stroke-dasharray="4,3"' if s.get("dashed") else ""
        for seg in segs:
            parts.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" '
                         f'stroke-width="1.6"{dash}/>')
        ly = top + 10 + k * 14
        parts.append(f'<line x1="{left + pw + 8}" x2="{left + pw + 22}" y1="{ly - 3}" y2="{ly - 3}" '
                     f'stroke="{colour}" stroke-width="2"{dash}/><text x="{left + pw + 26}" y="{ly}" '
                     f'font-size="9">{esc(s.get("label", ""))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c if isinstance(c, _Raw) else _num(c)}</td>" for c in r)
                   + "</tr>" for r in rows)
    return f'<table class="lab-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


class _Raw(str):
    """Already-escaped HTML for a table cell."""


def _rate(d: dict[str, Any] | None) -> _Raw:
    if not d or d.get("rate") is None:
        return _Raw("–")
    return _Raw(f'{d["rate"]:.0%} <small>[{d["lo"]:.0%}, {d["hi"]:.0%}] n={int(d["n"])}</small>')


# -- sections ----------------------------------------------------------------------------

def _directions_html(res: dict[str, Any]) -> str:
    out = ['<h3>Refusal directions by layer</h3>',
           '<p>Each cell is a candidate direction (difference of class means at that template '
           'position and layer). Top: its norm. Bottom: the mean refusal score of held-out '
           'positive prompts with the direction ablated (lower = the direction carries more of the '
           'refusal); grey cells were excluded (last 20% of layers) or not evaluated. The outlined '
           'cell is the selected direction.</p>']
    for key, d in res.get("directions", {}).items():
        positions = d["positions"]
        norms = d["norms"]
        sel = d.get("selected") or {}
        mark = None
        if sel:
            mark = (positions.index(sel["position"]), sel["layer"])
        out.append(f'<h4>{esc(key)}</h4><div class="lab-row">')
        out.append(svg_heatmap(norms, positions, f"{key}: ‖mean difference‖", mark=mark,
                               value_label="norm"))
        grid: list[list[float | None]] = [[None] * len(norms[0]) for _ in positions]
        for c in (sel.get("candidates") or []):
            grid[positions.index(c["position"])][c["layer"]] = c["bypass"]
        out.append(svg_heatmap(grid, positions, f"{key}: refusal score after ablation", mark=mark,
                               reverse=True, value_label="score (low=removed)"))
        out.append("</div>")
        if sel:
            sc = sel.get("scores") or {}
            base = sel.get("baseline") or {}
            out.append(_table(
                ["selected position", "layer", "bypass score", "baseline (positive)", "steering score",
                 "baseline (negative)", "KL", "rules relaxed"],
                [[sel["position"], sel["layer"], sc.get("bypass"), base.get("positive_score"),
                  sc.get("steer"), base.get("negative_score"), sc.get("kl"),
                  ", ".join(sel.get("relaxed") or []) or "none"]]))
        sets = d.get("sets") or {}
        out.append("<p><small>" + "; ".join(
            f"{esc(role)}: {esc(s['suite'])} (n={int(s['n'])})" for role, s in sets.items())
            + "</small></p>")
    return "".join(out)


def _geometry_html(res: dict[str, Any]) -> str:
    geo = res.get("geometry")
    if not geo:
        return ""
    out = ['<h3>Same direction? Political censorship vs harm refusal</h3>',
           '<p>Cosine between direction pairs at every layer; the shaded band is the 95% range '
           'of the same cosine with shuffled labels (permutation null).</p><div class="lab-row">']
    for key, c in geo.get("cosines", {}).items():
        out.append(svg_lines([
            {"label": "observed", "values": c["cosine"]},
            {"label": "null 95%", "values": c.get("null_mean"), "lo": c.get("null_lo"),
             "hi": c.get("null_hi"), "dashed": True},
        ], f"cos {key}", y_range=(-1, 1), y_label="cosine", ref=0.0))
    out.append("</div>")
    cross = geo.get("cross_ablation")
    if cross:
        cols = cross["columns"]
        rows = [[r["ablate"]] + [_rate(r["cells"][c].get("judged")) for c in cols]
                + [r["cells"][c].get("score") for c in cols] for r in cross["rows"]]
        out.append("<h4>Cross-ablation (held-out probes, judged refusal rate; then refusal score)</h4>")
        out.append(_table(["ablated direction", *[f"{c}: refused" for c in cols],
                           *[f"{c}: score" for c in cols]], rows))
    return "".join(out)


def _probes_html(res: dict[str, Any]) -> str:
    pr = res.get("probes")
    if not pr:
        return ""
    out = ['<h3>Linear probes by layer (held-out topics)</h3><div class="lab-row">']
    for task, t in pr.items():
        series = [{"label": "diff-of-means", "values": [m["auroc"] for m in t["dm"]]},
                  {"label": "logistic", "values": [m["auroc"] for m in t["lr"]]},
                  {"label": "shuffled (q95)", "values": [m["q95"] for m in t["dm_perm"]], "dashed": True}]
        out.append(svg_lines(series, f"AUROC: {task}", y_range=(0, 1), y_label="AUROC", ref=0.5))
    out.append("</div>")
    rows = []
    for task, t in pr.items():
        for kind in ("dm", "lr"):
            vals = [m["auroc"] if m["auroc"] is not None else -1 for m in t[kind]]
            best = max(range(len(vals)), key=lambda i: vals[i])
            m = t[kind][best]
            rows.append([task, "diff-of-means" if kind == "dm" else "logistic", best, m["auroc"],
                         m["tpr_at_1pct_fpr"], m["accuracy"], t[f"{kind}_perm"][best]["q95"],
                         t.get("label_source", ""), f'{t["n_train"]}/{t["n_test"]}'])
    out.append(_table(["task", "probe", "best layer", "AUROC", "TPR@1%FPR", "held-out-topic acc.",
                       "shuffled AUROC q95", "labels", "train/test"], rows))
    return "".join(out)


def _tamper_html(res: dict[str, Any]) -> str:
    tp = res.get("tamper")
    if not tp:
        return ""
    rows = []
    for cat, t in tp.get("categories", {}).items():
        rows.append([cat, _rate(t["base"].get("judged")), _rate(t["rank1"].get("judged")),
                     _rate(t["topk"].get("judged")), t["base"].get("score"), t["rank1"].get("score"),
                     t.get("kl_rank1"), t.get("kl_topk"), t.get("capability_change"),
                     t.get("ease") if t.get("ease") is not None else "no guardrail"])
    return ('<h3>Tamper resistance: how cheaply each guardrail comes off</h3>'
            '<p>Refusal on held-out probes before and after ablating the category\'s own direction '
            '(rank 1) and its top-k subspace; KL(base‖ablated) on harmless prompts; change in '
            'capability-suite accuracy. <em>ease</em>: 1 = removed completely at no measured cost, '
            '0 = not removed. Hooks only; no weights are written.</p>'
            + _table(["category", "base refused", "rank-1 refused", f"top-{tp.get('k')} refused",
                      "base score", "rank-1 score", "KL rank-1", "KL top-k", "capability Δ", "ease"],
                     rows))


def _lineage_html(res: dict[str, Any]) -> str:
    ln = res.get("lineage")
    if not ln:
        return ""
    w = ln["weights"]
    out = [f'<h3>Lineage: {esc(ln.get("a", "A"))} → {esc(ln.get("b", "B"))}</h3>',
           f'<p><strong>Verdict: {esc(w["verdict"])}</strong> — {esc(w["why"])}</p>']
    layers = ln.get("layers") or []
    if layers:
        out.append('<div class="lab-row">')
        out.append(svg_lines([{"label": "max ‖Δ‖/‖W‖", "values": [r["max_rel_norm"] for r in layers]}],
                             "relative weight change by layer", y_label="relative norm"))
        out.append(svg_lines([{"label": "min eff. rank",
                               "values": [r["min_effective_rank"] for r in layers]}],
                             "lowest effective rank of a delta", y_label="effective rank"))
        out.append("</div>")
    rows = [["first-token KL (fixed prompts)", ln.get("first_token_kl")],
            ["median matrix cosine", w["median_cosine"]], ["null cosine (max)", w["null_cosine_max"]],
            ["changed tensors", f'{w["changed_tensors"]} of {w["tensors"]}'],
            ["where", (w.get("where") or {}).get("text", "–")],
            ["rank-1 deltas (on residual writers)", f'{w["rank1_tensors"]} ({w["rank1_writers"]})'],
            ["shared direction |cos|", w.get("shared_direction_cos")]]
    out.append(_table(["measure", "value"], rows))
    beh = ln.get("behaviour") or {}
    if beh:
        out.append(_table(["suite/category", "A refused", "B refused"],
                          [[k, _rate(v["a"]), _rate(v["b"])] for k, v in beh.items()]))
    return "".join(out)


def _crawl_html(res: dict[str, Any]) -> str:
    cr = res.get("crawl")
    if not cr:
        return ""
    by_id = {n["id"]: n for n in cr["nodes"]}
    rows = []
    for n in cr["nodes"]:
        path = []
        cur: dict[str, Any] | None = n
        while cur is not None and len(path) < 8:
            path.append(cur["topic"])
            cur = by_id.get(cur["parent"]) if cur["parent"] is not None else None
        rows.append([n["lang"], n["depth"], " ← ".join(path), _rate(n["refusal"]),
                     n["evasive"], "yes" if n["listed"] else "no"])
    unl = cr.get("refused_unlisted") or []
    warn = "".join(f"<li>{esc(w)}</li>" for w in cr.get("warnings") or [])
    return ('<h3>Forbidden-topic crawl</h3>'
            f'<p>Seeds: {esc(_seeds(cr["seeds"]))}; languages: {esc(", ".join(cr["langs"]))}. '
            f'Refused topics no suite lists: {esc(", ".join(unl)) if unl else "none"}.</p>'
            + (f'<ul class="lab-warn">{warn}</ul>' if warn else "")
            + _table(["lang", "depth", "topic ← parent …", "refused", "evasive", "in a suite"], rows))


def _seeds(seeds: Any) -> str:
    if isinstance(seeds, dict):
        return "; ".join(f"{lang}: {', '.join(v)}" for lang, v in seeds.items())
    return ", ".join(seeds)


def _findings_html(res: dict[str, Any]) -> str:
    """The first screen: what was found, one line per section, before the figures."""
    items: list[str] = []
    for cat, t in ((res.get("tamper") or {}).get("categories") or {}).items():
        base, r1 = t["base"]["judged"], t["rank1"]["judged"]
        if t.get("ease") is None:
            items.append(f"<b>{esc(cat)}</b>: no guardrail — refused {base['denial']} of {base['n']} "
                         "test prompts without any ablation")
        else:
            items.append(f"<b>{esc(cat)}</b>: refused {base['denial']}/{base['n']}; with its direction "
                         f"ablated {r1['denial']}/{r1['n']} (KL {_num(t['kl_rank1'])} on harmless "
                         f"prompts); ease {_num(t['ease'], 2)}")
    for mech in (res.get("geometry") or {}).get("political_vs_harm") or []:
        items.append(f"<b>political vs harm ({esc(mech['lang'])})</b>: {esc(mech['verdict'])} — "
                     f"{esc(mech['why'])}; cosine of the selected directions {_num(mech['cosine_selected'], 2)}")
    ln = res.get("lineage")
    if ln:
        w = ln["weights"]
        items.append(f"<b>lineage</b>: {esc(w['verdict'])}" + (
            f" — {esc(w['where']['text'])}" if w.get("where") and w["verdict"] != "identical" else ""))
    cr = res.get("crawl")
    if cr:
        refused = [n["topic"] for n in cr["nodes"] if n["refusal"]["k"]]
        items.append(f"<b>crawl</b> from {esc(_seeds(cr['seeds']))}: {len(cr['nodes'])} topics to depth "
                     f"{int(cr.get('max_depth_reached', 0))}; refused: "
                     f"{esc(', '.join(refused)) if refused else 'none'}")
    if not items:
        return ""
    return '<div class="lab-findings"><h3>Findings</h3><ul>' + "".join(
        f"<li>{x}</li>" for x in items) + "</ul></div>"


STYLE = (".lab-row{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}"
         ".lab-table{border-collapse:collapse;font-size:12px;margin:8px 0}"
         ".lab-table td,.lab-table th{border:1px solid #ccc;padding:2px 6px;text-align:left}"
         ".lab-fig{font-family:sans-serif;background:#fff}"
         ".lab-findings{background:#f6f8fa;border:1px solid #ccc;padding:4px 12px;margin:8px 0}"
         ".lab-warn{color:#8a4b00}")


def lab_sections_html(result: dict[str, Any]) -> str:
    """Self-contained, escaped HTML (inline SVG, one <style>) for embedding in a report."""
    model = result.get("model") or {}
    head = (f'<section class="lab" id="lab"><style>{STYLE}</style><h2>White-box lab: '
            f'{esc(model.get("name", "?"))}</h2><p><small>{esc(model.get("spec", ""))} · '
            f'{int(model.get("n_layers") or 0)} layers · d={int(model.get("d_model") or 0)} · '
            f'{esc(result.get("schema", SCHEMA))}</small></p>')
    body = "".join(f(result) for f in (_findings_html, _directions_html, _geometry_html, _probes_html,
                                        _tamper_html, _lineage_html, _crawl_html))
    notes = result.get("notes") or []
    tail = ("<ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>") if notes else ""
    return head + body + tail + "</section>"


def write_html(result: dict[str, Any], path: str | Path, title: str = "latentwall lab") -> Path:
    """A standalone page around `lab_sections_html` (no scripts, no external resources)."""
    page = ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            'style-src \'unsafe-inline\'; img-src data:">'
            f'<title>{esc(title)}</title></head><body style="font-family:sans-serif;max-width:1200px;'
            f'margin:auto">{lab_sections_html(result)}</body></html>')
    p = Path(path)
    p.write_text(page, encoding="utf-8")
    return p


def write_json(result: dict[str, Any], path: str | Path) -> Path:
    p = Path(path)
    p.write_text(json.dumps(result, ensure_ascii=False, indent=1, allow_nan=False, default=_jsonable),
                 encoding="utf-8")
    return p


def _jsonable(obj: Any) -> Any:
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:
        pass
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")
