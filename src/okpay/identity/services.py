"""Identity services: every write to users and their credentials goes through here."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from okpay.identity.models import ApiToken, User

TOKEN_PREFIX = "okp_"


@transaction.atomic
def api_token_create(*, user: User, ip: str | None = None, user_agent: str = "",
                     ttl: timedelta | None = None) -> tuple[str, ApiToken]:
    """A new bearer token for ``user``; the raw token is returned once and only its hash is kept."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, token_hash=ApiToken.hash(raw), ip=ip or None, user_agent=user_agent[:300],
        expires_at=timezone.now() + (ttl or timedelta(hours=settings.OKPAY_API_TOKEN_TTL_HOURS)),
    )
    return raw, token


@transaction.atomic
def api_token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
