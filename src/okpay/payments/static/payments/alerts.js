// Money-arrived alerts (okpay.payments.alerts): the wallet socket keeps every open page of a
// signed-in customer told when their wallet changes. The wallet home refreshes itself in place;
// every page says it in a live region; a tab in the background shows a browser notification when
// the customer allowed notifications. The "turn on alerts" button also subscribes to Web Push.
(function () {
  "use strict";
  var app = document.getElementById("okpay-app");
  if (!app || !app.dataset.walletSocket || !window.WebSocket) { return; }
  var toast = document.getElementById("okpay-alert");
  var backoff = 1000;
  var socket = null;
  var hideTimer = null;

  function csrf() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) { return decodeURIComponent(match[1]); }
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function say(text) {
    if (!toast) { return; }
    toast.textContent = text;
    toast.hidden = false;
    window.clearTimeout(hideTimer);
    hideTimer = window.setTimeout(function () { toast.hidden = true; }, 8000);
  }

  function refreshWallet() {
    if (window.location.pathname !== app.dataset.walletHome) { return; }
    fetch(app.dataset.walletHome, { credentials: "same-origin", cache: "no-store" }).then(function (answer) {
      return answer.ok ? answer.text() : null;
    }).then(function (html) {
      if (!html) { return; }
      var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("#main");
      var main = document.getElementById("main");
      if (fresh && main) {
        main.innerHTML = fresh.innerHTML;
        if (window.htmx) { window.htmx.process(main); }
        setUpButton();
      }
    }).catch(function () {});
  }

  function notify(event) {
    if (!event.money_in || !document.hidden || !("Notification" in window) || Notification.permission !== "granted") { return; }
    var options = { body: "", tag: "okpay-" + event.transaction, data: { url: app.dataset.walletHome } };
    if (navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.ready.then(function (registration) { registration.showNotification(event.title, options); });
    } else {
      new Notification(event.title, options);
    }
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + app.dataset.walletSocket);
    socket.addEventListener("open", function () { backoff = 1000; document.documentElement.dataset.walletLive = "1"; });
    socket.addEventListener("message", function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      if (event.type !== "wallet") { return; }
      say(event.title);
      refreshWallet();
      notify(event);
    });
    socket.addEventListener("close", function (closed) {
      delete document.documentElement.dataset.walletLive;
      if (closed.code === 4401) { return; }  // signed out: nothing more to hear
      window.setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30000);
    });
  }

  // --- "turn on alerts": notification permission, then Web Push where the browser has it -------------
  function urlKey(base64) {
    var padded = (base64 + "===".slice((base64.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes;
  }

  function subscribePush() {
    if (!("serviceWorker" in navigator) || !("PushManager" in window)) { return Promise.resolve(false); }
    return Promise.all([navigator.serviceWorker.ready, fetch(app.dataset.pushKey, { credentials: "same-origin" })
      .then(function (answer) { return answer.json(); })]).then(function (both) {
      return both[0].pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: urlKey(both[1].key) });
    }).then(function (subscription) {
      return fetch(app.dataset.pushSubscribe, {
        method: "POST", credentials: "same-origin", body: JSON.stringify(subscription.toJSON()),
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() }
      }).then(function (answer) { return answer.ok; });
    }).catch(function () { return false; });
  }

  function setUpButton() {
    var box = document.getElementById("wallet-alerts");
    if (!box || !("Notification" in window)) { return; }
    var button = box.querySelector("button");
    var state = box.querySelector("[data-alerts-state]");
    function show() {
      var permission = Notification.permission;
      box.hidden = false;
      button.hidden = permission !== "default";
      state.textContent = permission === "granted" ? box.dataset.on : permission === "denied" ? box.dataset.blocked : "";
    }
    button.addEventListener("click", function () {
      Notification.requestPermission().then(function (permission) {
        if (permission === "granted") { return subscribePush(); }
        return false;
      }).then(show);
    });
    show();
  }

  // Sign-out: this device stops getting pushes for this customer.
  document.querySelectorAll("form[action='" + app.dataset.logout + "']").forEach(function (form) {
    form.addEventListener("submit", function () {
      if (!("serviceWorker" in navigator) || !navigator.serviceWorker.controller) { return; }
      navigator.serviceWorker.ready.then(function (registration) { return registration.pushManager.getSubscription(); })
        .then(function (subscription) {
          if (!subscription) { return; }
          fetch(app.dataset.pushUnsubscribe, { method: "POST", credentials: "same-origin", keepalive: true,
            body: JSON.stringify({ endpoint: subscription.endpoint }),
            headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() } });
          subscription.unsubscribe();
        }).catch(function () {});
    });
  });

  setUpButton();
  // The socket opens once the page has loaded: first paint and the page's own scripts come first
  // (the phone-profile Lighthouse run of the wallet home, docs/performance.md).
  if (document.readyState === "complete") { connect(); } else { window.addEventListener("load", connect, { once: true }); }
})();
