"""`--figures DIR`: the golden structure of the files written for each chart."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest

pytest.importorskip("matplotlib")

from latentwall.analysis import Rate
from latentwall.errors import LatentwallError
from latentwall.report._charts import (
    DumbbellRow,
    RateBar,
    VerdictRow,
    leakage_chart,
    splinter_chart,
    verdict_chart,
)
from latentwall.report._figures import FIGURES_SCHEMA, INDEX, chart_csv, figure_slug, write_figures
from latentwall.report._render import chart_svg, check_svg

FORMULA = "=HYPERLINK(\"http://evil\",\"x\")"


def charts():
    return [
        verdict_chart("deepseek-r1", [VerdictRow("language", "en", 55, 35, 10),
                                      VerdictRow("topic", FORMULA, 1, 2, 3),
                                      VerdictRow("topic", "-2+3", 4, 0, 0)]),
        verdict_chart("深度求索", [VerdictRow("suite", "china", 5, 5, 5)]),  # no ASCII in the name
        splinter_chart([DumbbellRow("qwen3-8b", {"en": Rate.of(10, 40), "zh-Hans": Rate.of(25, 40)})]),
        leakage_chart([RateBar("keyword · base64", Rate.of(7, 20), "m")], sources=["run-own"]),
        verdict_chart("../../etc/passwd", [VerdictRow("suite", "s", 1, 0, 0)], name="verdicts-deepseek-r1"),
    ]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("figs") / "nested" / "figures"
    seen = []
    index = write_figures(charts(), out, sources=["run-a", "run-b"],
                          progress=lambda i, n, name: seen.append((i, n, name)))
    return out, index, seen


def test_files_and_index(written):
    out, index, seen = written
    assert index == out / INDEX
    names = ["verdicts-deepseek-r1", "verdicts", "splinter", "leakage", "verdicts-deepseek-r1-2"]
    assert [name for _, _, name in seen] == names and seen[0][:2] == (0, 5)
    expected = {INDEX} | {f"{n}.{ext}" for n in names for ext in ("svg", "png", "csv", "txt")}
    assert {p.name for p in out.iterdir()} == expected  # nothing else: no temp files, no stray paths
    doc = json.loads(index.read_text("utf-8"))
    assert doc["schema"] == FIGURES_SCHEMA and doc["excel_safe"] is True
    assert [f["name"] for f in doc["figures"]] == names
    first = doc["figures"][0]
    assert set(first) == {"name", "chart", "title", "caption", "alt", "files", "columns", "rows", "sources"}
    assert first["files"] == {"svg": "verdicts-deepseek-r1.svg", "png": "verdicts-deepseek-r1.png",
                              "csv": "verdicts-deepseek-r1.csv", "txt": "verdicts-deepseek-r1.txt"}
    assert first["title"] == "Verdicts of deepseek-r1" and first["rows"] == 3
    assert first["sources"] == ["run-a", "run-b"]
    assert doc["figures"][3]["sources"] == ["run-own"]  # a chart's own sources win
    assert doc["figures"][1]["chart"] == "verdicts-深度求索"
    assert doc["figures"][4]["chart"] == "verdicts-deepseek-r1"


def test_svg_png_and_caption(written):
    out, index, _ = written
    doc = json.loads(index.read_text("utf-8"))
    for fig, chart in zip(doc["figures"], charts(), strict=True):
        svg = (out / fig["files"]["svg"]).read_text("utf-8")
        assert svg.startswith('<?xml version="1.0" encoding="utf-8"?>\n<svg ')
        assert svg.removeprefix('<?xml version="1.0" encoding="utf-8"?>\n').strip() == chart_svg(chart)
        check_svg(svg.split("\n", 1)[1], chart.id_prefix)
        png = (out / fig["files"]["png"]).read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
        txt = (out / fig["files"]["txt"]).read_text("utf-8")
        assert txt.splitlines()[0] == chart.title
        assert chart.caption in txt and f"Data: {fig['files']['csv']}" in txt
        assert ("Source runs: run-own" if fig["name"] == "leakage" else "Source runs: run-a, run-b") in txt


def test_csv_is_rfc4180_formula_safe_and_round_trips(written):
    out, index, _ = written
    doc = json.loads(index.read_text("utf-8"))
    for fig, chart in zip(doc["figures"], charts(), strict=True):
        raw = (out / fig["files"]["csv"]).read_bytes()
        assert raw.count(b"\r\n") == len(chart.rows) + 1 and b"\n" not in raw.replace(b"\r\n", b"")
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
        assert rows[0] == list(chart.columns) == fig["columns"]
        for got, want in zip(rows[1:], chart.rows, strict=True):
            for cell, value in zip(got, want, strict=True):
                if value is None:
                    assert cell == ""
                elif isinstance(value, int | float):
                    assert float(cell) == value  # numbers stay numbers, negative ones too
                elif str(value).startswith(("=", "+", "-", "@")):
                    assert cell == "'" + str(value)
                else:
                    assert cell == str(value)
    first = list(csv.reader(io.StringIO((out / "verdicts-deepseek-r1.csv").read_text("utf-8"), newline="")))
    assert first[2][2] == "'" + FORMULA and first[3][2] == "'-2+3"
    assert "'" + FORMULA not in chart_csv(charts()[0], excel_safe=False)


def test_rewriting_gives_the_same_bytes(written, tmp_path):
    out, _, _ = written
    again = write_figures(charts(), tmp_path, sources=["run-a", "run-b"]).parent
    for name in os.listdir(out):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name


@pytest.mark.parametrize(("name", "slug"), [
    ("verdicts-deepseek-r1", "verdicts-deepseek-r1"),
    ("Verdicts of Qwen/Qwen3 8B", "verdicts-of-qwen-qwen3-8b"),
    ("../../etc/passwd", "etc-passwd"),
    ("深度求索", "figure"),
    ("Café · zh-Hant", "cafe-zh-hant"),
    ("con", "fig-con"),
    ("LPT1-chart", "fig-lpt1-chart"),
    ("x" * 200, "x" * 60),
    ("", "figure"),
    ("<script>", "script"),
])
def test_figure_slug(name, slug):
    assert figure_slug(name) == slug


def test_slugs_stay_unique_and_short():
    taken: set[str] = set()
    slugs = [figure_slug("x" * 200, taken) for _ in range(12)]
    assert len(set(slugs)) == 12 and all(len(s) <= 60 for s in slugs)


def test_unwritable_directory_is_one_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(LatentwallError, match="cannot create"):
        write_figures(charts()[:1], blocker / "figs")
