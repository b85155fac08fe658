"""Report v2 through `latentwall report`: findings at the top, the heat map's default metric,
display names (recorded model, --name, spec kept in methods), charts in the sections,
`--figures DIR` (golden structure), the response cap, and hostile names through every chart."""

from __future__ import annotations

import csv
import io
import json
import re
from html import unescape

import pytest
from test_report import PAYLOADS, row, run

from _helpers import run_cli
from latentwall.report import write_report
from latentwall.store import Store
from latentwall.testing import write_synthetic_run

pytest.importorskip("matplotlib")

CHART = re.compile(r'<figure class="chart" data-chart="[^"]*">(.*?)</figure>', re.DOTALL)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("v2") / "runs"
    with Store.open(root) as store:
        for t, spec in enumerate(("replay:/tmp/x/deepseek_deepseek-r1.jsonl", "openai:org/Other-Model-7B@http://h:1/v1")):
            write_synthetic_run(store, f"run-{t}", spec, 240, languages=("en", "zh-Hans"), label_shift=t)
    return root


def test_report_cli_findings_names_charts_and_figures(run_dir, tmp_path):
    out, figs = tmp_path / "r.html", tmp_path / "figs"
    proc = run_cli("report", "--run-dir", str(run_dir), "-o", str(out), "--figures", str(figs),
                   "--name", "openai:org/Other-Model-7B@http://h:1/v1=other <b>7B</b>",
                   "--name", "hf:nowhere=ghost", timeout=600)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, text
    html = out.read_text("utf-8")
    # Findings come first, per target, under the display names.
    sections = re.findall(r'<section id="([^"]+)">', html)
    assert sections[0] == "findings"
    findings = html[html.index('<section id="findings">'):html.index("</section>", html.index('<section id="findings">'))]
    assert "<h3>deepseek-r1</h3>" in findings  # the spec shortened (the synthetic rows record the spec as model)
    assert "<h3>other &lt;b&gt;7B&lt;/b&gt;</h3>" in findings  # --name, escaped
    assert re.search(r"completes \d+% \(\d+–\d+%; n = [\d,]+\)", findings)
    # The spec is kept in methods.
    methods = html[html.index('<section id="methods">'):]
    assert "replay:/tmp/x/deepseek_deepseek-r1.jsonl" in methods and "given with --name" in methods
    # Heat map: not complete by default, refusal and evasion offered, n in every cell.
    heat = json.loads(re.search(r'<script type="application/json" id="lw-heat">(.*?)</script>', html).group(1))
    assert heat["metrics"][:3] == ["not_complete", "refusal", "evasion"]
    assert heat["targets"] == ["deepseek-r1", "other <b>7B</b>"]
    # Charts inline in their sections.
    charts = [unescape(c) for c in re.findall(r'data-chart="([^"]+)"', html)]
    assert any(c.startswith("verdicts-") for c in charts) and "china-gap" in charts
    # --figures: golden structure.
    index = json.loads((figs / "figures.json").read_text("utf-8"))
    assert index["schema"] == "latentwall.figures/1" and index["excel_safe"] is True
    assert [f["chart"] for f in index["figures"]] == charts
    assert {f["name"] for f in index["figures"]} == {p.stem for p in figs.iterdir() if p.name != "figures.json"}
    for f in index["figures"]:
        assert set(f) == {"name", "chart", "title", "caption", "alt", "files", "columns", "rows", "sources"}
        assert re.fullmatch(r"[a-z0-9-]{1,60}", f["name"])
        assert f["files"] == {ext: f"{f['name']}.{ext}" for ext in ("svg", "png", "csv", "txt")}
        assert (figs / f["files"]["png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        svg = (figs / f["files"]["svg"]).read_text("utf-8")
        assert svg.startswith('<?xml version="1.0" encoding="utf-8"?>\n<svg')
        table = list(csv.reader(io.StringIO((figs / f["files"]["csv"]).read_text("utf-8"))))
        assert tuple(table[0]) == tuple(f["columns"]) and len(table) - 1 == f["rows"]
        caption = (figs / f["files"]["txt"]).read_text("utf-8")
        assert f["title"] in caption and f"Data: {f['files']['csv']}" in caption
        assert set(f["sources"]) <= {"run-0", "run-1"} and f["sources"]
    assert "figures written to" in text
    assert "no run in this report has target 'hf:nowhere'" in text  # a mistyped --name is said
    assert "ghost" not in html


def test_hostile_names_through_every_chart(tmp_path):
    """The XSS corpus as target, model, topic and language names: every chart's SVG passes
    the safety check and no payload reaches the page as markup."""
    from latentwall.report._render import check_svg

    rows = []
    for i, p in enumerate(PAYLOADS):
        for j in range(12):
            rows.append(row(target=f"t{i} {p}", model=f"m{i} {p}", topic=f"topic {p}", language=("en", "zh-Hans")[j % 2],
                            probe_id=f"s/topic/q{j // 2}/{('en', 'zh-hans')[j % 2]}", group=f"s/topic/q{j // 2}",
                            label=("COMPLETE", "EVASIVE", "DENIAL")[j % 3], jurisdiction="CN" if j % 4 else "US"))
    html = write_report([run()], lambda: rows, tmp_path / "x.html").read_text("utf-8")
    figures = CHART.findall(html)
    assert figures
    for fig in figures:
        svg = fig[fig.index("<svg"):fig.rindex("</svg>") + 6]
        check_svg(svg)
        for p in PAYLOADS:
            if any(c in p for c in "<>\u202e"):
                assert p not in fig
    assert "\u202e" not in html
    assert "<script>alert(1)" not in html.split('<script type="application/json" id="lw-data">')[0]


def test_response_cap_points_to_the_viewer(tmp_path):
    rows = [row(probe_id=f"s/topic/q{i}/en", sample=0) for i in range(30)]
    html = write_report([run()], lambda: rows, tmp_path / "c.html", max_responses=10, charts=False).read_text("utf-8")
    blob = json.loads(re.search(r'<script type="application/json" id="lw-data">(.*?)</script>', html).group(1))
    assert len(blob["rows"]) == 10
    assert 'id="resp-capped"' in html and "latentwall view r1" in html
    full = write_report([run()], lambda: rows, tmp_path / "f.html", max_responses=None, charts=False).read_text("utf-8")
    assert 'id="resp-capped"' not in full


def test_without_matplotlib_a_section_says_how_to_get_charts(tmp_path, monkeypatch):
    from latentwall.report import _figure

    monkeypatch.setattr(_figure, "matplotlib_available", lambda: False)
    rows = [row(probe_id=f"s/topic/q{i}/en", label=("COMPLETE", "DENIAL")[i % 2]) for i in range(12)]
    html = write_report([run()], lambda: rows, tmp_path / "n.html").read_text("utf-8")
    assert "Install the report extra for charts" in html and "<svg" not in html
    assert 'id="breakdown"' in html
