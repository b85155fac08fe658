"""The shared pieces of the real-browser tests (Debian's headless Chromium via Selenium and
chromedriver, never downloaded): the skip marks, the browser fixture, polling, and the check
that hostile answers stayed text."""

from __future__ import annotations

import importlib.util
import os
import shutil
import time
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("LATENTWALL_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("LATENTWALL_CHROMEDRIVER", "/usr/bin/chromedriver"))
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1000")
BROWSER_MARKS = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
    pytest.mark.skipif(not CHROMEDRIVER.exists(),
                       reason=f"no chromedriver at {CHROMEDRIVER} (apt-get install chromium-driver)"),
    pytest.mark.skipif(importlib.util.find_spec("selenium") is None,
                       reason="selenium is not installed (pip install -e '.[dev]')"),
]


@pytest.fixture
def browser(tmp_path, monkeypatch):
    # Never let Selenium Manager look for (or download) a driver or a browser.
    monkeypatch.setenv("SE_OFFLINE", "true")
    monkeypatch.setenv("SE_AVOID_STATS", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)


def wait(driver, script, timeout=15.0):
    """Poll a JS expression until truthy; return its value."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = driver.execute_script(f"return ({script});")
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for: {script}")


def assert_inert(driver):
    assert driver.execute_script("return window.__pwned === undefined")
    hostile = "main img, main script:not([type='application/json']), main iframe, main foreignObject"
    assert driver.execute_script(f"return document.querySelectorAll({hostile!r}).length") == 0
    # the only SVGs are our charts, each the one child of its figure besides the caption
    assert driver.execute_script(
        "return Array.from(document.querySelectorAll('main svg')).every("
        "s => s.parentElement.matches('figure.chart') && s.matches('svg.lw-chart'))")
