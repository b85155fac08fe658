"""Live viewer: `latentwall view [RUN_DIR]` serves a run directory's store on 127.0.0.1.

Every request is answered by the store's viewer queries (`store.ViewerQueries`: SQLite in
WAL mode, so a running audit keeps writing while we read): filtering, counting and paging
happen in SQLite and each answer carries at most one page of rows, so the viewer's memory
stays flat however large the runs grow. The page polls /api/runs and redraws when the store
changes. A response shows its narrative stance when a stance pass (`latentwall stance`)
stored one.

Model output is hostile input: the API returns it as JSON only (with '<', '>' and '&'
escaped, nosniff), the page's script puts it on screen with textContent only, and a strict
Content-Security-Policy allows nothing but this origin's own script and style. The server
binds loopback addresses only and rejects requests whose Host header names another host
(DNS rebinding), since it has no authentication.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from latentwall.errors import ConfigError
from latentwall.report._format import blob_json
from latentwall.store import DB_NAME, QueryError, StoreUnavailable, ViewerQueries

LOOPBACK = ("127.0.0.1", "localhost", "::1")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


# ---------------------------------------------------------------- HTTP


def json_response(data: Any, status: int = 200) -> web.Response:
    """A JSON API answer of a loopback page (escaped for embedding, never cached)."""
    return web.Response(text=blob_json(data), status=status, content_type="application/json",
                        headers={"Cache-Control": "no-store"})


def add_page_routes(app: web.Application, page: str, assets: dict[str, tuple[str, str]]) -> None:
    """The page at / and its assets at /assets/NAME ({name: (content type, text)}): the page
    never cached, an unknown asset 404. Shared by the viewer and the review page."""

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-store"})

    async def asset(request: web.Request) -> web.Response:
        found = assets.get(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound()
        return web.Response(text=found[1], content_type=found[0], charset="utf-8")

    app.router.add_get("/", index)
    app.router.add_get("/assets/{name}", asset)


def _asset(name: str) -> str:
    return resources.files("latentwall.report").joinpath("assets", name).read_text("utf-8")


def harden(resp: web.StreamResponse) -> web.StreamResponse:
    """The headers every loopback page answers with: a strict CSP, no sniffing, no referrer,
    no embedding, same-origin resources only."""
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    resp.headers["X-Frame-Options"] = "DENY"
    return resp


def make_app(db: Path, allowed_hosts: Callable[[], set[str]]) -> web.Application:
    """The aiohttp application over one store; `allowed_hosts` gives the valid Host headers."""
    reader = ViewerQueries(db)

    @web.middleware
    async def guard(request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        if request.host not in allowed_hosts():
            return web.Response(status=403, text="forbidden host")
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405, text="read-only")
        try:
            resp = await handler(request)
        except web.HTTPException as exc:
            resp = exc
        return harden(resp)

    def api(fn: Callable[[Mapping[str, str]], Any]) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            try:
                data = await asyncio.to_thread(fn, dict(request.query))
            except QueryError as exc:
                raise web.HTTPBadRequest(text=str(exc)) from None
            except StoreUnavailable as exc:
                raise web.HTTPServiceUnavailable(text=str(exc)) from None
            if data is None:
                return json_response({"error": "not found"}, status=404)
            return json_response(data)

        return handler

    page = _asset("viewer.html")
    assets = {
        "viewer.js": ("application/javascript", _asset("viewer.js")),
        "viewer.css": ("text/css", _asset("report.css") + "\n" + _asset("viewer.css")),
    }

    app = web.Application(middlewares=[guard])
    add_page_routes(app, page, assets)
    app.router.add_get("/api/runs", api(lambda q: reader.runs()))
    app.router.add_get("/api/facets", api(reader.facets))
    app.router.add_get("/api/heatmap", api(reader.heatmap))
    app.router.add_get("/api/responses", api(reader.responses))
    app.router.add_get("/api/response", api(reader.response))
    app.router.add_get("/api/diff", api(reader.diff))
    return app


def _db_path(run_dir: str | Path) -> Path:
    p = Path(run_dir)
    if p.suffix == ".db" or p.is_file():
        return p
    if p.exists() and not p.is_dir():
        raise ConfigError(f"{p} is neither a run directory nor a .db file")
    return p / DB_NAME


def _check_host(host: str) -> None:
    if host not in LOOPBACK:
        raise ConfigError(f"the viewer serves loopback only (127.0.0.1, ::1, localhost), not {host}:"
                          " it has no authentication and shows raw model output")


@dataclass
class Viewer:
    """A viewer running on its own thread (tests, benches, embedding)."""

    url: str
    port: int
    _loop: asyncio.AbstractEventLoop
    _runner: web.AppRunner
    _thread: threading.Thread

    def stop(self) -> None:
        fut = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
        fut.result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> Viewer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


AppFactory = Callable[[Callable[[], set[str]]], web.Application]


async def start_app(make: AppFactory, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Bind an app built by `make(allowed_hosts)` on host:port (0: a free port); the Host
    header it accepts names the port actually bound (DNS rebinding)."""
    bound: list[int] = []

    def allowed() -> set[str]:
        p = bound[0] if bound else port
        return {f"127.0.0.1:{p}", f"localhost:{p}", f"[::1]:{p}"}

    runner = web.AppRunner(make(allowed), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    addresses = runner.addresses
    bound.append(int(addresses[0][1]) if addresses else port)
    return runner, bound[0]


def _url(host: str, port: int) -> str:
    shown = "[::1]" if host == "::1" else host
    return f"http://{shown}:{port}/"


def start_in_thread(make: AppFactory, host: str, port: int, name: str) -> Viewer:
    """Serve an app on a background thread and return once it accepts connections (the
    viewer's and the review page's `start_*`: tests, embedding); `.stop()` ends it."""
    _check_host(host)
    loop = asyncio.new_event_loop()
    started: dict[str, Any] = {}
    ready = threading.Event()

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            started["runner"], started["port"] = loop.run_until_complete(start_app(make, host, port))
        except BaseException as exc:
            started["error"] = exc
            ready.set()
            return
        ready.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=main, name=name, daemon=True)
    thread.start()
    ready.wait(30)
    if "error" in started:
        raise ConfigError(f"cannot serve on {host}:{port}: {started['error']}")
    return Viewer(_url(host, started["port"]), started["port"], loop, started["runner"], thread)


