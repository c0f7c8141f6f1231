// OKPay site behaviour. No inline scripts anywhere (the Content-Security-Policy forbids them).
(function () {
  "use strict";
  // A language <select> submits its form on change; the button stays for keyboard and no-JS users.
  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
    var select = form.querySelector("select");
    var button = form.querySelector("[data-autosubmit-button]");
    if (button) { button.classList.add("visually-hidden"); }
    if (select) { select.addEventListener("change", function () { form.requestSubmit ? form.requestSubmit() : form.submit(); }); }
  });
})();
