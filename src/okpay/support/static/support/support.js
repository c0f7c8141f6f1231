// Support desk behaviour: keyboard shortcuts and pausing list polling while tickets are selected.
// No inline scripts anywhere (the Content-Security-Policy forbids them).
(function () {
  "use strict";
  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  }
  // Do not replace the queue while the agent has selected rows for a bulk action.
  document.body.addEventListener("htmx:beforeRequest", function (evt) {
    var el = evt.detail && evt.detail.elt;
    if (el && el.hasAttribute("data-desk-poll") && el.querySelector("input[type=checkbox]:checked")) {
      evt.preventDefault();
    }
    if (el && el.id === "live" && document.activeElement && document.activeElement.closest && document.activeElement.closest("#live")) {
      evt.preventDefault();
    }
  });
  // The ticket page's panes on a phone: one at a time (the conversation, or the customer).
  var panes = document.querySelector("[data-desk-ticket]");
  function showPane(name) {
    if (!panes) { return; }
    panes.setAttribute("data-pane", name);
    Array.prototype.forEach.call(panes.querySelectorAll("[data-pane-show]"), function (b) {
      b.setAttribute("aria-pressed", b.getAttribute("data-pane-show") === name ? "true" : "false");
    });
  }
  document.addEventListener("click", function (evt) {
    var b = evt.target.closest && evt.target.closest("[data-pane-show]");
    if (b) { showPane(b.getAttribute("data-pane-show")); window.scrollTo(0, 0); }
  });
  var cursor = -1;
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-queue-table] [data-row]")); }
  function mark(list) {
    list.forEach(function (r, i) { r.classList.toggle("kbd-current", i === cursor); });
    if (list[cursor]) { list[cursor].scrollIntoView({block: "nearest"}); }
  }
  document.addEventListener("keydown", function (evt) {
    if (evt.ctrlKey || evt.metaKey || evt.altKey) { return; }
    if (typing(document.activeElement)) {
      if (evt.key === "Escape") { document.activeElement.blur(); }
      return;
    }
    var list = rows();
    if (evt.key === "/") {
      var search = document.querySelector("[data-desk-search]");
      if (search) { evt.preventDefault(); search.focus(); }
    } else if (evt.key === "j" && list.length) {
      cursor = Math.min(cursor + 1, list.length - 1); mark(list);
    } else if (evt.key === "k" && list.length) {
      cursor = Math.max(cursor - 1, 0); mark(list);
    } else if (evt.key === "Enter" && list[cursor]) {
      var link = list[cursor].querySelector("[data-open]"); if (link) { link.click(); }
    } else if (evt.key === "x" && list[cursor]) {
      var box = list[cursor].querySelector("input[type=checkbox]"); if (box) { box.checked = !box.checked; }
    } else if (evt.key === "r") {
      var reply = document.querySelector("[data-key-reply]");
      if (reply) { evt.preventDefault(); if (panes) { showPane("conversation"); } reply.focus(); }
    } else if (evt.key === "c" && panes) {
      showPane(panes.getAttribute("data-pane") === "customer" ? "conversation" : "customer");
    } else if (evt.key === "u") {
      var back = document.querySelector("[data-key-back]"); if (back) { back.click(); }
    }
  });
})();
