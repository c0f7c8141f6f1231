/* The desk's live-chat console over ws/agent/: several chats at once, canned replies, notes. */
(function () {
  "use strict";
  var root = document.getElementById("desk-chat");
  if (!root) { return; }
  function L(k) { return root.getAttribute("data-l-" + k) || k; }
  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text != null) { e.textContent = text; }
    return e;
  }
  var ws = null, current = null, backoff = 500, chats = {}, unread = {}, lastSeq = {};
  var log = $("desk-chat-log"), form = $("desk-chat-form"), input = $("desk-chat-input");
  function send(f) { if (ws && ws.readyState === 1) { ws.send(JSON.stringify(f)); } }
  function cid() { return "d" + Date.now().toString(36) + Math.random().toString(36).slice(2, 10); }

  function renderLists(overview) {
    var mine = $("desk-chat-mine"), queue = $("desk-chat-queue");
    if (overview) {
      mine.textContent = ""; overview.mine.forEach(function (c) { chats[c.conversation] = c; });
      renderQueue(overview.queue);
    }
    mine.textContent = "";
    if (!Object.keys(chats).length) { mine.appendChild(el("li", {"class": "muted small desk-chat-empty"}, L("no-mine"))); }
    Object.keys(chats).forEach(function (id) {
      var c = chats[id], li = el("li"), b = el("button", {type: "button", "class": "btn btn-small" + (unread[id] ? " unread" : ""),
        "data-open": id, "aria-current": id === current ? "true" : "false"}, (c.customer || id) + (c.ticket ? " · " + c.ticket : ""));
      li.appendChild(b); mine.appendChild(li);
    });
  }
  function renderQueue(items) {
    var queue = $("desk-chat-queue"); queue.textContent = "";
    $("desk-chat-queue-size").textContent = items.length;
    if (!items.length) { queue.appendChild(el("li", {"class": "muted small desk-chat-empty"}, L("no-waiting"))); }
    items.forEach(function (c) {
      var li = el("li"); li.appendChild(el("span", {}, (c.customer || "") + " · " + (c.category || "") + " "));
      li.appendChild(el("button", {type: "button", "class": "btn btn-small", "data-pick": c.conversation}, L("pick")));
      queue.appendChild(li);
    });
  }
  function bubble(m) {
    if (log.querySelector("[data-seq='" + m.seq + "']")) { return; }
    var li = el("div", {"class": "chat-msg chat-" + m.kind, "data-seq": m.seq});
    var who = {customer: L("customer"), bot: L("assistant"), system: L("system"), note: L("note")}[m.kind] || m.author || "";
    li.appendChild(el("span", {"class": "chat-who"}, who));
    var body = el("div", {"class": "chat-body"});
    String(m.body).split("\n").forEach(function (line) { body.appendChild(el("p", {}, line)); });
    li.appendChild(body); log.appendChild(li); log.scrollTop = log.scrollHeight;
    lastSeq[current] = Math.max(lastSeq[current] || 0, m.seq);
  }
  function renderWallet(w) {
    // A signed-in customer's wallet is support's own context panel for the ticket (the same
    // permission and audit record as the desk); a guest's chat shows none.
    var box = $("desk-chat-wallet"), asked = current; box.textContent = "";
    if (!w.context) { box.appendChild(el("p", {"class": "muted"}, w.signed_in ? L("signed-in") : L("guest"))); return; }
    fetch(w.context, {credentials: "same-origin", headers: {"HX-Request": "true"}})
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) { if (current === asked) { box.innerHTML = html; } })
      .catch(function () { box.textContent = ""; });
  }
  function openChat(id) { current = id; unread[id] = false; send({type: "open", conversation: id}); }

  function connect() {
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/agent/");
    ws.onopen = function () { backoff = 500; $("desk-chat-status").textContent = ""; if (current) { openChat(current); } };
    ws.onmessage = function (ev) {
      var f = JSON.parse(ev.data);
      if (f.type === "overview") { chats = {}; renderLists(f); }
      else if (f.type === "queue") { send({type: "overview"}); }
      else if (f.type === "assigned") { chats[f.conversation] = chats[f.conversation] || {conversation: f.conversation}; send({type: "overview"}); if (!current) { openChat(f.conversation); } }
      else if (f.type === "released") { delete chats[f.conversation]; if (current === f.conversation) { form.hidden = true; } renderLists(); }
      else if (f.type === "conversation") {
        current = f.conversation; chats[f.conversation] = chats[f.conversation] || f; $("desk-chat-none").hidden = true; log.hidden = false;
        log.textContent = ""; f.messages.forEach(bubble); renderWallet(f.wallet);
        form.hidden = f.state !== "active"; renderLists(); $("desk-chat-title").textContent = (f.customer || "") + (f.ticket ? " · " + f.ticket : "");
        send({type: "read", conversation: current, seq: lastSeq[current] || 0});
      } else if (f.type === "message") {
        if (f.conversation === current) { bubble(f.message); if (f.message.kind === "customer") { send({type: "read", conversation: current, seq: f.message.seq}); } }
        else { unread[f.conversation] = true; renderLists(); }
      } else if (f.type === "typing") { if (f.conversation === current) { $("desk-chat-typing").hidden = !f.typing; $("desk-chat-typing").textContent = L("typing"); } }
      else if (f.type === "state") { if (f.conversation === current && f.state === "ended") { form.hidden = true; } }
      else if (f.type === "canned") { if (f.conversation === current) { input.value = f.body; input.focus(); } }
      else if (f.type === "error") { $("desk-chat-status").textContent = f.message; }
    };
    ws.onclose = function (ev) {
      if (ev.code === 4403 || ev.code === 4401) { return; }
      $("desk-chat-status").textContent = L("offline");
      setTimeout(connect, backoff); backoff = Math.min(backoff * 2, 15000);
    };
  }
  root.addEventListener("click", function (ev) {
    var b = ev.target.closest("button"); if (!b) { return; }
    if (b.hasAttribute("data-pick")) { send({type: "pick", conversation: b.getAttribute("data-pick")}); }
    else if (b.hasAttribute("data-open")) { openChat(b.getAttribute("data-open")); }
  });
  $("desk-chat-canned").addEventListener("change", function (ev) {
    var o = ev.target.selectedOptions[0];
    if (o && o.value && current) { send({type: "canned", conversation: current, canned: o.value}); }
    else if (o && o.getAttribute("data-body")) { input.value = o.getAttribute("data-body"); input.focus(); }
  });
  form.addEventListener("submit", function (ev) {
    ev.preventDefault(); var body = input.value.trim(); if (!body || !current) { return; }
    send({type: "message", conversation: current, client_id: cid(), body: body, internal: $("desk-chat-internal").checked});
    input.value = ""; $("desk-chat-internal").checked = false;
  });
  var typedAt = 0;
  input.addEventListener("input", function () {
    if (current && Date.now() - typedAt > 3000) { typedAt = Date.now(); send({type: "typing", conversation: current, typing: true}); }
  });
  $("desk-chat-end").addEventListener("click", function () { if (current) { send({type: "end", conversation: current}); } });
  $("desk-chat-transfer-go").addEventListener("click", function () {
    if (current) { send({type: "transfer", conversation: current, to: $("desk-chat-transfer").value}); }
  });
  connect();
})();
