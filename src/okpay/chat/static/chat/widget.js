/* OKPay live chat widget: vanilla JavaScript, no inline code (the CSP forbids it).
 * Messages are kept in localStorage until the server acknowledges them by client id; after a
 * reconnect the widget resends them and asks for everything after the last seq it saw. */
(function () {
  "use strict";
  var root = document.getElementById("okpay-chat");
  if (!root || !window.WebSocket) { return; }
  var script = document.currentScript || document.querySelector("script[src*='chat/widget.js']");
  var lang = (root.getAttribute("data-lang") || document.documentElement.lang || "zh-hans").toLowerCase().indexOf("en") === 0 ? "en" : "zh-hans";
  var signedIn = root.getAttribute("data-signed-in") === "1";
  var T = {
    "zh-hans": {open: "在线客服", title: "OKPay 在线客服", close: "关闭", send: "发送", placeholder: "输入您的问题…",
      email: "您的邮箱（用于回复您）", start: "开始咨询", typing: "对方正在输入…", read: "已读", sending: "发送中",
      offline: "连接中断，正在重新连接…", person: "转人工", queue: "您排在第 {p} 位，预计等待约 {m} 分钟",
      agent: "客服 {a} 正在为您服务", ended: "对话已结束", rate: "请为本次服务评分", rated: "感谢您的评价！",
      transcript: "把聊天记录发到我的邮箱", sent: "已发送到 {t}", confirm: "已向 {t} 发送确认链接，打开链接后即可收到聊天记录", leave: "留言", leavePh: "请写下您的问题，我们会在 24 小时内通过邮件回复",
      newChat: "开始新的对话", greeting: "您好！我是 OKPay 在线客服助手。请直接描述您的问题，我会先为您解答；需要人工服务时，请点“转人工”。", guestHint: "请先留下您的邮箱，方便我们回复您。", star: "{n} 星", you: "我", bot: "智能助手", sys: "系统", cancelled: "已取消",
      sure: "确定要{a} 吗？此操作无法撤销。", yes: "确认", no: "再想想"},
    en: {open: "Chat with us", title: "OKPay live chat", close: "Close", send: "Send", placeholder: "Type your question…",
      email: "Your email (so that we can answer)", start: "Start chat", typing: "Typing…", read: "Read", sending: "Sending",
      offline: "Connection lost, reconnecting…", person: "Talk to a person", queue: "You are number {p} in the queue, about {m} min",
      agent: "{a} is helping you", ended: "The chat has ended", rate: "Please rate this chat", rated: "Thank you for your rating!",
      transcript: "Email me the transcript", sent: "Sent to {t}", confirm: "We emailed a link to {t}: open it to receive the transcript", leave: "Leave a message", leavePh: "Write your question; we answer by email within 24 hours",
      newChat: "Start a new chat", greeting: "Hello! I am OKPay's assistant. Describe your question and I will answer first; press “Talk to a person” for an agent.", guestHint: "Please leave your email first so that we can answer you.", star: "{n} stars", you: "You", bot: "Assistant", sys: "System", cancelled: "Cancelled",
      sure: "{a}? This cannot be undone.", yes: "Confirm", no: "Not now"}
  }[lang];
  function fmt(s, v) { return s.replace(/\{(\w)\}/g, function (_, k) { return v[k] == null ? "" : v[k]; }); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text != null) { e.textContent = text; }
    return e;
  }
  if (script && script.src) {
    document.head.appendChild(el("link", {rel: "stylesheet", href: script.src.replace(/widget\.js.*$/, "chat.css")}));
  }

  var KEY = "okpay.chat." + (signedIn ? "user" : "guest");
  var store;
  try { store = JSON.parse(localStorage.getItem(KEY) || "{}"); } catch (e) { store = {}; }
  store.pending = store.pending || [];
  store.lastSeq = store.lastSeq || 0;
  function save() { try { localStorage.setItem(KEY, JSON.stringify(store)); } catch (e) { /* private mode */ } }

  // --- the DOM ----------------------------------------------------------------------------
  var launcher = el("button", {type: "button", "class": "chat-launcher", "aria-expanded": "false",
    "aria-controls": "okpay-chat-panel", "data-chat-launcher": ""}, T.open);
  var panel = el("section", {id: "okpay-chat-panel", "class": "chat-panel", role: "dialog",
    "aria-label": T.title, hidden: ""});
  var head = el("header", {"class": "chat-head"});
  head.appendChild(el("h2", {}, T.title));
  var closeBtn = el("button", {type: "button", "class": "chat-close", "aria-label": T.close}, "×");
  head.appendChild(closeBtn);
  var status = el("p", {"class": "chat-status", role: "status", "aria-live": "polite"});
  var log = el("ol", {"class": "chat-log", role: "log", "aria-live": "polite", "aria-relevant": "additions", tabindex: "0"});
  var typing = el("p", {"class": "chat-typing", "aria-live": "polite", hidden: ""}, T.typing);
  var extra = el("div", {"class": "chat-extra"});
  var form = el("form", {"class": "chat-form"});
  var emailLabel = el("label", {"for": "okpay-chat-email", "class": "chat-email-label"}, T.email);
  var email = el("input", {id: "okpay-chat-email", type: "email", name: "email", autocomplete: "email", required: ""});
  var input = el("textarea", {id: "okpay-chat-input", name: "body", rows: "2", placeholder: T.placeholder,
    "aria-label": T.placeholder, maxlength: "2000"});
  var sendBtn = el("button", {type: "submit", "class": "btn btn-primary chat-send"}, T.send);
  var personBtn = el("button", {type: "button", "class": "btn chat-person", "data-chat-handoff": ""}, T.person);
  form.appendChild(emailLabel); form.appendChild(email); form.appendChild(input);
  var row = el("div", {"class": "chat-buttons"}); row.appendChild(personBtn); row.appendChild(sendBtn);
  form.appendChild(row);
  [head, status, log, typing, extra, form].forEach(function (n) { panel.appendChild(n); });
  root.appendChild(launcher); root.appendChild(panel);
  // The greeting always comes first, so that nobody (a guest before the first message either) opens a blank panel.
  function greet() {
    if (log.querySelector(".chat-greeting")) { return; }
    var li = el("li", {"class": "chat-msg chat-greeting"});
    li.appendChild(el("span", {"class": "chat-who"}, T.bot));
    var body = el("p", {"class": "chat-body"}, T.greeting + (signedIn ? "" : "\n" + T.guestHint));
    li.appendChild(body);
    log.insertBefore(li, log.firstChild);
  }
  greet();

  var ws = null, backoff = 500, welcomed = false, state = {}, agentRead = 0, retryTimer = null;
  var seen = {};

  function needEmail() { return !signedIn && !store.conversation; }
  function refreshForm() {
    var ask = needEmail();
    emailLabel.hidden = !ask; email.hidden = !ask; email.required = ask;
    var ended = state.state === "ended";
    input.disabled = ended; sendBtn.disabled = ended;
    personBtn.hidden = ended || state.state === "active" || state.state === "queued";
  }

  function bubble(m) {
    if (m.seq && seen[m.seq]) { return; }
    var li;
    if (m.client_id) { li = log.querySelector("[data-client-id='" + cssEscape(m.client_id) + "']"); }
    if (!li) {
      li = el("li", {"class": "chat-msg chat-" + m.kind});
      var who = {customer: T.you, bot: T.bot, system: T.sys}[m.kind] || m.author || "";
      li.appendChild(el("span", {"class": "chat-who"}, who));
      var body = el("div", {"class": "chat-body"});
      String(m.body || "").split("\n").forEach(function (line) { body.appendChild(el("p", {}, line)); });
      li.appendChild(body);
      if (m.client_id) { li.setAttribute("data-client-id", m.client_id); }
      log.appendChild(li);
    }
    if (m.seq) {
      seen[m.seq] = true;
      li.setAttribute("data-seq", m.seq);
      li.classList.remove("chat-pending");
      store.lastSeq = Math.max(store.lastSeq, m.seq);
    }
    var data = m.data || {};
    if (data.articles && data.articles.length && !li.querySelector(".chat-articles")) {
      var ul = el("ul", {"class": "chat-articles"});
      data.articles.forEach(function (a) {
        var item = el("li"); var link = el("a", {href: a.url}, a.title);
        item.appendChild(link); item.appendChild(el("span", {}, " — " + a.summary)); ul.appendChild(item);
      });
      li.appendChild(ul);
    }
    if (data.actions && data.actions.length && !li.querySelector(".chat-actions")) {
      var box = el("div", {"class": "chat-actions"});
      data.actions.forEach(function (a) {
        if (a.action === "open") { box.appendChild(el("a", {"class": "btn btn-small", href: a.url}, a.label)); return; }
        var b = el("button", {type: "button", "class": "btn btn-small" + (a.action === "cancel" ? " btn-danger" : ""),
          "data-action": a.action, "data-target": a.target || "", "data-key": a.key || ""}, a.label);
        box.appendChild(b);
      });
      li.appendChild(box);
    }
    if (data.leave_message) { showLeave(); }
    log.scrollTop = log.scrollHeight;
    markRead();
  }
  // Money buttons (cancel a pending payment) ask first: the question and "confirm" / "not now" appear
  // under the button; "confirm" sends the action once (its key makes a repeat harmless on the server too).
  function askFirst(b) {
    var box = b.parentNode; if (!box || box.querySelector(".chat-confirm")) { return; }
    b.disabled = true;
    var ask = el("div", {"class": "chat-confirm", role: "group", "data-chat-confirm": ""});
    var label = b.textContent;
    ask.appendChild(el("p", {}, fmt(T.sure, {a: label})));
    var yes = el("button", {type: "button", "class": "btn btn-small btn-danger", "data-chat-confirm-yes": ""}, T.yes);
    var no = el("button", {type: "button", "class": "btn btn-small", "data-chat-confirm-no": ""}, T.no);
    yes.addEventListener("click", function () {
      yes.disabled = true; no.disabled = true;
      send({type: "action", action: b.getAttribute("data-action"), target: b.getAttribute("data-target"),
            key: b.getAttribute("data-key")});
    });
    no.addEventListener("click", function () { ask.remove(); b.disabled = false; b.focus(); });
    ask.appendChild(yes); ask.appendChild(no);
    box.appendChild(ask);
    yes.focus();
  }
  function cssEscape(s) { return String(s).replace(/[^A-Za-z0-9_.:-]/g, ""); }

  function showLeave() {
    if (extra.querySelector(".chat-leave")) { return; }
    var f = el("form", {"class": "chat-leave"});
    var ta = el("textarea", {rows: "3", placeholder: T.leavePh, "aria-label": T.leave, required: ""});
    f.appendChild(ta); f.appendChild(el("button", {type: "submit", "class": "btn btn-primary"}, T.leave));
    log.scrollTop = log.scrollHeight;
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (ta.value.trim()) { send({type: "leave_message", body: ta.value}); f.remove(); }
    });
    extra.appendChild(f);
  }
  function showRating() {
    if (extra.querySelector(".chat-rate")) { return; }
    var box = el("div", {"class": "chat-rate", role: "group", "aria-label": T.rate});
    box.appendChild(el("p", {}, T.rate));
    for (var n = 1; n <= 5; n++) {
      var b = el("button", {type: "button", "class": "btn btn-small", "data-score": String(n),
        "aria-label": fmt(T.star, {n: n})}, "★" + n);
      box.appendChild(b);
    }
    var tb = el("button", {type: "button", "class": "btn btn-small", "data-transcript": ""}, T.transcript);
    var nb = el("button", {type: "button", "class": "btn btn-small", "data-new-chat": ""}, T.newChat);
    box.appendChild(tb); box.appendChild(nb);
    extra.appendChild(box);
    log.scrollTop = log.scrollHeight;
  }

  function renderState(s) {
    state = s || state;
    var text = "";
    if (state.state === "queued") { text = fmt(T.queue, {p: state.position, m: state.wait_minutes}); }
    else if (state.state === "active") { text = fmt(T.agent, {a: state.agent || ""}); }
    else if (state.state === "ended") { text = T.ended; if (state.rating == null) { showRating(); } }
    status.textContent = text;
    refreshForm();
  }
  function renderRead() {
    Array.prototype.forEach.call(log.querySelectorAll(".chat-customer"), function (li) {
      var seq = +li.getAttribute("data-seq");
      li.classList.toggle("chat-read", !!seq && seq <= agentRead);
      li.setAttribute("title", seq && seq <= agentRead ? T.read : "");
    });
  }
  function markRead() {
    if (!panel.hidden && ws && ws.readyState === 1 && welcomed && store.lastSeq > (store.readSent || 0)) {
      store.readSent = store.lastSeq;
      send({type: "read", seq: store.lastSeq});
    }
  }

  // --- the connection ----------------------------------------------------------------------
  function send(frame) { if (ws && ws.readyState === 1) { ws.send(JSON.stringify(frame)); return true; } return false; }
  function connect() {
    if (ws && ws.readyState <= 1) { return; }
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/chat/";
    ws = new WebSocket(url);
    welcomed = false;
    ws.onopen = function () {
      backoff = 500;
      var hello = {type: "hello", lang: lang, last_seq: store.lastSeq};
      if (store.conversation) { hello.conversation = store.conversation; hello.token = store.token || ""; }
      else if (!signedIn) { hello.email = store.email || ""; }
      send(hello);
    };
    ws.onmessage = function (ev) {
      var f; try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (f.type === "welcome") {
        if (store.conversation && store.conversation !== f.conversation) { log.textContent = ""; greet(); seen = {}; store.lastSeq = 0; }
        welcomed = true; store.conversation = f.conversation; if (f.token) { store.token = f.token; }
        f.messages.forEach(bubble); agentRead = f.agent_read_seq || 0; renderRead();
        renderState(f.state); status.classList.remove("chat-offline");
        store.pending.forEach(function (p) { send({type: "message", client_id: p.client_id, body: p.body}); });
        save(); markRead();
      } else if (f.type === "ack") {
        store.pending = store.pending.filter(function (p) { return p.client_id !== f.client_id; });
        var li = log.querySelector("[data-client-id='" + cssEscape(f.client_id) + "']");
        if (li) { li.classList.remove("chat-pending"); li.setAttribute("data-seq", f.seq); seen[f.seq] = true; }
        store.lastSeq = Math.max(store.lastSeq, f.seq); save();
      } else if (f.type === "message") { bubble(f.message); save(); }
      else if (f.type === "typing") { typing.hidden = !f.typing; }
      else if (f.type === "read") { agentRead = Math.max(agentRead, f.seq); renderRead(); }
      else if (f.type === "state") { renderState(f); if (f.state !== "active") { typing.hidden = true; } }
      else if (f.type === "rated") { var r = extra.querySelector(".chat-rate p"); if (r) { r.textContent = T.rated; }
        Array.prototype.forEach.call(extra.querySelectorAll("[data-score]"), function (b) { b.disabled = true; }); state.rating = f.score; }
      else if (f.type === "transcript_sent") { status.textContent = fmt(f.confirm ? T.confirm : T.sent, {t: f.to}); }
      else if (f.type === "action_ok") {
        var btn = panel.querySelector("[data-key='" + cssEscape(f.key) + "']");
        if (btn) { btn.textContent = T.cancelled; btn.disabled = true;
          var asked = btn.parentNode.querySelector(".chat-confirm"); if (asked) { asked.remove(); } }
      } else if (f.type === "error") {
        if (f.code === "not_found" && store.conversation) { store = {pending: store.pending, lastSeq: 0}; save(); log.textContent = ""; greet(); seen = {}; ws.close(); return; }
        status.textContent = f.message;
      }
    };
    ws.onclose = function (ev) {
      welcomed = false;
      if (ev.code === 4403 || ev.code === 4401 || ev.code === 1008) { return; }
      status.textContent = T.offline; status.classList.add("chat-offline");
      clearTimeout(retryTimer);
      retryTimer = setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 15000);
    };
  }

  function newClientId() {
    var a = new Uint8Array(9); (window.crypto || window.msCrypto).getRandomValues(a);
    return "w" + Date.now().toString(36) + Array.prototype.map.call(a, function (b) { return (b % 36).toString(36); }).join("");
  }

  // --- events -------------------------------------------------------------------------------
  function open() {
    panel.hidden = false; launcher.setAttribute("aria-expanded", "true"); root.classList.add("chat-open");
    refreshForm(); if (!needEmail()) { connect(); } (needEmail() ? email : input).focus(); markRead();
  }
  function close() { panel.hidden = true; launcher.setAttribute("aria-expanded", "false"); root.classList.remove("chat-open"); launcher.focus(); }
  launcher.addEventListener("click", function () { if (panel.hidden) { open(); } else { close(); } });
  closeBtn.addEventListener("click", close);
  panel.addEventListener("keydown", function (ev) { if (ev.key === "Escape") { close(); } });
  document.addEventListener("click", function (ev) {
    var t = ev.target.closest && ev.target.closest("[data-chat-open]");
    if (t) { ev.preventDefault(); open(); }
  });
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var body = input.value.trim();
    if (needEmail()) {
      if (!email.checkValidity()) { email.reportValidity(); return; }
      store.email = email.value.trim(); save();
      if (ws) { ws.onclose = null; ws.close(); ws = null; }
      connect();
    }
    if (!body) { return; }
    var m = {client_id: newClientId(), body: body};
    store.pending.push(m); save();
    var li = el("li", {"class": "chat-msg chat-customer chat-pending", "data-client-id": m.client_id});
    li.appendChild(el("span", {"class": "chat-who"}, T.you));
    var b = el("div", {"class": "chat-body"}); b.appendChild(el("p", {}, body)); li.appendChild(b);
    log.appendChild(li); log.scrollTop = log.scrollHeight;
    input.value = "";
    if (welcomed) { send({type: "message", client_id: m.client_id, body: body}); }
  });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); form.requestSubmit(); }
  });
  var typingTimer = null, typingSent = 0;
  input.addEventListener("input", function () {
    if (Date.now() - typingSent > 3000) { typingSent = Date.now(); send({type: "typing", typing: true}); }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { typingSent = 0; send({type: "typing", typing: false}); }, 4000);
  });
  personBtn.addEventListener("click", function () { send({type: "handoff"}); });
  panel.addEventListener("click", function (ev) {
    var b = ev.target.closest("button"); if (!b || !panel.contains(b)) { return; }
    if (b.hasAttribute("data-action")) {
      var action = b.getAttribute("data-action");
      if (action === "handoff") { send({type: "handoff"}); return; }
      askFirst(b);  // a button that moves money acts only after "confirm", and once
    } else if (b.hasAttribute("data-score")) {
      send({type: "rate", score: +b.getAttribute("data-score")});
    } else if (b.hasAttribute("data-transcript")) {
      send({type: "transcript"});
    } else if (b.hasAttribute("data-new-chat")) {
      store = {pending: [], lastSeq: 0, email: store.email}; save();
      log.textContent = ""; greet(); extra.textContent = ""; seen = {}; state = {};
      if (ws) { ws.onclose = null; ws.close(); ws = null; }
      connect();
    }
  });
  window.addEventListener("online", function () { if (!panel.hidden) { connect(); } });
  if (store.conversation || store.pending.length) { refreshForm(); }
  if (location.hash === "#chat") { open(); }
})();
