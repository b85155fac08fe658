"""The openai target against a real HTTP server: answers, statuses, retries, keys, speed."""

from __future__ import annotations

import asyncio
import email.utils
import socket
import time
from collections.abc import Sequence
from typing import Any

import pytest

from latentwall.errors import ConfigError, TargetError
from latentwall.targets import (
    GenParams,
    OpenAITarget,
    Request,
    Response,
    make_target,
    parse_retry_after,
    split_reasoning,
    split_spec,
)
from latentwall.testing import REFUSAL_EN, FakeOpenAIServer


@pytest.fixture(autouse=True)
def _no_key_env(monkeypatch):
    monkeypatch.delenv("LATENTWALL_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def req(prompt: str = "What is the capital of France?", **kw: Any) -> Request:
    return Request(messages=({"role": "user", "content": prompt},), **kw)


def run(srv_or_url: FakeOpenAIServer | str, requests: Sequence[Request], model: str = "fake-model",
        **options: Any) -> list[Response]:
    base = srv_or_url if isinstance(srv_or_url, str) else srv_or_url.base_url
    options.setdefault("backoff", 0.01)

    async def go() -> list[Response]:
        target = make_target(f"openai:{model}@{base}", **options)
        await target.start()
        try:
            return await target.generate(requests)
        finally:
            await target.close()

    return asyncio.run(go())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- spec parsing --------------------------------------------------------------------
def test_spec_split_on_the_last_at_before_the_url():
    assert split_spec("qwen2.5:7b@http://localhost:11434/v1") == ("qwen2.5:7b", "http://localhost:11434/v1")
    assert split_spec("org/model@x@https://h/v1/") == ("org/model@x", "https://h/v1")
    assert split_spec("m@http://u:p@h:1/v1") == ("m", "http://u:p@h:1/v1")
    assert split_spec("m@localhost:8000/v1") == ("m", "http://localhost:8000/v1")
    for bad in ("justamodel", "@http://h/v1", "m@"):
        with pytest.raises(ConfigError):
            split_spec(bad)
    with pytest.raises(ConfigError):
        make_target("openai:m@http://h/v1", bogus=1)
    t = make_target("openai:org/m:q4@http://127.0.0.1:9/v1", concurrency=7, timeout=3, retries=1)
    assert isinstance(t, OpenAITarget)
    assert (t.model, t.base_url, t.concurrency, t.timeout, t.retries) == (
        "org/m:q4", "http://127.0.0.1:9/v1", 7, 3.0, 1)
    assert t.batch_size == 1 and t.supports_prefill


def test_reasoning_split_and_retry_after_parsing():
    assert split_reasoning("<think>\nhmm\n</think>\n\nAnswer") == ("Answer", "hmm")
    assert split_reasoning("  <think>cut off mid-thought") == ("", "cut off mid-thought")
    assert split_reasoning("hmm</think>Answer") == ("Answer", "hmm")
    assert split_reasoning("plain") == ("plain", None)
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after("garbage") is None
    date = email.utils.formatdate(1_000_010, usegmt=True)
    assert parse_retry_after(date, now=1_000_000) == pytest.approx(10.0)


# --- answers -------------------------------------------------------------------------
def test_normal_answers_refusals_params_and_usage():
    with FakeOpenAIServer() as srv:
        params = GenParams(temperature=0.7, top_p=0.9, max_tokens=100, seed=10)
        ok, refused = run(srv, [req(params=params, sample=2), req("Tiananmen 1989?")])
        assert ok.status is None and ok.error is None
        assert "capital of France" in ok.text
        assert ok.finish_reason == "stop" and ok.model == "fake-model"
        assert ok.usage["completion_tokens"] > 0 and ok.usage["total_tokens"] > 0
        assert ok.latency_s is not None and ok.latency_s > 0
        assert ok.reasoning is None
        assert refused.text == REFUSAL_EN
        sent = srv.last_request
        assert sent is not None and sent["model"] == "fake-model"
        body = run(srv, [req(params=params, sample=2)])[0]
        sent = srv.last_request
        assert sent is not None
        assert (sent["temperature"], sent["top_p"], sent["max_tokens"], sent["seed"]) == (0.7, 0.9, 100, 12)
        assert body.text == ok.text  # same prompt, params and seed: same answer


def test_prefill_sent_as_assistant_turn_and_not_echoed():
    with FakeOpenAIServer() as srv:
        (resp,) = run(srv, [req("Explain tides", prefill="Sure, here")])
        sent = srv.last_request
        assert sent is not None
        assert sent["messages"][-1] == {"role": "assistant", "content": "Sure, here"}
        assert not resp.text.startswith("Sure, here")
        assert "Explain tides" in resp.text


@pytest.mark.parametrize("mode", ["field", "reasoning", "think"])
def test_reasoning_captured_in_every_style(mode):
    with FakeOpenAIServer(reasoning=mode) as srv:
        answered, refused = run(srv, [req("Why is the sky blue?"), req("Tiananmen?")])
        assert answered.reasoning and "sky blue" in answered.reasoning
        assert "<think>" not in answered.text and "Why is the sky blue" in answered.text
        assert refused.reasoning == ""  # an empty trace, not a missing one
        assert refused.text == REFUSAL_EN


def test_truncated_filtered_and_empty():
    with FakeOpenAIServer(truncate=True) as srv:
        (r,) = run(srv, [req()])
        assert r.status == "TRUNCATED" and r.finish_reason == "length" and r.text
    with FakeOpenAIServer(filtered="triggers") as srv:
        blocked, fine = run(srv, [req("how to build a bomb"), req("how to bake bread")])
        assert blocked.status == "FILTERED" and blocked.finish_reason == "content_filter"
        assert fine.status is None
    with FakeOpenAIServer(empty=True) as srv:
        (r,) = run(srv, [req()])
        assert r.text == "" and r.status is None and r.error is None  # EMPTY is the judge's call


# --- failures ------------------------------------------------------------------------
def test_429_retry_after_is_honoured_then_succeeds():
    with FakeOpenAIServer(rate_limit_429=2, retry_after=0.4) as srv:
        t = time.perf_counter()
        (r,) = run(srv, [req()], backoff=0.001)
        elapsed = time.perf_counter() - t
        assert r.status is None and "capital of France" in r.text
        assert srv.request_count == 3
        assert 0.8 <= elapsed < 1.6  # two waits of 0.4 s (+ up to 10% jitter), not 1 ms backoff


def test_429_with_http_date_is_retried():
    with FakeOpenAIServer(rate_limit_429=1, retry_after=0, retry_after_date=True) as srv:
        (r,) = run(srv, [req()])
        assert r.status is None and srv.request_count == 2


def test_500_retried_then_success_or_error():
    with FakeOpenAIServer(fail_first_500=3) as srv:
        (r,) = run(srv, [req()], retries=4)
        assert r.status is None and srv.request_count == 4
    with FakeOpenAIServer(fail_rate_500=1.0) as srv:
        (r,) = run(srv, [req()], retries=4)
        assert r.status == "ERROR"
        assert r.error is not None and r.error.startswith("HTTP 500 after 4 retries")
        assert "\n" not in r.error
        assert srv.request_count == 5


def test_other_4xx_not_retried():
    with FakeOpenAIServer(require_api_key="sk-right") as srv:
        (r,) = run(srv, [req()])
        assert r.status == "ERROR" and r.error is not None and r.error.startswith("HTTP 401")
        assert srv.request_count == 1


@pytest.mark.parametrize(("mode", "cause"), [
    ("not-json", "malformed response: not JSON"),
    ("no-choices", "malformed response: no choices"),
])
def test_malformed_bodies_are_errors(mode, cause):
    with FakeOpenAIServer(malformed=mode) as srv:
        (r,) = run(srv, [req()])
        assert r.status == "ERROR" and r.error is not None and r.error.startswith(cause)
        assert srv.request_count == 1  # a bad body is not retried


def test_unreachable_server_raises_target_error_at_start():
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(TargetError, match=r"cannot reach http://127\.0\.0\.1:\d+/v1: connection refused"):
        run(url, [req()])


def test_connection_lost_mid_run_becomes_error_response():
    async def go() -> Response:
        with FakeOpenAIServer() as srv:
            target = make_target(f"openai:m@{srv.base_url}", retries=1, backoff=0.01)
            await target.start()
        try:
            (r,) = await target.generate([req()])
            return r
        finally:
            await target.close()

    r = asyncio.run(go())
    assert r.status == "ERROR" and r.error is not None and "after 1 retry" in r.error


def test_missing_v1_is_pointed_out():
    with FakeOpenAIServer() as srv:
        bare = srv.base_url.removesuffix("/v1")
        with pytest.raises(TargetError, match=r"has no /models .* use openai:m@http://127\.0\.0\.1:\d+/v1$"):
            run(bare, [req()], model="m")


# --- keys ----------------------------------------------------------------------------
def test_api_key_from_env_sent_and_never_shown(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fallback")
    monkeypatch.setenv("LATENTWALL_API_KEY", "sk-secret-123")
    with FakeOpenAIServer(require_api_key="sk-secret-123") as srv:
        (r,) = run(srv, [req()])
        assert r.status is None
        assert srv.last_headers["authorization"] == "Bearer sk-secret-123"
        target = make_target(f"openai:fake-model@{srv.base_url}")
        shown = " ".join([repr(target), str(target.describe()), repr(vars(target)), target.label])
        assert "sk-secret" not in shown and "sk-fallback" not in shown
        assert target.describe()["api_key_from"] == "LATENTWALL_API_KEY"
    monkeypatch.delenv("LATENTWALL_API_KEY")
    with FakeOpenAIServer(require_api_key="sk-other") as srv:
        (r,) = run(srv, [req()])
        assert srv.last_headers["authorization"] == "Bearer sk-fallback"
        assert r.status == "ERROR" and r.error is not None and "sk-" not in r.error


def test_no_key_means_no_authorization_header():
    with FakeOpenAIServer() as srv:
        run(srv, [req()])
        assert "authorization" not in srv.last_headers


# --- concurrency ---------------------------------------------------------------------
def test_requests_really_run_concurrently():
    with FakeOpenAIServer(latency=0.2) as srv:
        t = time.perf_counter()
        responses = run(srv, [req(f"question {i}") for i in range(20)], concurrency=20)
        elapsed = time.perf_counter() - t
        assert all(r.status is None for r in responses)
        assert [f"question {i}" in r.text for i in range(20) for r in [responses[i]]] == [True] * 20
        assert elapsed < 1.5  # serial would take 4 s
        assert srv.peak_in_flight >= 15


def test_concurrency_option_caps_requests_in_flight():
    with FakeOpenAIServer(latency=0.1) as srv:
        run(srv, [req(f"q{i}") for i in range(12)], concurrency=3)
        assert srv.peak_in_flight == 3
