// OKPay as an installable app: registers the service worker (/sw.js), offers "a new version is
// ready — reload", clears what the worker holds on sign-out. No inline scripts (CSP).
(function () {
  "use strict";
  var app = document.getElementById("okpay-app");
  if (!app || !("serviceWorker" in navigator)) { return; }
  var banner = document.getElementById("okpay-update");
  var reloading = false;

  function offer(worker) {
    if (!banner || !worker) { return; }
    banner.hidden = false;
    banner.querySelector("button").addEventListener("click", function () {
      reloading = true;
      worker.postMessage({ type: "skip-waiting" });
    }, { once: true });
  }

  navigator.serviceWorker.addEventListener("controllerchange", function () {
    if (reloading) { window.location.reload(); }
  });

  navigator.serviceWorker.register(app.dataset.sw, { scope: "/" }).then(function (registration) {
    window.okpayRegistration = registration;
    if (registration.waiting && navigator.serviceWorker.controller) { offer(registration.waiting); }
    registration.addEventListener("updatefound", function () {
      var worker = registration.installing;
      if (!worker) { return; }
      worker.addEventListener("statechange", function () {
        if (worker.state === "installed" && navigator.serviceWorker.controller) { offer(worker); }
      });
    });
    // A long-lived tab (the installed app) looks for a new version when it comes back to the front.
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { registration.update().catch(function () {}); }
    });
  }).catch(function () { /* no worker: the site works as before */ });

  navigator.serviceWorker.ready.then(function (registration) {
    if (registration.active) { registration.active.postMessage({ type: "lang", lang: app.dataset.lang }); }
  });

  // Sign-out: every cache goes (the server's answer also says Clear-Site-Data: "storage").
  document.querySelectorAll("form[action='" + app.dataset.logout + "']").forEach(function (form) {
    form.addEventListener("submit", function () {
      if (navigator.serviceWorker.controller) { navigator.serviceWorker.controller.postMessage({ type: "sign-out" }); }
      if (window.caches) {
        caches.keys().then(function (keys) { keys.forEach(function (key) { caches.delete(key); }); });
      }
    });
  });
})();
