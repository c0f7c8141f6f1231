"""Read queries of the identity app: activity, sessions and the security centre's checklist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from okpay.core.pagination import Page, keyset_page
from okpay.identity.models import ApiToken, SecurityEvent, User, UserSession
from okpay.identity.services import device_label, recovery_codes_left, two_factor_enabled


def activity_page(user: User, *, limit: int | None = None, cursor: str | None = None) -> Page[SecurityEvent]:
    return keyset_page(SecurityEvent.objects.filter(user=user), limit=limit, cursor=cursor)


@dataclass(frozen=True)
class SessionView:
    id: str
    kind: str  # "session" (a browser) or "token" (an API client)
    device: str
    user_agent: str
    ip: str | None
    created_at: datetime
    last_seen_at: datetime | None
    expires_at: datetime | None
    current: bool


def sessions_for_user(user: User, *, current_session: str | None = None,
                      current_token: str | None = None) -> list[SessionView]:
    """Every live browser session and API token of ``user``, most recently used first."""
    now = timezone.now()
    views = [
        SessionView(s.public_id, "session", device_label(s.user_agent), s.user_agent, s.ip, s.created_at,
                    s.last_seen_at, None, s.public_id == current_session)
        for s in UserSession.objects.filter(user=user, ended_at__isnull=True).order_by("-last_seen_at")[:100]
    ]
    views += [
        SessionView(t.public_id, "token", device_label(t.user_agent), t.user_agent, t.ip, t.created_at,
                    t.last_used_at, t.expires_at, t.public_id == current_token)
        for t in ApiToken.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=now)
        .order_by("-created_at")[:100]
    ]
    views.sort(key=lambda v: (not v.current, -(v.last_seen_at or v.created_at).timestamp()))
    return views


@dataclass(frozen=True)
class Check:
    key: str
    ok: bool
    value: str | int | None = None


def security_overview(user: User) -> dict[str, object]:
    """The customer's real state for each piece of the seed's security advice."""
    now = timezone.now()
    changed = user.password_changed_at or user.date_joined
    recent = list(SecurityEvent.objects.filter(user=user).order_by("-pk")[:5])
    worrying = SecurityEvent.objects.filter(
        user=user, at__gte=now - timedelta(days=30),
        kind__in=[SecurityEvent.Kind.LOGIN_FAILED, SecurityEvent.Kind.LOCKED_OUT, SecurityEvent.Kind.OTP_FAILED],
    ).count()
    sessions = sessions_for_user(user)
    enabled = two_factor_enabled(user)
    return {
        "two_factor": enabled,
        "recovery_codes_left": recovery_codes_left(user) if enabled else 0,
        "password_age_days": (now - changed).days,
        "recent_events": recent,
        "failed_30_days": worrying,
        "session_count": len(sessions),
        "anti_phishing_set": bool(user.anti_phishing_code),
        "email_verified": user.email_verified,
        "phone_verified": user.phone_verified_at is not None,
        "frozen": user.frozen,
    }
