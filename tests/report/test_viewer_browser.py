"""One real-browser test (Debian's headless Chromium via Selenium and chromedriver): the live
viewer loads, filters by label, opens a drill-down and is screenshotted; the static report
opens, and clicking a heat-map cell filters its response table. Hostile answers render as
text in both and run nothing."""

from __future__ import annotations

from _browser import BROWSER_MARKS, assert_inert, wait
from latentwall.judges import Judgement
from latentwall.report import start_viewer, write_report
from latentwall.store import ResultRecord, Store
from latentwall.suites import Probe
from latentwall.targets import Response
from latentwall.testing import synthetic_store

# Each would set window.__pwned (or navigate) if it ever became markup or script.
XSS = [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1">',
    '"><svg onload="window.__pwned=1">',
    "javascript:window.__pwned=1",
    "evil\u202eeulav",
]

pytestmark = BROWSER_MARKS


def goto(driver, url):
    """Navigate within the viewer and wait for the view it triggers to finish rendering."""
    before = driver.execute_script("return document.body && document.body.getAttribute('data-ready')")
    driver.get(url)
    wait(driver, f"document.body.getAttribute('data-ready') && document.body.getAttribute('data-ready') !== {before!r}"
         if before else "document.body.getAttribute('data-ready')")


def add_hostile_run(run_dir):
    with Store.open(run_dir) as store:
        store.create_run("evil", "evil", {"judge": "markers", "target_label": "evil-model"})
        probes = [Probe(id=f"s/x/q{i}/en", suite="s", text="q", language="en", topic="xss",
                        category="political", kind="factual", group=f"s/q{i}", expected={})
                  for i in range(len(XSS))]
        store.add_probes("evil", list(enumerate(probes)))
        store.write_results([
            ResultRecord("evil", probes[i].id, "", 0, f"x{i}", f"prompt {p}",
                         Response(text=p, model="m"), Judgement("DENIAL", p, (p,)), "markers")
            for i, p in enumerate(XSS)
        ])
        store.update_run("evil", status="finished")