def serve_until_interrupted(make: AppFactory, host: str, port: int, open_browser: bool,
                            on_ready: Callable[[str], None] | None, banner: Callable[[str], str]) -> None:
    """Serve an app until Ctrl-C; `on_ready(url)` once listening (default: print `banner(url)`
    on stderr)."""
    _check_host(host)

    async def main() -> None:
        try:
            runner, bound = await start_app(make, host, port)
        except OSError as exc:
            raise ConfigError(f"cannot serve on {host}:{port}: {exc.strerror}") from None
        url = _url(host, bound)
        if on_ready is not None:
            on_ready(url)
        else:
            print(banner(url), file=sys.stderr, flush=True)
        if open_browser:
            webbrowser.open(url)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass


def start_viewer(run_dir: str | Path, host: str = "127.0.0.1", port: int = 0) -> Viewer:
    """Start the viewer on a background thread and return once it accepts connections."""
    _check_host(host)
    db = _db_path(run_dir)
    return start_in_thread(lambda allowed: make_app(db, allowed), host, port, "latentwall-viewer")


def serve_viewer(
    run_dir: str | Path,
    host: str = "127.0.0.1",
    port: int = 0,
    open_browser: bool = False,
    *,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the run directory (or .db) until Ctrl-C; port 0 picks a free port.

    `on_ready(url)` is called once listening (default: print the URL on stderr).
    """
    _check_host(host)
    db = _db_path(run_dir)
    serve_until_interrupted(lambda allowed: make_app(db, allowed), host, port, open_browser, on_ready,
                            lambda url: f"latentwall viewer on {url} (store {db}); Ctrl-C to stop")
