"""Who is calling the API: bearer tokens (``Authorization: Bearer ...``) for customers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from okpay.identity.models import ApiToken, User

_TOUCH_EVERY = timedelta(minutes=1)
_UNSET = object()


def user_for_token(request: HttpRequest, raw: str) -> User | None:
    """The active user behind a live token, cached on the request (the idempotency layer asks too)."""
    cached = getattr(request, "_okpay_token_user", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=ApiToken.hash(raw), revoked_at__isnull=True, expires_at__gt=now, user__is_active=True)
        .first()
    )
    user = token.user if token else None
    if token is not None and (token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    if token is not None:
        request.api_token = token  # type: ignore[attr-defined]
    request._okpay_token_user = user  # type: ignore[attr-defined]
    return user


def bearer_of(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


class OnceBearer(HttpBearer):
    """A bearer scheme whose answer is kept on the request: the router authenticates a POST before
    the idempotency store is touched (``okpay.api.router``), and django-ninja's operation asks
    again when it runs; the second answer costs no query."""

    def __call__(self, request: HttpRequest) -> Any:
        answers: dict[int, Any] = request.__dict__.setdefault("_okpay_auth_answers", {})
        if id(self) not in answers:
            answers[id(self)] = super().__call__(request)
        return answers[id(self)]


class BearerAuth(OnceBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        return user_for_token(request, token)


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def caller_scope(request: HttpRequest) -> str:
    """The scope of idempotency keys: the principal the operation authenticated (``request.auth``, a
    customer's user ``usr_…`` or a merchant ``mer_…``: typed public ids never collide). An operation
    open to anonymous callers (registration, help votes) has none; there the scope is the bearer
    token's user, else the signed-in session's user, else the client's address."""
    principal = getattr(request, "auth", None)
    if principal is not None:
        return str(principal.public_id)
    raw = bearer_of(request)
    if raw:
        user = user_for_token(request, raw)
        if user is not None:
            return user.public_id
    session_user = getattr(request, "user", None)
    if session_user is not None and session_user.is_authenticated:
        return session_user.public_id
    return f"anon:{client_ip(request)}"


bearer = BearerAuth()
