"""A local HTTP server speaking the platforms' documented send-message APIs, for tests:

- Telegram Bot API ``POST /bot<token>/sendMessage`` (JSON ``chat_id``, ``text``) → ``{"ok": true,
  "result": Message}`` or ``{"ok": false, "error_code", "description"}``;
- WeChat ``GET /cgi-bin/token?grant_type=client_credential&appid=&secret=`` → ``{"access_token",
  "expires_in"}``; ``POST /cgi-bin/message/custom/send?access_token=`` (``touser``, ``msgtype``,
  ``text.content``) → ``{"errcode": 0, "errmsg": "ok"}``, ``40001`` for an unknown token;
- a generic platform's reply endpoint ``POST /reply`` checking ``OKPay-Signature``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from okpay.core import signing

BOT_TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
APPID, APPSECRET = "wx0123456789abcdef", "s3cr3t-app-secret"


@dataclass
class FakePlatforms:
    sent: list[dict[str, Any]] = field(default_factory=list)  # every accepted message, in order
    fail: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # canned failures, used first
    tokens: list[str] = field(default_factory=list)  # WeChat access tokens handed out (the last is valid)
    reply_secret: str = ""
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, handler: BaseHTTPRequestHandler, method: str) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0)) if method == "POST" else b""
        if method == "GET" and parts.path == "/cgi-bin/token":
            if (query.get("grant_type"), query.get("appid"), query.get("secret")) != ("client_credential", APPID,
                                                                                      APPSECRET):
                return 200, {"errcode": 40013, "errmsg": "invalid appid"}
            self.tokens.append(f"ACCESS_TOKEN_{len(self.tokens) + 1}")
            return 200, {"access_token": self.tokens[-1], "expires_in": 7200}
        if method != "POST":
            return 404, {}
        if self.fail:
            return self.fail.pop(0)
        data = json.loads(body)
        if parts.path == f"/bot{BOT_TOKEN}/sendMessage":
            if not data.get("text"):
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
            self.sent.append({"platform": "telegram", "chat_id": data["chat_id"], "text": data["text"]})
            return 200, {"ok": True, "result": {"message_id": len(self.sent), "date": 1441645532, "text": data["text"],
                                                "chat": {"id": data["chat_id"], "type": "private"}}}
        if parts.path.startswith("/bot"):
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        if parts.path == "/cgi-bin/message/custom/send":
            if not self.tokens or query.get("access_token") != self.tokens[-1]:
                return 200, {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
            assert data["msgtype"] == "text"
            self.sent.append({"platform": "wechat", "touser": data["touser"], "text": data["text"]["content"]})
            return 200, {"errcode": 0, "errmsg": "ok"}
        if parts.path == "/reply":
            if not signing.verify(self.reply_secret, body, handler.headers.get(signing.HEADER, ""), tolerance=300):
                return 403, {"error": "bad signature"}
            self.sent.append({**data, "via": "generic"})
            return 200, {"id": f"out-{len(self.sent)}"}
        return 404, {}

    def __enter__(self) -> FakePlatforms:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _do(self, method: str) -> None:
                status, payload = fake.answer(self, method)
                raw = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                self._do("GET")

            def do_POST(self) -> None:
                self._do("POST")

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()
