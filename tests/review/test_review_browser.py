"""The review page in Debian's headless Chromium (Selenium + chromedriver, never downloaded):
a reviewer labels a handful of responses with the keyboard (a note, an undo), the real
`latentwall review` process is stopped and started again, the page resumes where it was,
the labels are in the store, `review --stats` shows agreement; hostile answers are text."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from _review_fixtures import make_store

from _browser import BROWSER_MARKS, assert_inert, wait
from _helpers import cli_env, run_cli
from latentwall.review import read_human_labels
from latentwall.store import Store

pytestmark = BROWSER_MARKS
SHOTS = os.environ.get("LATENTWALL_SCREENSHOT_DIR")  # set to keep the screenshots (docs)


def start_review(run_dir: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "latentwall", "review", "--run-dir", str(run_dir),
                             "--name", "bea", "--sample", "10", *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=cli_env())
    line = proc.stderr.readline()
    assert "latentwall review on http://127.0.0.1:" in line, line
    return proc, line.split(" on ", 1)[1].split(" ", 1)[0]


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0


def press(driver, key: str, done: int | None = None) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    before = driver.execute_script("return document.body.getAttribute('data-ready')")
    ActionChains(driver).send_keys(key).perform()
    if done is not None:
        wait(driver, f"document.body.getAttribute('data-ready') !== {before!r}"
                     f" && document.getElementById('count').textContent.startsWith('{done} / 10')")


def test_label_with_the_keyboard_restart_and_resume(tmp_path, browser):
    run_dir = tmp_path / "runs"
    db = make_store(run_dir, hostile=True)
    d = browser
    proc, url = start_review(run_dir)
    try:
        d.get(url)
        wait(d, "document.body.getAttribute('data-ready')")
        assert d.find_element("id", "count").text.startswith("0 / 10")
        first = d.find_element("id", "meta").text
        assert " · run run-" in first and d.find_element("css selector", "#machine .badge").text
        press(d, "e", done=1)
        assert "Labelled EVASIVE" in d.find_element("id", "last").text
        press(d, "n")
        wait(d, "document.activeElement === document.getElementById('note')")
        d.find_element("id", "note").send_keys("official line; d and e typed here are text")
        press(d, "\ue00c")  # Escape: back to the keys, the note kept for the next label
        wait(d, "document.activeElement !== document.getElementById('note')")
        press(d, "d", done=2)
        assert "with a note" in d.find_element("id", "last").text
        assert not d.find_element("id", "note-wrap").is_displayed() and not d.find_element("id", "note").get_attribute("value")
        press(d, "c", done=3)
        press(d, "z", done=2)
        assert d.find_element("id", "last").text == "Undone"
        press(d, "u", done=3)
        press(d, "s", done=4)
        # hostile answers are text: none ran, none became markup
        assert_inert(d)
        if SHOTS:
            d.save_screenshot(str(Path(SHOTS) / "review-page.png"))
        shot = tmp_path / "review.png"
        assert d.save_screenshot(str(shot)) and shot.stat().st_size > 5_000
        shown = d.find_element("id", "answer").text
        assert shown  # the current answer is on screen
    finally:
        stop(proc)

    # a restart: the page resumes with the labels kept; the store holds them as human:bea
    proc, url = start_review(run_dir)
    try:
        d.get(url)
        wait(d, "document.getElementById('count').textContent.startsWith('4 / 10')")
        assert d.find_element("id", "undo-btn").get_attribute("disabled")  # nothing to undo in a new sitting
    finally:
        stop(proc)
    with Store(db, readonly=True) as store:
        labels = [lab for run in ("run-a", "run-b") for lab in read_human_labels(store, run, "bea")]
    assert sorted(lab.label for lab in labels) == ["DENIAL", "EVASIVE", "SKIP", "UNSURE"]
    assert [lab.note for lab in labels if lab.label == "DENIAL"] == ["official line; d and e typed here are text"]
    assert all(lab.queue == "random" and lab.sample == 0 and lab.machine for lab in labels)
    p = run_cli("review", "--run-dir", str(run_dir), "--stats", "--json", "--draws", "200")
    st = json.loads(p.stdout)
    assert st["human_vs_machine"]["n"] == 2 and st["correction"]["excluded"] == {"skip": 1, "unsure": 1}

    # A colleague labels the rest of a larger random sample elsewhere and imports it (the
    # judge missed some refusals: every 7th answer is a DENIAL to her); the report then
    # shows agreement and corrected rates with intervals, in the browser.
    todo, done = tmp_path / "todo.jsonl", tmp_path / "done.jsonl"
    assert run_cli("review", "--run-dir", str(run_dir), "--name", "cy", "--sample", "80",
                   "--export-queue", str(todo)).returncode == 0
    queue = [json.loads(x) for x in todo.read_text("utf-8").splitlines()]
    done.write_text("".join(json.dumps({**r, "label": "DENIAL" if i % 7 == 3 else r["machine_label"]}) + "\n"
                            for i, r in enumerate(queue)), "utf-8")
    assert json.loads(run_cli("review", "--run-dir", str(run_dir), "--import", str(done), "--json").stdout)["new"] \
        == len(queue)
    report = tmp_path / "report.html"
    p = run_cli("report", "--run-dir", str(run_dir), "-o", str(report))
    assert p.returncode == 0, p.stderr
    d.get(report.as_uri())
    text = wait(d, "document.getElementById('review') && document.getElementById('review').innerText")
    assert "Run judge vs people on the random sample" in text and "Cohen's kappa" in text
    assert "corrected rate" in text and "Findings after correction" in text
    cells = d.execute_script("return [...document.querySelectorAll('#review table.corrected td')]"
                             ".map(td => td.innerText)")
    assert any("→" in c and c.count("[") == 2 for c in cells), cells  # machine [..] → corrected [..]
    assert_inert(d)
    if SHOTS:
        d.execute_script("document.getElementById('review').scrollIntoView()")
        d.save_screenshot(str(Path(SHOTS) / "review-report.png"))
    summary = json.loads(run_cli("summary", "--run-dir", str(run_dir), "--json").stdout)
    groups = summary["review"]["summary"]["correction"]["groups"]
    assert any(g["status"] == "ok" and g["rates"]["DENIAL"]["corrected"]["lo"] is not None for g in groups)


def test_blind_queue_hides_the_verdict_in_the_browser(tmp_path, browser):
    run_dir = tmp_path / "runs"
    make_store(run_dir)
    proc, url = start_review(run_dir, "--blind", "--queue", "triage")
    try:
        browser.get(url)
        wait(browser, "document.body.getAttribute('data-ready')")
        assert "Blind review" in browser.find_element("id", "machine").text
        assert browser.find_element("id", "rationale").get_attribute("hidden")
        assert "triage queue · blind" in browser.find_element("id", "who").text
        time.sleep(0.1)
    finally:
        stop(proc)
