"""django-axes glue: lockout per account + address with a cool-off, and who/where a request is."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest, HttpResponse, JsonResponse

from okpay.core.errors import error_body


class LockoutBackend(AxesStandaloneBackend):
    """The axes check for every sign-in that comes through a request (pages and API).

    ``authenticate()`` without a request (Django's test ``Client.login``, shell use) is not a
    sign-in attempt from the network; it is left to the next backend instead of failing.
    """

    def authenticate(self, request: HttpRequest | None, username: str | None = None,  # type: ignore[override]
                     password: str | None = None, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    raw = ""
    if credentials:
        raw = credentials.get("username") or credentials.get("email") or ""
    if not raw and request is not None and request.method == "POST":
        raw = request.POST.get("email", "") or request.POST.get("username", "")
    return str(raw).strip().lower()[:254]


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def axes_client_ip(request: HttpRequest) -> str:
    return client_ip(request) or "0.0.0.0"  # noqa: S104 - a placeholder address, not a bind  # nosec B104


def user_agent(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return request.headers.get("User-Agent", "")[:300]


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict[str, Any] | None = None) -> HttpResponse:
    """Our views answer a lockout themselves (a 429 envelope or the sign-in page with a message);
    keep their answer."""
    if original_response is not None:
        return original_response
    return JsonResponse(error_body("rate_limited", "Too many attempts. Try again later."), status=429)
