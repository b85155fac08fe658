"""Text at the tool's edges where it goes out: made safe (where it comes in, `repair` in
`latentwall.datafiles` makes it valid).

`terminal_text` for anything shown in a terminal (escape sequences removed, controls
and bidi overrides made visible); `escape_html` for anything written into HTML (the report,
the lab's pages: bidi overrides and controls made visible, then HTML-escaped); `json_line`
for line-based JSON files, which must not hold the characters `str.splitlines()` splits on.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

# ANSI/VT escape sequences: CSI (7-bit and C1), OSC (hyperlinks, titles), DCS/SOS/PM/APC
# strings, and the remaining two-byte escapes. Removed whole so no "[31m" debris is left.
_ANSI = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|$)"
    r"|\x1b[ -/]*[0-~]?",
    re.DOTALL,
)
# Line and page breaks of every kind (what splitlines() splits on) fold to one space.
_BREAKS = re.compile("[\t\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+")
# What is left that a terminal would act on or that reorders text: C0/C1 controls, bidi
# embeddings, overrides, isolates and marks, and surrogates (unprintable in UTF-8).
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# In HTML, tab and line breaks are layout; what is left that hides or reorders text is
# shown: C0/C1 controls, bidi embeddings, overrides and isolates, and surrogates.
_HTML_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# JSON text may hold these raw inside strings; a splitlines() reader would break the line.
_LINE_BREAKERS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def terminal_text(value: object) -> str:
    """One line that is safe to print: escapes removed, breaks folded, controls shown.

    A model answer (or a target name or error taken from a server) can carry escape
    sequences that recolour, retitle or rewrite the user's terminal; none may reach it.
    Printable text, in any script, comes out unchanged.
    """
    text = "" if value is None else str(value)
    text = _BREAKS.sub(" ", _ANSI.sub("", text))
    return _INVISIBLE.sub(lambda m: f"⟨U+{ord(m.group()):04X}⟩", text)


def _mark(match: re.Match[str]) -> str:
    return f"⟨U+{ord(match.group()):04X}⟩"


def visible(text: str) -> str:
    """Bidi overrides and control characters shown as visible ⟨U+XXXX⟩ marks (line breaks kept).

    A bidi override in a model answer or a target name can reorder the text around it (or
    the page), and a control character is invisible; either can make a reader see something
    other than what the model said.
    """
    return _HTML_INVISIBLE.sub(_mark, text)


def escape_html(value: object) -> str:
    """The one HTML escaper: any value as HTML text or a quoted attribute value."""
    return html.escape(visible("" if value is None else str(value)), quote=True)


def json_line(obj: Any, *, allow_nan: bool = False) -> str:
    """One JSON Lines record (with its newline): UTF-8 text, no raw line separators."""
    return json.dumps(obj, ensure_ascii=False, allow_nan=allow_nan).translate(_LINE_BREAKERS) + "\n"
