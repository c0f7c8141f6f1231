// Live preview of an article's Markdown in the Django admin: the server renders and sanitises
// it (markdown + nh3, the same code as the site); this only sends the text and shows the answer.
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  ready(function () {
    var body = document.getElementById("id_body");
    if (!body || !body.form || !body.dataset.previewUrl) { return; }
    var target = document.querySelector(".help-admin-preview");
    if (!target) {
      target = document.createElement("div");
      target.className = "help-admin-preview";
      body.parentNode.appendChild(target);
    }
    var token = body.form.querySelector("input[name=csrfmiddlewaretoken]");
    var timer = null;
    function refresh() {
      var data = new FormData();
      data.append("body", body.value);
      fetch(body.dataset.previewUrl, {
        method: "POST", body: data, credentials: "same-origin",
        headers: {"X-CSRFToken": token ? token.value : ""}
      }).then(function (response) {
        return response.ok ? response.text() : Promise.reject(response.status);
      }).then(function (html) {
        target.innerHTML = html;  // sanitised by the server with nh3
      }).catch(function () { /* keep the last preview */ });
    }
    body.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 400);
    });
  });
})();
