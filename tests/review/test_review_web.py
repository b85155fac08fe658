"""The review page's server over real HTTP: the viewer's rules (loopback, Host check, CSP,
no traversal) plus guarded writes (token, JSON, same origin), labels and undo."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest
from _review_fixtures import make_store

from latentwall.errors import ConfigError
from latentwall.review import (
    TOKEN_HEADER,
    ReviewSession,
    RunSource,
    StoreBackend,
    read_human_labels,
    start_review_server,
)
from latentwall.store import Store


def call(url, *, method="GET", body=None, headers=None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


@pytest.fixture
def served(tmp_path):
    db = make_store(tmp_path / "runs", hostile=True)
    backend = StoreBackend([RunSource(db, "run-a"), RunSource(db, "run-b")], "wes")
    session = ReviewSession(backend, reviewer="wes", size=10)
    server = start_review_server(session)
    _, _, page = call(server.url)
    token = re.search(r'name="review-token" content="([0-9a-f]+)"', page).group(1)
    yield server, token, db
    server.stop()
    backend.close()


def test_the_page_labels_and_undoes_with_the_token(served):
    server, token, db = served
    status, headers, page = call(server.url)
    assert status == 200 and "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY" and "<script src=\"/assets/review.js\">" in page
    status, _, body = call(server.url + "api/state")
    state = json.loads(body)
    item = state["item"]
    assert state["progress"]["total"] == 10 and item["verdict"] in ("COMPLETE", "EVASIVE", "DENIAL")
    assert "<" not in body  # model text reaches the page as escaped JSON only
    good = {TOKEN_HEADER: token, "Content-Type": "application/json"}
    status, _, body = call(server.url + "api/label", method="POST", headers=good,
                           body={"id": item["id"], "label": "EVASIVE", "note": "official line"})
    assert status == 200 and json.loads(body)["progress"]["done"] == 1
    # the same id again is stale: 409 with the current state, nothing written
    status, _, body = call(server.url + "api/label", method="POST", headers=good,
                           body={"id": item["id"], "label": "DENIAL"})
    assert status == 409 and json.loads(body)["item"]["id"] != item["id"]
    status, _, body = call(server.url + "api/label", method="POST", headers=good, body={"id": "x", "label": "C"})
    assert status == 400
    status, _, body = call(server.url + "api/undo", method="POST", headers=good, body={})
    assert status == 200 and json.loads(body)["undone"] and json.loads(body)["item"]["id"] == item["id"]
    status, _, body = call(server.url + "api/label", method="POST", headers=good,
                           body={"id": item["id"], "label": "DENIAL", "note": "refuses"})
    with Store(db, readonly=True) as store:
        labels = read_human_labels(store, item["run_id"], "wes")
    assert [(lab.label, lab.note) for lab in labels] == [("DENIAL", "refuses")]


def test_writes_need_token_json_and_this_origin(served):
    server, token, _ = served
    item = json.loads(call(server.url + "api/state")[2])["item"]
    body = {"id": item["id"], "label": "COMPLETE"}
    for headers in ({"Content-Type": "application/json"},  # no token
                    {TOKEN_HEADER: "0" * 32, "Content-Type": "application/json"},  # wrong token
                    {TOKEN_HEADER: token, "Content-Type": "text/plain"},  # a form-like post
                    {TOKEN_HEADER: token, "Content-Type": "application/json", "Origin": "http://evil.example"}):
        assert call(server.url + "api/label", method="POST", headers=headers, body=body)[0] == 403
    assert call(server.url + "api/state", method="DELETE")[0] == 405
    assert call(server.url + "api/state", method="POST", headers={TOKEN_HEADER: token,
                                                                  "Content-Type": "application/json"}, body={})[0] == 405
    # DNS rebinding: another Host name is refused
    assert call(server.url + "api/state", headers={"Host": f"evil.example:{server.port}"})[0] == 403
    # no traversal: only the named assets are served
    assert call(server.url + "assets/..%2F_web.py")[0] == 404
    assert call(server.url + "assets/review.js")[0] == 200
    assert json.loads(call(server.url + "api/state")[2])["progress"]["done"] == 0


def test_loopback_only(tmp_path):
    db = make_store(tmp_path / "runs")
    with StoreBackend([RunSource(db, "run-a")], "wes") as backend:
        with pytest.raises(ConfigError, match="loopback"):
            start_review_server(ReviewSession(backend, reviewer="wes"), host="0.0.0.0")


def test_blind_review_hides_the_machine_verdict(tmp_path):
    db = make_store(tmp_path / "runs")
    with StoreBackend([RunSource(db, "run-a")], "wes") as backend:
        server = start_review_server(ReviewSession(backend, reviewer="wes", blind=True))
        try:
            state = json.loads(call(server.url + "api/state")[2])
        finally:
            server.stop()
    assert state["blind"] and "verdict" not in state["item"] and "rationale" not in state["item"]
