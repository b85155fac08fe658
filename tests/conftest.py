"""Shared test fixtures. Test folders mirror src/latentwall/; tests/ is on sys.path, so
`from _helpers import ...` works from every folder.

`make_result(**fields)` is the one way tests build a `Result` (the typed row every reader
gets from the store): every field has a sensible default, so a test names only what it is
about.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from _browser import browser  # noqa: F401  (the real-browser fixture, shared by the browser tests)
from latentwall.records import Result

RESULT_DEFAULTS: dict[str, Any] = {
    "run_id": "run-1", "target": "model-a", "probe_id": "suite/topic/q/en", "suite": "suite",
    "topic": "topic", "language": "en", "category": "political", "kind": "factual", "group": "suite/topic/q",
    "condition": "", "sample": 0, "prompt": "What happened?", "probe_text": "What happened?",
    "text": "An answer with text.", "judge_label": "COMPLETE", "rationale": "", "judge": "markers",
}


def build_result(**fields: Any) -> Result:
    """A Result with defaults for every field not given (`label=` sets the judge's label)."""
    if "label" in fields:
        fields["judge_label"] = fields.pop("label")
    if "guard" in fields:
        fields["guard_spec"] = fields.pop("guard")
    for name in ("tags", "evidence", "notes"):
        if name in fields:
            fields[name] = tuple(fields[name] or ())
    return Result(**{**RESULT_DEFAULTS, **fields})


@pytest.fixture
def make_result() -> Callable[..., Result]:
    """The factory: `make_result(topic="taiwan", label="DENIAL")`."""
    return build_result
