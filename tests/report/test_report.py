"""Report v1: structure, hostile model output (XSS, bidi, terminal escapes), no external URLs, scale."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from html.parser import HTMLParser

import pytest
from rich.console import Console

from latentwall.analysis import summarise
from latentwall.report import (
    BLOB_FIELDS,
    SECTION_IDS,
    blob_json,
    clean,
    esc,
    neutralise,
    print_summary,
    sections,
    write_report,
)

PAYLOADS = [
    "<script>alert(1)</script>",
    "</script><script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    "evil\u202eeulav",
    "<!--<script>",
    "a\u2028b\u2029c",
    '"><svg onload=alert(1)>',
    "&amp;&lt;",
]
HOSTILE = " ".join(PAYLOADS)
BLOB_OPEN = '<script type="application/json" id="lw-data">'
HEAT_OPEN = '<script type="application/json" id="lw-heat">'


def row(**kw):
    base = {
        "run_id": "r1",
        "target": "t1",
        "probe_id": "s/topic/q1/en",
        "suite": "s",
        "topic": "topic",
        "language": "en",
        "category": "political",
        "kind": "factual",
        "group": "s/topic/q1",
        "jurisdiction": "CN",
        "condition": "",
        "sample": 0,
        "prompt": "What happened?",
        "text": "An answer.",
        "reasoning": None,
        "finish_reason": "stop",
        "status": None,
        "error": None,
        "model": "m",
        "latency_s": 0.25,
        "label": "COMPLETE",
        "rationale": "answers",
        "evidence": ["An answer"],
        "judge": "markers",
    }
    base.update(kw)
    return base


def run(**kw):
    base = {
        "run_id": "r1",
        "target": "t1",
        "suites": ["s"],
        "languages": None,
        "samples": 2,
        "params": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 512, "seed": 1234},
        "judge": "markers",
        "created": "2025-01-01T10:00:00+00:00",
        "finished": "2025-01-01T11:00:00+00:00",
        "status": "finished",
        "latentwall_version": "0.1.0",
        "target_info": {"kind": "builtin", "model": "SmolLM2-135M"},
        "counts": {"responses": 4},
    }
    base.update(kw)
    return base


def basic_rows():
    return [
        row(),
        row(sample=1, label="DENIAL", text="I can't help with that."),
        row(probe_id="s/topic/q2/en", label="EVASIVE"),
        row(
            probe_id="s/topic/q2/en", sample=1, label=None, status="ERROR", text="", error="timeout"
        ),
    ]


def cut(html: str, opening: str) -> tuple[str, str]:
    """(html without one JSON script element, that element's text)."""
    start = html.index(opening) + len(opening)
    end = html.index("</script>", start)
    return html[: start - len(opening)] + html[end + len("</script>") :], html[start:end]


def split_blob(html: str) -> tuple[str, str]:
    """(html outside both JSON blobs, the responses blob's text)."""
    outside, blob = cut(html, BLOB_OPEN)
    if HEAT_OPEN in outside:
        outside, _ = cut(outside, HEAT_OPEN)
    return outside, blob


def heat_of(html: str) -> dict:
    return json.loads(cut(html, HEAT_OPEN)[1])


class TagCollector(HTMLParser):
    """Every start tag with its attributes, as a browser tokeniser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = TagCollector()
    parser.feed(html)
    parser.close()
    return parser.tags


@pytest.fixture
def basic_report(tmp_path):
    """The core sections only, so the snapshot does not move with plug-in analyses."""
    core = [s for s in sections() if s.core]
    path = write_report([run()], basic_rows, tmp_path / "out" / "report.html", section_list=core)
    return path, path.read_text(encoding="utf-8")


# ---------------------------------------------------------------- structure


def test_structure_snapshot(basic_report):
    path, html = basic_report
    assert path.name == "report.html"
    assert html.startswith("<!DOCTYPE html>")
    ids = re.findall(r'<(?:section|header) id="([a-z-]+)"', html)
    assert (
        ids
        == list(SECTION_IDS)
        == ["header", "headline", "heatmap", "breakdown", "consistency", "methods", "responses"]
    )
    toc = re.search(r'<nav id="toc">(.*?)</nav>', html, re.DOTALL).group(1)
    assert re.findall(r'href="#([a-z-]+)"', toc) == list(SECTION_IDS[1:])
    assert 'id="not-available"' not in html  # nothing registered was left out
    for needed in (
        'id="resp-table"',
        'id="resp-body"',
        'id="f-target"',
        'id="f-suite"',
        'id="f-topic"',
        'id="f-language"',
        'id="f-label"',
        'id="f-q"',
        'id="lw-data"',
        'id="lw-heat"',
        'id="heatmap"',
        'id="hm-metric"',
        'id="hm-language"',
        "@media print",
    ):
        assert needed in html
    assert not list(path.parent.glob(".*.tmp"))  # written atomically, nothing left behind


def test_default_sections_snapshot(tmp_path):
    """Every registered section: drawn in registry order, or a methods note, never empty."""
    html = write_report([run()], basic_rows, tmp_path / "r.html").read_text(encoding="utf-8")
    ids = re.findall(r'<(?:section|header) id="([a-z-]+)"', html)
    registered = [s.id for s in sections()]
    drawn = ids[1:-2]
    assert ids[0] == "header" and ids[-2:] == ["methods", "responses"]
    assert drawn == [i for i in registered if i in drawn]  # registry order
    assert {"headline", "heatmap", "breakdown", "consistency"} <= set(drawn)
    toc = re.search(r'<nav id="toc">(.*?)</nav>', html, re.DOTALL).group(1)
    assert re.findall(r'href="#([a-z-]+)"', toc) == ids[1:]
    notes = re.search(r'<ul id="not-available"[^>]*>(.*?)</ul>', html, re.DOTALL).group(1)
    titles = {s.id: s.title for s in sections()}
    for sid in registered:
        if sid not in drawn:
            assert esc(titles[sid]) + "</strong>: not available: " in notes, sid
    assert 'id="whitebox"' not in html and "White-box figures</strong>" in notes
    for sid in drawn:  # no empty boxes
        body = re.search(rf'<section id="{sid}">\s*<h2>[^<]*</h2>(.*?)</section>', html, re.DOTALL)
        assert body and body.group(1).strip(), sid


def test_summary_numbers_and_heat_scale(basic_report):
    _, html = basic_report
    outside, blob = split_blob(html)
    # 1 DENIAL of 3 verdicts; the ERROR is a status beside, not in the denominator
    assert "33.3%" in outside
    assert "ERROR 1" in outside
    assert "heat-3" in outside
    assert "0.7" in outside and "1234" in outside and "markers" in outside  # methods: params, judge
    assert "Wilson" in outside
    data = json.loads(blob)
    assert data["fields"] == list(BLOB_FIELDS)
    labels = [r[BLOB_FIELDS.index("label")] for r in data["rows"]]
    assert labels == ["COMPLETE", "DENIAL", "EVASIVE", "ERROR"]


def test_csp_hash_matches_the_only_executable_script(basic_report):
    _, html = basic_report
    scripts = [(t, a) for t, a in tags_of(html) if t == "script"]
    assert [a.get("type") for _, a in scripts] == ["application/json", "application/json", None]
    code = re.search(r"<script>(.*?)</script>\s*</body>", html, re.DOTALL).group(1)
    digest = base64.b64encode(hashlib.sha256(code.encode("utf-8")).digest()).decode()
    csp = next(
        a["content"]
        for t, a in tags_of(html)
        if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    )
    assert f"'sha256-{digest}'" in csp
    assert "default-src 'none'" in csp
    sinks = r"\.(?:inner|outer)HTML\b|insertAdjacentHTML|document\.write|\beval\(|new Function"
    assert not re.search(sinks, code)


def test_empty_report(tmp_path):
    html = write_report([], list, tmp_path / "empty.html").read_text(encoding="utf-8")
    assert "No responses." in html
    assert json.loads(split_blob(html)[1])["rows"] == []


def test_rows_factory_called_once_per_pass(tmp_path):
    calls = []

    def factory():
        calls.append(1)
        return iter(basic_rows())  # a one-shot iterator each time

    html = write_report([run()], factory, tmp_path / "r.html").read_text(encoding="utf-8")
    assert len(calls) == 2
    assert len(json.loads(split_blob(html)[1])["rows"]) == 4


def test_unfinished_run_is_flagged(tmp_path):
    html = write_report([run(status="interrupted", finished=None)], basic_rows, tmp_path / "r.html")
    assert "Partial results" in html.read_text(encoding="utf-8")


def test_long_fields_are_clipped(tmp_path):
    rows = [row(text="x" * 5000)]
    html = write_report([run()], lambda: rows, tmp_path / "r.html", max_field_chars=1000).read_text(
        "utf-8"
    )
    text = json.loads(split_blob(html)[1])["rows"][0][BLOB_FIELDS.index("text")]
    assert text.startswith("x" * 1000) and "4,000 more characters" in text


# ---------------------------------------------------------------- hostile input


def hostile_rows():
    rows = []
    for i, payload in enumerate(PAYLOADS):
        rows.append(
            row(
                target=f"tgt {payload}",
                suite=f"suite {payload}",
                topic=f"topic {payload}",
                language=f"en {payload}",
                probe_id=f"p{i} {payload}",
                condition=f"cond {payload}",
                prompt=f"prompt {payload}",
                text=f"answer {payload} https://evil.example/x.png",
                reasoning=f"reasoning {payload}",
                rationale=f"rationale {payload}",
                evidence=[payload, HOSTILE],
                model=f"model {payload}",
                error=f"error {payload}",
                judge=f"judge {payload}",
                label="DENIAL" if i % 2 else payload,
            )
        )
    return rows


@pytest.fixture
def hostile_report(tmp_path):
    runs = [
        run(
            run_id=f"r {HOSTILE}",
            target=f"tgt {HOSTILE}",
            judge=f"judge {HOSTILE}",
            suites=[HOSTILE],
            target_info={HOSTILE: HOSTILE},
            created=HOSTILE,
        )
    ]
    return write_report(runs, hostile_rows, tmp_path / "hostile.html").read_text(encoding="utf-8")


CHART = re.compile(r'<figure class="chart".*?</figure>', re.DOTALL)
SVG_NS = re.compile(r'xmlns(?::xlink)?="http://www\.w3\.org/(?:2000/svg|1999/xlink)"')


def without_charts(html: str) -> str:
    """The page without its inline charts (checked on their own by check_svg)."""
    return CHART.sub("", html)


def test_charts_are_safe_svg_only(hostile_report):
    from latentwall.report._render import check_svg

    charts = CHART.findall(hostile_report)
    assert charts, "the report draws charts"
    for fig in charts:
        svg = fig[fig.index("<svg"):fig.rindex("</svg>") + 6]
        check_svg(svg)  # no script, handler, foreign object or outside reference
        assert "<img" not in fig and "<script" not in fig.lower()


def test_no_payload_survives_outside_the_blob(hostile_report):
    outside, _ = split_blob(hostile_report)
    outside = without_charts(outside)
    for payload in PAYLOADS:
        if any(c in payload for c in '<>"&\u202e'):
            assert payload not in outside, payload
    assert "<img" not in outside and "<svg" not in outside
    assert "<!--" not in outside
    assert esc("<script>alert(1)</script>") in outside  # shown, as text


def test_parsed_markup_has_only_our_tags(hostile_report):
    tags = tags_of(without_charts(hostile_report))
    names = {t for t, _ in tags}
    assert "img" not in names and "svg" not in names
    assert sum(1 for t, _ in tags if t == "script") == 3
    for tag, attrs in tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name in ("href", "src", "action", "formaction"):
                assert value is not None and value.startswith("#"), (tag, name, value)
            assert "javascript:" not in (value or "").lower().replace(" ", ""), (tag, name, value)


def test_blob_cannot_close_its_script_and_round_trips(hostile_report):
    _, blob = split_blob(hostile_report)
    heat = cut(hostile_report, HEAT_OPEN)[1]
    for ch in "<>&\u2028\u2029":
        assert ch not in blob
        assert ch not in heat
    assert hostile_report.count("</script>") == 3
    assert len(re.findall(r"<script", hostile_report, re.IGNORECASE)) == 3
    data = json.loads(blob)
    texts = [r[BLOB_FIELDS.index("prompt")] for r in data["rows"]]
    assert "prompt </script><script>alert(1)</script>" in texts  # content intact once decoded
    assert "prompt <img src=x onerror=alert(1)>" in texts


def test_bidi_overrides_neutralised_everywhere(hostile_report):
    for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
        assert ch not in hostile_report
    outside, blob = split_blob(hostile_report)
    assert "evil⟨U+202E⟩eulav" in outside
    assert "evil⟨U+202E⟩eulav" in json.loads(blob)["rows"][4][BLOB_FIELDS.index("prompt")]
    assert neutralise("a\u2066b\x1bc\nd") == "a⟨U+2066⟩b⟨U+001B⟩c\nd"


def test_blob_json_escapes():
    out = blob_json(["</script>", "&", "\u2028", "\u2029", "中文"])
    assert out == '["\\u003c/script\\u003e","\\u0026","\\u2028","\\u2029","中文"]'
    assert json.loads(out) == ["</script>", "&", "\u2028", "\u2029", "中文"]


def test_no_external_resources(hostile_report):
    outside, _ = split_blob(hostile_report)
    outside = SVG_NS.sub("", outside)  # the SVG namespace names a vocabulary; nothing is fetched
    patterns = [
        r"""(?:src|href|action|formaction|srcset|poster|data|xlink:href)\s*=\s*["']?\s*(?:[a-z]+:)?//""",
        r"@import",
        r"""url\(\s*["']?\s*(?:[a-z]+:)?//""",
        r"https?://",
    ]
    for pattern in patterns:
        assert not re.search(pattern, outside, re.IGNORECASE), pattern
    # URLs in model text stay text inside the blob, never a resource
    assert "https://evil.example/x.png" in json.dumps(json.loads(split_blob(hostile_report)[1]))


# ---------------------------------------------------------------- terminal


def rendered(summary, **console_kw) -> str:
    buf = io.StringIO()
    print_summary(summary, Console(file=buf, width=240, **console_kw))
    return buf.getvalue()


def test_terminal_plain_when_not_a_tty():
    out = rendered(summarise(basic_rows()), force_terminal=False)
    assert "\x1b" not in out
    assert "Per target" in out and "33.3%" in out and "ERROR 1" in out


def test_terminal_default_console_has_no_ansi_when_piped(capsys, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    print_summary(summarise(basic_rows()))
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "33.3%" in out


def test_terminal_defangs_model_strings():
    evil = "evil\x1b[2J\x1b]8;;http://x\x07link\x1b]8;;\x07 [bold red]markup[/] :smile: \u202e\x07\x9b31m"
    rows = [row(target=evil, topic="topic\nsecond line", label="DENIAL")]
    summary = summarise(rows)
    plain = rendered(summary, force_terminal=False)
    assert "\x1b" not in plain and "\x07" not in plain and "\x9b" not in plain
    assert "[bold red]markup[/]" in plain  # markup shown literally, not interpreted
    assert ":smile:" in plain and "😄" not in plain
    assert "⟨U+202E⟩" in plain and "\u202e" not in plain
    coloured = rendered(summary, force_terminal=True, color_system="truecolor")
    assert "\x1b[2J" not in coloured and "\x1b]8;;" not in coloured and "\x07" not in coloured
    assert "evillink" in coloured


def test_clean():
    assert clean("a\x1b[31mb\x1b[0mc") == "abc"
    assert clean("x\x1b]0;title\x07y") == "xy"
    assert clean("line1\nline2\tx") == "line1 line2 x"
    assert clean("\x00z") == "⟨U+0000⟩z"
    assert clean(None) == ""


# ---------------------------------------------------------------- scale


def test_ten_thousand_rows(tmp_path):
    answer = ("The events of that day are documented by many sources. " * 8).strip()

    def rows():
        for i in range(10_000):
            yield row(
                target=f"model-{i % 3}",
                suite=("starter", "harm")[i % 2],
                topic=f"topic-{i % 25}",
                language=("en", "zh-Hans", "ru")[i % 3],
                probe_id=f"p{i // 4}",
                sample=i % 4,
                prompt=f"Question number {i} about a sensitive topic?",
                text=answer,
                reasoning="short trace" if i % 5 == 0 else None,
                label=("COMPLETE", "EVASIVE", "DENIAL", "ERROR")[i % 4],
                rationale="marker matched",
                evidence=["documented"],
            )

    path = write_report([run(samples=4)], rows, tmp_path / "big.html")
    size = path.stat().st_size
    assert 1_000_000 < size < 15_000_000
    html = path.read_text(encoding="utf-8")
    data = json.loads(split_blob(html)[1])
    assert len(data["rows"]) == 10_000
    assert 'id="breakdown"' in html


def test_guard_section_neutralises_a_hostile_target_name(tmp_path):
    """Issue 11 defect: the strategies-and-guards section had its own HTML escaper, which let a
    raw U+202E (right-to-left override) from a target name into the report."""
    name = "evil\u202eeulav"
    rows = []
    for guard, target in (("", name), ("keyword", f"{name} [guard keyword]")):
        for i in range(4):
            for cond in ("", "base64"):
                rows.append(row(run_id=f"r-{guard or 'bare'}", target=target, guard=guard or None, model=name,
                                probe_id=f"s/topic/q{i}/en", condition=cond, expected={"cac": "refuse"},
                                label="FILTERED" if guard and i % 2 else "COMPLETE"))
    runs = [run(run_id="r-bare", target=name), run(run_id="r-keyword", target=f"{name} [guard keyword]")]
    html = write_report(runs, lambda: rows, tmp_path / "guards.html").read_text(encoding="utf-8")
    start = html.index('<section id="strategies-guards">')
    section = html[start:html.index("</section>", start)]
    assert "evil⟨U+202E⟩eulav" in section  # the name is shown, made visible
    assert "\u202e" not in html
