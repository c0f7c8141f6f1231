"""The Identity part of the API (API.md, "Identity"): sign-up, tokens, password reset, 2FA,
sessions, activity and freeze. Endpoints parse, call one service, serialize."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Schema, Status
from pydantic import Field

from okpay.api.router import OkpayRouter, owns_transaction
from okpay.api.schemas import ERRORS
from okpay.identity import selectors, services
from okpay.identity.auth import client_ip, user_agent
from okpay.identity.models import User

router = OkpayRouter(tags=["identity"])


# --- schemas -----------------------------------------------------------------------------------------

class UserOut(Schema):
    id: str
    email: str
    display_name: str
    email_verified: bool
    two_factor_enabled: bool
    frozen: bool
    locale: str
    wallet_id: str | None
    phone: str
    phone_verified: bool

    @staticmethod
    def of(user: User) -> UserOut:
        return UserOut(id=user.public_id, email=user.email, display_name=user.display_name,
                       email_verified=user.email_verified, two_factor_enabled=services.two_factor_enabled(user),
                       frozen=user.frozen, locale=user.locale, wallet_id=services.wallet_id_of(user),
                       phone=user.phone, phone_verified=user.phone_verified_at is not None)

    @staticmethod
    def registered(user: User) -> UserOut:
        """The answer to a registration, made from what was sent and nothing looked up, so that a new
        address and one already registered get the same answer (``register``)."""
        return UserOut(id=user.public_id, email=user.email, display_name=user.display_name, email_verified=False,
                       two_factor_enabled=False, frozen=False, locale=user.locale, wallet_id=None, phone=user.phone,
                       phone_verified=False)


class RegisterIn(Schema):
    email: str = Field(max_length=254)
    password: str = Field(max_length=4096)
    display_name: str = Field(max_length=100)
    phone: str | None = Field(default=None, max_length=32)
    locale: str | None = Field(default=None, max_length=10)


class TokenIn(Schema):
    token: str = Field(max_length=200)


class LoginIn(Schema):
    email: str = Field(max_length=254)
    password: str = Field(max_length=4096)
    otp_code: str | None = Field(default=None, max_length=40)


class TokenOut(Schema):
    token: str
    expires_at: datetime
    user: UserOut


class DetailOut(Schema):
    detail: str


class EmailIn(Schema):
    email: str = Field(max_length=254)


class ResetConfirmIn(Schema):
    token: str = Field(max_length=200)
    new_password: str = Field(max_length=4096)
    new_password_confirm: str = Field(max_length=4096)


class PasswordIn(Schema):
    current_password: str = Field(max_length=4096)
    new_password: str = Field(max_length=4096)
    otp_code: str | None = Field(default=None, max_length=40)


class EventOut(Schema):
    id: str
    kind: str
    at: datetime
    ip: str | None
    user_agent: str
    detail: dict[str, Any]


class EventPage(Schema):
    data: list[EventOut]
    next_cursor: str | None


class SessionOut(Schema):
    id: str
    kind: str
    device: str
    user_agent: str
    ip: str | None
    created_at: datetime
    last_seen_at: datetime | None
    expires_at: datetime | None
    current: bool


class SessionList(Schema):
    data: list[SessionOut]


class TotpOut(Schema):
    secret: str
    otpauth_uri: str
    qr_svg: str


class CodeIn(Schema):
    code: str = Field(max_length=40)


class RecoveryCodesOut(Schema):
    recovery_codes: list[str]


def _ctx(request: HttpRequest) -> dict[str, Any]:
    return {"ip": client_ip(request), "user_agent": user_agent(request)}


def _device(request: HttpRequest) -> str:
    return "api:" + (request.headers.get("X-Device-Id", "")[:100] or user_agent(request))


def _token_id(request: HttpRequest) -> str | None:
    token = getattr(request, "api_token", None)
    return token.public_id if token is not None else None


RESET_DETAIL = ("If an account exists for this email address, we have sent a link to reset its password. "
                "It expires in 60 minutes. No email? Check your spam folder or contact customer service.")


# --- endpoints --------------------------------------------------------------------------------------------

@router.post("/auth/register", response={201: UserOut, **ERRORS}, auth=None)
def register(request: HttpRequest, body: RegisterIn) -> Status:
    """Create an account; the verification email is sent. An address that is already registered gets
    the same answer — same status, same fields, values taken from the request — and its owner is
    emailed instead, so this endpoint does not reveal accounts. ``wallet_id`` is therefore ``null``
    here for every address (``GET /me`` shows it once signed in): a wallet id is an address money
    can be sent to, and a made-up one could be told from a real one."""
    user = services.user_register(email=body.email, password=body.password, display_name=body.display_name,
                                  phone=body.phone or "", locale=body.locale or "zh-hans", **_ctx(request))
    answer = User(email=services.normalize_email(body.email), display_name=body.display_name.strip(),
                  locale=body.locale or "zh-hans", phone=services.phone_normalize(body.phone) if body.phone else "")
    if user is not None:
        answer.public_id = user.public_id
    return Status(201, UserOut.registered(answer))


@router.post("/auth/verify-email", response={200: UserOut, **ERRORS}, auth=None)
def verify_email(request: HttpRequest, body: TokenIn) -> UserOut:
    return UserOut.of(services.email_verify(token=body.token, **_ctx(request)))


@router.post("/auth/verify-email/resend", response={202: DetailOut, **ERRORS})
def verify_email_resend(request: HttpRequest) -> Status:
    services.email_verification_resend(user=request.auth)  # type: ignore[arg-type]
    return Status(202, DetailOut(detail="If your address is not verified yet, a new link is on its way."))


@router.post("/auth/token", response={200: TokenOut, **ERRORS}, auth=None)
@owns_transaction
def token(request: HttpRequest, body: LoginIn) -> TokenOut:
    """Sign in. With 2FA on, a missing code answers ``401 otp_required`` and a wrong one ``401 invalid_otp``."""
    user = services.login_password_check(request=request, email=body.email, password=body.password)
    method = "password"
    if services.two_factor_enabled(user):
        method = "password+" + services.otp_verify(user=user, code=body.otp_code, **_ctx(request))
    raw, api_token = services.token_login(user=user, device=_device(request), method=method, **_ctx(request))
    return TokenOut(token=raw, expires_at=api_token.expires_at, user=UserOut.of(user))


@router.post("/auth/logout", response={204: None, **ERRORS})
def logout(request: HttpRequest) -> Status:
    token = getattr(request, "api_token", None)
    if token is not None:
        services.api_token_revoke(token=token, **_ctx(request))
    return Status(204, None)


@router.post("/auth/password-reset", response={202: DetailOut, **ERRORS}, auth=None)
def password_reset(request: HttpRequest, body: EmailIn) -> Status:
    services.password_reset_request(email=body.email, **_ctx(request))
    return Status(202, DetailOut(detail=RESET_DETAIL))


@router.post("/auth/password-reset/confirm", response={200: DetailOut, **ERRORS}, auth=None)
def password_reset_confirm(request: HttpRequest, body: ResetConfirmIn) -> DetailOut:
    services.password_reset_confirm(token=body.token, new_password=body.new_password,
                                    new_password_confirm=body.new_password_confirm, **_ctx(request))
    return DetailOut(detail="Your password was changed. Sign in with your new password.")


@router.get("/me", response={200: UserOut, **ERRORS})
def me(request: HttpRequest) -> UserOut:
    return UserOut.of(request.auth)  # type: ignore[arg-type]


@router.post("/me/password", response={200: DetailOut, **ERRORS})
@owns_transaction
def change_password(request: HttpRequest, body: PasswordIn) -> DetailOut:
    """Step-up: the current password, and ``otp_code`` when 2FA is on. Other sessions and tokens end."""
    services.password_change(user=request.auth, current_password=body.current_password,  # type: ignore[arg-type]
                             new_password=body.new_password, otp_code=body.otp_code,
                             current_token=_token_id(request), **_ctx(request))
    return DetailOut(detail="Your password was changed.")


@router.get("/me/activity", response={200: EventPage, **ERRORS})
def activity(request: HttpRequest, limit: int | None = None, cursor: str | None = None) -> EventPage:
    page = selectors.activity_page(request.auth, limit=limit, cursor=cursor)  # type: ignore[arg-type]
    return EventPage(data=[EventOut(id=e.public_id, kind=e.kind, at=e.at, ip=e.ip, user_agent=e.user_agent,
                                    detail=e.detail) for e in page.items], next_cursor=page.next_cursor)


@router.get("/me/sessions", response={200: SessionList, **ERRORS})
def sessions(request: HttpRequest) -> SessionList:
    views = selectors.sessions_for_user(request.auth, current_token=_token_id(request))  # type: ignore[arg-type]
    return SessionList(data=[SessionOut(**view.__dict__) for view in views])


@router.delete("/me/sessions/{session_id}", response={204: None, **ERRORS})
def revoke_session(request: HttpRequest, session_id: str) -> Status:
    services.session_revoke(user=request.auth, session_id=session_id, **_ctx(request))  # type: ignore[arg-type]
    return Status(204, None)


@router.post("/me/2fa/totp", response={200: TotpOut, **ERRORS})
@owns_transaction
def totp_start(request: HttpRequest) -> TotpOut:
    device = services.totp_setup_start(user=request.auth)  # type: ignore[arg-type]
    return TotpOut(secret=services.totp_secret(device), otpauth_uri=device.config_url,
                   qr_svg=services.totp_qr_svg(device.config_url))


@router.post("/me/2fa/totp/confirm", response={200: RecoveryCodesOut, **ERRORS})
@owns_transaction
def totp_confirm(request: HttpRequest, body: CodeIn) -> RecoveryCodesOut:
    codes = services.totp_setup_confirm(user=request.auth, code=body.code, **_ctx(request))  # type: ignore[arg-type]
    return RecoveryCodesOut(recovery_codes=codes)


@router.post("/me/2fa/recovery-codes", response={200: RecoveryCodesOut, **ERRORS})
@owns_transaction
def recovery_codes(request: HttpRequest, body: CodeIn) -> RecoveryCodesOut:
    codes = services.recovery_codes_regenerate(user=request.auth, code=body.code, **_ctx(request))  # type: ignore[arg-type]
    return RecoveryCodesOut(recovery_codes=codes)


@router.delete("/me/2fa", response={204: None, **ERRORS})
def totp_disable(request: HttpRequest, body: CodeIn) -> Status:
    services.totp_disable(user=request.auth, code=body.code, **_ctx(request))  # type: ignore[arg-type]
    return Status(204, None)


@router.post("/me/freeze", response={200: UserOut, **ERRORS})
def freeze(request: HttpRequest) -> UserOut:
    user = request.auth
    services.account_freeze(user=user, via="self_api", current_token=_token_id(request), **_ctx(request))  # type: ignore[arg-type]
    user.refresh_from_db()  # type: ignore[union-attr]
    return UserOut.of(user)  # type: ignore[arg-type]
