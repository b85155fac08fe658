"""Live viewer over real HTTP: API numbers agree with the store, filters and paging happen
server-side, hostile model text stays inert, the server is loopback-only and read-only,
and it follows a run that is still being written."""

from __future__ import annotations

import http.client
import json
import re
import urllib.parse
from collections import Counter

import pytest
from test_report import PAYLOADS

from latentwall.errors import ConfigError
from latentwall.judges import Judgement
from latentwall.report import start_viewer
from latentwall.store import VIEWER_PAGE_MAX as PAGE_MAX
from latentwall.store import ResultRecord, RunLock, Store
from latentwall.suites import Probe
from latentwall.targets import Response
from latentwall.testing import synthetic_store, write_synthetic_run


def get(viewer, path, params=None, host=None, method="GET"):
    """(status, headers, body) of one request, with an optional forged Host header."""
    conn = http.client.HTTPConnection("127.0.0.1", viewer.port, timeout=20)
    url = path + ("?" + urllib.parse.urlencode(params) if params else "")
    headers = {"Host": host} if host else {}
    conn.request(method, url, headers=headers)
    resp = conn.getresponse()
    body = resp.read().decode("utf-8")
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body


def api(viewer, path, **params):
    status, headers, body = get(viewer, path, params)
    assert status == 200, (path, status, body)
    assert headers["content-type"].startswith("application/json")
    return json.loads(body)


def hostile_run(store):
    store.create_run("evil", "evil", {"judge": "markers", "suites": ["s"],
                                      "target_label": "tgt <script>alert(1)</script>"})
    probes = [Probe(id=f"s/t/q{i}/en", suite="s", text="q", language="en",
                    topic=f"topic {p}", category="political", kind="factual", group=f"s/q{i}",
                    expected={}) for i, p in enumerate(PAYLOADS)]
    store.add_probes("evil", list(enumerate(probes)))
    store.write_results([
        ResultRecord("evil", probes[i].id, f"cond {p}", 0, f"e{i}", f"prompt {p}",
                     Response(text=f"answer {p} 100%_done", reasoning=f"think {p}", model=p),
                     Judgement("DENIAL", f"why {p}", (p,)), "markers")
        for i, p in enumerate(PAYLOADS)
    ])
    store.update_run("evil", status="finished")


