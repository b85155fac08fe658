"""`openai:MODEL@BASE_URL`: any OpenAI-compatible chat-completions server.

vLLM, SGLang, llama.cpp server, Ollama and hosted APIs all speak this protocol, so this
one target reaches most real models. aiohttp (not httpx) because it sustains an order
of magnitude more requests per second on a small machine, and the audit is
request-bound.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import json
import logging
import math
import os
import random
import re
import socket
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from latentwall.errors import ConfigError, TargetError
from latentwall.labels import Status
from latentwall.targets._base import Request, Response, Target, register_target
from latentwall.targets._reasoning import split_reasoning

log = logging.getLogger(__name__)

API_KEY_ENVS = ("LATENTWALL_API_KEY", "OPENAI_API_KEY")
_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_BACKOFF_CAP_S = 30.0
MAX_CONCURRENCY = 1024
DEFAULT_MAX_RESPONSE_BYTES = 4 << 20
_ERROR_BODY_BYTES = 64 << 10  # of a 4xx/5xx body: enough for the provider's message
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NO_KEY = ("", "none")


class _Secret:
    """Holds the API key so that no repr, log line or traceback shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


def _api_key(api_key_env: str | None) -> tuple[_Secret | None, str | None]:
    """(key, the variable it came from). Without `api_key_env`, the default variables
    (LATENTWALL_API_KEY, else OPENAI_API_KEY) or none; with it, exactly that variable,
    which must be set; `none` sends no key at all."""
    if api_key_env is None:
        for name in API_KEY_ENVS:
            value = os.environ.get(name, "").strip()
            if value:
                return _Secret(value), name
        return None, None
    name = str(api_key_env).strip()
    if name.lower() in _NO_KEY:
        return None, None
    if not _ENV_NAME.fullmatch(name):
        raise ConfigError(f"openai target: api_key_env must name an environment variable, got {name!r}")
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigError(f"openai target: api_key_env={name}, but the environment variable {name} is not set")
    return _Secret(value), name


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def split_spec(rest: str) -> tuple[str, str]:
    """'MODEL@URL' -> (model, base_url). The model may contain ':' '/' or '@'; the URL
    starts after the last '@' that is followed by http(s)://, else after the last '@'
    (then http:// is assumed), so 'user:pass@host' in a URL does not break the split.
    Any other scheme (ftp://, file://) is refused rather than taken for a host name."""
    m = re.fullmatch(r"(.+)@(https?://.+)", rest, flags=re.IGNORECASE)
    other = re.search(r"@([a-z][a-z0-9+.-]*)://", rest, flags=re.IGNORECASE)
    if m:
        model, url = m.group(1), m.group(2)
    elif other:
        raise ConfigError(f"openai target needs an http:// or https:// URL, got {other.group(1)}:// "
                          f"in 'openai:{rest}'")
    else:
        model, sep, url = rest.rpartition("@")
        if not sep:
            raise ConfigError(f"openai target needs 'openai:MODEL@BASE_URL', got 'openai:{rest}'")
        url = "http://" + url
    model, url = model.strip(), url.strip().rstrip("/")
    if not model or not urlsplit(url).hostname:
        raise ConfigError(f"openai target needs 'openai:MODEL@BASE_URL', got 'openai:{rest}'")
    return model, url


def _redact_url(url: str) -> str:
    """Drop user:password from a URL before it reaches describe(), logs or errors."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds to wait: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


class _NotText(ValueError):
    """Message content that is neither text nor a list of content parts."""


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _text_of(content: Any) -> str:
    """Message content as text: a string, or the text parts of a content-part list
    (`[{"type": "text", "text": "..."}, ...]`; parts without text, such as images, are
    skipped). Anything else - an object, a number, a part whose text is not a string -
    is not an answer and raises _NotText: judging str(content) would invent a verdict."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for i, part in enumerate(content):
            if not isinstance(part, dict):
                raise _NotText(f"content part {i} is {_json_kind(part)}, not an object")
            if "text" in part:
                if not isinstance(part["text"], str):
                    raise _NotText(f"content part {i} has text that is {_json_kind(part['text'])}")
                texts.append(part["text"])
        return "".join(texts)
    raise _NotText(f"content is {_json_kind(content)}, not text")


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_detail(body: bytes) -> str:
    """The provider's own error message if it sent one, else the start of the body."""
    try:
        obj = json.loads(body)
    except ValueError:
        return _one_line(body.decode("utf-8", "replace"), 120)
    if isinstance(obj, dict):
        err = obj.get("error", obj.get("detail", obj.get("message")))
        if isinstance(err, dict):
            err = err.get("message", err)
        if err:
            return _one_line(str(err), 120)
    return _one_line(body.decode("utf-8", "replace"), 120)


