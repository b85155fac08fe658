"""The review page: one response at a time on 127.0.0.1, a label per key press.

The viewer's rules hold (src/latentwall/report/_viewer.py): loopback addresses only, the
Host header checked (DNS rebinding), a strict Content-Security-Policy (this origin's own
script and style, nothing else), model output sent as JSON and put on screen with
textContent only, no file paths taken from requests. Unlike the viewer it writes - but
only a person's labels, through two POST endpoints that demand a per-session token (in the
page, which another origin cannot read), a JSON body and, when the browser sends one, this
origin in `Origin`. Everything else is GET.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Callable
from importlib import resources
from typing import Any

from aiohttp import web

from latentwall.errors import LatentwallError
from latentwall.records import KEYMAP, NOTE_MAX, parse_key_id
from latentwall.report import (
    Viewer,
    add_page_routes,
    harden,
    serve_until_interrupted,
    start_in_thread,
)
from latentwall.report import json_response as _json
from latentwall.review._session import ReviewConflict, ReviewSession

TOKEN_HEADER = "X-Review-Token"
_POSTS = ("/api/label", "/api/undo")


def _asset(name: str) -> str:
    return resources.files("latentwall.review").joinpath("assets", name).read_text("utf-8")


def state(session: ReviewSession) -> dict[str, Any]:
    item = session.current()
    return {"progress": session.progress().to_dict(), "blind": session.blind,
            "item": None if item is None else item.to_dict(blind=session.blind),
            "keys": KEYMAP, "note_max": NOTE_MAX}


def make_review_app(session: ReviewSession, allowed_hosts: Callable[[], set[str]], token: str) -> web.Application:
    lock = threading.Lock()  # one reviewer, one session: requests take turns

    @web.middleware
    async def guard(request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        if request.host not in allowed_hosts():
            return web.Response(status=403, text="forbidden host")
        if request.method == "POST":
            origin = request.headers.get("Origin")
            if request.path not in _POSTS:
                return web.Response(status=405, text="read-only")
            if (not secrets.compare_digest(request.headers.get(TOKEN_HEADER, ""), token)
                    or (origin is not None and origin.removeprefix("http://") not in allowed_hosts())
                    or request.content_type != "application/json"):
                return web.Response(status=403, text="forbidden")
        elif request.method not in ("GET", "HEAD"):
            return web.Response(status=405, text="read-only")
        try:
            resp = await handler(request)
        except web.HTTPException as exc:
            resp = exc
        return harden(resp)

    async def locked(fn: Callable[[], Any]) -> Any:
        def run() -> Any:
            with lock:
                return fn()
        return await asyncio.to_thread(run)

    page = _asset("review.html").replace("__TOKEN__", token)  # hex: nothing to escape
    assets = {"review.js": ("application/javascript", _asset("review.js")),
              "review.css": ("text/css", _asset("review.css"))}

    async def get_state(request: web.Request) -> web.Response:
        return _json(await locked(lambda: state(session)))

    async def post_label(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            key = parse_key_id(str(body["id"]))
            label, note = str(body["label"]), str(body.get("note") or "")
        except (ValueError, KeyError, TypeError):
            return _json({"error": "need id and label"}, status=400)

        def run() -> dict[str, Any]:
            session.label(key, label, note)
            return state(session)
        try:
            return _json(await locked(run))
        except ReviewConflict as exc:
            return _json({"error": str(exc), **await locked(lambda: state(session))}, status=409)
        except LatentwallError as exc:
            return _json({"error": str(exc)}, status=400)

    async def post_undo(request: web.Request) -> web.Response:
        def run() -> dict[str, Any]:
            undone = session.undo()
            return {**state(session), "undone": undone is not None}
        return _json(await locked(run))

    app = web.Application(middlewares=[guard], client_max_size=64 * 1024)
    add_page_routes(app, page, assets)
    app.router.add_get("/api/state", get_state)
    app.router.add_post("/api/label", post_label)
    app.router.add_post("/api/undo", post_undo)
    return app


def start_review_server(session: ReviewSession, host: str = "127.0.0.1", port: int = 0) -> Viewer:
    """Serve the session on a background thread (tests, embedding); `.stop()` ends it."""
    token = secrets.token_hex(16)
    return start_in_thread(lambda allowed: make_review_app(session, allowed, token), host, port, "latentwall-review")


def serve_review(session: ReviewSession, host: str = "127.0.0.1", port: int = 0, open_browser: bool = False,
                 *, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve until Ctrl-C (the CLI)."""
    token = secrets.token_hex(16)
    serve_until_interrupted(
        lambda allowed: make_review_app(session, allowed, token), host, port, open_browser, on_ready,
        lambda url: f"latentwall review on {url} (reviewer {session.reviewer}, {session.queue} queue); Ctrl-C to stop")
