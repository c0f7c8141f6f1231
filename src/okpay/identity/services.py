"""Identity services: every write to users, their credentials, sessions and activity goes through here.

Each security event is written twice, in the same transaction: to the customer's activity log
(:class:`~okpay.identity.models.SecurityEvent`, "账户活动") and to the hash-chained audit log.
Emails go to the transactional outbox, so they leave only if the change commits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from datetime import timedelta
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tasks import task

from okpay.audit.services import audit_record
from okpay.core import sockets
from okpay.core.errors import (
    BusinessRuleError,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from okpay.core.ratelimit import RateLimit
from okpay.identity import emails
from okpay.identity.models import (
    ApiToken,
    EmailToken,
    KnownDevice,
    PhoneVerification,
    RecoveryCode,
    SecurityEvent,
    User,
    UserSession,
)

TOKEN_PREFIX = "okp_"  # noqa: S105 - a prefix, not a secret  # nosec B105
ROLES = ("customer", "merchant", "agent", "supervisor", "admin")
STAFF_ROLES = {"agent", "supervisor", "admin"}
RECOVERY_CODE_COUNT = 10
Kind = SecurityEvent.Kind
Purpose = EmailToken.Purpose

# Limits kept in the cache, so that they hold even when the request that hits them is rolled back.
LOGIN_PER_IP = RateLimit("login-ip", limit=100, window=900)
OTP_PER_USER = RateLimit("otp", limit=5, window=300)
OTP_PER_USER_DAY = RateLimit("otp-day", limit=30, window=86400)
RESET_PER_IP = RateLimit("reset-ip", limit=20, window=3600)
RESET_PER_EMAIL = RateLimit("reset-email", limit=5, window=3600)
REGISTER_PER_IP = RateLimit("register-ip", limit=20, window=3600)
PASSWORD_CHECK_PER_USER = RateLimit("password-check", limit=10, window=900)
PHONE_CODE_PER_USER = RateLimit("phone-code", limit=5, window=3600)
VERIFY_RESEND_PER_USER = RateLimit("verify-resend", limit=5, window=3600)

# Other apps plug in here (identity imports none of them):
#   CLOSE_CHECKS: ``check(user) -> reason or None``; a reason refuses closing (money left, pending...).
#   EMAIL_VERIFIED_HOOKS: ``hook(user)``, run after the verification commits (claim pending transfers).
#   WALLET_ID: ``resolver(user) -> wallet id or None`` (the first answer is shown as ``wallet_id``).
CLOSE_CHECKS: list[Callable[[User], str | None]] = []
EMAIL_VERIFIED_HOOKS: list[Callable[[User], None]] = []
WALLET_ID: list[Callable[[User], str | None]] = []
#   ROLE_HOOKS: ``hook(user, role)``, in the transaction of ``user_create`` (a merchant's business profile).
ROLE_HOOKS: list[Callable[[User, str], None]] = []


def wallet_id_of(user: User) -> str | None:
    if user.pk is None:
        return None
    for resolver in WALLET_ID:
        found = resolver(user)
        if found:
            return found
    return None


# --- errors -----------------------------------------------------------------------------------------

class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"
    default_message = gettext_noop("The email address or password is incorrect.")


class OtpRequired(Unauthenticated):
    code = "otp_required"
    default_message = gettext_noop("Enter the code from your authenticator app.")


class InvalidOtp(Unauthenticated):
    code = "invalid_otp"
    default_message = gettext_noop("The two-factor code is not valid.")


class InvalidToken(InvalidRequest):
    code = "invalid_token"
    default_message = gettext_noop("This link is invalid or has expired.")


class WeakPassword(InvalidRequest):
    code = "weak_password"
    default_message = gettext_noop("Choose a stronger password.")


class LoginLocked(RateLimited):
    default_message = gettext_noop("Too many failed sign-in attempts. Try again later.")


# --- small helpers ----------------------------------------------------------------------------------

def _now() -> Any:
    return timezone.now()


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def _hmac(value: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def device_label(user_agent: str) -> str:
    """"Chrome on Windows" from a User-Agent header; good enough for a person to recognise a device."""
    ua = user_agent or ""
    browser = next((name for token, name in (
        ("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Chromium/", "Chromium"),
        ("Safari/", "Safari"), ("curl/", "curl"), ("python", "Python"), ("okhttp", "Android app"),
    ) if token.lower() in ua.lower()), "")
    system = next((name for token, name in (
        ("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Windows", "Windows"),
        ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"),
    ) if token in ua), "")
    if browser and system:
        return f"{browser} · {system}"
    return browser or system or (ua[:40] if ua else "?")


def event_record(*, user: User, kind: str, ip: str | None = None, user_agent: str = "",
                 detail: dict[str, Any] | None = None, actor: Any = None) -> SecurityEvent:
    """One security event: the customer's activity log and the audit log, in one transaction."""
    with transaction.atomic():
        event = SecurityEvent.objects.create(user=user, kind=kind, ip=ip or None, user_agent=(user_agent or "")[:300],
                                             detail=detail or {})
        audit_record(actor=actor if actor is not None else user, action=f"identity.{kind}", target=user,
                     detail={**(detail or {}), "event": event.public_id}, ip=ip)
    return event


def _password_validate(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise WeakPassword(" ".join(exc.messages), param="password") from None


def _role_set(user: User, role: str) -> None:
    if role not in ROLES:
        raise InvalidRequest(f"Unknown role {role!r}; use one of {', '.join(ROLES)}.", param="role")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    user.is_staff = role in STAFF_ROLES
    user.is_superuser = role == "admin"
    user.save(update_fields=["is_staff", "is_superuser"])


def new_anti_phishing_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(6))


