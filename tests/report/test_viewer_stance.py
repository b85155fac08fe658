"""Issue 11 defect: the live viewer never showed narrative stance.

The stance pass stores its stances as judgements under the judge `stance` (or `stance-llm`);
the old viewer re-implemented the data model in SQL and read stance only from the verdict
judge's `extra`, a shape production never writes. Here the run is written and scored the way
production does it (`write_results`, then `runner.stance_pass`), and every viewer endpoint
that shows stance is read over real HTTP.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse

from latentwall.judges import Judgement
from latentwall.report import start_viewer
from latentwall.runner import stance_pass
from latentwall.store import ResultRecord, Store
from latentwall.suites import Probe
from latentwall.targets import Response

STATE = ("In 1989 a small number of people instigated a counter-revolutionary riot in Beijing. The government "
         "took decisive measures to quell the turmoil and restore social stability; history has shown this was "
         "the correct decision.")
INDEPENDENT = ("On the night of 3–4 June 1989 the People's Liberation Army opened fire on unarmed civilians around "
               "Tiananmen Square. Estimates of the dead range from several hundred to several thousand; the Tiananmen "
               "Mothers have documented over 200 victims by name, and the massacre remains censored in China.")


def _get(port: int, path: str, **params: str) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.request("GET", path + "?" + urllib.parse.urlencode(params))
    resp = conn.getresponse()
    body = resp.read().decode("utf-8")
    conn.close()
    assert resp.status == 200, (path, resp.status, body)
    return json.loads(body)


def test_viewer_shows_the_stance_a_stance_pass_stored(tmp_path):
    run_id = "run-s"
    with Store.open(tmp_path) as store:
        store.create_run(run_id, "m", {"judge": "markers", "target_label": "model-x", "suites": ["china"]})
        probes = [Probe(id=f"china/tiananmen-1989/q{i}/en", suite="china", text="What happened on 4 June 1989?",
                        language="en", topic="tiananmen-1989", category="political", kind="factual",
                        group=f"china/tiananmen-1989/q{i}", expected={"cac": "refuse", "open": "answer"})
                   for i in range(3)]
        store.add_probes(run_id, list(enumerate(probes)))
        answers = [(STATE, "COMPLETE"), (INDEPENDENT, "COMPLETE"), ("I can't discuss that.", "DENIAL")]
        store.write_results([
            ResultRecord(run_id, p.id, "", 0, f"k{i}", p.text, Response(text=t, finish_reason="stop"),
                         Judgement(label, "r"), "markers")
            for i, (p, (t, label)) in enumerate(zip(probes, answers, strict=True))])
        store.update_run(run_id, status="finished")
        out = stance_pass(store, run_id)
        assert out["counts"] == {"STATE_ALIGNED": 1, "INDEPENDENT": 1, "NOT_APPLICABLE": 1}
    with start_viewer(tmp_path) as viewer:
        assert _get(viewer.port, "/api/facets", run=run_id)["has_stance"] is True
        rows = _get(viewer.port, "/api/responses", run=run_id)["rows"]
        assert [r["stance"] for r in rows] == ["STATE_ALIGNED", "INDEPENDENT", "NOT_APPLICABLE"]
        one = _get(viewer.port, "/api/response", run=run_id, probe=probes[0].id, condition="", sample="0")
        assert one["stance"] == "STATE_ALIGNED" and "state-narrative" in one["stance_rationale"]
        assert one["label"] == "COMPLETE"  # the run's own label, not the stance judge's
        heat = _get(viewer.port, "/api/heatmap", run=run_id)
        (cell,) = heat["cells"]
        echo_k, echo_n = cell[heat["slots"].index("echo_k") + 2], cell[heat["slots"].index("echo_n") + 2]
        assert (echo_k, echo_n) == (1, 2)
