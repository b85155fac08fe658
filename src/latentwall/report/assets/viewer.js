/* latentwall viewer. Model output is hostile input: every string from the API reaches the
 * page through textContent or new Option(), never innerHTML; links are same-page fragments
 * built with URLSearchParams. State lives in location.hash so every view is a link. */
(function () {
  "use strict";

  var LABELS = ["COMPLETE", "EVASIVE", "DENIAL", "ERROR", "EMPTY", "TRUNCATED",
    "FILTERED", "JUDGE_ERROR", "UNJUDGED"];
  var FILTERS = ["target", "suite", "topic", "language", "condition", "label"];
  var PAGE = 50;
  var DIFF_PAGE = 25;
  var METRICS = { refusal: "Refusal", evasion: "Evasion", echo: "Narrative echo" };

  var state = {};
  var facets = null;
  var lastStamp = null;
  var seq = { view: 0, facets: 0 };

  function $(id) { return document.getElementById(id); }

  /* Bidi overrides and control characters shown as visible marks, as in the report: an
   * override in a model answer would otherwise reorder what the reader sees. */
  var INVISIBLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
  function vis(text) {
    return String(text).replace(INVISIBLE, function (c) {
      return "\u27e8U+" + ("000" + c.charCodeAt(0).toString(16).toUpperCase()).slice(-4) + "\u27e9";
    });
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = vis(text); }
    return node;
  }

  function fmtInt(n) { return Number(n || 0).toLocaleString("en-US"); }

  function getJSON(path, params) {
    var qs = new URLSearchParams();
    Object.keys(params || {}).forEach(function (k) {
      if (params[k] !== undefined && params[k] !== null) { qs.set(k, params[k]); }
    });
    var url = path + (qs.toString() ? "?" + qs.toString() : "");
    return fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (!r.ok) { throw new Error(path + ": HTTP " + r.status); }
      return r.json();
    });
  }

  function showError(err) {
    var status = $("v-status");
    status.textContent = "error: " + (err && err.message ? err.message : String(err));
  }

  /* ---------------------------------------------------------------- state <-> hash */

  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    var s = {};
    params.forEach(function (v, k) { s[k] = v; });
    if (!s.view) { s.view = "heat"; }
    return s;
  }

  function link(changes, base) {
    var s = Object.assign({}, base === undefined ? state : base, changes);
    var params = new URLSearchParams();
    Object.keys(s).forEach(function (k) {
      if (s[k] !== undefined && s[k] !== null && s[k] !== "\u0000all") { params.set(k, s[k]); }
    });
    return "#" + params.toString();
  }

  function go(changes, base) {
    var target = link(changes, base);
    if (target === location.hash || (target === "#" && !location.hash)) { render(); } else { location.hash = target; }
  }

  function runFilter() { return state.run ? { run: state.run } : {}; }

  /* ---------------------------------------------------------------- selects */

  function fillSelect(select, items, allText, current, shown) {
    var keep = current === undefined || current === null ? "\u0000all" : String(current);
    var frag = document.createDocumentFragment();
    if (allText !== null) { frag.appendChild(new Option(allText, "\u0000all")); }
    var seen = false;
    items.forEach(function (item) {
      var value = Array.isArray(item) ? String(item[0]) : String(item);
      var text = shown ? shown(item) : (value === "" ? "(none)" : value);
      if (Array.isArray(item) && !shown) { text += " (" + fmtInt(item[1]) + ")"; }
      frag.appendChild(new Option(vis(text), value));
      if (value === keep) { seen = true; }
    });
    if (!seen && keep !== "\u0000all") { frag.appendChild(new Option(vis(keep === "" ? "(none)" : keep) + " (0)", keep)); }
    select.replaceChildren(frag);
    select.value = keep;
  }

  function selectValue(select) { return select.value === "\u0000all" ? null : select.value; }

  function fillAllSelects() {
    if (!facets) { return; }
    FILTERS.forEach(function (name) {
      fillSelect($("f-" + name), facets[name], "All", state[name]);
    });
    var metrics = ["refusal", "evasion"].concat(facets.has_stance ? ["echo"] : []);
    fillSelect($("h-metric"), metrics, null, state.metric || "refusal", function (m) { return METRICS[m]; });
    fillSelect($("h-language"), facets.language, "All languages", state.hl);
    fillSelect($("h-condition"), facets.condition, "All locales", state.hc);
    fillSelect($("h-suite"), facets.suite, "All suites", state.hs);
    var targets = facets.target.map(function (t) { return t[0]; });
    var a = state.a || targets[0] || "";
    var b = state.b || targets[1] || targets[0] || "";
    fillSelect($("d-a"), targets, null, a);
    fillSelect($("d-b"), targets, null, b);
    fillSelect($("d-topic"), facets.topic, "All topics", state.dt);
    fillSelect($("d-language"), facets.language, "All languages", state.dl);
    $("d-only").checked = state.only === "1";
    $("f-q").value = state.q || "";
  }

  function loadFacets() {
    var mine = ++seq.facets;
    return getJSON("/api/facets", runFilter()).then(function (data) {
      if (mine !== seq.facets) { return; }
      facets = data;
      fillAllSelects();
    });
  }

  /* ---------------------------------------------------------------- runs + polling */

  function poll() {
    getJSON("/api/runs").then(function (data) {
      var select = $("v-run");
      var items = data.runs.map(function (r) { return [r.run_id, r]; });
      fillSelect(select, items, "All runs (" + data.runs.length + ")", state.run || null, function (item) {
        var r = item[1];
        return r.target + " \u00b7 " + r.run_id + " \u00b7 " + r.status + " \u00b7 " + fmtInt(r.responses) + " responses";
      });
      $("v-live").hidden = !data.live;
      var total = data.runs.reduce(function (s, r) { return s + r.responses; }, 0);
      $("v-status").textContent = data.runs.length + " run(s), " + fmtInt(total) + " responses" +
        (data.live ? " \u00b7 updating every 2 s" : "");
      if (data.stamp !== lastStamp) {
        var first = lastStamp === null;
        lastStamp = data.stamp;
        loadFacets().then(function () { render(!first); }).catch(showError);
      }
      setTimeout(poll, data.live ? 2000 : 5000);
    }).catch(function (err) { showError(err); setTimeout(poll, 5000); });
  }

  /* ---------------------------------------------------------------- heat map */

  function wilson(k, n) {
    if (!n) { return null; }
    var z = 1.96, p = k / n, z2 = z * z, d = 1 + z2 / n;
    var c = (p + z2 / (2 * n)) / d;
    var h = z * Math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / d;
    return [p, k === 0 ? 0 : Math.max(0, c - h), k === n ? 1 : Math.min(1, c + h)];
  }

  function renderHeat(mine) {
    var params = Object.assign(runFilter(), {});
    if (state.hl !== undefined) { params.language = state.hl; }
    if (state.hc !== undefined) { params.condition = state.hc; }
    if (state.hs !== undefined) { params.suite = state.hs; }
    return getJSON("/api/heatmap", params).then(function (data) {
      if (mine !== seq.view) { return; }
      var metric = state.metric || "refusal";
      var head = el("tr");
      head.appendChild(el("th", null, "Topic"));
      data.targets.forEach(function (t) { head.appendChild(el("th", "hm-target", t)); });
      $("h-head").replaceChildren(head);
      var cells = new Map();
      data.cells.forEach(function (c) { cells.set(c[0] + "\u0000" + c[1], c); });
      var frag = document.createDocumentFragment();
      data.topics.forEach(function (topic) {
        var tr = el("tr");
        var th = el("th", null, topic === "" ? "\u2014" : topic);
        th.scope = "row";
        tr.appendChild(th);
        data.targets.forEach(function (target) {
          var c = cells.get(target + "\u0000" + topic);
          var td = el("td", "hm");
          if (!c || c[2] === 0) { td.className = "hm empty"; td.textContent = "\u00b7"; tr.appendChild(td); return; }
          var verdicts = c[3] + c[4] + c[5];
          var kn = metric === "refusal" ? [c[5], verdicts] : metric === "evasion" ? [c[4], verdicts] : [c[6], c[7]];
          var w = wilson(kn[0], kn[1]);
          var a = el("a", "hm-link", w === null ? "\u2014" : Math.round(100 * w[0]) + "%");
          var sel = { view: "responses", target: target, topic: topic, page: null };
          sel.language = state.hl; sel.condition = state.hc; sel.suite = state.hs; sel.label = undefined;
          a.href = link(sel, { run: state.run });
          a.appendChild(el("span", "hm-n", "n=" + fmtInt(kn[1])));
          td.appendChild(a);
          if (w !== null) { td.className = "hm heat-" + Math.round(w[0] * 10); }
          td.title = w === null ? fmtInt(c[2]) + " responses, none in this metric's denominator" :
            fmtInt(kn[0]) + " of " + fmtInt(kn[1]) + "; Wilson 95% interval " +
            (100 * w[1]).toFixed(1) + "\u2013" + (100 * w[2]).toFixed(1) + "%";
          tr.appendChild(td);
        });
        frag.appendChild(tr);
      });
      if (!data.topics.length) {
        var tr = el("tr");
        tr.appendChild(el("td", "muted", "No responses yet."));
        frag.appendChild(tr);
      }
      $("h-body").replaceChildren(frag);
    });
  }

  /* ---------------------------------------------------------------- responses */

  function badge(label) {
    var known = LABELS.indexOf(label) >= 0;
    return el("span", "badge " + (known ? "b-" + label : "b-other"), label);
  }

  function preview(text, len) {
    var wrap = el("div");
    wrap.appendChild(el("div", "txt", text));
    if (len > text.length) { wrap.appendChild(el("div", "cut", "\u2026 " + fmtInt(len) + " characters in all: open the details")); }
    return wrap;
  }

  function renderResponses(mine) {
    var params = runFilter();
    FILTERS.forEach(function (name) { if (state[name] !== undefined) { params[name] = state[name]; } });
    if (state.q) { params.q = state.q; }
    var page = parseInt(state.page || "0", 10) || 0;
    params.offset = page * PAGE;
    params.limit = PAGE;
    return getJSON("/api/responses", params).then(function (data) {
      if (mine !== seq.view) { return; }
      var frag = document.createDocumentFragment();
      data.rows.forEach(function (r) {
        var tr = el("tr", "resp");
        var meta = el("td", "meta");
        meta.appendChild(el("strong", null, r.target));
        meta.appendChild(el("div", null, [r.suite, r.topic, r.language].join(" \u00b7 ")));
        meta.appendChild(el("div", "mono small", r.probe_id));
        meta.appendChild(el("div", "muted small", "sample " + r.sample + (r.condition ? " \u00b7 " + r.condition : "") + " \u00b7 run " + r.run_id));
        tr.appendChild(meta);
        var lab = el("td", "lab");
        lab.appendChild(badge(r.label));
        if (r.stance) { lab.appendChild(el("div", "muted small", r.stance)); }
        tr.appendChild(lab);
        var prompt = el("td", "prompt");
        prompt.appendChild(preview(r.prompt || "", r.prompt_len || 0));
        tr.appendChild(prompt);
        var answer = el("td", "answer");
        answer.appendChild(preview(r.text || "", r.text_len || 0));
        tr.appendChild(answer);
        tr.appendChild(el("td", "judge small", r.rationale || ""));
        var open = el("td");
        var btn = el("button", "open", "Details");
        btn.type = "button";
        btn.addEventListener("click", function () { openDrill(r.run_id, r.probe_id, r.condition, r.sample); });
        open.appendChild(btn);
        tr.appendChild(open);
        frag.appendChild(tr);
      });
      if (!data.rows.length) {
        var tr = el("tr");
        var td = el("td", "muted", "No response matches these filters.");
        td.colSpan = 6;
        tr.appendChild(td);
        frag.appendChild(tr);
      }
      $("v-body").replaceChildren(frag);
      var end = data.offset + data.rows.length;
      $("r-info").textContent = data.total ? "Showing " + fmtInt(data.offset + 1) + "\u2013" + fmtInt(end) + " of " + fmtInt(data.total) : "No matches";
      $("r-prev").disabled = page === 0;
      $("r-next").disabled = end >= data.total;
    });
  }

  /* ---------------------------------------------------------------- drill-down */

  function openDrill(run, probe, condition, sample) {
    var body = $("drill-body");
    body.replaceChildren(el("p", "muted", "loading\u2026"));
    $("v-drill").hidden = false;
    getJSON("/api/response", { run: run, probe: probe, condition: condition, sample: sample }).then(function (r) {
      var frag = document.createDocumentFragment();
      var h = el("h2", null, r.target + " \u00b7 " + r.probe_id);
      frag.appendChild(h);
      frag.appendChild(badge(r.label));
      var dl = el("dl", "meta small");
      [["Run", r.run_id], ["Suite", r.suite], ["Topic", r.topic], ["Language", r.language],
        ["Locale (condition)", r.condition || "\u2014"], ["Sample", r.sample], ["Category", r.category],
        ["Kind", r.kind], ["Jurisdiction", r.jurisdiction || "\u2014"],
        ["Expected", r.expected ? JSON.stringify(r.expected) : "\u2014"],
        ["Model", r.model || "\u2014"], ["Finish reason", r.finish_reason || "\u2014"],
        ["Status", r.status || "\u2014"], ["Latency", r.latency_s === null ? "\u2014" : Number(r.latency_s).toFixed(2) + " s"],
        ["Judge", r.judge || "\u2014"], ["Judge extra", JSON.stringify(r.judge_extra || {})],
        ["Narrative stance", !r.stance ? "\u2014" : !r.stance_rationale ? r.stance
          : r.stance_rationale.indexOf(r.stance + ":") === 0 ? r.stance_rationale  // the rationale names it
          : r.stance + " \u2014 " + r.stance_rationale]
      ].forEach(function (pair) {
        dl.appendChild(el("dt", null, pair[0]));
        dl.appendChild(el("dd", null, pair[1]));
      });
      frag.appendChild(dl);
      frag.appendChild(el("h3", null, "Prompt"));
      frag.appendChild(el("div", "txt", r.prompt));
      frag.appendChild(el("h3", null, "Answer (" + fmtInt(r.text_len) + " characters)"));
      frag.appendChild(el("div", "txt", r.text));
      if (r.error) { frag.appendChild(el("div", "err", "error: " + r.error)); }
      if (r.reasoning) {
        frag.appendChild(el("h3", null, "Reasoning"));
        frag.appendChild(el("div", "txt", r.reasoning));
      }
      frag.appendChild(el("h3", null, "Judge rationale"));
      frag.appendChild(el("div", "txt", r.rationale || "\u2014"));
      if (r.evidence && r.evidence.length) {
        var ul = el("ul", "evidence");
        r.evidence.forEach(function (e) { ul.appendChild(el("li", null, e)); });
        frag.appendChild(ul);
      }
      body.replaceChildren(frag);
      $("drill-close").focus();
    }).catch(function (err) { body.replaceChildren(el("p", "err", String(err.message || err))); });
  }

  /* ---------------------------------------------------------------- diff */

  function renderDiff(mine) {
    if (!facets || !facets.target.length) { $("d-body").replaceChildren(); return Promise.resolve(); }
    var a = selectValue($("d-a")), b = selectValue($("d-b"));
    var page = parseInt(state.dpage || "0", 10) || 0;
    var params = { a: a, b: b, offset: page * DIFF_PAGE, limit: DIFF_PAGE };
    if (state.dt !== undefined) { params.topic = state.dt; }
    if (state.dl !== undefined) { params.language = state.dl; }
    if (state.only === "1") { params.only = "1"; }
    $("d-head-a").textContent = vis("A: " + a);
    $("d-head-b").textContent = vis("B: " + b);
    return getJSON("/api/diff", params).then(function (data) {
      if (mine !== seq.view) { return; }
      var m = el("table");
      var hr = el("tr");
      hr.appendChild(el("th", null, "A \u2192 B"));
      var bl = [], al = [];
      data.matrix.forEach(function (x) { if (al.indexOf(x[0]) < 0) { al.push(x[0]); } if (bl.indexOf(x[1]) < 0) { bl.push(x[1]); } });
      bl.forEach(function (l) { hr.appendChild(el("th", null, l)); });
      m.appendChild(hr);
      al.forEach(function (la) {
        var tr = el("tr");
        tr.appendChild(el("th", null, la));
        bl.forEach(function (lb) {
          var hit = data.matrix.filter(function (x) { return x[0] === la && x[1] === lb; })[0];
          tr.appendChild(el("td", "num" + (la !== lb && hit ? " differ" : ""), hit ? fmtInt(hit[2]) : "\u00b7"));
        });
        m.appendChild(tr);
      });
      $("d-matrix").replaceChildren(el("p", "muted", "Labels of A (rows) against B (columns) on the same probe, locale and sample:"), m);
      var frag = document.createDocumentFragment();
      data.rows.forEach(function (r) {
        var tr = el("tr", r.a.label !== r.b.label ? "differ" : "");
        var meta = el("td", "meta");
        meta.appendChild(el("div", "mono small", r.probe_id));
        meta.appendChild(el("div", "muted small", [r.topic, r.language, "sample " + r.sample].concat(r.condition ? [r.condition] : []).join(" \u00b7 ")));
        meta.appendChild(el("div", "txt small", r.prompt));
        tr.appendChild(meta);
        [r.a, r.b].forEach(function (side) {
          var td = el("td");
          td.appendChild(badge(side.label));
          td.appendChild(preview(side.text || "", side.text_len || 0));
          var btn = el("button", "open", "Details");
          btn.type = "button";
          btn.addEventListener("click", function () { openDrill(side.run_id, r.probe_id, r.condition, r.sample); });
          td.appendChild(btn);
          tr.appendChild(td);
        });
        frag.appendChild(tr);
      });
      if (!data.rows.length) {
        var tr = el("tr");
        var td = el("td", "muted", a === b ? "Pick two different targets." : "No probe answered by both targets matches.");
        td.colSpan = 3;
        tr.appendChild(td);
        frag.appendChild(tr);
      }
      $("d-body").replaceChildren(frag);
      var end = data.offset + data.rows.length;
      $("d-info").textContent = data.total ? fmtInt(data.offset + 1) + "\u2013" + fmtInt(end) + " of " + fmtInt(data.total) + " pairs" : "";
      $("d-prev").disabled = page === 0;
      $("d-next").disabled = end >= data.total;
    });
  }

  /* ---------------------------------------------------------------- routing */

  function render(quiet) {
    state = readHash();
    ["heat", "responses", "diff"].forEach(function (v) {
      $("v-" + v).hidden = v !== state.view;
    });
    document.querySelectorAll("#v-tabs a").forEach(function (a) {
      a.classList.toggle("active", a.getAttribute("data-view") === state.view);
      a.href = link({ view: a.getAttribute("data-view") }, { run: state.run });
    });
    fillAllSelects();
    var mine = ++seq.view;
    var job = state.view === "responses" ? renderResponses(mine) :
      state.view === "diff" ? renderDiff(mine) : renderHeat(mine);
    return job.then(function () {
      if (mine === seq.view) { document.body.setAttribute("data-ready", String(mine)); }
    }).catch(function (err) { if (!quiet) { showError(err); } });
  }

  function bind() {
    $("v-run").addEventListener("change", function () {
      var run = selectValue($("v-run"));
      lastStamp = null;
      state.run = run;
      loadFacets().then(function () { go({ run: run, page: null, dpage: null }); }).catch(showError);
    });
    FILTERS.forEach(function (name) {
      $("f-" + name).addEventListener("change", function () {
        var ch = { page: null };
        ch[name] = selectValue($("f-" + name));
        go(ch);
      });
    });
    var timer = null;
    $("f-q").addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { go({ q: $("f-q").value.trim() || null, page: null }); }, 250);
    });
    $("r-prev").addEventListener("click", function () { go({ page: Math.max(0, (parseInt(state.page || "0", 10) || 0) - 1) || null }); });
    $("r-next").addEventListener("click", function () { go({ page: (parseInt(state.page || "0", 10) || 0) + 1 }); });
    $("d-prev").addEventListener("click", function () { go({ dpage: Math.max(0, (parseInt(state.dpage || "0", 10) || 0) - 1) || null }); });
    $("d-next").addEventListener("click", function () { go({ dpage: (parseInt(state.dpage || "0", 10) || 0) + 1 }); });
    [["h-metric", "metric"], ["h-language", "hl"], ["h-condition", "hc"], ["h-suite", "hs"],
      ["d-a", "a"], ["d-b", "b"], ["d-topic", "dt"], ["d-language", "dl"]].forEach(function (pair) {
      $(pair[0]).addEventListener("change", function () {
        var ch = { dpage: null };
        ch[pair[1]] = selectValue($(pair[0]));
        go(ch);
      });
    });
    $("d-only").addEventListener("change", function () { go({ only: $("d-only").checked ? "1" : null, dpage: null }); });
    $("drill-close").addEventListener("click", function () { $("v-drill").hidden = true; });
    document.addEventListener("keydown", function (ev) { if (ev.key === "Escape") { $("v-drill").hidden = true; } });
    window.addEventListener("hashchange", function () { $("v-drill").hidden = true; render(); });
  }

  bind();
  state = readHash();
  poll();
})();