# --- single-use email tokens ------------------------------------------------------------------------

def _token_issue(*, user: User, purpose: str, ttl: timedelta, email: str = "") -> str:
    """A new 256-bit token; older unused tokens of the same purpose stop working."""
    EmailToken.objects.filter(user=user, purpose=purpose, used_at__isnull=True).update(
        used_at=_now(), invalidated_reason="superseded")
    raw = secrets.token_urlsafe(32)
    now = _now()
    EmailToken.objects.create(user=user, purpose=purpose, token_hash=EmailToken.hash(raw),
                              email=email or user.email, created_at=now, expires_at=now + ttl)
    return raw


def token_peek(*, raw: str, purpose: str) -> EmailToken:
    """The live token behind ``raw`` (not consumed) or :class:`InvalidToken`."""
    row = (EmailToken.objects.select_related("user")
           .filter(token_hash=EmailToken.hash(raw or ""), purpose=purpose).first())
    if row is None or row.used_at is not None or row.expires_at <= _now() or not row.user.is_active:
        raise InvalidToken(param="token")
    return row


def _token_consume(*, raw: str, purpose: str) -> EmailToken:
    row = (EmailToken.objects.select_for_update().select_related("user")
           .filter(token_hash=EmailToken.hash(raw or ""), purpose=purpose).first())
    if row is None or row.used_at is not None or row.expires_at <= _now() or not row.user.is_active:
        raise InvalidToken(param="token")
    row.used_at = _now()
    row.save(update_fields=["used_at"])
    return row


def _freeze_link(user: User) -> str:
    raw = secrets.token_urlsafe(32)
    EmailToken.objects.create(user=user, purpose=Purpose.FREEZE, token_hash=EmailToken.hash(raw),
                              email=user.email, expires_at=_now() + timedelta(days=14))
    return raw


# --- registration and email verification -----------------------------------------------------------

def user_register(*, email: str, password: str, display_name: str, phone: str = "", locale: str = "zh-hans",
                  ip: str | None = None, user_agent: str = "") -> User | None:
    """Create an account and send the verification email. For an address that is already
    registered nothing is created: its owner is told someone tried, and ``None`` is returned —
    the caller answers exactly as for a new account, so registration reveals no addresses."""
    REGISTER_PER_IP.hit(ip or "-")
    email = normalize_email(email)
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidRequest(gettext_noop("Enter a valid email address."), param="email") from None
    display_name = (display_name or "").strip()
    if not display_name or len(display_name) > 100:
        raise InvalidRequest(gettext_noop("Enter a display name of at most 100 characters."), param="display_name")
    if locale not in dict(User._meta.get_field("locale").choices or []):
        raise InvalidRequest(gettext_noop("Unsupported language."), param="locale")
    phone = phone_normalize(phone) if phone else ""
    candidate = User(email=email, display_name=display_name)
    _password_validate(password, candidate)
    hashed = make_password(password)  # hashed for new and known addresses alike: same cost, same time
    with transaction.atomic():
        existing = User.objects.filter(email__iexact=email).first()
        if existing is not None:
            emails.register_attempt(existing)
            audit_record(actor="anonymous", action="identity.register_existing_email", target=existing, ip=ip)
            return None
        user = User(email=email, password=hashed, display_name=display_name, phone=phone, locale=locale,
                    anti_phishing_code=new_anti_phishing_code(), password_changed_at=_now())
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:  # registered concurrently
            return None
        user.groups.add(Group.objects.get_or_create(name="customer")[0])
        event_record(user=user, kind=Kind.REGISTERED, ip=ip, user_agent=user_agent)
        _verification_send(user)
    return user


def _verification_send(user: User) -> None:
    raw = _token_issue(user=user, purpose=Purpose.VERIFY_EMAIL,
                       ttl=timedelta(hours=settings.OKPAY_EMAIL_VERIFY_TTL_HOURS))
    emails.verify_email(user, raw)


@transaction.atomic
def email_verification_resend(*, user: User) -> None:
    if user.email_verified:
        return
    VERIFY_RESEND_PER_USER.hit(str(user.pk))
    _verification_send(user)


@transaction.atomic
def email_verify(*, token: str, ip: str | None = None, user_agent: str = "") -> User:
    row = _token_consume(raw=token, purpose=Purpose.VERIFY_EMAIL)
    user = User.objects.select_for_update().get(pk=row.user_id)
    if row.email != user.email:
        raise InvalidToken(param="token")
    if not user.email_verified:
        user.email_verified_at = _now()
        user.save(update_fields=["email_verified_at"])
        event_record(user=user, kind=Kind.EMAIL_VERIFIED, ip=ip, user_agent=user_agent)
        for hook in EMAIL_VERIFIED_HOOKS:
            transaction.on_commit(lambda hook=hook: hook(user))
    return user


# --- sign-in --------------------------------------------------------------------------------------------