def test_viewer_and_report_in_chromium(tmp_path, browser):
    run_dir = tmp_path / "runs"
    synthetic_store(run_dir, 600, languages=("en", "zh-Hans"), stance=True)  # stance as a pass stores it
    add_hostile_run(run_dir)
    d = browser
    with start_viewer(run_dir) as viewer:
        # load: the heat map draws targets × topics, every cell a link to its responses
        goto(d, viewer.url + "#view=heat")
        assert wait(d, "document.querySelectorAll('#h-body td.hm a').length") >= 10
        heads = d.execute_script(
            "return Array.from(document.querySelectorAll('#h-head th')).map(t => t.textContent)")
        assert heads == ["Topic", "evil-model", "model-a", "model-b"]
        # a heat-map cell links to the filtered drill-down list
        target, topic = d.execute_script(
            "const a = document.querySelector('#h-body td.hm:not(.empty) a'); const td = a.closest('td');"
            "const col = Array.from(td.parentNode.children).indexOf(td);"
            "const out = [document.querySelectorAll('#h-head th')[col].textContent,"
            " td.parentNode.querySelector('th').textContent]; a.click(); return out;")
        wait(d, "location.hash.includes('view=responses') && document.querySelectorAll('#v-body tr.resp').length")
        assert d.execute_script("return document.getElementById('f-target').value") == target
        assert d.execute_script("return document.getElementById('f-topic').value") == topic
        metas = d.execute_script(
            "return Array.from(document.querySelectorAll('#v-body td.meta')).map(t => t.textContent)")
        assert metas and all(m.startswith(target) and f"· {topic} ·" in m for m in metas)
        # filter by label through the select, as a user would
        from selenium.webdriver.support.ui import Select

        goto(d, viewer.url + "#view=responses&target=model-a")
        Select(d.find_element("id", "f-label")).select_by_value("DENIAL")
        wait(d, "location.hash.includes('label=DENIAL') && document.body.getAttribute('data-ready')")
        wait(d, "Array.from(document.querySelectorAll('#v-body .badge')).every(b => b.textContent === 'DENIAL')"
                " && document.querySelectorAll('#v-body .badge').length > 0")
        info = d.find_element("id", "r-info").text
        assert info.startswith("Showing 1–") and " of " in info
        # open a drill-down
        d.find_element("css selector", "#v-body button.open").click()
        wait(d, "!document.getElementById('v-drill').hidden && document.querySelector('#drill-body h2')")
        assert "model-a" in d.find_element("css selector", "#drill-body h2").text
        # the stance a stance pass stored is shown (issue 11: the viewer used to miss it)
        stance = d.execute_script(
            "const dt = Array.from(document.querySelectorAll('#drill-body dt'))"
            ".find(t => t.textContent === 'Narrative stance'); return dt && dt.nextElementSibling.textContent;")
        assert stance and stance.split(" ")[0].rstrip(":") in ("STATE_ALIGNED", "INDEPENDENT", "MIXED", "NOT_APPLICABLE"), stance
        shot = tmp_path / "viewer.png"
        assert d.save_screenshot(str(shot)) and shot.stat().st_size > 5_000
        # hostile answers are text
        goto(d, viewer.url + "#view=responses&run=evil")
        wait(d, "document.querySelectorAll('#v-body tr.resp').length === 5")
        texts = d.execute_script(
            "return Array.from(document.querySelectorAll('#v-body td.answer .txt')).map(t => t.textContent)")
        shown = {x.replace("\u202e", "⟨U+202E⟩") for x in XSS}
        assert set(texts) == shown  # markup as text; the RTL override made visible
        d.find_element("css selector", "#v-body button.open").click()
        wait(d, "document.querySelector('#drill-body h2')")
        assert_inert(d)
        # diff two targets side by side
        goto(d, viewer.url + "#view=diff&a=model-a&b=model-b&only=1")
        wait(d, "document.querySelectorAll('#d-body tr.differ').length > 0")

    # the static report: open from disk, click a heat-map cell, the table filters to it
    def rows():
        with Store.open(run_dir) as store:
            for run_id in ("run-0", "run-1", "evil"):
                yield from store.iter_results(run_id)

    report = write_report([], rows, tmp_path / "report.html")
    d.get(report.as_uri())
    wait(d, "performance.getEntriesByName('lw-interactive').length")
    cell = d.execute_script(
        "const a = document.querySelector('#heatmap td.hm[data-t=\"1\"] a'); a.click();"
        "return a.closest('td').getAttribute('data-p');")
    topic = d.execute_script("return document.querySelectorAll('#heatmap tbody th')[arguments[0]].textContent",
                             int(cell))
    assert d.execute_script("return document.getElementById('f-target').value") == "model-a"
    assert d.execute_script("return document.getElementById('f-topic').value") == topic
    metas = d.execute_script(
        "return Array.from(document.querySelectorAll('#resp-body td.meta')).map(t => t.textContent)")
    assert metas and all(m.startswith("model-a") and f"· {topic} ·" in m for m in metas)
    # the language facet redraws the cells without a server
    d.execute_script("const s = document.getElementById('hm-language'); s.value = '1';"
                     "s.dispatchEvent(new Event('change'));")
    assert d.find_element("id", "hm-facet").text == "Not complete (evasive + denial) · zh-Hans"
    d.execute_script("const t = document.getElementById('f-topic'); t.value = t.options[0].value;"
                     "t.dispatchEvent(new Event('change'));"
                     # the report names the hostile run by the model its responses record ("m")
                     "const s = document.getElementById('f-target'); s.value = 'm';"
                     "s.dispatchEvent(new Event('change'));")
    assert_inert(d)
    answers = d.execute_script(
        "return Array.from(document.querySelectorAll('#resp-body td.answer .txt')).map(t => t.textContent)")
    assert "<script>window.__pwned=1</script>" in answers and "evil⟨U+202E⟩eulav" in answers
    assert d.save_screenshot(str(tmp_path / "report.png"))
