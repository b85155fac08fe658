"""The one formatter module of the report: escaping hostile text and writing numbers.

Every model-derived string that Python writes into HTML goes through `esc` (the one HTML
escaper, `latentwall.text.escape_html`: bidi overrides and control characters made visible,
then html.escape with quote=True). JSON embedded in a page goes through `blob_json`, which
escapes '<', '>', '&', U+2028 and U+2029 so that nothing in it can close the script element
that carries it. Percentages, intervals, points and p-values are written here once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from latentwall.analysis import fmt_p
from latentwall.text import escape_html, visible

esc = escape_html
neutralise = visible

_BLOB_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}

__all__ = ["blob_json", "chars", "corrected_html", "corrected_text", "esc", "fmt_p", "fmt_value", "key_text", "neutralise", "pct", "pct_ci", "pts",
           "rate_html", "three", "visible_columns"]


def blob_json(obj: Any) -> str:
    """JSON that is safe inside <script type="application/json">: no '<', '>' or '&' at all."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).translate(_BLOB_ESCAPES)


def key_text(value: Any) -> str:
    """A grouping value (target, topic, language, condition) as the explorer compares it.

    The heat map and the response explorer must agree on every key byte for byte, or a
    clicked cell would filter to nothing: None becomes "", everything else is neutralised.
    """
    return "" if value is None else neutralise(str(value))


def pct(x: float | None, digits: int = 1) -> str:
    """A share as a percentage; '—' when there is none."""
    return "—" if x is None else f"{100 * x:.{digits}f}%"


def pct_ci(lo: float | None, hi: float | None) -> str:
    if lo is None or hi is None:
        return "no interval"
    return f"{100 * lo:.1f}–{100 * hi:.1f}%"


def pts(x: float | None) -> str:
    """A difference in percentage points with its sign; '—' when there is none."""
    return "—" if x is None else f"{100 * x:+.1f}"


def three(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def chars(n: float | None) -> str:
    return "—" if n is None else f"{n:,.0f}"


def rate_html(rate: Mapping[str, Any] | None) -> str:
    """A rate dict as 'r% [lo–hi] k/n', escaped; '—' with no denominator."""
    if not rate or not rate.get("n"):
        return '<span class="muted">—</span>'
    return (f'{esc(pct(rate["rate"]))} <span class="ci muted small">[{esc(pct(rate["lo"]))}–'
            f'{esc(pct(rate["hi"]))}] {int(rate["k"]):,}/{int(rate["n"]):,}</span>')


def corrected_text(value: Mapping[str, Any] | None, *, points: bool = False) -> str:
    """A corrected figure in words for titles and terminals: 'corrected 47.8% [39.4–54.7%]'
    (a difference: 'corrected +12.0 pts [+3.0 to +20.0]'), or 'corrected: too small to tell'
    with the reason. '' when there is nothing to correct with (no random human sample)."""
    if value is None:
        return ""
    if value.get("status") != "ok" or value.get("estimate") is None:
        reason = str(value.get("reason") or "too small to tell").removeprefix("too small to tell: ")
        return f"corrected: too small to tell ({reason})"
    est, lo, hi = value["estimate"], value.get("lo"), value.get("hi")
    if points:
        return f"corrected {pts(est)} pts [{pts(lo)} to {pts(hi)}]"
    return f"corrected {pct(est)} [{pct(lo)}–{pct(hi)}]"


def corrected_html(value: Mapping[str, Any] | None, *, points: bool = False) -> str:
    """The one rendering of a misclassification-corrected figure beside a machine figure:
    '<br>→ 47.8% [39.4–54.7%]' (escaped, its notes in the tooltip), or '→ too small to tell'
    with the reason. '' without a random human sample, so such a report is unchanged."""
    if value is None:
        return ""
    notes = "; ".join(str(n) for n in value.get("notes") or ())
    if value.get("status") != "ok" or value.get("estimate") is None:
        return (f'<br><span class="corrected too-small small" title="{esc(corrected_text(value))}">'
                "→ corrected: too small to tell</span>")
    title = ("misclassification-corrected from the random human sample; 95% interval over the run's "
             "sampling error and the judge's confusion" + (f"; {notes}" if notes else ""))
    body = corrected_text(value, points=points).removeprefix("corrected ")
    return (f'<br><span class="corrected small" title="{esc(title)}">→ corrected '
            f'{esc(body)}</span>')


def fmt_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) if value else "—"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


def visible_columns(summary: Any) -> list[str]:
    """Grouping fields worth a column: drop those that are empty everywhere (e.g. condition)."""
    return [
        name
        for name in summary.by
        if name == "target" or any(v not in ("", None) for v in summary.values(name))
    ]