def _lockout_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def login_password_check(*, request: Any, email: str, password: str) -> User:
    """The password step of a sign-in, through django-axes (lockout per account + address).

    Raises :class:`InvalidCredentials` (one message for a wrong password and an unknown
    address) or :class:`LoginLocked`. Does not sign in: see :func:`login_complete`."""
    from axes.handlers.proxy import AxesProxyHandler

    ip, ua = request.META.get("REMOTE_ADDR"), request.headers.get("User-Agent", "")
    LOGIN_PER_IP.hit(ip or "-")
    email = normalize_email(email)
    credentials = {"username": email}
    locked_before = not AxesProxyHandler.is_allowed(request, credentials)
    user = authenticate(request, username=email, password=password)
    if user is not None and user.is_active:
        return user
    target = User.objects.filter(email__iexact=email, is_active=True).first() if email else None
    if getattr(request, "axes_locked_out", False) or locked_before:
        if target is not None and not locked_before:
            event_record(user=target, kind=Kind.LOCKED_OUT, ip=ip, user_agent=ua,
                         detail={"cool_off_minutes": _lockout_seconds() // 60})
        raise LoginLocked(retry_after=_lockout_seconds())
    if target is not None:
        event_record(user=target, kind=Kind.LOGIN_FAILED, ip=ip, user_agent=ua)
    else:
        audit_record(actor="anonymous", action="identity.login_failed_unknown", detail={"email": email[:254]}, ip=ip)
    raise InvalidCredentials


def two_factor_enabled(user: User) -> bool:
    if user.pk is None:
        return False
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def _recovery_use(user: User, code: str) -> bool:
    """Use up the recovery code ``code`` (normalized) if it is one of ``user``'s unused ones."""
    from django.contrib.auth.hashers import check_password

    code_id, secret = code[:4], code[4:]
    row = (RecoveryCode.objects.select_for_update()
           .filter(user=user, code_id=code_id, used_at__isnull=True).first())
    if row is None or not check_password(secret, row.code_hash):
        return False
    row.used_at = _now()
    row.save(update_fields=["used_at"])
    return True


def _normalize_code(code: str) -> str:
    return re.sub(r"[\s-]", "", (code or "")).lower()


def otp_verify(*, user: User, code: str | None, ip: str | None = None, user_agent: str = "",
               allow_recovery: bool = True) -> str:
    """Check a second-factor code: a TOTP code (never accepted twice) or an unused recovery code.

    Returns ``"totp"`` or ``"recovery"``. Attempts are limited per user (5 per 5 minutes)."""
    if not code:
        raise OtpRequired(param="otp_code")
    OTP_PER_USER.check(str(user.pk))
    OTP_PER_USER_DAY.check(str(user.pk))
    from django.core.cache import cache

    normalized = _normalize_code(code)
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is None:
            raise InvalidOtp(param="otp_code")
        # A second guard outside the database: a code accepted by a request that was then rolled
        # back (an error answer) still cannot be used again.
        if (re.fullmatch(r"\d{6}", normalized) and device.verify_token(normalized)
                and cache.add(f"otp-used:{user.pk}:{device.last_t}", 1, timeout=300)):
            OTP_PER_USER.reset(str(user.pk))
            return "totp"
        if allow_recovery and len(normalized) == 16 and _recovery_use(user, normalized):
            left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
            event_record(user=user, kind=Kind.RECOVERY_CODE_USED, ip=ip, user_agent=user_agent,
                         detail={"remaining": left})
            OTP_PER_USER.reset(str(user.pk))
            return "recovery"
    try:
        OTP_PER_USER_DAY.hit(str(user.pk))
        OTP_PER_USER.hit(str(user.pk))
    finally:
        event_record(user=user, kind=Kind.OTP_FAILED, ip=ip, user_agent=user_agent)
    raise InvalidOtp(param="otp_code")


def _device_known(*, user: User, device: str, label: str) -> bool:
    """Remember the device; True if it had signed in before. A first sign-in ever is not "new"."""
    digest = _hmac(f"device:{device}")
    updated = KnownDevice.objects.filter(user=user, device_hash=digest).update(last_seen_at=_now())
    if updated:
        return True
    first_ever = not KnownDevice.objects.filter(user=user).exists()
    KnownDevice.objects.get_or_create(user=user, device_hash=digest, defaults={"label": label[:300]})
    return first_ever


def _login_record(*, user: User, device: str, ip: str | None, user_agent: str, method: str,
                  channel: str) -> None:
    label = device_label(user_agent)
    known = _device_known(user=user, device=device, label=label)
    detail = {"method": method, "channel": channel, "device": label}
    if known:
        event_record(user=user, kind=Kind.LOGIN, ip=ip, user_agent=user_agent, detail=detail)
    else:
        event_record(user=user, kind=Kind.LOGIN_NEW_DEVICE, ip=ip, user_agent=user_agent, detail=detail)
        emails.new_device_alert(user, _freeze_link(user), ip=ip or "?", device=label)


def login_complete(*, request: Any, user: User, device: str, method: str = "password") -> UserSession:
    """Sign a browser in: rotate the session key, register the session, note the device."""
    from django.contrib.auth import login

    from okpay.identity.middleware import LOGIN_AT, REAUTH_AT, SEEN_AT, SESSION_ID

    ip, ua = request.META.get("REMOTE_ADDR"), request.headers.get("User-Agent", "")[:300]
    with transaction.atomic():
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")  # cycles the session key
        if not request.session.session_key:
            request.session.save()
        session = UserSession.objects.create(user=user, session_key=request.session.session_key, ip=ip or None,
                                             user_agent=ua)
        now = int(_now().timestamp())
        request.session[SESSION_ID] = session.public_id
        request.session[LOGIN_AT] = now
        request.session[SEEN_AT] = now
        request.session[REAUTH_AT] = now
        _login_record(user=user, device=device, ip=ip, user_agent=ua, method=method, channel="web")
    return session


def session_adopt(*, request: Any) -> str:
    """Track a session that Django signed in without our sign-in page (admin login, tests)."""
    from okpay.identity.middleware import LOGIN_AT, SEEN_AT, SESSION_ID

    if not request.session.session_key:
        request.session.save()
    session, _ = UserSession.objects.get_or_create(
        session_key=request.session.session_key,
        defaults={"user": request.user, "ip": request.META.get("REMOTE_ADDR") or None,
                  "user_agent": request.headers.get("User-Agent", "")[:300]})
    now = int(_now().timestamp())
    request.session[SESSION_ID] = session.public_id
    request.session[LOGIN_AT] = now
    request.session[SEEN_AT] = now
    return session.public_id


@transaction.atomic
def token_login(*, user: User, ip: str | None, user_agent: str, device: str, method: str) -> tuple[str, ApiToken]:
    """Sign an API client in: a new bearer token (the raw value is returned once)."""
    raw, token = api_token_create(user=user, ip=ip, user_agent=user_agent)
    _login_record(user=user, device=device, ip=ip, user_agent=user_agent, method=method, channel="api")
    event_record(user=user, kind=Kind.TOKEN_CREATED, ip=ip, user_agent=user_agent,
                 detail={"token": token.public_id})
    return raw, token


@transaction.atomic
def api_token_create(*, user: User, ip: str | None = None, user_agent: str = "",
                     ttl: timedelta | None = None) -> tuple[str, ApiToken]:
    """A new bearer token for ``user``; the raw token is returned once and only its hash is kept."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, token_hash=ApiToken.hash(raw), ip=ip or None, user_agent=user_agent[:300],
        expires_at=_now() + (ttl or timedelta(hours=settings.OKPAY_API_TOKEN_TTL_HOURS)),
    )
    return raw, token


@transaction.atomic
def api_token_revoke(*, token: ApiToken, ip: str | None = None, user_agent: str = "") -> None:
    if ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=_now()):
        event_record(user=token.user, kind=Kind.TOKEN_REVOKED, ip=ip, user_agent=user_agent,
                     detail={"token": token.public_id})


# --- sessions ----------------------------------------------------------------------------------------

def _session_store() -> Any:
    return import_module(settings.SESSION_ENGINE).SessionStore


def session_touch(*, public_id: str, ip: str | None) -> bool:
    """Note activity; False when the session was ended (revoked, expired) meanwhile."""
    return UserSession.objects.filter(public_id=public_id, ended_at__isnull=True).update(last_seen_at=_now()) == 1


def session_end(*, public_id: str, reason: str) -> None:
    rows = list(UserSession.objects.filter(public_id=public_id, ended_at__isnull=True)
                .values_list("session_key", "user__public_id"))
    UserSession.objects.filter(public_id=public_id, ended_at__isnull=True).update(ended_at=_now(), end_reason=reason)
    store = _session_store()
    for key, user_public_id in rows:
        store(session_key=key).delete()
        sockets.sessions_ended(user_public_id=user_public_id, session_keys=[key])  # its open sockets close


@transaction.atomic
def logout_record(*, user: User, public_id: str | None, ip: str | None, user_agent: str) -> None:
    if public_id:
        UserSession.objects.filter(public_id=public_id, ended_at__isnull=True).update(ended_at=_now(),
                                                                                     end_reason="logout")
    event_record(user=user, kind=Kind.LOGOUT, ip=ip, user_agent=user_agent)


def _revoke_all(*, user: User, except_session: str | None = None, except_token: str | None = None,
                reason: str) -> int:
    """End every web session and API token of ``user`` but the ones named; returns how many."""
    now = _now()
    sessions = UserSession.objects.filter(user=user, ended_at__isnull=True)
    if except_session:
        sessions = sessions.exclude(public_id=except_session)
    keys = list(sessions.values_list("session_key", flat=True))
    count = sessions.update(ended_at=now, end_reason=reason)
    tokens = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    if except_token:
        tokens = tokens.exclude(public_id=except_token)
    count += tokens.update(revoked_at=now)
    store = _session_store()
    for key in keys:
        store(session_key=key).delete()
    sockets.sessions_ended(user_public_id=user.public_id, session_keys=keys)  # e.g. live chats close
    return count


@transaction.atomic
def session_revoke(*, user: User, session_id: str, ip: str | None = None, user_agent: str = "") -> None:
    """End one of ``user``'s own sessions or tokens by its public id; anyone else's → 404."""
    if session_id.startswith("tok_"):
        token = ApiToken.objects.filter(user=user, public_id=session_id, revoked_at__isnull=True).first()
        if token is None:
            raise NotFound
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=_now())
        event_record(user=user, kind=Kind.TOKEN_REVOKED, ip=ip, user_agent=user_agent, detail={"token": session_id})
        return
    session = UserSession.objects.filter(user=user, public_id=session_id, ended_at__isnull=True).first()
    if session is None:
        raise NotFound
    session_end(public_id=session.public_id, reason="revoked")
    event_record(user=user, kind=Kind.SESSION_REVOKED, ip=ip, user_agent=user_agent,
                 detail={"session": session_id, "device": device_label(session.user_agent)})


@transaction.atomic
def sessions_revoke_others(*, user: User, current_session: str | None = None, current_token: str | None = None,
                           ip: str | None = None, user_agent: str = "") -> int:
    count = _revoke_all(user=user, except_session=current_session, except_token=current_token, reason="revoked")
    event_record(user=user, kind=Kind.SESSION_REVOKED, ip=ip, user_agent=user_agent,
                 detail={"all_others": True, "count": count})
    return count


# --- passwords ----------------------------------------------------------------------------------------

def _password_set(*, user: User, password: str, except_session: str | None = None,
                  except_token: str | None = None) -> None:
    user.set_password(password)
    user.password_changed_at = _now()
    user.save(update_fields=["password", "password_changed_at"])
    EmailToken.objects.filter(user=user, purpose=Purpose.PASSWORD_RESET, used_at__isnull=True).update(
        used_at=_now(), invalidated_reason="password_changed")
    _revoke_all(user=user, except_session=except_session, except_token=except_token, reason="password_changed")


def password_check(*, user: User, password: str) -> None:
    """Re-authentication with the current password (limited to 10 wrong tries per 15 minutes)."""
    PASSWORD_CHECK_PER_USER.check(str(user.pk))
    if not user.check_password(password or ""):
        PASSWORD_CHECK_PER_USER.hit(str(user.pk))
        raise InvalidCredentials(gettext_noop("The current password is incorrect."), param="current_password")


def password_change(*, user: User, current_password: str, new_password: str, otp_code: str | None = None,
                    current_session: str | None = None, current_token: str | None = None,
                    ip: str | None = None, user_agent: str = "") -> None:
    """Change the password (step-up: the current password, and the 2FA code when 2FA is on).
    Every other session and token is signed out."""
    password_check(user=user, password=current_password)
    if two_factor_enabled(user):
        otp_verify(user=user, code=otp_code, ip=ip, user_agent=user_agent)
    if new_password == current_password:
        raise WeakPassword(gettext_noop("Choose a password you have not used here just now."), param="new_password")
    _password_validate(new_password, user)
    with transaction.atomic():
        _password_set(user=user, password=new_password, except_session=current_session, except_token=current_token)
        event_record(user=user, kind=Kind.PASSWORD_CHANGED, ip=ip, user_agent=user_agent)
        emails.password_changed(user, _freeze_link(user), ip=ip or "?")


def password_reset_request(*, email: str, ip: str | None = None, user_agent: str = "") -> None:
    """Step 2 of the seed's reset: the same work and answer for every address. Looking the
    address up and sending the email happen in the background task."""
    RESET_PER_IP.hit(ip or "-")
    email = normalize_email(email)[:254]
    RESET_PER_EMAIL.hit(hashlib.sha256(email.encode()).hexdigest())
    with transaction.atomic():
        password_reset_task.enqueue(email, ip or "", user_agent[:300])


@task(queue_name="email")
def password_reset_task(email: str, ip: str, user_agent: str) -> str:
    return password_reset_send(email=email, ip=ip or None, user_agent=user_agent)


@transaction.atomic
def password_reset_send(*, email: str, ip: str | None, user_agent: str) -> str:
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is None:
        return "unknown"
    raw = _token_issue(user=user, purpose=Purpose.PASSWORD_RESET,
                       ttl=timedelta(minutes=settings.OKPAY_PASSWORD_RESET_TTL_MINUTES))
    emails.password_reset(user, raw, ip=ip or "?")
    event_record(user=user, kind=Kind.PASSWORD_RESET_REQUESTED, ip=ip, user_agent=user_agent)
    return "sent"


def password_reset_confirm(*, token: str, new_password: str, new_password_confirm: str,
                           ip: str | None = None, user_agent: str = "") -> User:
    """Steps 4–5: a new password, twice. The token works once; every session and token is revoked.
    Two-factor stays on: the next sign-in asks for the code as always."""
    if new_password != new_password_confirm:
        raise InvalidRequest(gettext_noop("The two passwords do not match."), param="new_password_confirm")
    with transaction.atomic():
        row = _token_consume(raw=token, purpose=Purpose.PASSWORD_RESET)
        user = User.objects.select_for_update().get(pk=row.user_id)
        _password_validate(new_password, user)
        _password_set(user=user, password=new_password)
        event_record(user=user, kind=Kind.PASSWORD_RESET, ip=ip, user_agent=user_agent)
        emails.password_changed(user, _freeze_link(user), ip=ip or "?")
    from axes.utils import reset as axes_reset

    axes_reset(username=user.email)
    return user


# --- two-factor -----------------------------------------------------------------------------------------

def totp_qr_svg(uri: str) -> str:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


def totp_secret(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode().rstrip("=")


@transaction.atomic
def totp_setup_start(*, user: User) -> TOTPDevice:
    """A new, unconfirmed TOTP device (an earlier unconfirmed one is discarded)."""
    if two_factor_enabled(user):
        raise Conflict(gettext_noop("Two-factor authentication is already on."), code="conflict")
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def totp_pending(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()


def _recovery_codes_new(user: User) -> list[str]:
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    RecoveryCode.objects.filter(user=user).delete()
    codes, rows, ids = [], [], set()
    while len(codes) < RECOVERY_CODE_COUNT:
        raw = "".join(secrets.choice(alphabet) for _ in range(16))
        if raw[:4] in ids:
            continue
        ids.add(raw[:4])
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:12]}-{raw[12:]}")
        rows.append(RecoveryCode(user=user, code_id=raw[:4], code_hash=make_password(raw[4:])))
    RecoveryCode.objects.bulk_create(rows)
    return codes


def totp_setup_confirm(*, user: User, code: str, ip: str | None = None, user_agent: str = "") -> list[str]:
    """Turn 2FA on with a first code from the app; returns the 10 recovery codes (shown once)."""
    OTP_PER_USER.check(str(user.pk))
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("-pk").first()
        if device is None:
            raise Conflict(gettext_noop("Start the two-factor setup first."))
        if not re.fullmatch(r"\d{6}", _normalize_code(code)) or not device.verify_token(_normalize_code(code)):
            ok = False
        else:
            ok = True
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            codes = _recovery_codes_new(user)
            event_record(user=user, kind=Kind.TWO_FACTOR_ENABLED, ip=ip, user_agent=user_agent)
            emails.two_factor_changed(user, enabled=True, freeze_token=_freeze_link(user))
    if not ok:
        OTP_PER_USER.hit(str(user.pk))
        raise InvalidOtp(param="code")
    return codes


def recovery_codes_regenerate(*, user: User, code: str, ip: str | None = None, user_agent: str = "") -> list[str]:
    otp_verify(user=user, code=code, ip=ip, user_agent=user_agent, allow_recovery=False)
    with transaction.atomic():
        codes = _recovery_codes_new(user)
        event_record(user=user, kind=Kind.RECOVERY_CODES_GENERATED, ip=ip, user_agent=user_agent)
    return codes


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def totp_disable(*, user: User, code: str, ip: str | None = None, user_agent: str = "") -> None:
    """Turn 2FA off: a current code (or a recovery code) is required; the customer is told by email.
    Staff keep it on (``okpay.identity.staff``); a lost device is reset by ``okpay users reset-2fa``."""
    from okpay.identity.staff import is_staff_member

    if not two_factor_enabled(user):
        raise Conflict(gettext_noop("Two-factor authentication is not on."))
    if is_staff_member(user):
        raise Forbidden(gettext_noop("Staff accounts must keep two-factor authentication on."))
    otp_verify(user=user, code=code, ip=ip, user_agent=user_agent)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        event_record(user=user, kind=Kind.TWO_FACTOR_DISABLED, ip=ip, user_agent=user_agent)
        emails.two_factor_changed(user, enabled=False, freeze_token=_freeze_link(user))


# --- step-up (the payments app calls these before moving money) -----------------------------------------

def step_up_required(user: User, amount: int, *, new_payee: bool = False) -> bool:
    """True when a payment of ``amount`` (minor units) must be confirmed again (``okpay.identity.stepup``):
    by every customer, with the authenticator app or a one-time code sent to them."""
    if amount > settings.OKPAY_STEP_UP_AMOUNT:
        return True
    return new_payee and amount > settings.OKPAY_STEP_UP_NEW_PAYEE_AMOUNT


def step_up_verify(user: User, code: str | None, *, ip: str | None = None, user_agent: str = "") -> None:
    """Raise ``401 otp_required`` without a code, ``401 invalid_otp`` for a wrong or reused one."""
    otp_verify(user=user, code=code, ip=ip, user_agent=user_agent)


def step_up_check(user: User, amount: int, code: str | None, *, kind: str = "payment", currency: str = "CNY",
                  payee: str = "", new_payee: bool = False) -> None:
    """Refuse the payment unless it is confirmed (``okpay.identity.stepup.check``): the TOTP code, or
    the one-time code sent for this very payment (kind, amount, currency, payee, Idempotency-Key)."""
    from okpay.identity import stepup

    stepup.check(user, stepup.Payment(kind=kind, amount=amount, currency=currency, payee=payee,
                                      new_payee=new_payee), code)


# --- freeze -------------------------------------------------------------------------------------------

@transaction.atomic
def account_freeze(*, user: User, ip: str | None = None, user_agent: str = "", via: str = "self",
                   current_session: str | None = None, current_token: str | None = None) -> bool:
    """Stop all money leaving the wallet and sign out every other session. Only support unfreezes."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.frozen:
        return False
    user.frozen_at = _now()
    user.frozen_reason = via[:200]
    user.save(update_fields=["frozen_at", "frozen_reason"])
    count = _revoke_all(user=user, except_session=current_session, except_token=current_token, reason="frozen")
    event_record(user=user, kind=Kind.FROZEN, ip=ip, user_agent=user_agent, detail={"via": via, "signed_out": count})
    emails.account_frozen(user)
    return True


@transaction.atomic
def account_freeze_by_link(*, token: str, ip: str | None = None, user_agent: str = "") -> User:
    """The "this wasn't me" link of an alert email: freeze, signing out everything."""
    row = _token_consume(raw=token, purpose=Purpose.FREEZE)
    account_freeze(user=row.user, ip=ip, user_agent=user_agent, via="email_link")
    return row.user


def _staff_check(actor: User) -> None:
    if not (actor.is_staff and actor.groups.filter(name__in=STAFF_ROLES).exists()) and not actor.is_superuser:
        raise Forbidden(gettext_noop("Only customer support can do this."))


@transaction.atomic
def account_unfreeze(*, user: User, actor: User, reason: str, ip: str | None = None) -> None:
    """Support lifts a freeze, saying why; the audit log records who."""
    _staff_check(actor)
    if not (reason or "").strip():
        raise InvalidRequest(gettext_noop("Say why the account is unfrozen."), param="reason")
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.frozen:
        raise Conflict(gettext_noop("The account is not frozen."))
    user.frozen_at = None
    user.frozen_reason = ""
    user.save(update_fields=["frozen_at", "frozen_reason"])
    event_record(user=user, kind=Kind.UNFROZEN, ip=ip, actor=actor,
                 detail={"by": actor.public_id, "reason": reason.strip()[:500]})


# --- profile -------------------------------------------------------------------------------------------

@transaction.atomic
def profile_update(*, user: User, display_name: str, locale: str, ip: str | None = None,
                   user_agent: str = "") -> User:
    display_name = (display_name or "").strip()
    if not display_name or len(display_name) > 100:
        raise InvalidRequest(gettext_noop("Enter a display name of at most 100 characters."), param="display_name")
    if locale not in dict(User._meta.get_field("locale").choices or []):
        raise InvalidRequest(gettext_noop("Unsupported language."), param="locale")
    changed = {k: v for k, v in (("display_name", display_name), ("locale", locale)) if getattr(user, k) != v}
    if changed:
        for key, value in changed.items():
            setattr(user, key, value)
        user.save(update_fields=list(changed))
        event_record(user=user, kind=Kind.PROFILE_CHANGED, ip=ip, user_agent=user_agent,
                     detail={"fields": sorted(changed)})
    return user


@transaction.atomic
def anti_phishing_code_set(*, user: User, code: str, ip: str | None = None, user_agent: str = "") -> None:
    code = (code or "").strip()
    if not re.fullmatch(r"[\w\u4e00-\u9fff]{3,20}", code):
        raise InvalidRequest(gettext_noop("Use 3 to 20 letters, digits or Chinese characters."),
                             param="anti_phishing_code")
    user.anti_phishing_code = code
    user.save(update_fields=["anti_phishing_code"])
    event_record(user=user, kind=Kind.ANTI_PHISHING_SET, ip=ip, user_agent=user_agent)


def email_change_request(*, user: User, new_email: str, password: str, otp_code: str | None = None,
                         ip: str | None = None, user_agent: str = "") -> None:
    """Step-up, then a link to the new address; the change happens when it is opened."""
    password_check(user=user, password=password)
    if two_factor_enabled(user):
        otp_verify(user=user, code=otp_code, ip=ip, user_agent=user_agent)
    new_email = normalize_email(new_email)
    try:
        validate_email(new_email)
    except ValidationError:
        raise InvalidRequest(gettext_noop("Enter a valid email address."), param="new_email") from None
    if new_email == user.email:
        raise InvalidRequest(gettext_noop("This is already your email address."), param="new_email")
    with transaction.atomic():
        event_record(user=user, kind=Kind.EMAIL_CHANGE_REQUESTED, ip=ip, user_agent=user_agent)
        if User.objects.filter(email__iexact=new_email).exists():
            return  # answered like a success: the page does not tell whose address it is
        raw = _token_issue(user=user, purpose=Purpose.EMAIL_CHANGE,
                           ttl=timedelta(hours=settings.OKPAY_EMAIL_VERIFY_TTL_HOURS), email=new_email)
        emails.email_change_verify(user, new_email, raw)


@transaction.atomic
def email_change_confirm(*, token: str, ip: str | None = None, user_agent: str = "") -> User:
    row = _token_consume(raw=token, purpose=Purpose.EMAIL_CHANGE)
    user = User.objects.select_for_update().get(pk=row.user_id)
    old = user.email
    if User.objects.filter(email__iexact=row.email).exclude(pk=user.pk).exists():
        raise Conflict(gettext_noop("This email address is already in use."), param="email")
    user.email = row.email
    user.email_verified_at = _now()
    user.save(update_fields=["email", "email_verified_at"])
    EmailToken.objects.filter(user=user, used_at__isnull=True).exclude(purpose=Purpose.FREEZE).update(
        used_at=_now(), invalidated_reason="email_changed")
    event_record(user=user, kind=Kind.EMAIL_CHANGED, ip=ip, user_agent=user_agent,
                 detail={"from": old, "to": user.email})
    emails.email_changed_notice(user, old_email=old, freeze_token=_freeze_link(user))
    return user


def phone_normalize(phone: str) -> str:
    cleaned = re.sub(r"[\s().-]", "", phone or "")
    if not re.fullmatch(r"\+?\d{6,15}", cleaned):
        raise InvalidRequest(gettext_noop("Enter a phone number with its country code, such as +86 138 0013 8000."),
                             param="phone")
    return cleaned if cleaned.startswith("+") else "+" + cleaned


def phone_verification_start(*, user: User, phone: str, password: str, ip: str | None = None) -> PhoneVerification:
    """Send a code to a new number; re-authentication (the password) first (ASVS 7.5.1)."""
    from okpay.identity.sms import sms_send

    password_check(user=user, password=password)
    phone = phone_normalize(phone)
    PHONE_CODE_PER_USER.hit(str(user.pk))
    code = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        PhoneVerification.objects.filter(user=user, used_at__isnull=True).update(used_at=_now())
        row = PhoneVerification.objects.create(user=user, phone=phone, code_hash=_hmac(f"phone:{user.pk}:{code}"),
                                               expires_at=_now() + timedelta(minutes=10))
        sms_send(to=phone, body=emails.phone_code_text(user, code))
    return row


def phone_verification_confirm(*, user: User, code: str, ip: str | None = None, user_agent: str = "") -> User:
    with transaction.atomic():
        row = (PhoneVerification.objects.select_for_update()
               .filter(user=user, used_at__isnull=True, expires_at__gt=_now()).order_by("-pk").first())
        if row is None or row.attempts >= 5:
            raise InvalidToken(gettext_noop("The code has expired. Ask for a new one."), param="code")
        if not hmac.compare_digest(row.code_hash, _hmac(f"phone:{user.pk}:{(code or '').strip()}")):
            row.attempts += 1
            row.save(update_fields=["attempts"])
            ok = False
        else:
            ok = True
            row.used_at = _now()
            row.save(update_fields=["used_at"])
            user.phone = row.phone
            user.phone_verified_at = _now()
            user.save(update_fields=["phone", "phone_verified_at"])
            event_record(user=user, kind=Kind.PHONE_CHANGED, ip=ip, user_agent=user_agent,
                         detail={"phone": row.phone[:4] + "****" + row.phone[-3:]})
    if not ok:
        raise InvalidToken(gettext_noop("The code is not correct."), param="code")
    return user


def account_close(*, user: User, password: str, otp_code: str | None = None, ip: str | None = None,
                  user_agent: str = "") -> None:
    """Close the account: only with nothing left in the wallet and nothing pending (CLOSE_CHECKS)."""
    password_check(user=user, password=password)
    if two_factor_enabled(user):
        otp_verify(user=user, code=otp_code, ip=ip, user_agent=user_agent)
    for check in CLOSE_CHECKS:
        reason = check(user)
        if reason:
            raise BusinessRuleError(reason, code="account_not_closable")
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        user.is_active = False
        user.closed_at = _now()
        user.save(update_fields=["is_active", "closed_at"])
        _revoke_all(user=user, reason="closed")
        TOTPDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        event_record(user=user, kind=Kind.CLOSED, ip=ip, user_agent=user_agent)
        emails.account_closed(user)


# --- operators -------------------------------------------------------------------------------------------

@transaction.atomic
def user_create(*, email: str, password: str, name: str = "", verified: bool = False, role: str = "customer",
                actor: str = "system") -> User:
    """An account made by an operator (``okpay users create``); audited."""
    email = normalize_email(email)
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidRequest(gettext_noop("Enter a valid email address."), param="email") from None
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict(f"{email} is already registered.", param="email")
    user = User(email=email, display_name=name or email.split("@")[0], anti_phishing_code=new_anti_phishing_code(),
                email_verified_at=_now() if verified else None, password_changed_at=_now())
    _password_validate(password, user)
    user.set_password(password)
    user.save()
    _role_set(user, role)
    for hook in ROLE_HOOKS:
        hook(user, role)
    audit_record(actor=actor, action="identity.user_created", target=user, detail={"role": role, "verified": verified})
    return user


@transaction.atomic
def user_unlock(*, email: str, actor: str = "system") -> int:
    """Lift a sign-in lockout for an address (every source address); audited."""
    from axes.utils import reset as axes_reset

    email = normalize_email(email)
    removed = axes_reset(username=email) or 0
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        event_record(user=user, kind=Kind.UNLOCKED, actor=actor, detail={"attempts_cleared": removed})
    else:
        audit_record(actor=actor, action="identity.unlocked", detail={"email": email, "attempts_cleared": removed})
    return removed


@transaction.atomic
def sessions_terminate_by_operator(*, email: str | None, actor: str = "system") -> int:
    """Sign out one user (every session and token), or everybody with ``email=None``; audited."""
    if email is None:
        count = 0
        for user in User.objects.filter(web_sessions__ended_at__isnull=True).distinct().iterator():
            count += _revoke_all(user=user, reason="operator")
        count += ApiToken.objects.filter(revoked_at__isnull=True).update(revoked_at=_now())
        audit_record(actor=actor, action="identity.sessions_terminated_all", detail={"count": count})
        return count
    user = User.objects.filter(email__iexact=normalize_email(email)).first()
    if user is None:
        raise NotFound(gettext_noop("No such user."), param="email")
    count = _revoke_all(user=user, reason="operator")
    event_record(user=user, kind=Kind.SESSION_REVOKED, actor=actor, detail={"by_operator": True, "count": count})
    return count


@transaction.atomic
def two_factor_reset_by_support(*, user: User, actor: User, reason: str, ip: str | None = None) -> None:
    """A customer who lost both the authenticator and the recovery codes: after support has proved
    their identity (as at sign-up: the email address, plus the checks the ticket records), 2FA is
    removed, every session ends, and the customer is told by email."""
    _staff_check(actor)
    if not (reason or "").strip():
        raise InvalidRequest(gettext_noop("Say why two-factor authentication is reset."), param="reason")
    TOTPDevice.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()
    _revoke_all(user=user, reason="2fa_reset")
    event_record(user=user, kind=Kind.TWO_FACTOR_DISABLED, ip=ip, actor=actor,
                 detail={"by": actor.public_id, "reason": reason.strip()[:500]})
    emails.two_factor_changed(user, enabled=False, freeze_token=_freeze_link(user))


def prune_expired() -> int:
    """Sweep (hourly): forget used or expired email tokens and phone codes, and close the records of
    browser sessions whose Django session is gone (expired cookies). Safe to run on many workers."""
    now = _now()
    removed, _ = EmailToken.objects.filter(expires_at__lt=now - timedelta(days=7)).delete()
    removed += PhoneVerification.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()[0]
    stale = UserSession.objects.filter(ended_at__isnull=True,
                                       last_seen_at__lt=now - timedelta(hours=settings.OKPAY_SESSION_MAX_HOURS))
    removed += stale.update(ended_at=now, end_reason="expired")
    return removed