def _describe_exc(exc: BaseException) -> str:
    """A short cause for a transport failure: 'connection refused', 'timed out'…"""
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_err = exc.os_error
        if isinstance(os_err, ConnectionRefusedError):
            return "connection refused"
        if isinstance(os_err, socket.gaierror):
            return "host name not resolved"
        return _one_line(os_err.strerror or str(os_err) or type(os_err).__name__, 120)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server disconnected"
    return _one_line(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, 120)


class _Retryable(Exception):
    """An attempt failed in a way worth retrying; carries the cause and any Retry-After."""

    def __init__(self, cause: str, detail: str = "", retry_after: float | None = None) -> None:
        super().__init__(cause)
        self.cause = cause
        self.detail = detail
        self.retry_after = retry_after


@register_target("openai")
class OpenAITarget(Target):
    """A model behind an OpenAI-compatible `/chat/completions` endpoint.

    Spec: `openai:MODEL@BASE_URL`. BASE_URL is the base that `/chat/completions` and
    `/models` are appended to, exactly as the `openai` client's `base_url`: usually it
    ends in `/v1` (`openai:qwen2.5:7b@http://localhost:11434/v1`). MODEL may contain
    ':', '/' or '@'; the split is on the last '@' before `http://`/`https://`. Without a
    scheme, `http://` is assumed. The API key comes from `LATENTWALL_API_KEY`, else
    `OPENAI_API_KEY`, else none, and is never shown by describe(), repr or errors.

    Options (`make_target(spec, ...)`): `concurrency` (32, at most 1024) requests in
    flight and pool size; `timeout` (120 s) per attempt; `retries` (4) after the first
    attempt, for 429/408/5xx and connection errors, with exponential backoff (`backoff`
    0.5 s base, full jitter, capped at 30 s) or the server's Retry-After (capped by
    `max_retry_after`, 120 s); `extra_body` (dict) merged into every request body, e.g.
    `{"continue_final_message": True, "add_generation_prompt": False}` for vLLM prefill;
    `max_response_bytes` (4 MiB): a larger answer body is not read but recorded as
    ERROR; `api_key_env`: the environment variable that holds this target's key
    (`none`: send no key). Without it the key comes from LATENTWALL_API_KEY, else
    OPENAI_API_KEY; a judge or scorer built by latentwall gets its own default instead
    (see `latentwall.judges.judge_key_options`), so the audited server's key never goes
    to another host. A key together with `user:password@` in the URL is refused, and
    sending a key over plain http to a host that is not loopback draws a warning.

    Prefill (`Request.prefill`) is sent as a trailing assistant message; the returned
    text is only what the model generated after it, without the prefill. Reasoning
    is read from `reasoning_content` or `reasoning`, else split out of a leading
    `<think>…</think>` in the content; "" (an empty trace) is kept apart from None (no
    trace at all). `latency_s` is wall time including retries and backoff.
    """

    kind = "openai"
    usage = "openai:MODEL@BASE_URL"
    batch_size = 1
    supports_prefill = True
    takes_api_key = True

    def __init__(
        self,
        spec: str,
        model: str,
        base_url: str,
        *,
        concurrency: int = 32,
        timeout: float = 120.0,
        retries: int = 4,
        backoff: float = 0.5,
        max_retry_after: float = 120.0,
        extra_body: dict[str, Any] | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        api_key_env: str | None = None,
    ) -> None:
        super().__init__(spec)
        self.concurrency = _number("concurrency", concurrency, int, 1, MAX_CONCURRENCY)
        self.timeout = _number("timeout", timeout, float, 0.001, 86_400.0)
        self.retries = _number("retries", retries, int, 0, 100)
        self.backoff = _number("backoff", backoff, float, 0.0, 3_600.0)
        self.max_retry_after = _number("max_retry_after", max_retry_after, float, 0.0, 86_400.0)
        self.max_response_bytes = _number("max_response_bytes", max_response_bytes, int, 1024, 1 << 31)
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.extra_body = dict(extra_body or {})
        self._key, self._key_env = _api_key(api_key_env)
        parts = urlsplit(self.base_url)
        if self._key is not None and (parts.username is not None or parts.password is not None):
            raise ConfigError(
                f"openai target: the URL carries user:password and an API key is set (from "
                f"{self._key_env}); use one or the other (api_key_env=none sends no key)")
        self._session: aiohttp.ClientSession | None = None
        self._sem: asyncio.Semaphore | None = None
        self._public_url = _redact_url(self.base_url)

    @classmethod
    def from_spec(cls, spec: str, rest: str, **options: Any) -> OpenAITarget:
        model, base_url = split_spec(rest)
        known = {"concurrency", "timeout", "retries", "backoff", "max_retry_after", "extra_body",
                 "max_response_bytes", "api_key_env"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(f"openai target: unknown option(s) {', '.join(unknown)}")
        return cls(spec, model, base_url, **options)

    # --- identity --------------------------------------------------------------------
    @property
    def label(self) -> str:
        return self.model

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "spec": f"openai:{self.model}@{self._public_url}",
            "model": self.model,
            "base_url": self._public_url,
            "concurrency": self.concurrency,
            "timeout_s": self.timeout,
            "retries": self.retries,
            "max_response_bytes": self.max_response_bytes,
            "api_key_from": self._key_env,
        }

    def __repr__(self) -> str:
        return f"OpenAITarget(model={self.model!r}, base_url={self._public_url!r})"

    # --- lifecycle -------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "User-Agent": "latentwall"}
        if self._key is not None:
            headers["Authorization"] = f"Bearer {self._key.get()}"
        return headers

    def _key_hint(self) -> str:
        if self._key is None:
            return ("no API key was sent: set LATENTWALL_API_KEY, or name the variable "
                    "that holds it with api_key_env")
        return f"check the API key in {self._key_env}"

    def _scrub(self, text: str) -> str:
        """Errors may echo request data; make sure the key is never in one."""
        if self._key is not None and self._key.get() in text:
            text = text.replace(self._key.get(), "***")
        return text

    async def start(self) -> None:
        """Open the pooled session and fail fast, in one line, if the server is not there."""
        if self._session is not None:
            return
        connector = aiohttp.TCPConnector(limit=self.concurrency, limit_per_host=self.concurrency)
        self._session = aiohttp.ClientSession(
            connector=connector, headers=self._headers(), raise_for_status=False,
        )
        self._sem = asyncio.Semaphore(self.concurrency)
        parts = urlsplit(self.base_url)
        if self._key is not None and parts.scheme.lower() == "http" and not _is_loopback(parts.hostname or ""):
            log.warning("warning: the API key from %s goes to %s over plain http, unencrypted; "
                        "use https, or api_key_env=none if the server needs no key",
                        self._key_env, self._public_url)
        try:
            await self._check_reachable()
        except BaseException:
            await self.close()
            raise

    async def _check_reachable(self) -> None:
        assert self._session is not None
        url = f"{self.base_url}/models"
        probe_timeout = aiohttp.ClientTimeout(total=min(self.timeout, 10.0))
        try:
            async with self._session.get(url, timeout=probe_timeout) as resp:
                status = resp.status
                await resp.read()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            cause = _describe_exc(exc)
            raise TargetError(self._scrub(f"cannot reach {self._public_url}: {cause}")) from None
        if status == 401:
            log.warning("%s answered 401 to GET /models: %s", self._public_url, self._key_hint())
        elif status == 404 and not urlsplit(self.base_url).path.rstrip("/").endswith("/v1"):
            if await self._v1_exists():
                raise TargetError(
                    f"{self._public_url} has no /models but {self._public_url}/v1 does: "
                    f"use openai:{self.model}@{self._public_url}/v1"
                )

    async def _v1_exists(self) -> bool:
        assert self._session is not None
        try:
            async with self._session.get(f"{self.base_url}/v1/models",
                                         timeout=aiohttp.ClientTimeout(total=5)) as resp:
                return resp.status == 200
        except (TimeoutError, aiohttp.ClientError, OSError):
            return False

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    # --- generation ------------------------------------------------------------------
    def _payload(self, req: Request) -> dict[str, Any]:
        messages = [dict(m) for m in req.messages]
        if req.prefill:
            messages.append({"role": "assistant", "content": req.prefill})
        p = req.params
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": p.temperature,
            "top_p": p.top_p,
            "max_tokens": p.max_tokens,
            "stream": False,
        }
        seed = req.seed()
        if seed is not None:
            body["seed"] = seed
        body.update(self.extra_body)
        return body

    async def generate(self, batch: Sequence[Request]) -> list[Response]:
        if self._session is None:
            await self.start()
        return list(await asyncio.gather(*(self._one(r) for r in batch)))

    async def _one(self, req: Request) -> Response:
        data = json.dumps(self._payload(req), ensure_ascii=False).encode("utf-8")
        started = time.perf_counter()
        cause, detail = "no attempt made", ""
        for attempt in range(self.retries + 1):
            try:
                resp = await self._attempt(data)
            except _Retryable as exc:
                cause, detail = exc.cause, exc.detail
                if attempt == self.retries:
                    break
                delay = self._delay(attempt, exc.retry_after)
                log.debug("openai %s: %s; retry %d in %.2f s", self.model, cause, attempt + 1, delay)
                await asyncio.sleep(delay)
                continue
            resp.latency_s = time.perf_counter() - started
            return resp
        tries = "retry" if self.retries == 1 else "retries"
        return Response(
            status=Status.ERROR.value,
            error=self._scrub(f"{cause} after {self.retries} {tries}" + (f": {detail}" if detail else "")),
            model=self.model,
            latency_s=time.perf_counter() - started,
        )

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Retry-After when the server gives one (plus up to 10% so clients spread out),
        else exponential backoff with full jitter."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after) * (1.0 + 0.1 * random.random())
        ceiling = min(self.backoff * (2 ** attempt), _BACKOFF_CAP_S)
        return random.uniform(ceiling / 2, ceiling)

    async def _attempt(self, data: bytes) -> Response:
        """One HTTP exchange. Returns a final Response or raises _Retryable."""
        assert self._session is not None and self._sem is not None
        url = f"{self.base_url}/chat/completions"
        async with self._sem:
            try:
                async with self._session.post(
                    url, data=data, timeout=aiohttp.ClientTimeout(total=self.timeout),
                ) as http:
                    status = http.status
                    retry_after = parse_retry_after(http.headers.get("Retry-After"))
                    limit = self.max_response_bytes if status < 400 else _ERROR_BODY_BYTES
                    body, over = await _read_capped(http, limit)
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                cause = _describe_exc(exc)
                if cause == "timed out":
                    cause = f"timed out after {self.timeout:g} s"
                raise _Retryable(cause) from None
        if status in _RETRY_STATUSES or status >= 500:
            raise _Retryable(f"HTTP {status}", _error_detail(body),
                             retry_after if status in (429, 503) else None)
        if status >= 400:
            detail = _error_detail(body)
            hint = f" ({self._key_hint()})" if status in (401, 403) else ""
            return self._error(f"HTTP {status}{hint}" + (f": {detail}" if detail else ""))
        if over:
            return self._error(f"response body larger than {_size(self.max_response_bytes)} "
                               "(max_response_bytes, --max-response-mb): not read")
        return self._parse(body)

    def _error(self, message: str) -> Response:
        return Response(status=Status.ERROR.value, error=self._scrub(message), model=self.model)

    def _parse(self, body: bytes) -> Response:
        try:
            obj = json.loads(body)
        except RecursionError:
            return self._error("malformed response: JSON nested too deeply")
        except ValueError:
            return self._error(f"malformed response: not JSON ({_one_line(body.decode('utf-8', 'replace'), 60)})")
        if not isinstance(obj, dict):
            return self._error("malformed response: not a JSON object")
        if "error" in obj and not obj.get("choices"):
            return self._error(f"provider error: {_error_detail(body)}")
        choices = obj.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return self._error("malformed response: no choices")
        choice = choices[0]
        message = choice.get("message")
        if not isinstance(message, dict):
            return self._error("malformed response: choice has no message")
        try:
            content = _text_of(message.get("content"))
        except _NotText as exc:
            return self._error(f"malformed response: {exc}")
        text, think = split_reasoning(content)
        # An empty trace ("") is evidence of thought suppression; keep it apart from None.
        reasoning = message.get("reasoning_content")
        if not isinstance(reasoning, str):
            reasoning = message.get("reasoning")
        if not isinstance(reasoning, str) or (not reasoning and think is not None):
            reasoning = think
        finish = choice.get("finish_reason")
        status = None
        if finish == "length":
            status = Status.TRUNCATED.value
        elif finish == "content_filter":
            status = Status.FILTERED.value
        usage = obj.get("usage")
        return Response(
            text=text,
            reasoning=reasoning,
            finish_reason=finish if isinstance(finish, str) else None,
            status=status,
            model=obj.get("model") if isinstance(obj.get("model"), str) else self.model,
            usage={k: v for k, v in usage.items() if isinstance(v, int) and not isinstance(v, bool)}
            if isinstance(usage, dict) else {},
        )


def _number(name: str, value: Any, kind: type, lo: float, hi: float) -> Any:
    """An option as int or float within [lo, hi]; inf, nan and other junk are refused."""
    try:
        if isinstance(value, bool):
            raise ValueError
        num = float(value)
        if kind is int and not num.is_integer():
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigError(f"openai target: {name} must be a number, got {value!r}") from None
    if not math.isfinite(num) or not lo <= num <= hi:
        raise ConfigError(f"openai target: {name} must be between {lo:g} and {hi:g}, got {value!r}")
    return int(num) if kind is int else num


def _size(n: int) -> str:
    return f"{n / (1 << 20):g} MiB" if n >= 1 << 20 else f"{n} bytes"


async def _read_capped(http: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    """(body, over the limit?). Reads at most `limit` bytes (after decompression), so a
    server cannot make the client hold an answer of any size; an over-long body is left
    unread and its connection closed."""
    if http.content_length is not None and http.content_length > limit:
        http.close()
        return b"", True
    buf = bytearray()
    async for chunk in http.content.iter_chunked(1 << 16):
        buf += chunk
        if len(buf) > limit:
            http.close()
            return bytes(buf[:limit]), True
    return bytes(buf), False