@pytest.fixture(scope="module")
def viewer(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs")
    synthetic_store(run_dir, 1_200, conditions=("", "loc-cn"), samples=2, stance=True)
    with Store.open(run_dir) as store:
        hostile_run(store)
    with start_viewer(run_dir) as v:
        v.run_dir = run_dir
        yield v


def store_rows(run_dir, run_id):
    with Store.open(run_dir) as store:
        return list(store.iter_results(run_id))


def test_runs_and_facets_agree_with_the_store(viewer):
    runs = api(viewer, "/api/runs")
    by_id = {r["run_id"]: r for r in runs["runs"]}
    assert {k: r["responses"] for k, r in by_id.items()} == \
        {"run-0": 600, "run-1": 600, "evil": len(PAYLOADS)}
    assert by_id["run-0"]["target"] == "model-a" and by_id["run-0"]["status"] == "finished"
    assert runs["live"] is False
    facets = api(viewer, "/api/facets", run="run-0")
    labels = Counter(r.label or "UNJUDGED" for r in store_rows(viewer.run_dir, "run-0"))
    assert dict(facets["label"]) == dict(labels)
    assert facets["total"] == 600 and facets["has_stance"] is True
    assert dict(facets["condition"]) == {"": 300, "loc-cn": 300}


def test_heatmap_counts(viewer):
    heat = api(viewer, "/api/heatmap", run="run-1", language="zh-Hans")
    rows = [r for r in store_rows(viewer.run_dir, "run-1") if r.language == "zh-Hans"]
    for target, topic, n, complete, evasive, denial, _ek, _en in heat["cells"]:
        mine = [r for r in rows if r.topic == topic]
        assert target == "model-b" and n == len(mine)
        labels = Counter(r.label for r in mine)
        assert (complete, evasive, denial) == (labels["COMPLETE"], labels["EVASIVE"], labels["DENIAL"])
    assert heat["targets"] == ["model-b"] and len(heat["topics"]) == 5


def test_responses_filter_and_page(viewer):
    rows = store_rows(viewer.run_dir, "run-0")
    want = [r for r in rows if r.topic == "taiwan" and r.label == "DENIAL" and r.condition == "loc-cn"]
    got = api(viewer, "/api/responses", target="model-a", topic="taiwan", label="DENIAL",
              condition="loc-cn", limit=7)
    assert got["total"] == len(want) > 7
    assert [(r["probe_id"], r["sample"]) for r in got["rows"]] == \
        [(r.probe_id, r.sample) for r in want[:7]]
    second = api(viewer, "/api/responses", target="model-a", topic="taiwan", label="DENIAL",
                 condition="loc-cn", limit=7, offset=7)
    assert [r["probe_id"] for r in second["rows"]] == [r.probe_id for r in want[7:14]]
    assert api(viewer, "/api/responses", limit=10_000)["limit"] == PAGE_MAX  # capped
    assert len(api(viewer, "/api/responses", limit=10_000)["rows"]) == PAGE_MAX
    status, _, _ = get(viewer, "/api/responses", {"limit": "many"})
    assert status == 400


def test_search_is_literal(viewer):
    assert api(viewer, "/api/responses", q="100%_done")["total"] == len(PAYLOADS)
    assert api(viewer, "/api/responses", q="%")["total"] == len(PAYLOADS)  # '%' is not a wildcard
    assert api(viewer, "/api/responses", q="onerror=alert")["total"] == 1


def test_drill_down_and_diff(viewer):
    one = api(viewer, "/api/response", run="run-0", probe="synth/taiwan/q000001/en",
              condition="loc-cn", sample="1")
    row = next(r for r in store_rows(viewer.run_dir, "run-0")
               if r.probe_id == "synth/taiwan/q000001/en" and r.condition == "loc-cn" and r.sample == 1)
    assert one["text"] == row.text and one["label"] == row.label
    assert one["evidence"] == list(row.evidence) and one["kind"] == "factual"
    status, _, _ = get(viewer, "/api/response", {"run": "run-0", "probe": "nope",
                                                 "condition": "", "sample": "0"})
    assert status == 404
    diff = api(viewer, "/api/diff", a="model-a", b="model-b", limit=5)
    assert diff["total"] == 600  # the same probe × condition × sample on both sides
    assert sum(n for _, _, n in diff["matrix"]) == 600
    differ = sum(n for a, b, n in diff["matrix"] if a != b)
    only = api(viewer, "/api/diff", a="model-a", b="model-b", only="1", topic="weather")
    assert 0 < only["total"] <= differ
    assert all(r["a"]["label"] != r["b"]["label"] and r["topic"] == "weather" for r in only["rows"])
    assert all(r["a"]["run_id"] == "run-0" and r["b"]["run_id"] == "run-1" for r in only["rows"])


# ---------------------------------------------------------------- hostile input, hardening


def test_hostile_text_is_json_only_and_intact(viewer):
    status, headers, body = get(viewer, "/api/responses", {"run": "evil"})
    assert status == 200
    assert "<" not in body and ">" not in body and "&" not in body.replace("\\u0026", "")
    assert headers["x-content-type-options"] == "nosniff"
    rows = json.loads(body)["rows"]
    assert {r["text"] for r in rows} == {f"answer {p} 100%_done" for p in PAYLOADS}
    assert rows[0]["target"] == "tgt <script>alert(1)</script>"
    facets = api(viewer, "/api/facets", run="evil")
    assert {t for t, _ in facets["topic"]} == {f"topic {p}" for p in PAYLOADS}


def test_page_is_static_and_locked_down(viewer):
    status, headers, page = get(viewer, "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    csp = headers["content-security-policy"]
    for part in ("default-src 'none'", "script-src 'self'", "connect-src 'self'",
                 "frame-ancestors 'none'", "base-uri 'none'"):
        assert part in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "alert" not in page and "tgt" not in page  # no model data in the page itself
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/assets/viewer.js">']
    assert "style=" not in page
    _, _, js = get(viewer, "/assets/viewer.js")
    sinks = r"\.(?:inner|outer)HTML\b|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\(\"(?:href|src|on)"
    assert not re.search(sinks, js)
    assert get(viewer, "/assets/../../etc/passwd")[0] == 404


def test_foreign_host_and_writes_are_refused(viewer):
    assert get(viewer, "/api/runs", host="evil.example")[0] == 403  # DNS rebinding
    assert get(viewer, "/api/runs", host=f"localhost:{viewer.port}")[0] == 200
    assert get(viewer, "/api/runs", method="POST")[0] == 405
    assert get(viewer, "/api/runs", method="DELETE")[0] == 405


def test_loopback_only(tmp_path):
    with pytest.raises(ConfigError, match="loopback"):
        start_viewer(tmp_path, host="0.0.0.0")


# ---------------------------------------------------------------- live


def test_follows_a_growing_run(tmp_path):
    with start_viewer(tmp_path / "not-yet") as v:  # started before the run directory exists
        assert api(v, "/api/runs")["runs"] == []
        assert api(v, "/api/responses")["total"] == 0
        with Store.open(tmp_path / "not-yet") as store, RunLock(store.path, "live") as lock:
            # A live run is one whose process holds the run's lock, as the runner does.
            write_synthetic_run(store, "live", "m", 100, status="running")
            first = api(v, "/api/runs")
            assert first["live"] is True and first["runs"][0]["responses"] == 100
            write_synthetic_run(store, "live", "m", 150, start=100, status="running")
            second = api(v, "/api/runs")
            assert second["stamp"] != first["stamp"]
            assert api(v, "/api/responses", run="live")["total"] == 250
            lock.release()  # the process is gone (kill -9): not live, though still "running"
            gone = api(v, "/api/runs")
            assert gone["live"] is False and gone["runs"][0]["status"] == "stopped"
            store.update_run("live", status="finished")
        assert api(v, "/api/runs")["live"] is False


def test_aggregates_cached_until_the_store_changes(tmp_path):
    from latentwall.store import ViewerQueries

    with Store.open(tmp_path) as store:
        write_synthetic_run(store, "r", "m", 50, status="running")
        reader = ViewerQueries(store.path)
        calls = []
        real = reader._all
        reader._all = lambda *a: calls.append(a[0]) or real(*a)
        first = reader.facets({})
        assert reader.facets({}) == first and reader.heatmap({}) == reader.heatmap({})
        assert len(calls) == 2  # one facets scan, one heat-map scan
        write_synthetic_run(store, "r", "m", 10, start=50, status="running")
        assert reader.facets({})["total"] == 60 and len(calls) == 3
        assert len(reader._cache) <= reader.CACHE_ENTRIES
