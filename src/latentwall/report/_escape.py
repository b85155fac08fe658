"""Escaping for hostile model output, shared by the report, the viewer and the terminal.

Every model-derived string that Python writes into HTML goes through `esc` (html.escape
with quote=True after neutralising bidi overrides and control characters). JSON embedded
in a page goes through `blob_json`, which escapes '<', '>', '&', U+2028 and U+2029 so that
nothing in it can close the script element that carries it.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
# C0/C1 controls except tab, newline, carriage return: invisible or invalid in HTML.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BLOB_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def _visible(match: re.Match[str]) -> str:
    return f"⟨U+{ord(match.group()):04X}⟩"


def neutralise(text: str) -> str:
    """Show bidi overrides and control characters as visible ⟨U+XXXX⟩ marks.

    A bidi override in a model answer can reorder the text around it (or the page), and a
    control character is invisible; either can make a reader see something other than
    what the model said.
    """
    return _CONTROL.sub(_visible, _BIDI.sub(_visible, text))


def esc(value: Any) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape(neutralise("" if value is None else str(value)), quote=True)


def blob_json(obj: Any) -> str:
    """JSON that is safe inside <script type="application/json">: no '<', '>' or '&' at all."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).translate(_BLOB_ESCAPES)


def key_text(value: Any) -> str:
    """A grouping value (target, topic, language, condition) as the explorer compares it.

    The heat map and the response explorer must agree on every key byte for byte, or a
    clicked cell would filter to nothing: None becomes "", everything else is neutralised.
    """
    return "" if value is None else neutralise(str(value))
