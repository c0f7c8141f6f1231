// Account pages: a password strength meter (no inline scripts: the CSP forbids them).
(function () {
  "use strict";
  var COMMON = /^(password|passw0rd|qwerty|123456|111111|abc123|letmein|welcome|iloveyou|admin|okpay)/i;
  function score(value) {
    if (!value) { return -1; }
    var classes = 0;
    if (/[a-z]/.test(value)) { classes++; }
    if (/[A-Z]/.test(value)) { classes++; }
    if (/\d/.test(value)) { classes++; }
    if (/[^A-Za-z0-9]/.test(value)) { classes++; }
    var s = 0;
    if (value.length >= 10) { s++; }
    if (value.length >= 14) { s++; }
    if (value.length >= 20) { s++; }
    s += Math.max(0, classes - 2);
    if (!/[A-Za-z]/.test(value) || !/\d/.test(value) || !/[^A-Za-z0-9]/.test(value)) { s = Math.min(s, 1); }
    if (value.length < 10 || COMMON.test(value) || /(.)\1{3,}/.test(value)) { s = Math.min(s, 0); }
    return Math.min(4, s);
  }
  document.querySelectorAll("input[data-strength-meter]").forEach(function (input) {
    var meter = document.getElementById("password-strength");
    if (!meter) { return; }
    var label = meter.querySelector("[data-strength-label]");
    input.addEventListener("input", function () {
      var s = score(input.value);
      if (s < 0) { meter.hidden = true; return; }
      meter.hidden = false;
      meter.setAttribute("data-score", String(s));
      label.textContent = label.getAttribute("data-label-" + s);
    });
  });
})();
