"""A real OpenAI-compatible HTTP server with fault switches, for tests and benchmarks.

It is a hand-written HTTP/1.1 keep-alive server on a bare `asyncio.Protocol`: a web
framework costs several times more CPU per request, and the benchmark needs the server
to stay far ahead of the client on one core. Answers are deterministic from the prompt,
so tests can assert exact labels, and every fault a real provider produces (slowness,
500s, 429 with Retry-After, garbage bodies, truncation, filters, reasoning traces,
missing keys) and every hostile answer (lone surrogates, content that is not text, bodies
of any size) can be switched on from the constructor or the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email.utils
import hashlib
import json
import random
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from latentwall.text import CJK_RE

DEFAULT_TRIGGERS: tuple[str, ...] = (
    "Tiananmen", "天安门", "六四", "June Fourth", "Falun Gong", "法轮功", "bomb", "炸弹",
)
REFUSAL_EN = "I'm sorry, but I can't help with that."
REFUSAL_ZH = "抱歉，我无法回答这个问题。"

# A responder turns the chat messages into the assistant's answer: text, or any JSON value
# (sent as the message content as it is, to test clients against content that is not text).
Responder = Callable[[Sequence[dict[str, Any]]], Any]
# What `content` can make of the answer: faults seen from real servers.
CONTENT_FAULTS = ("lone-surrogate", "object", "number", "parts", "bad-parts")

_REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
    405: "Method Not Allowed", 411: "Length Required", 413: "Payload Too Large",
    429: "Too Many Requests", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 503: "Service Unavailable",
}
_MAX_HEAD = 64 * 1024
_MAX_BODY = 32 * 1024 * 1024


@dataclass
class FakeConfig:
    """Every switch of the fake server. Mutable: tests may flip a switch while it serves."""

    model: str = "fake-model"
    latency: float = 0.0
    fail_rate_500: float = 0.0
    fail_first_500: int = 0
    rate_limit_429: int = 0
    rate_limit_every: int = 0
    retry_after: float | None = 1.0
    retry_after_date: bool = False
    malformed: str | None = None  # "not-json" | "no-choices"
    empty: bool = False
    truncate: bool = False
    reasoning: str | None = None  # "field" (reasoning_content) | "reasoning" | "think"
    filtered: str | None = None  # "all" | "triggers"
    require_api_key: str | None = None
    triggers: tuple[str, ...] = DEFAULT_TRIGGERS
    refusal: str = REFUSAL_EN
    refusal_zh: str = REFUSAL_ZH
    responder: Responder | None = None
    content: str | None = None  # one of CONTENT_FAULTS
    answer_bytes: int = 0  # pad every answer to this many bytes (a huge answer)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.malformed not in (None, "not-json", "no-choices"):
            raise ValueError(f"malformed must be 'not-json' or 'no-choices', not {self.malformed!r}")
        if self.reasoning not in (None, "field", "reasoning", "think"):
            raise ValueError(f"reasoning must be 'field', 'reasoning' or 'think', not {self.reasoning!r}")
        if self.filtered not in (None, "all", "triggers"):
            raise ValueError(f"filtered must be 'all' or 'triggers', not {self.filtered!r}")
        if self.content not in (None, *CONTENT_FAULTS):
            raise ValueError(f"content must be one of {', '.join(CONTENT_FAULTS)}, not {self.content!r}")


def _has_cjk(text: str) -> bool:
    return CJK_RE.search(text) is not None


def _prompt_of(messages: Sequence[dict[str, Any]]) -> str:
    for m in reversed(messages):
        if m.get("role") == "user":
            content = m.get("content", "")
            return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return ""


def is_triggered(prompt: str, triggers: Iterable[str]) -> bool:
    """Case-insensitive substring match, so tests can predict refusals from the prompt alone."""
    low = prompt.lower()
    return any(t.lower() in low for t in triggers)


def default_answer(prompt: str, variant: int = 0) -> str:
    """A helpful-looking answer that names the topic, in the prompt's script."""
    topic = " ".join(prompt.split()).rstrip("?？。.!！")
    if len(topic) > 80:
        topic = topic[:77] + "..."
    if _has_cjk(prompt):
        openers = ("关于", "这是关于", "简要回答关于")
        return (f"{openers[variant % 3]}“{topic}”的回答：主要事实如下，背景和常被引用的资料来源也"
                "一并列出，各方说法不同之处已注明。")
    openers = ("Here is a short answer about", "Here is an overview of", "A brief answer on")
    return (f"{openers[variant % 3]} \"{topic}\". The main facts are set out first, then the "
            "context and the sources most often cited, noting where accounts differ.")


