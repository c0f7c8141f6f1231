// The bill form's reference hint follows the chosen biller (each biller's format is in data-hints).
(function () {
  "use strict";
  function start() {
    var hint = document.getElementById("reference-hint");
    var select = document.getElementById("id_biller");
    if (!hint || !select) return;
    var hints;
    try { hints = JSON.parse(hint.getAttribute("data-hints") || "{}"); } catch (e) { return; }
    select.addEventListener("change", function () {
      if (hints[select.value]) hint.textContent = hints[select.value];
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
