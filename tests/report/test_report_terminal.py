"""Terminal compare table: targets side by side, refusal gap, plain when piped, defanged."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from test_report import row

from latentwall.analysis import summarise
from latentwall.report import print_compare


def rows():
    out = []
    for target, labels in (("alpha", ["DENIAL", "DENIAL", "COMPLETE", "EVASIVE"]),
                           ("beta", ["COMPLETE", "COMPLETE", "COMPLETE", "DENIAL"])):
        for i, label in enumerate(labels):
            out.append(row(target=target, topic="taiwan", sample=i, label=label))
    out.append(row(target="alpha", topic="weather\x1b[31m", label="COMPLETE"))
    return out


def render(summary, **kw):
    buf = io.StringIO()
    print_compare(summary, Console(file=buf, width=200, **kw))
    return buf.getvalue()


def test_compare_plain():
    out = render(summarise(rows(), by=("target", "topic")), force_terminal=False)
    assert "\x1b" not in out
    lines = out.splitlines()
    assert any("alpha" in ln and "beta" in ln and "Gap (pts)" in ln for ln in lines)
    taiwan = next(ln for ln in lines if ln.startswith("| taiwan"))
    assert "50.0%" in taiwan and "25.0%" in taiwan and "-25.0" in taiwan
    assert "ev 25.0%" in out  # alpha evades 1 of 4
    weather = next(ln for ln in lines if "weather" in ln)
    assert "[31m" not in weather and "0.0%" in weather  # escape stripped; beta has no cell


def test_compare_needs_target():
    with pytest.raises(ValueError, match="target"):
        render(summarise(rows(), by=("topic",)))


def test_compare_three_targets_has_no_gap_column():
    more = [*rows(), row(target="gamma", topic="taiwan", label="DENIAL")]
    out = render(summarise(more, by=("target", "topic", "language")), force_terminal=False)
    assert "Gap" not in out and "gamma" in out and "Language" in out
