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
})();
