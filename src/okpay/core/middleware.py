"""Request id, security headers and per-route metrics: the first and last thing every request meets."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from okpay.core import metrics
from okpay.core.ids import random_token
from okpay.core.logging import request_id_var

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")

# No inline script or style anywhere: every page loads its JS and CSS from /static/.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


class RequestIdMiddleware:
    """Takes a sane ``X-Request-ID`` from the proxy or makes one; logs carry it; so does the answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else random_token(16)
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        match = getattr(request, "resolver_match", None)
        route = ("/" + match.route if match.route else "/") if match is not None else "unmatched"
        metrics.observe_request(request.method or "GET", route, response.status_code, time.perf_counter() - started)
        return response


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy; Django's SecurityMiddleware does the rest."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/api/v1/docs"):
            # Swagger UI (vendored by django-ninja) needs its inline bootstrap styles.
            response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY.replace(
                "style-src 'self'", "style-src 'self' 'unsafe-inline'"))
        else:
            response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if _personal(request):
            # Personal and money answers are never stored: not by the browser's cache, not by a
            # proxy, not by the service worker (which obeys it: okpay.web.pwa). never_cache says
            # no-store already; this covers every other answer to a signed-in person or the API.
            control = response.get("Cache-Control", "")
            if "no-store" not in control and "public" not in control:  # public: the view says it is not personal
                response["Cache-Control"] = "no-store, private" if not control else f"{control}, no-store, private"
        return response


def _personal(request: HttpRequest) -> bool:
    if request.path.startswith("/api/"):
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)
