// OKPay site behaviour. No inline scripts anywhere (the Content-Security-Policy forbids them).
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  // Phones: the header is one row; the menu button opens the links and the language under it.
  document.querySelectorAll("[data-menu-toggle]").forEach(function (button) {
    var header = button.closest(".site-header");
    if (!header) { return; }
    function set(open) { header.classList.toggle("menu-open", open); button.setAttribute("aria-expanded", open ? "true" : "false"); }
    button.addEventListener("click", function () { set(!header.classList.contains("menu-open")); });
    document.addEventListener("keydown", function (event) { if (event.key === "Escape") { set(false); } });
  });
  // A language <select> submits its form on change; the button stays for keyboard and no-JS users.
  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
    var select = form.querySelector("select");
    var button = form.querySelector("[data-autosubmit-button]");
    if (button) { button.classList.add("visually-hidden"); }
    if (select) { select.addEventListener("change", function () { form.requestSubmit ? form.requestSubmit() : form.submit(); }); }
  });
})();