def _count_tokens(text: str) -> int:
    """Whitespace words, or characters for CJK: close enough for usage and max_tokens."""
    if _has_cjk(text):
        return sum(1 for ch in text if not ch.isspace())
    return len(text.split())


def _cut_tokens(text: str, n: int) -> str:
    if _has_cjk(text):
        return text[: max(n, 0)]
    return " ".join(text.split()[: max(n, 0)])


@dataclass
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class _Stats:
    http_requests: int = 0
    chat_requests: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    last_headers: dict[str, str] = field(default_factory=dict)
    last_request: dict[str, Any] | None = None


def _json_reply(status: int, obj: Any, headers: tuple[tuple[str, str], ...] = ()) -> _Reply:
    """UTF-8 JSON as most servers send it; text that UTF-8 cannot hold (a lone surrogate)
    goes out as a \\uXXXX escape, which is valid JSON and what such servers send."""
    try:
        body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        body = json.dumps(obj, ensure_ascii=True).encode("ascii")
    return _Reply(status, body, headers=headers)


def _error_reply(status: int, message: str, kind: str,
                 headers: tuple[tuple[str, str], ...] = ()) -> _Reply:
    return _json_reply(status, {"error": {"message": message, "type": kind, "code": status}}, headers)


class _App:
    """Request handling, kept apart from the transport so both modes share it."""

    def __init__(self, config: FakeConfig) -> None:
        self.config = config
        self.stats = _Stats()
        self.rng = random.Random(config.seed)
        self.connections: set[_HTTPProtocol] = set()
        self._created = int(time.time())

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> _Reply:
        st = self.stats
        st.http_requests += 1
        path = target.split("?", 1)[0].rstrip("/")
        if path == "/v1/chat/completions":
            if method != "POST":
                return _error_reply(405, "use POST", "invalid_request_error")
            return self._chat(headers, body)
        if path == "/v1/models":
            if method != "GET":
                return _error_reply(405, "use GET", "invalid_request_error")
            if not self._authorised(headers):
                return _error_reply(401, "invalid or missing API key", "invalid_api_key")
            return _json_reply(200, {"object": "list", "data": [
                {"id": self.config.model, "object": "model", "created": self._created,
                 "owned_by": "latentwall-fake"}]})
        if path in ("/health", ""):
            return _json_reply(200, {"status": "ok"})
        return _error_reply(404, f"no route {path}", "not_found")

    def _authorised(self, headers: dict[str, str]) -> bool:
        key = self.config.require_api_key
        return key is None or headers.get("authorization", "") == f"Bearer {key}"

    def _retry_after(self) -> tuple[tuple[str, str], ...]:
        ra = self.config.retry_after
        if ra is None:
            return ()
        if self.config.retry_after_date:
            return (("Retry-After", email.utils.formatdate(time.time() + ra, usegmt=True)),)
        value = str(int(ra)) if float(ra).is_integer() else str(ra)
        return (("Retry-After", value),)

    def _chat(self, headers: dict[str, str], body: bytes) -> _Reply:
        cfg, st = self.config, self.stats
        st.chat_requests += 1
        n = st.chat_requests
        st.last_headers = headers
        if not self._authorised(headers):
            return _error_reply(401, "invalid or missing API key", "invalid_api_key")
        if n <= cfg.rate_limit_429 or (cfg.rate_limit_every and n % cfg.rate_limit_every == 0):
            return _error_reply(429, "rate limit reached", "rate_limit_exceeded", self._retry_after())
        if n <= cfg.fail_first_500 or (cfg.fail_rate_500 and self.rng.random() < cfg.fail_rate_500):
            return _error_reply(500, "internal error (injected)", "server_error")
        try:
            req = json.loads(body)
            messages = req["messages"]
            if not isinstance(messages, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return _error_reply(400, "body must be JSON with a 'messages' list", "invalid_request_error")
        st.last_request = req
        if cfg.malformed == "not-json":
            return _Reply(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        if cfg.malformed == "no-choices":
            return _json_reply(200, {"id": "chatcmpl-fake", "object": "chat.completion",
                                     "model": req.get("model", cfg.model)})
        return _json_reply(200, self._completion(req, messages))

    def _completion(self, req: dict[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any]:
        cfg = self.config
        prompt = _prompt_of(messages)
        refused = is_triggered(prompt, cfg.triggers)
        finish = "stop"
        if cfg.responder is not None:
            text = cfg.responder(messages)
        elif refused:
            text = cfg.refusal_zh if _has_cjk(prompt) else cfg.refusal
        else:
            variant = 0
            if float(req.get("temperature") or 0) > 0:
                # Sampling differs by seed, reproducibly, as a real server with a seed would.
                h = hashlib.blake2b(f"{prompt}\0{req.get('seed')}".encode(), digest_size=2)
                variant = int.from_bytes(h.digest(), "big")
            text = default_answer(prompt, variant)
        if messages and messages[-1].get("role") == "assistant" and isinstance(text, str):
            # Prefill: continue the assistant turn rather than starting over.
            text = " " + text
        thought = (f"The question is about: {prompt[:60]}. I should answer it factually."
                   if not refused else "")
        if cfg.empty:
            text = ""
        max_tokens = req.get("max_tokens") or req.get("max_completion_tokens")
        if not isinstance(text, str):  # a responder's non-text content goes out as it is
            pass
        elif cfg.truncate:
            text, finish = _cut_tokens(text, max(_count_tokens(text) // 2, 1)), "length"
        elif isinstance(max_tokens, int) and _count_tokens(text) > max_tokens:
            text, finish = _cut_tokens(text, max_tokens), "length"
        if cfg.filtered == "all" or (cfg.filtered == "triggers" and refused):
            text, finish = "", "content_filter"
        if cfg.answer_bytes and isinstance(text, str):
            pad = cfg.answer_bytes - len(text.encode("utf-8"))
            text += " " + "x" * max(pad - 1, 0)
        content: Any = text
        if cfg.content == "lone-surrogate":
            content = f"{text} \ud800 \udfff"
        elif cfg.content == "object":
            content = {"answer": text, "note": "content as an object"}
        elif cfg.content == "number":
            content = 42
        elif cfg.content == "parts":
            content = [{"type": "text", "text": text[: len(text) // 2]},
                       {"type": "image_url", "image_url": {"url": "data:,"}},
                       {"type": "text", "text": text[len(text) // 2:]}]
        elif cfg.content == "bad-parts":
            content = [{"type": "text", "text": {"value": text}}]
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if cfg.reasoning == "field":
            message["reasoning_content"] = thought
        elif cfg.reasoning == "reasoning":
            message["reasoning"] = thought
        elif cfg.reasoning == "think" and isinstance(content, str):
            message["content"] = f"<think>\n{thought}\n</think>\n\n{content}"
        prompt_tokens = sum(_count_tokens(str(m.get("content", ""))) for m in messages)
        completion_tokens = _count_tokens(str(text)) + _count_tokens(thought if cfg.reasoning else "")
        return {
            "id": f"chatcmpl-fake-{self.stats.chat_requests}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": req.get("model") or cfg.model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }


class _Pending:
    __slots__ = ("data", "handle", "ready")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.ready = False
        self.handle: asyncio.TimerHandle | None = None


class _HTTPProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive and pipelining; replies leave in request order even when
    each one is delayed by the latency switch."""

    def __init__(self, app: _App) -> None:
        self.app = app
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.pending: deque[_Pending] = deque()
        self.close_after = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.app.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.app.connections.discard(self)
        for p in self.pending:
            if p.handle is not None:
                p.handle.cancel()
            self.app.stats.in_flight -= 1
        self.pending.clear()
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while self.transport is not None and not self.close_after:
            if not self._serve_one():
                return

    def _serve_one(self) -> bool:
        """Parse and answer one request from the buffer; False when more bytes are needed."""
        buf = self.buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > _MAX_HEAD:
                self._fatal(431, "request head too large")
            return False
        lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            self._fatal(400, "bad request line")
            return False
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        start = end + 4
        if "chunked" in headers.get("transfer-encoding", "").lower():
            parsed = _dechunk(buf, start)
            if parsed is None:
                if len(buf) > _MAX_BODY:
                    self._fatal(413, "body too large")
                return False
            body, consumed = parsed
        else:
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                self._fatal(400, "bad content-length")
                return False
            if length > _MAX_BODY:
                self._fatal(413, "body too large")
                return False
            if len(buf) < start + length:
                return False
            body, consumed = bytes(buf[start:start + length]), start + length
        del buf[:consumed]
        conn = headers.get("connection", "").lower()
        keep = conn != "close" if version == "HTTP/1.1" else conn == "keep-alive"
        reply = self.app.handle(method, target, headers, body)
        self._send(reply, keep)
        if not keep:
            self.close_after = True
        return True

    def _send(self, reply: _Reply, keep: bool) -> None:
        extra = "".join(f"{k}: {v}\r\n" for k, v in reply.headers)
        head = (f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Unknown')}\r\n"
                f"Content-Type: {reply.content_type}; charset=utf-8\r\n"
                f"Content-Length: {len(reply.body)}\r\n{extra}"
                f"Connection: {'keep-alive' if keep else 'close'}\r\n\r\n")
        data = head.encode("latin-1") + reply.body
        st = self.app.stats
        st.in_flight += 1
        if st.in_flight > st.peak_in_flight:
            st.peak_in_flight = st.in_flight
        item = _Pending(data)
        self.pending.append(item)
        delay = self.app.config.latency
        if delay > 0:
            loop = asyncio.get_running_loop()
            item.handle = loop.call_later(delay, self._mark_ready, item)
        else:
            item.ready = True
            self._flush()

    def _mark_ready(self, item: _Pending) -> None:
        item.ready = True
        item.handle = None
        self._flush()

    def _flush(self) -> None:
        while self.pending and self.pending[0].ready and self.transport is not None:
            item = self.pending.popleft()
            self.app.stats.in_flight -= 1
            self.transport.write(item.data)
        if self.close_after and not self.pending and self.transport is not None:
            self.transport.close()

    def _fatal(self, status: int, message: str) -> None:
        self.buf.clear()
        self._send(_error_reply(status, message, "invalid_request_error"), keep=False)
        self.close_after = True
        self._flush()


def _dechunk(buf: bytearray, start: int) -> tuple[bytes, int] | None:
    """Decode a chunked body; None until the terminating chunk has arrived."""
    out = bytearray()
    pos = start
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(bytes(buf[pos:eol]).split(b";", 1)[0].strip() or b"0", 16)
        pos = eol + 2
        if size == 0:
            trailer_end = buf.find(b"\r\n", pos)
            while trailer_end > pos:  # skip trailer headers
                pos = trailer_end + 2
                trailer_end = buf.find(b"\r\n", pos)
            if trailer_end < 0:
                return None
            return bytes(out), trailer_end + 2
        if len(buf) < pos + size + 2:
            return None
        out += buf[pos:pos + size]
        pos += size + 2


class FakeOpenAIServer:
    """An OpenAI-compatible server on 127.0.0.1 that serves only while its context is open.

    Use it in a background thread (`with FakeOpenAIServer(latency=0.2) as srv:` then
    point a target at `srv.base_url`) or as a process (`python -m latentwall.testing`).

    Switches (all keyword arguments; see `FakeConfig`, mutable via `srv.config`):
    `latency` seconds per request; `fail_rate_500` probability of a 500;
    `fail_first_500` the first N chat requests get 500; `rate_limit_429` the first N get
    429; `rate_limit_every` every Nth gets 429; `retry_after` seconds sent in Retry-After
    (None: no header), as an HTTP date if `retry_after_date`; `malformed` "not-json" or
    "no-choices"; `empty` content ""; `truncate` cut the answer, finish_reason "length";
    `reasoning` "field" (`reasoning_content`), "reasoning" (`reasoning`) or "think"
    (`<think>…</think>` in content); `filtered` "all" or "triggers" (finish_reason
    "content_filter"); `require_api_key` 401 unless `Authorization: Bearer KEY`;
    `triggers` words that make it refuse; `responder` a function of the messages that
    replaces the default answers (text, or any JSON value sent as the content as it is);
    `content` "lone-surrogate" (the answer holds "\\ud800"), "object" or "number" (content
    that is not text), "parts" (a content-part list) or "bad-parts" (a part whose text is
    an object); `answer_bytes` pads every answer to that many bytes. 429 and 500 switches
    count the same chat-request counter, 429 first. Answers honour `max_tokens` (words, or
    characters for CJK).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **switches: Any) -> None:
        if isinstance(switches.get("triggers"), str | list):
            t = switches["triggers"]
            switches["triggers"] = (t,) if isinstance(t, str) else tuple(t)
        if switches.get("filtered") is True:
            switches["filtered"] = "all"
        if switches.get("malformed") is True:
            switches["malformed"] = "not-json"
        self.config = FakeConfig(**switches)
        self.host = host
        self.port = port
        self._app = _App(self.config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._task: asyncio.Task[None] | None = None

    # --- what tests read -------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The URL a target appends `/chat/completions` to."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def request_count(self) -> int:
        """Chat-completion requests received (including those answered with 429/500)."""
        return self._app.stats.chat_requests

    @property
    def http_requests(self) -> int:
        return self._app.stats.http_requests

    @property
    def peak_in_flight(self) -> int:
        """Most chat replies pending at once: proves a client really ran concurrently."""
        return self._app.stats.peak_in_flight

    @property
    def last_headers(self) -> dict[str, str]:
        """Headers (lower-case names) of the last chat request."""
        return dict(self._app.stats.last_headers)

    @property
    def last_request(self) -> dict[str, Any] | None:
        """JSON body of the last well-formed chat request."""
        return self._app.stats.last_request

    def reset_counts(self) -> None:
        self._app.stats = _Stats()

    # --- serving ---------------------------------------------------------------------
    async def serve(self, on_ready: Callable[[], None] | None = None) -> None:
        """Bind and serve on the running loop until cancelled (used by both modes)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _HTTPProtocol(self._app), self.host, self.port, reuse_address=True,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._loop = loop
        if on_ready is not None:
            on_ready()
        try:
            await asyncio.Future()
        finally:
            self._server.close()
            for proto in list(self._app.connections):
                if proto.transport is not None:
                    proto.transport.abort()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)

    def start(self) -> FakeOpenAIServer:
        """Serve from a daemon thread; returns once the port is bound."""
        if self._thread is not None:
            raise RuntimeError("FakeOpenAIServer already started")
        self._thread = threading.Thread(target=self._run_thread, name="fake-openai", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        if not self._ready.is_set():
            raise RuntimeError("FakeOpenAIServer did not start within 10 s")
        return self

    def _run_thread(self) -> None:
        try:
            asyncio.run(self._serve_until_stopped())
        except BaseException as exc:  # surfaced to start() for a clear failure
            self._error = exc
            self._ready.set()

    async def _serve_until_stopped(self) -> None:
        self._task = asyncio.current_task()
        with contextlib.suppress(asyncio.CancelledError):
            await self.serve(self._ready.set)

    def stop(self) -> None:
        if self._thread is None:
            return
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)
        self._thread.join(5)
        self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"FakeOpenAIServer({self.base_url}, chat_requests={self.request_count})"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m latentwall.testing",
        description="Run the fake OpenAI-compatible server until interrupted.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on stdout)")
    p.add_argument("--model", default="fake-model")
    p.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    p.add_argument("--fail-rate-500", type=float, default=0.0, help="probability of a 500")
    p.add_argument("--fail-first-500", type=int, default=0, help="first N chat requests get 500")
    p.add_argument("--rate-limit-429", type=int, default=0, help="first N chat requests get 429")
    p.add_argument("--rate-limit-every", type=int, default=0, help="every Nth chat request gets 429")
    p.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds on 429")
    p.add_argument("--no-retry-after", action="store_true", help="send 429 without Retry-After")
    p.add_argument("--retry-after-date", action="store_true", help="send Retry-After as an HTTP date")
    p.add_argument("--malformed", choices=["not-json", "no-choices"])
    p.add_argument("--empty", action="store_true", help="answer with empty content")
    p.add_argument("--truncate", action="store_true", help="finish_reason 'length'")
    p.add_argument("--reasoning", choices=["field", "reasoning", "think"])
    p.add_argument("--filtered", nargs="?", const="all", choices=["all", "triggers"])
    p.add_argument("--require-api-key", metavar="KEY")
    p.add_argument("--trigger", action="append", metavar="WORD",
                   help="refuse prompts containing WORD (repeatable; replaces the defaults)")
    p.add_argument("--content", choices=CONTENT_FAULTS, help="hostile or non-text answer content")
    p.add_argument("--answer-bytes", type=int, default=0, help="pad every answer to N bytes")
    p.add_argument("--seed", type=int, default=0, help="seed for --fail-rate-500")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Serve in the foreground, so a benchmark can put the server on its own core."""
    args = build_parser().parse_args(argv)
    srv = FakeOpenAIServer(
        host=args.host, port=args.port, model=args.model, latency=args.latency,
        fail_rate_500=args.fail_rate_500, fail_first_500=args.fail_first_500,
        rate_limit_429=args.rate_limit_429, rate_limit_every=args.rate_limit_every,
        retry_after=None if args.no_retry_after else args.retry_after,
        retry_after_date=args.retry_after_date, malformed=args.malformed, empty=args.empty,
        truncate=args.truncate, reasoning=args.reasoning, filtered=args.filtered,
        require_api_key=args.require_api_key, seed=args.seed, content=args.content,
        answer_bytes=args.answer_bytes,
        triggers=tuple(args.trigger) if args.trigger else DEFAULT_TRIGGERS,
    )

    async def run() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, task.cancel)

        def ready() -> None:
            print(f"FakeOpenAIServer listening on {srv.base_url}", flush=True)

        with contextlib.suppress(asyncio.CancelledError):
            await srv.serve(ready)

    asyncio.run(run())
    print(f"served {srv.request_count} chat requests", file=sys.stderr)
    return 0
