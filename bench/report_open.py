"""How fast a report of N responses (default 10,000; run it at 100,000 too) is written and
opens and filters in headless Chromium, and how much memory writing it takes.

Writes N synthetic responses (3 targets, 25 topics, 3 languages, 2 locales) into a real
store, renders the report from it, opens the file in Debian's Chromium (no browser is ever
downloaded) and reads two numbers from the page itself:
  - time to interactive: navigation start → the `lw-interactive` performance mark that
    report.js sets once the explorer and heat map are drawn;
  - filter latency: a heat-map cell click, a label filter and a text search, each timed
    from the event to the end of the re-render (synchronous in the page).
The report is written in a child process, so its peak resident memory (ru_maxrss) is the
report's alone. Budgets (issues 9 and 12): opens in under 3 s; at 100,000 responses peak
memory <= 300 MB. Usage: .venv/bin/python bench/report_open.py [N] [--max-responses M]
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from latentwall.report import write_report
from latentwall.store import Store
from latentwall.testing import write_synthetic_run

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1000")
TOPICS = tuple(f"topic-{i:02d}" for i in range(25))


def build(tmp: Path, n: int) -> tuple[Path, float, float]:
    t0 = time.perf_counter()
    with Store.open(tmp / "runs") as store:
        for t in range(3):
            write_synthetic_run(store, f"run-{t}", f"model-{t}", n // 3 + (t < n % 3),
                                topics=TOPICS, languages=("en", "zh-Hans", "ru"),
                                conditions=("", "persona-cn"), label_shift=t)
        ids = [r["run_id"] for r in store.list_runs()]
    t1 = time.perf_counter()
    path = tmp / "report.html"
    subprocess.run([sys.executable, __file__, "--write", str(tmp), json.dumps(ids), str(MAX_RESPONSES)], check=True)
    return path, t1 - t0, time.perf_counter() - t1


def write(tmp: Path, ids: list[str], max_responses: int | None) -> None:
    """The child: write the report of the runs (store read twice, streamed)."""
    def rows():
        with Store.open(tmp / "runs") as s:
            for i in ids:
                yield from s.iter_results(i)

    write_report([], rows, tmp / "report.html", max_responses=max_responses)


MAX_RESPONSES: int | None = None


def driver(profile: Path):
    os.environ.setdefault("SE_OFFLINE", "true")
    os.environ.setdefault("SE_AVOID_STATS", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


TIMED = """
const t0 = performance.now();
%s
return performance.now() - t0;
"""


def measure(d, url: str) -> dict[str, float]:
    d.get(url)
    end = time.monotonic() + 30
    while not d.execute_script("return performance.getEntriesByName('lw-interactive').length"):
        if time.monotonic() > end:
            raise SystemExit("report never became interactive")
        time.sleep(0.02)
    nav = d.execute_script(
        "const n = performance.getEntriesByType('navigation')[0];"
        "return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd,"
        " tti: performance.getEntriesByName('lw-interactive')[0].startTime};")
    out = {"time_to_interactive_ms": nav["tti"], "dom_content_loaded_ms": nav["dcl"]}
    out["heat_cell_click_ms"] = d.execute_script(TIMED % (
        "document.querySelector('#heatmap td.hm[data-t=\"1\"][data-p=\"3\"] a').click();"))
    out["filter_label_ms"] = d.execute_script(TIMED % (
        "const s = document.getElementById('f-label'); s.value = 'DENIAL';"
        "s.dispatchEvent(new Event('change'));"))
    out["clear_filters_ms"] = d.execute_script(TIMED % (
        "for (const n of ['target','topic','label']) { const s = document.getElementById('f-' + n);"
        " s.value = s.options[0].value; s.dispatchEvent(new Event('change')); }"))
    out["heat_facet_language_ms"] = d.execute_script(TIMED % (
        "const s = document.getElementById('hm-language'); s.value = '2';"
        "s.dispatchEvent(new Event('change'));"))
    # the search box is debounced (150 ms): time input → table redrawn, minus the debounce
    # (the first search also builds the lower-cased haystack of every row)
    out["search_ms"] = d.execute_async_script("""
const done = arguments[arguments.length - 1];
const body = document.getElementById('resp-body');
const q = document.getElementById('f-q');
const t0 = performance.now();
new MutationObserver((m, obs) => { obs.disconnect(); done(performance.now() - t0 - 150); })
  .observe(body, {childList: true});
q.value = 'question 7'; q.dispatchEvent(new Event('input'));
""")
    out["rows_shown_after_search"] = d.execute_script(
        "return document.querySelectorAll('#resp-body tr').length")
    return out


def main() -> None:
    global MAX_RESPONSES
    if sys.argv[1:2] == ["--write"]:
        cap = int(sys.argv[4])
        write(Path(sys.argv[2]), json.loads(sys.argv[3]), cap or None)
        return
    args = sys.argv[1:]
    if "--max-responses" in args:
        i = args.index("--max-responses")
        MAX_RESPONSES = int(args[i + 1])
        del args[i:i + 2]
    n = int(args[0]) if args else 10_000
    if MAX_RESPONSES is None:
        MAX_RESPONSES = 0 if n <= 20_000 else 20_000  # the report's default cap
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        path, t_store, t_report = build(tmp, n)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        d = driver(tmp / "profile")
        try:
            d.get("about:blank")  # warm the browser process once, then measure cold page loads
            runs = [measure(d, path.as_uri()) for _ in range(3)]
        finally:
            d.quit()
        best = {k: round(min(r[k] for r in runs), 1) for k in runs[0]}
        worst = {k: round(max(r[k] for r in runs), 1) for k in runs[0]}
        print(json.dumps({
            "responses": n, "report_bytes": path.stat().st_size,
            "inlined": MAX_RESPONSES or n, "store_write_s": round(t_store, 2),
            "report_write_s": round(t_report, 2), "report_peak_rss_mb": round(peak_mb, 1),
            "best_of_3": best, "worst_of_3": worst,
            "budget_ok": worst["time_to_interactive_ms"] < 3000 and (n < 100_000 or peak_mb <= 300),
        }, indent=1))


if __name__ == "__main__":
    main()
