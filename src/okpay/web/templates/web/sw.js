{% autoescape off %}/* OKPay's service worker (okpay.web.pwa). Served from /sw.js, scope "/".
 * It precaches the app shell and nothing else: pages and API answers about a person or money are
 * never stored (they say Cache-Control: no-store, and this worker only ever stores /static/ files
 * whose answer allows it). Version {{ version }}. */
"use strict";
var VERSION = "{{ version }}";
var SHELL_CACHE = "okpay-shell-" + VERSION;
var STATIC_CACHE = "okpay-static-" + VERSION;
var META_CACHE = "okpay-meta";
var SHELL = {{ shell }};
var OFFLINE = {{ offline }};
var PASSTHROUGH = {{ passthrough }};
var STATIC_PREFIX = {{ static_prefix }};
var ICON = {{ icon }};

self.addEventListener("install", function (event) {
  // A new version waits until the page says "reload" (or no page of the old one is open).
  event.waitUntil(caches.open(SHELL_CACHE).then(function (cache) {
    return cache.addAll(SHELL.map(function (url) { return new Request(url, { cache: "reload", credentials: "omit" }); }));
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (key) {
      return key.indexOf("okpay-") === 0 && key !== SHELL_CACHE && key !== STATIC_CACHE && key !== META_CACHE;
    }).map(function (key) { return caches.delete(key); }));
  }).then(function () { return self.clients.claim(); }));
});

function storable(response) {
  if (!response || !response.ok || response.type !== "basic") { return false; }
  var control = (response.headers.get("Cache-Control") || "").toLowerCase();
  return control.indexOf("no-store") === -1 && control.indexOf("private") === -1;
}

function language() {
  return caches.open(META_CACHE).then(function (cache) { return cache.match("/__okpay/lang"); })
    .then(function (answer) { return answer ? answer.text() : ""; })
    .then(function (lang) { return lang === "en" ? "en" : "zh-hans"; });
}

function offlinePage() {
  return language().then(function (lang) {
    return caches.match(OFFLINE[lang], { cacheName: SHELL_CACHE });
  }).then(function (page) {
    return page || new Response("Offline / 网络已断开", { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" } });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  for (var i = 0; i < PASSTHROUGH.length; i++) {
    if (url.pathname.indexOf(PASSTHROUGH[i]) === 0) { return; }
  }
  if (request.mode === "navigate") {
    // Pages: always the network, never a stored copy; the offline page when there is none.
    event.respondWith(fetch(request).catch(offlinePage));
    return;
  }
  if (url.pathname.indexOf(STATIC_PREFIX) !== 0) { return; }  // anything else: the network, unstored
  event.respondWith(caches.match(request, { ignoreSearch: false }).then(function (hit) {
    if (hit) { return hit; }
    return fetch(request).then(function (response) {
      if (storable(response)) {
        var copy = response.clone();
        caches.open(STATIC_CACHE).then(function (cache) { return cache.put(request, copy); });
      }
      return response;
    });
  }));
});

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "skip-waiting") {
    self.skipWaiting();
  } else if (data.type === "lang" && (data.lang === "en" || data.lang === "zh-hans")) {
    event.waitUntil(caches.open(META_CACHE).then(function (cache) {
      return cache.put("/__okpay/lang", new Response(data.lang));
    }));
  } else if (data.type === "sign-out") {
    // Everything this worker holds goes; the shell is fetched again by the next page.
    event.waitUntil(caches.keys().then(function (keys) {
      return Promise.all(keys.map(function (key) { return caches.delete(key); }));
    }));
  }
});

// Web Push: a closed app still hears that money arrived (okpay.payments.push). The payload carries
// no amount or name, only that something happened; the page it opens is behind sign-in.
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  var title = data.title || "OKPay";
  event.waitUntil(self.registration.showNotification(title, {
    body: data.body || "", tag: data.tag || "okpay-wallet", icon: ICON,
    data: { url: data.url || "/wallet/" }
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var target = (event.notification.data && event.notification.data.url) || "/wallet/";
  if (target.charAt(0) !== "/" || target.charAt(1) === "/") { target = "/wallet/"; }
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
    for (var i = 0; i < windows.length; i++) {
      if ("focus" in windows[i]) { windows[i].navigate(target); return windows[i].focus(); }
    }
    return self.clients.openWindow(target);
  }));
});
{% endautoescape %}
