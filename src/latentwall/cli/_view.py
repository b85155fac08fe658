"""`latentwall view`: the live viewer on 127.0.0.1."""

from __future__ import annotations

import argparse

from latentwall.cli._command import command


def arguments(vw: argparse.ArgumentParser) -> None:
    vw.add_argument("run_dir", nargs="?", default=None, metavar="RUN_DIR")
    vw.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    vw.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    vw.add_argument("--open", action="store_true", help="open it in the default browser")


@command("view", "live viewer of the runs in a run directory, on 127.0.0.1", arguments=arguments, order=120)
def handle(args: argparse.Namespace) -> int:
    from latentwall.report import serve_viewer
    from latentwall.store import default_run_dir

    serve_viewer(args.run_dir or default_run_dir(), host=args.host, port=args.port, open_browser=args.open)
    return 0
