// The scan page (/wallet/scan/): reads a QR code from the camera or from a photo, with the
// browser's BarcodeDetector where it has one and the vendored jsQR otherwise. Only OKPay's own
// payment links are opened (same origin, /pay/, /store/ or /checkout/): a code pointing anywhere
// else is refused, never followed. Opening a link moves no money: the page it opens asks to confirm.
(function () {
  "use strict";
  var root = document.getElementById("okpay-scan");
  if (!root) { return; }
  var texts = document.getElementById("scan-texts").dataset;
  var status = document.getElementById("scan-status");
  var video = document.getElementById("scan-video");
  var canvas = document.getElementById("scan-canvas");
  var context = canvas.getContext("2d", { willReadFrequently: true });
  var detector = null;
  var stream = null;
  var done = false;
  var PATHS = /^\/(pay|store|checkout)\/[A-Za-z0-9_]+\/$/;

  function say(text) { status.textContent = text; }

  function target(text) {
    var url;
    try { url = new URL(text); } catch (e) { return null; }
    if (url.origin !== root.dataset.origin || !PATHS.test(url.pathname)) { return null; }
    return url.pathname + url.search;
  }

  function found(text) {
    var path = target(text);
    if (!path) { say(texts.foreign); return false; }
    done = true;
    say(texts.opening);
    stop();
    window.location.assign(path);
    return true;
  }

  function ready() {
    if (detector !== null) { return Promise.resolve(detector); }
    if (!("BarcodeDetector" in window)) { detector = false; return Promise.resolve(false); }
    return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      detector = formats.indexOf("qr_code") >= 0 ? new window.BarcodeDetector({ formats: ["qr_code"] }) : false;
      return detector;
    }).catch(function () { detector = false; return false; });
  }

  // One picture (a video frame or a photo) → the text of the first QR code in it, or null.
  function decode(source, width, height) {
    return ready().then(function (native) {
      if (native) {
        return native.detect(source).then(function (codes) { return codes.length ? codes[0].rawValue : null; });
      }
      var scale = Math.min(1, 1280 / Math.max(width, height));
      canvas.width = Math.round(width * scale);
      canvas.height = Math.round(height * scale);
      context.drawImage(source, 0, 0, canvas.width, canvas.height);
      var image = context.getImageData(0, 0, canvas.width, canvas.height);
      var code = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "attemptBoth" });
      return code ? code.data : null;
    });
  }

  function stop() {
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); stream = null; }
  }

  function tick() {
    if (done || !stream) { return; }
    if (video.readyState >= 2) {
      decode(video, video.videoWidth, video.videoHeight).then(function (text) {
        if (text && found(text)) { return; }
        window.setTimeout(tick, 250);
      }).catch(function () { window.setTimeout(tick, 500); });
    } else {
      window.setTimeout(tick, 250);
    }
  }

  document.getElementById("scan-camera").addEventListener("click", function () {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { say(texts.noCamera); return; }
    say(texts.looking);
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.hidden = false;
      return video.play();
    }).then(tick).catch(function () { say(texts.noCamera); });
  });

  document.getElementById("scan-file").addEventListener("change", function (event) {
    var file = event.target.files && event.target.files[0];
    if (!file) { return; }
    say(texts.looking);
    createImageBitmap(file).then(function (bitmap) {
      return decode(bitmap, bitmap.width, bitmap.height);
    }).then(function (text) {
      if (!text) { say(texts.none); return; }
      found(text);
    }).catch(function () { say(texts.none); });
  });

  window.addEventListener("pagehide", stop);
})();
