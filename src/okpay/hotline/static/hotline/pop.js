// Screen-pop on the desk: the phone system reports a call (POST /hooks/phone/calls), the server
// pushes it over ws/desk/calls/ and this script shows the caller (fetched as translated HTML).
(function () {
  "use strict";
  if (!window.WebSocket || !window.fetch) { return; }
  var box = document.createElement("div");
  box.className = "call-pops";
  box.setAttribute("aria-live", "assertive");
  box.setAttribute("data-call-pops", "");
  document.body.appendChild(box);
  box.addEventListener("click", function (evt) {
    var close = evt.target.closest && evt.target.closest("[data-call-pop-close]");
    if (close) { close.closest(".call-pop").remove(); }
  });
  var delay = 1000;
  function connect() {
    var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/desk/calls/");
    ws.onopen = function () { delay = 1000; document.body.setAttribute("data-call-pop-ready", "1"); };
    ws.onmessage = function (evt) {
      var frame;
      try { frame = JSON.parse(evt.data); } catch (e) { return; }
      if (frame.type !== "call" || !frame.pop_url) { return; }
      fetch(frame.pop_url, {credentials: "same-origin"}).then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) {
          if (!html) { return; }
          var old = box.querySelector('[data-call="' + frame.id + '"]');
          if (old) { old.remove(); }
          box.insertAdjacentHTML("afterbegin", html);
        });
    };
    ws.onclose = function (evt) {
      document.body.removeAttribute("data-call-pop-ready");
      if (evt.code === 4403) { return; }
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
}());
