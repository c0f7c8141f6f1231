// The demo shop's order page, as a merchant's front end would do it: it asks OKPay for the payment
// intent's public status with the shop's publishable key (pk_…) and the intent's client secret, and
// updates the page when the payment goes through (no secret key ever reaches the browser).
(function () {
  "use strict";
  var el = document.querySelector("[data-order-status]");
  if (!el) { return; }
  var done = { succeeded: true, cancelled: true };
  function show(status) {
    el.dataset.status = status;
    if (status === "succeeded") {
      el.textContent = el.dataset.paidText;
      el.className = "alert alert-ok";
    } else if (status === "cancelled") {
      el.textContent = el.dataset.cancelledText;
    }
  }
  function poll() {
    fetch(el.dataset.statusUrl + "?client_secret=" + encodeURIComponent(el.dataset.clientSecret), {
      headers: { "Authorization": "Bearer " + el.dataset.publishableKey, "Accept": "application/json" },
      credentials: "omit"
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (intent) {
      if (intent) { show(intent.status); }
      if (!intent || !done[intent.status]) { window.setTimeout(poll, 2000); }
    }).catch(function () { window.setTimeout(poll, 5000); });
  }
  if (!done[el.dataset.status]) { poll(); }
}());
