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
  // Password fields: show / hide what was typed.
  var zh = (document.documentElement.lang || "").toLowerCase().indexOf("zh") === 0;
  document.querySelectorAll("main input[type=password]").forEach(function (input) {
    var button = document.createElement("button");
    button.type = "button"; button.className = "pw-toggle link-button small";
    button.setAttribute("aria-controls", input.id || ""); button.setAttribute("aria-pressed", "false");
    button.textContent = zh ? "显示密码" : "Show password";
    button.addEventListener("click", function () {
      var shown = input.type === "text";
      input.type = shown ? "password" : "text";
      button.setAttribute("aria-pressed", shown ? "false" : "true");
      button.textContent = shown ? (zh ? "显示密码" : "Show password") : (zh ? "隐藏密码" : "Hide password");
    });
    input.insertAdjacentElement("afterend", button);
  });
  // On a phone a wide table scrolls inside its card: a region that scrolls is reachable by keyboard
  // too (tabindex, so arrow keys scroll it; axe: scrollable-region-focusable).
  function focusableScrollers() {
    document.querySelectorAll("main table").forEach(function (table) {
      if (table.scrollWidth > table.clientWidth + 1) {
        if (!table.hasAttribute("tabindex")) { table.tabIndex = 0; table.dataset.scrollFocus = "1"; }
      } else if (table.dataset.scrollFocus === "1") {
        table.removeAttribute("tabindex"); delete table.dataset.scrollFocus;
      }
    });
  }
  focusableScrollers();
  window.addEventListener("resize", focusableScrollers);
  document.addEventListener("htmx:afterSettle", focusableScrollers);
  // A copy button copies the text of its target (a new secret key shown once).
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var target = document.querySelector(button.getAttribute("data-copy"));
      if (!target || !navigator.clipboard) { return; }
      navigator.clipboard.writeText(target.textContent.trim()).then(function () {
        button.textContent = button.getAttribute("data-copied") || button.textContent;
      });
    });
  });
  // A form with data-confirm asks first (money buttons): nothing happens unless the person says yes.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault(); event.stopImmediatePropagation();
    }
  }, true);
  // A form that posts acts once: a second press while the first is on its way does nothing, and the
  // button shows progress (its name and value are still sent, so it is not disabled).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || (form.method || "").toLowerCase() !== "post" || form.hasAttribute("hx-post")) { return; }
    if (event.defaultPrevented) { return; }
    if (form.dataset.submitting === "1") { event.preventDefault(); return; }
    form.dataset.submitting = "1";
    var button = event.submitter || form.querySelector("[type=submit]");
    if (button) { button.setAttribute("aria-busy", "true"); button.classList.add("is-busy"); }
  });
  window.addEventListener("pageshow", function () {  // back to a page from the cache: its forms work again
    document.querySelectorAll("form[data-submitting]").forEach(function (form) {
      delete form.dataset.submitting;
      form.querySelectorAll("[aria-busy]").forEach(function (b) { b.removeAttribute("aria-busy"); b.classList.remove("is-busy"); });
    });
  });
})();
