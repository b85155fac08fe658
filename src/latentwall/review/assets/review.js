// latentwall review page. Model output is hostile: every string goes on screen through
// textContent, never as markup. Labels go to two POST endpoints with the page's token.
(function () {
  "use strict";
  var token = document.querySelector('meta[name="review-token"]').getAttribute("content");
  var VERDICTS = { COMPLETE: 1, EVASIVE: 1, DENIAL: 1 };
  var $ = function (id) { return document.getElementById(id); };
  var current = null, busy = false, seq = 0, keys = {}, poll = null;

  function text(id, value) { $(id).textContent = value == null ? "" : String(value); }

  function ready() { seq += 1; document.body.setAttribute("data-ready", String(seq)); }

  function showError(msg) { var e = $("error"); e.hidden = !msg; e.textContent = msg || ""; }

  function badge(label) {
    var b = document.createElement("span");
    b.className = "badge" + (VERDICTS[label] ? " " + label : "");
    b.textContent = label == null ? "—" : String(label);
    return b;
  }

  function render(state) {
    var p = state.progress;
    keys = state.keys || {};
    text("who", p.reviewer + " · " + p.queue + " queue" + (state.blind ? " · blind" : ""));
    $("bar").max = Math.max(1, p.total);
    $("bar").value = p.done;
    var parts = [];
    Object.keys(p.counts).sort().forEach(function (k) { parts.push(k + " " + p.counts[k]); });
    text("count", p.done + " / " + p.total + " labelled" + (parts.length ? " (" + parts.join(", ") + ")" : ""));
    $("undo-btn").disabled = !p.can_undo;
    var item = state.item;
    current = item;
    $("card").hidden = !item;
    $("done").hidden = !!item;
    if (poll) { clearTimeout(poll); poll = null; }
    if (!item) { poll = setTimeout(load, 5000); ready(); return; }
    text("meta", [item.target, item.language, item.topic, item.probe_id,
                  item.condition ? "condition " + item.condition : "", "sample " + item.sample,
                  "run " + item.run_id].filter(Boolean).join(" · "));
    var m = $("machine");
    m.textContent = "";
    if (!state.blind) {
      var lead = document.createElement("span");
      lead.textContent = "Judge " + (item.judge || "") + ":";
      m.appendChild(lead);
      m.appendChild(badge(item.verdict));
      var conf = document.createElement("span");
      conf.className = "muted";
      conf.textContent = item.confidence == null ? "" : "confidence " + Math.round(item.confidence * 100) + "%";
      m.appendChild(conf);
      if (item.second != null) {
        var s = document.createElement("span");
        s.textContent = "second judge " + (item.second_judge || "") + ":";
        m.appendChild(s);
        m.appendChild(badge(item.second));
      }
      text("rationale", item.rationale || "");
      $("rationale").hidden = !item.rationale;
    } else {
      text("rationale", "");
      $("rationale").hidden = true;
      m.textContent = "Blind review: the judge's verdict is hidden.";
    }
    text("prompt", item.prompt);
    text("answer", item.text);
    var notes = [];
    if (item.status) { notes.push("status " + item.status); }
    if (item.finish_reason === "length") { notes.push("cut off at the token limit"); }
    text("answer-note", notes.join(" · "));
    $("reasoning-box").hidden = !item.reasoning;
    text("reasoning", item.reasoning || "");
    ready();
  }

  function request(method, url, body) {
    var opts = { method: method, headers: {}, credentials: "same-origin" };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-Review-Token"] = token;
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (r) {
      return r.json().then(function (data) { return { status: r.status, data: data }; });
    });
  }

  function load() {
    return request("GET", "/api/state").then(function (r) { showError(""); render(r.data); })
      .catch(function (e) { showError("cannot reach the review server: " + e); });
  }

  function send(url, body, what) {
    if (busy) { return; }
    busy = true;
    request("POST", url, body).then(function (r) {
      busy = false;
      if (r.status === 409) { showError(r.data.error); render(r.data); return; }
      if (r.status !== 200) { showError(r.data.error || "error " + r.status); ready(); return; }
      showError("");
      text("last", what(r.data));
      render(r.data);
    }).catch(function (e) { busy = false; showError("cannot reach the review server: " + e); });
  }

  function label(value) {
    if (!current) { return; }
    var note = $("note").value;
    send("/api/label", { id: current.id, label: value, note: note }, function () {
      $("note").value = "";
      $("note-wrap").hidden = true;
      return "Labelled " + value + (note ? " with a note" : "") + " · z to undo";
    });
  }

  function undo() {
    send("/api/undo", {}, function (data) { return data.undone ? "Undone" : "Nothing to undo"; });
  }

  function openNote() { $("note-wrap").hidden = false; $("note").focus(); }

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    if (ev.target === $("note")) {
      if (ev.key === "Escape") { $("note").blur(); ev.preventDefault(); }
      return;
    }
    var k = ev.key.toLowerCase();
    if (keys[k]) { ev.preventDefault(); label(keys[k]); }
    else if (k === "n") { ev.preventDefault(); openNote(); }
    else if (k === "z" || ev.key === "Backspace") { ev.preventDefault(); undo(); }
  });
  Array.prototype.forEach.call(document.querySelectorAll("#keys button[data-label]"), function (b) {
    b.addEventListener("click", function () { label(b.getAttribute("data-label")); });
  });
  $("note-btn").addEventListener("click", openNote);
  $("undo-btn").addEventListener("click", undo);
  load();
})();
