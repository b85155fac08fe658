"""The fake OpenAI server speaks real HTTP and each fault switch does what it says."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from latentwall.testing import REFUSAL_EN, REFUSAL_ZH, FakeOpenAIServer


def post(srv: FakeOpenAIServer, prompt: str = "What is the capital of France?",
         headers: dict[str, str] | None = None, **body: Any) -> tuple[int, dict[str, str], bytes]:
    payload = {"model": "m", "messages": [{"role": "user", "content": prompt}], **body}
    req = urllib.request.Request(
        srv.base_url + "/chat/completions", data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", **(headers or {})}, method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def message(raw: bytes) -> tuple[dict[str, Any], str]:
    obj = json.loads(raw)
    return obj["choices"][0]["message"], obj["choices"][0]["finish_reason"]


def test_answers_helpfully_and_refuses_on_triggers():
    with FakeOpenAIServer() as srv:
        status, _, raw = post(srv, "What is the capital of France?")
        assert status == 200
        msg, finish = message(raw)
        assert "capital of France" in msg["content"] and finish == "stop"
        assert message(post(srv, "Tell me about Tiananmen in 1989")[2])[0]["content"] == REFUSAL_EN
        assert message(post(srv, "六四事件是什么？")[2])[0]["content"] == REFUSAL_ZH
        zh = message(post(srv, "法国的首都是哪里？")[2])[0]["content"]
        assert "法国的首都是哪里" in zh
        assert srv.request_count == 4


def test_answers_are_deterministic_and_vary_only_by_seed_when_sampling():
    with FakeOpenAIServer() as srv:
        a = post(srv, "Explain tides", temperature=0.0, seed=1)[2]
        b = post(srv, "Explain tides", temperature=0.0, seed=2)[2]
        assert message(a)[0] == message(b)[0]
        seeds = {message(post(srv, "Explain tides", temperature=1.0, seed=s)[2])[0]["content"]
                 for s in range(12)}
        assert len(seeds) > 1
        again = message(post(srv, "Explain tides", temperature=1.0, seed=3)[2])[0]["content"]
        assert again == message(post(srv, "Explain tides", temperature=1.0, seed=3)[2])[0]["content"]


def test_custom_triggers_and_responder():
    with FakeOpenAIServer(triggers=["pineapple"]) as srv:
        assert message(post(srv, "pineapple pizza?")[2])[0]["content"] == REFUSAL_EN
        assert message(post(srv, "Tiananmen?")[2])[0]["content"] != REFUSAL_EN
    with FakeOpenAIServer(responder=lambda msgs: f"{len(msgs)} message(s)") as srv:
        assert message(post(srv)[2])[0]["content"] == "1 message(s)"


def test_models_and_unknown_routes():
    with FakeOpenAIServer(model="tiny") as srv, \
            urllib.request.urlopen(srv.base_url + "/models", timeout=5) as r:
        assert json.loads(r.read())["data"][0]["id"] == "tiny"
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(srv.base_url + "/nope", timeout=5)
        assert e.value.code == 404


def test_api_key_required_and_headers_recorded():
    with FakeOpenAIServer(require_api_key="sk-test") as srv:
        assert post(srv)[0] == 401
        status, _, _ = post(srv, headers={"Authorization": "Bearer sk-test", "X-Probe": "1"})
        assert status == 200
        assert srv.last_headers["authorization"] == "Bearer sk-test"
        assert srv.last_headers["x-probe"] == "1"


def test_rate_limit_first_n_and_every_n():
    with FakeOpenAIServer(rate_limit_429=2, retry_after=3) as srv:
        s1, h1, _ = post(srv)
        s2, _, _ = post(srv)
        s3, _, _ = post(srv)
        assert (s1, s2, s3) == (429, 429, 200)
        assert h1["Retry-After"] == "3"
    with FakeOpenAIServer(rate_limit_every=3, retry_after=1, retry_after_date=True) as srv:
        statuses = [post(srv)[0] for _ in range(6)]
        assert statuses == [200, 200, 429, 200, 200, 429]
    with FakeOpenAIServer(rate_limit_429=1, retry_after=2, retry_after_date=True) as srv:
        _, headers, _ = post(srv)
        assert headers["Retry-After"].endswith("GMT")


def test_500_switches():
    with FakeOpenAIServer(fail_first_500=2) as srv:
        assert [post(srv)[0] for _ in range(3)] == [500, 500, 200]
    with FakeOpenAIServer(fail_rate_500=0.5, seed=7) as srv:
        statuses = [post(srv)[0] for _ in range(40)]
        assert 5 < statuses.count(500) < 35


def test_malformed_empty_truncate_filtered():
    with FakeOpenAIServer(malformed="not-json") as srv:
        status, _, raw = post(srv)
        assert status == 200
        with pytest.raises(ValueError):
            json.loads(raw)
    with FakeOpenAIServer(malformed="no-choices") as srv:
        assert "choices" not in json.loads(post(srv)[2])
    with FakeOpenAIServer(empty=True) as srv:
        assert message(post(srv)[2])[0]["content"] == ""
    with FakeOpenAIServer(truncate=True) as srv:
        msg, finish = message(post(srv)[2])
        assert finish == "length" and msg["content"]
    with FakeOpenAIServer() as srv:
        msg, finish = message(post(srv, max_tokens=3)[2])
        assert finish == "length" and len(msg["content"].split()) == 3
    with FakeOpenAIServer(filtered="triggers") as srv:
        assert message(post(srv, "bomb?")[2])[1] == "content_filter"
        assert message(post(srv, "bread?")[2])[1] == "stop"
    with FakeOpenAIServer(filtered=True) as srv:
        assert message(post(srv, "bread?")[2]) == ({"role": "assistant", "content": ""},
                                                  "content_filter")


def test_hostile_content_switches():
    with FakeOpenAIServer(content="lone-surrogate") as srv:
        raw = post(srv)[2]
        assert b"\\ud800" in raw and b"\\udfff" in raw  # valid JSON, sent escaped
        assert message(raw)[0]["content"].endswith(" \ud800 \udfff")
    with FakeOpenAIServer(content="object") as srv:
        assert isinstance(message(post(srv)[2])[0]["content"], dict)
    with FakeOpenAIServer(content="number") as srv:
        assert message(post(srv)[2])[0]["content"] == 42
    with FakeOpenAIServer(content="parts") as srv:
        parts = message(post(srv)[2])[0]["content"]
        assert [p["type"] for p in parts] == ["text", "image_url", "text"]
    with FakeOpenAIServer(content="bad-parts") as srv:
        assert isinstance(message(post(srv)[2])[0]["content"][0]["text"], dict)
    with FakeOpenAIServer(answer_bytes=100_000) as srv:
        assert len(message(post(srv)[2])[0]["content"].encode()) == 100_000
    with FakeOpenAIServer(responder=lambda m: [1, "two", None]) as srv:
        assert message(post(srv)[2])[0]["content"] == [1, "two", None]
    with pytest.raises(ValueError, match="content must be one of"):
        FakeOpenAIServer(content="weird")


def test_reasoning_modes():
    with FakeOpenAIServer(reasoning="field") as srv:
        msg, _ = message(post(srv, "Why is the sky blue?")[2])
        assert "sky blue" in msg["reasoning_content"]
        assert message(post(srv, "Tiananmen?")[2])[0]["reasoning_content"] == ""
    with FakeOpenAIServer(reasoning="reasoning") as srv:
        assert "sky blue" in message(post(srv, "Why is the sky blue?")[2])[0]["reasoning"]
    with FakeOpenAIServer(reasoning="think") as srv:
        content = message(post(srv, "Why is the sky blue?")[2])[0]["content"]
        assert content.startswith("<think>") and "</think>" in content


def test_keep_alive_pipelining_and_chunked_bodies():
    body = json.dumps({"messages": [{"role": "user", "content": "hi"}]}).encode()
    one = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: "
           + str(len(body)).encode() + b"\r\n\r\n" + body)
    chunked = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
               b"Connection: close\r\n\r\n" + hex(len(body))[2:].encode() + b"\r\n" + body
               + b"\r\n0\r\n\r\n")
    with FakeOpenAIServer(latency=0.05) as srv:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            s.sendall(one + one + chunked)  # three requests in one write
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        assert data.count(b"HTTP/1.1 200 OK") == 3
        ids = [json.loads(part.split(b"\r\n\r\n", 1)[1].split(b"HTTP/1.1")[0])["id"]
               for part in data.split(b"HTTP/1.1 200 OK")[1:]]
        assert ids == ["chatcmpl-fake-1", "chatcmpl-fake-2", "chatcmpl-fake-3"]


def test_latency_is_concurrent_and_counted():
    with FakeOpenAIServer(latency=0.3) as srv:
        t = time.perf_counter()
        with ThreadPoolExecutor(10) as pool:
            statuses = list(pool.map(lambda _: post(srv)[0], range(10)))
        assert statuses == [200] * 10
        assert time.perf_counter() - t < 1.5
        assert srv.peak_in_flight >= 5
        assert srv.request_count == 10


def test_stops_serving_when_the_context_closes():
    with FakeOpenAIServer() as srv:
        port = srv.port
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_runs_as_a_separate_process():
    proc = subprocess.Popen(
        [sys.executable, "-m", "latentwall.testing", "--port", "0", "--trigger", "kiwi"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert "listening on http://127.0.0.1:" in line
        base = line.split()[-1]
        payload = json.dumps({"messages": [{"role": "user", "content": "kiwi?"}]}).encode()
        req = urllib.request.Request(base + "/chat/completions", data=payload, method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            assert json.loads(r.read())["choices"][0]["message"]["content"] == REFUSAL_EN
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=5)
    assert proc.returncode == 0
    assert "served 1 chat requests" in err
