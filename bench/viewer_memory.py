"""The live viewer's memory while a run grows from 1k to 50k responses.

Starts the viewer in its own process on a synthetic run directory, appends responses to a
"running" run through the real store API (as an audit would), and after each step requests
what a user's page does: run status, facets, heat map (all facets), response pages at the
start, middle and end with filters and a search, a two-target diff and drill-downs. RSS is
read from /proc after each step. The viewer keeps no rows between requests, so RSS should
stay flat: growth from the first to the last step is what this prints.
Usage: .venv/bin/python bench/viewer_memory.py [MAX_ROWS]
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from latentwall.store import Store
from latentwall.testing import write_synthetic_run

STEPS = (1_000, 5_000, 10_000, 20_000, 30_000, 40_000, 50_000)


def rss_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in kB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields["VmRSS"], fields["VmHWM"]


def fetch(base: str, path: str, **params: object) -> tuple[float, int]:
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as resp:
        body = resp.read()
    return time.perf_counter() - t, len(body)


def browse(base: str, total: int) -> dict[str, float]:
    """One user session's worth of requests; returns the slowest latency per endpoint (ms)."""
    times: dict[str, float] = {}

    def hit(name: str, path: str, **params: object) -> None:
        dt, _ = fetch(base, path, **params)
        times[name] = max(times.get(name, 0.0), 1000 * dt)

    hit("runs", "/api/runs")
    hit("facets", "/api/facets")
    hit("heatmap", "/api/heatmap")
    hit("heatmap", "/api/heatmap", language="zh-Hans", condition="persona-cn")
    for offset in (0, total // 4, max(0, total // 2 - 200)):
        hit("responses", "/api/responses", offset=offset, limit=200)
    hit("responses", "/api/responses", label="DENIAL", topic="taiwan", limit=50)
    hit("search", "/api/responses", q="question 12", limit=50)
    hit("diff", "/api/diff", a="model-a", b="model-b", only="1", limit=25)
    hit("response", "/api/response", run="grow-a", probe="synth/tiananmen/q000000/en",
        condition="", sample=0)
    return times


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(base: str, proc: subprocess.Popen[str], timeout: float = 30.0) -> None:
    """Poll the viewer's front page (its startup message is for people, not for parsing)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"the viewer exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(base + "/", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the viewer did not answer on {base} within {timeout:.0f} s")


def main() -> None:
    top = int(sys.argv[1]) if len(sys.argv) > 1 else STEPS[-1]
    steps = [s for s in STEPS if s <= top] or [top]
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "runs"
        store = Store.open(run_dir)
        # the viewer as a user starts it: `latentwall view`, on a port chosen here
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen([sys.executable, "-m", "latentwall", "view", str(run_dir), "--port", str(port)],
                                stderr=subprocess.DEVNULL, text=True)
        try:
            wait_until_up(base, proc)
            written = 0
            report = []
            for step in steps:
                # two targets growing side by side, so the diff has pairs to compare
                add = (step - written) // 2
                for t, name in enumerate(("a", "b")):
                    write_synthetic_run(store, f"grow-{name}", f"model-{name}", add,
                                        start=written // 2, status="running",
                                        conditions=("", "persona-cn"), label_shift=t)
                written += 2 * add
                latency = browse(base, written)
                latency = {k: max(v, browse(base, written)[k]) for k, v in latency.items()}
                rss, hwm = rss_kb(proc.pid)
                report.append({"rows": written, "rss_mb": round(rss / 1024, 1),
                               "peak_mb": round(hwm / 1024, 1),
                               "slowest_ms": {k: round(v, 1) for k, v in latency.items()}})
                print(json.dumps(report[-1]), flush=True)
            growth = report[-1]["rss_mb"] - report[0]["rss_mb"]
            print(json.dumps({"rss_growth_mb": round(growth, 1),
                              "rows_growth": report[-1]["rows"] - report[0]["rows"],
                              "db_mb": round(store.path.stat().st_size / 2**20, 1)}))
        finally:
            proc.terminate()
            proc.wait(10)
            store.close()


if __name__ == "__main__":
    main()
