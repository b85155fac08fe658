/* latentwall report: response explorer.
 * Model output is hostile input: every model-derived string reaches the page through
 * textContent or new Option(), never innerHTML, never a URL or an attribute. */
(function () {
  "use strict";

  var LABELS = ["COMPLETE", "EVASIVE", "DENIAL", "ERROR", "EMPTY", "TRUNCATED",
    "FILTERED", "JUDGE_ERROR", "UNJUDGED"];
  var FILTERS = ["target", "suite", "topic", "language", "condition", "label"];
  var SEARCHED = ["prompt", "text", "reasoning", "rationale", "probe_id", "error"];
  var CLAMP_CHARS = 600;
  var CLAMP_LINES = 8;

  var blob = document.getElementById("lw-data");
  var body = document.getElementById("resp-body");
  if (!blob || !body) { return; }
  var data = JSON.parse(blob.textContent);
  var rows = data.rows;
  var F = {};
  data.fields.forEach(function (name, i) { F[name] = i; });

  var state = { page: 0, size: 50, query: "", sel: {} };
  var matches = [];
  var haystack = null;

  function val(row, name) {
    var v = row[F[name]];
    return v === null || v === undefined ? "" : v;
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function fmtInt(n) { return n.toLocaleString("en-US"); }

  /* Filters: one <select> per field, options counted from the data. */
  function buildFilters() {
    FILTERS.forEach(function (name) {
      var select = document.getElementById("f-" + name);
      if (!select) { return; }
      var counts = new Map();
      rows.forEach(function (row) {
        var v = String(val(row, name));
        counts.set(v, (counts.get(v) || 0) + 1);
      });
      var keys = Array.from(counts.keys()).sort();
      if (name === "condition" && keys.length === 1 && keys[0] === "") {
        select.parentNode.hidden = true;
        return;
      }
      select.appendChild(new Option("All (" + fmtInt(rows.length) + ")", "\u0000all"));
      keys.forEach(function (k) {
        var shown = k === "" ? "(none)" : k;
        select.appendChild(new Option(shown + " (" + fmtInt(counts.get(k)) + ")", k));
      });
      select.addEventListener("change", function () {
        if (select.value === "\u0000all") { delete state.sel[name]; } else { state.sel[name] = select.value; }
        state.page = 0;
        apply();
      });
    });
  }

  function buildHaystack() {
    haystack = rows.map(function (row) {
      var parts = SEARCHED.map(function (name) { return String(val(row, name)); });
      var ev = row[F.evidence];
      if (Array.isArray(ev)) { parts.push(ev.join("\n")); }
      return parts.join("\n").toLowerCase();
    });
  }

  function apply() {
    var q = state.query;
    if (q && haystack === null) { buildHaystack(); }
    var active = Object.keys(state.sel);
    matches = [];
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      var ok = true;
      for (var j = 0; j < active.length; j++) {
        if (String(val(row, active[j])) !== state.sel[active[j]]) { ok = false; break; }
      }
      if (ok && q && haystack[i].indexOf(q) === -1) { ok = false; }
      if (ok) { matches.push(i); }
    }
    render();
  }

  function clampable(text) {
    var wrap = el("div");
    var box = el("div", "txt", text);
    wrap.appendChild(box);
    var lines = text.split("\n").length;
    if (text.length > CLAMP_CHARS || lines > CLAMP_LINES) {
      box.classList.add("clamp");
      var btn = el("button", "more", "Show all (" + fmtInt(text.length) + " chars)");
      btn.type = "button";
      btn.addEventListener("click", function () {
        var clamped = box.classList.toggle("clamp");
        btn.textContent = clamped ? "Show all (" + fmtInt(text.length) + " chars)" : "Show less";
      });
      wrap.appendChild(btn);
    }
    return wrap;
  }

  function renderRow(row) {
    var tr = el("tr");

    var meta = el("td", "meta");
    meta.appendChild(el("strong", null, val(row, "target")));
    meta.appendChild(el("div", null, [val(row, "suite"), val(row, "topic"), val(row, "language")].join(" \u00b7 ")));
    meta.appendChild(el("div", "mono small", val(row, "probe_id")));
    var extra = "sample " + val(row, "sample");
    if (val(row, "condition")) { extra += " \u00b7 " + val(row, "condition"); }
    meta.appendChild(el("div", "muted small", extra));
    if (val(row, "model")) { meta.appendChild(el("div", "muted small", "model: " + val(row, "model"))); }
    tr.appendChild(meta);

    var lab = el("td", "lab");
    var label = String(val(row, "label"));
    var known = LABELS.indexOf(label) >= 0;
    lab.appendChild(el("span", "badge " + (known ? "b-" + label : "b-other"), label));
    if (val(row, "finish_reason")) { lab.appendChild(el("div", "muted small", "finish: " + val(row, "finish_reason"))); }
    if (val(row, "latency_s") !== "") {
      var lat = Number(val(row, "latency_s"));
      if (isFinite(lat)) { lab.appendChild(el("div", "muted small", lat.toFixed(2) + " s")); }
    }
    tr.appendChild(lab);

    var prompt = el("td", "prompt");
    prompt.appendChild(clampable(String(val(row, "prompt"))));
    tr.appendChild(prompt);

    var answer = el("td", "answer");
    answer.appendChild(clampable(String(val(row, "text"))));
    if (val(row, "error")) { answer.appendChild(el("div", "err", "error: " + val(row, "error"))); }
    var reasoning = String(val(row, "reasoning"));
    if (reasoning) {
      var det = el("details", "reasoning");
      det.appendChild(el("summary", null, "Reasoning (" + fmtInt(reasoning.length) + " chars)"));
      det.appendChild(el("div", "txt", reasoning));
      answer.appendChild(det);
    }
    tr.appendChild(answer);

    var judge = el("td", "judge");
    if (val(row, "rationale")) { judge.appendChild(clampable(String(val(row, "rationale")))); }
    var ev = row[F.evidence];
    if (Array.isArray(ev) && ev.length) {
      var ul = el("ul", "evidence");
      ev.forEach(function (e) { ul.appendChild(el("li", null, e)); });
      judge.appendChild(ul);
    }
    if (val(row, "judge")) { judge.appendChild(el("div", "muted small", "judge: " + val(row, "judge"))); }
    tr.appendChild(judge);
    return tr;
  }

  function render() {
    var total = matches.length;
    var pages = Math.max(1, Math.ceil(total / state.size));
    if (state.page >= pages) { state.page = pages - 1; }
    var start = state.page * state.size;
    var end = Math.min(total, start + state.size);
    var frag = document.createDocumentFragment();
    for (var i = start; i < end; i++) { frag.appendChild(renderRow(rows[matches[i]])); }
    if (total === 0) {
      var tr = el("tr");
      var td = el("td", "muted", "No response matches these filters.");
      td.colSpan = 5;
      tr.appendChild(td);
      frag.appendChild(tr);
    }
    body.replaceChildren(frag);
    var info = total === 0 ? "No matches" :
      "Showing " + fmtInt(start + 1) + "\u2013" + fmtInt(end) + " of " + fmtInt(total);
    if (total !== rows.length) { info += " (filtered from " + fmtInt(rows.length) + ")"; }
    document.querySelectorAll(".pageinfo").forEach(function (n) { n.textContent = info; });
    document.querySelectorAll(".pagenum").forEach(function (n) {
      n.textContent = "page " + fmtInt(state.page + 1) + " / " + fmtInt(pages);
    });
    document.querySelectorAll("button[data-go]").forEach(function (b) {
      var go = b.getAttribute("data-go");
      b.disabled = (go === "first" || go === "prev") ? state.page === 0 : state.page >= pages - 1;
    });
  }

  function goTo(where) {
    var pages = Math.max(1, Math.ceil(matches.length / state.size));
    if (where === "first") { state.page = 0; }
    else if (where === "prev") { state.page = Math.max(0, state.page - 1); }
    else if (where === "next") { state.page = Math.min(pages - 1, state.page + 1); }
    else if (where === "last") { state.page = pages - 1; }
    render();
  }

  /* Set the explorer's filters programmatically (heat-map cells); null clears one. */
  function setFilters(sel) {
    FILTERS.forEach(function (name) {
      var select = document.getElementById("f-" + name);
      var v = Object.prototype.hasOwnProperty.call(sel, name) ? sel[name] : null;
      if (v === null) { delete state.sel[name]; } else { state.sel[name] = String(v); }
      if (select) { select.value = v === null ? "\u0000all" : String(v); }
    });
    var searchBox = document.getElementById("f-q");
    if (searchBox) { searchBox.value = ""; }
    state.query = "";
    state.page = 0;
    apply();
  }

  /* Heat map: re-facet by metric, language and locale from the counts blob. */
  function wilson(k, n) {
    if (!n) { return null; }
    var z = 1.96, p = k / n, z2 = z * z, d = 1 + z2 / n;
    var c = (p + z2 / (2 * n)) / d;
    var h = z * Math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / d;
    return [p, k === 0 ? 0 : Math.max(0, c - h), k === n ? 1 : Math.min(1, c + h)];
  }

  function initHeat() {
    var hb = document.getElementById("lw-heat");
    var table = document.getElementById("heatmap");
    if (!hb || !table) { return; }
    var H = JSON.parse(hb.textContent);
    var facet = { metric: H.metrics[0], language: -1, condition: -1 };
    var metricSel = document.getElementById("hm-metric");
    var langSel = document.getElementById("hm-language");
    var condSel = document.getElementById("hm-condition");
    H.metrics.forEach(function (m, i) { metricSel.appendChild(new Option(H.metric_names[i], m)); });
    langSel.appendChild(new Option("All languages", "-1"));
    H.languages.forEach(function (l, i) { langSel.appendChild(new Option(l === "" ? "(none)" : l, String(i))); });
    if (condSel) {
      condSel.appendChild(new Option("All locales", "-1"));
      H.conditions.forEach(function (c, i) { condSel.appendChild(new Option(c === "" ? "(none)" : c, String(i))); });
    }

    function rate(s) {
      var verdicts = s[1] + s[2] + s[3];
      if (facet.metric === "not_complete") { return [s[2] + s[3], verdicts]; }
      if (facet.metric === "refusal") { return [s[3], verdicts]; }
      if (facet.metric === "evasion") { return [s[2], verdicts]; }
      return [s[4], s[5]];
    }

    function draw() {
      var sums = new Map();
      H.cells.forEach(function (c) {
        if (facet.language >= 0 && c[2] !== facet.language) { return; }
        if (facet.condition >= 0 && c[3] !== facet.condition) { return; }
        var key = c[0] + "," + c[1];
        var s = sums.get(key);
        if (!s) { s = [0, 0, 0, 0, 0, 0]; sums.set(key, s); }
        for (var i = 0; i < 6; i++) { s[i] += c[4 + i]; }
      });
      table.querySelectorAll("td.hm").forEach(function (td) {
        var s = sums.get(td.getAttribute("data-t") + "," + td.getAttribute("data-p"));
        td.replaceChildren();
        td.removeAttribute("title");
        if (!s || s[0] === 0) { td.className = "hm empty"; td.textContent = "\u00b7"; return; }
        var kn = rate(s);
        var w = wilson(kn[0], kn[1]);
        var a = el("a", "hm-link", w === null ? "\u2014" : Math.round(100 * w[0]) + "%");
        a.href = "#responses";
        a.appendChild(el("span", "hm-n", "n=" + fmtInt(kn[1])));
        td.appendChild(a);
        td.className = "hm" + (w === null ? "" : " heat-" + Math.round(w[0] * 10));
        td.title = w === null ? fmtInt(s[0]) + " responses, none in this metric's denominator" :
          fmtInt(kn[0]) + " of " + fmtInt(kn[1]) + "; Wilson 95% interval " +
          (100 * w[1]).toFixed(1) + "\u2013" + (100 * w[2]).toFixed(1) + "%";
      });
      var parts = [H.metric_names[H.metrics.indexOf(facet.metric)],
        facet.language < 0 ? "all languages" : (H.languages[facet.language] || "(none)")];
      if (condSel) { parts.push(facet.condition < 0 ? "all locales" : (H.conditions[facet.condition] || "(none)")); }
      var label = document.getElementById("hm-facet");
      if (label) { label.textContent = parts.join(" \u00b7 "); }
    }

    metricSel.addEventListener("change", function () { facet.metric = metricSel.value; draw(); });
    langSel.addEventListener("change", function () { facet.language = parseInt(langSel.value, 10); draw(); });
    if (condSel) {
      condSel.addEventListener("change", function () { facet.condition = parseInt(condSel.value, 10); draw(); });
    }
    table.addEventListener("click", function (ev) {
      var td = ev.target.closest ? ev.target.closest("td.hm") : null;
      if (!td || td.classList.contains("empty")) { return; }
      ev.preventDefault();
      var sel = {
        target: H.targets[parseInt(td.getAttribute("data-t"), 10)],
        topic: H.topics[parseInt(td.getAttribute("data-p"), 10)]
      };
      if (facet.language >= 0) { sel.language = H.languages[facet.language]; }
      if (facet.condition >= 0) { sel.condition = H.conditions[facet.condition]; }
      setFilters(sel);
      var section = document.getElementById("responses");
      if (section && section.scrollIntoView) { section.scrollIntoView(); }
    });
    var controls = document.getElementById("hm-controls");
    if (controls) { controls.hidden = false; }
    draw();
  }

  buildFilters();
  var search = document.getElementById("f-q");
  var timer = null;
  if (search) {
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        state.query = search.value.trim().toLowerCase();
        state.page = 0;
        apply();
      }, 150);
    });
  }
  var size = document.getElementById("f-size");
  if (size) {
    size.addEventListener("change", function () {
      state.size = parseInt(size.value, 10) || 50;
      state.page = 0;
      render();
    });
  }
  document.querySelectorAll("button[data-go]").forEach(function (b) {
    b.addEventListener("click", function () { goTo(b.getAttribute("data-go")); });
  });
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  });
  var controls = document.getElementById("resp-controls");
  if (controls) { controls.hidden = false; }
  apply();
  initHeat();
  if (window.performance && performance.mark) { performance.mark("lw-interactive"); }
})();
