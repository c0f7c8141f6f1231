"""Account pages under ``/account/``: sign-in, registration, the seed's six-step password reset,
two-factor, sessions, activity ("账户活动"), the security centre and the profile.

Views parse a form, call one service, render. Service errors become form errors.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from django import forms as django_forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from okpay.core.errors import OkpayError, RateLimited
from okpay.identity import forms, selectors, services, staff
from okpay.identity.auth import client_ip, user_agent
from okpay.identity.middleware import EXPIRED_NOTICE, REAUTH_AT, SESSION_ID
from okpay.identity.models import OutboundSms, User

DEVICE_COOKIE = "okpay_device"
PRE_2FA = "okpay_pre_2fa"
RESET_TOKEN = "okpay_reset_token"  # noqa: S105 - a session key name  # nosec B105
PRE_2FA_SECONDS = 300
REAUTH_WINDOW = 600  # seconds after typing the password in which sessions can be ended

# Messages for the pages, by error code (the API answers in English; pages speak the customer's language).
ERROR_TEXT = {
    "invalid_credentials": gettext_lazy("The email address or password is incorrect."),
    "otp_required": gettext_lazy("Enter the code from your authenticator app."),
    "invalid_otp": gettext_lazy("The code is not valid, or it was already used. Wait for the next code and try again."),
    "invalid_token": gettext_lazy("This link is invalid or has expired. Ask for a new one."),
    "rate_limited": gettext_lazy("Too many attempts. Try again in %(minutes)d minutes."),
}
NAV_LABELS = (gettext_lazy("Register"), gettext_lazy("Sign in"), gettext_lazy("My account"))  # used by web/base.html


def _ctx(request: HttpRequest) -> dict[str, Any]:
    return {"ip": client_ip(request), "user_agent": user_agent(request)}


def _error_text(exc: OkpayError) -> str:
    if isinstance(exc, RateLimited):
        minutes = max(1, (getattr(exc, "retry_after", 60) + 59) // 60)
        return str(ERROR_TEXT["rate_limited"]) % {"minutes": minutes}
    if exc.code == "invalid_credentials" and exc.param == "current_password":
        return _("The current password is incorrect.")
    if exc.code in ERROR_TEXT:
        return str(ERROR_TEXT[exc.code])
    if exc.code == "weak_password":
        return exc.message  # Django's and our validators' messages, already translated
    return exc.localized()


def _attempt(form: django_forms.Form, work: Callable[[], Any], *, field_map: dict[str, str] | None = None) -> Any:
    """Run a service; on an OkpayError put its message on the form. Returns the result or None."""
    try:
        return work()
    except OkpayError as exc:
        field = (field_map or {}).get(exc.param or "", exc.param)
        if field not in form.fields:
            field = None
        form.add_error(field, _error_text(exc))
        return None


def _device_cookie(request: HttpRequest) -> str:
    """This browser's random device id (a long-lived cookie; made now if it has none yet)."""
    value = request.COOKIES.get(DEVICE_COOKIE) or getattr(request, "_okpay_new_device", "")
    if not value:
        value = secrets.token_urlsafe(24)
        request._okpay_new_device = value  # type: ignore[attr-defined]
    return value


def _device(request: HttpRequest) -> str:
    return "web:" + _device_cookie(request)


def _with_device_cookie(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    if not request.COOKIES.get(DEVICE_COOKIE):
        response.set_cookie(DEVICE_COOKIE, _device_cookie(request), max_age=2 * 365 * 24 * 3600,
                            secure=settings.SESSION_COOKIE_SECURE, httponly=True, samesite="Lax")
    return response


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


def contact_url() -> str:
    """The contact page of the help centre if it exists, else the service section of the home page."""
    for name in ("helpcenter:contact", "support:contact", "web:contact"):
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return reverse("web:home") + "#service"


def _session_id(request: HttpRequest) -> str | None:
    return request.session.get(SESSION_ID)


# --- sign-in -------------------------------------------------------------------------------------------

@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = forms.LoginForm(request.POST or None)
    expired = bool(request.session.pop(EXPIRED_NOTICE, False)) if request.method == "GET" else False
    if request.method == "POST" and form.is_valid():
        user = _attempt(form, lambda: services.login_password_check(
            request=request, email=form.cleaned_data["email"], password=form.cleaned_data["password"]))
        if user is not None:
            next_url = _safe_next(request, resolve_url(settings.LOGIN_REDIRECT_URL))
            if services.two_factor_enabled(user):
                request.session.cycle_key()
                request.session[PRE_2FA] = {"user": user.pk, "at": int(services._now().timestamp()), "next": next_url}
                return redirect("identity:login-otp")
            services.login_complete(request=request, user=user, device=_device(request))
            return _with_device_cookie(request, redirect(next_url))
    response = render(request, "identity/login.html", {"form": form, "expired": expired,
                                                      "next": request.GET.get("next", "")},
                      status=200 if request.method == "GET" or not form.errors else 400)
    return _with_device_cookie(request, response)


@never_cache
@require_http_methods(["GET", "POST"])
def login_otp_view(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PRE_2FA)
    now = int(services._now().timestamp())
    if not pending or now - int(pending.get("at", 0)) > PRE_2FA_SECONDS:
        request.session.pop(PRE_2FA, None)
        return redirect("identity:login")
    user = User.objects.filter(pk=pending["user"], is_active=True).first()
    if user is None:
        return redirect("identity:login")
    form = forms.OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        method = _attempt(form, lambda: services.otp_verify(user=user, code=form.cleaned_data["code"], **_ctx(request)))
        if method is not None:
            request.session.pop(PRE_2FA, None)
            services.login_complete(request=request, user=user, device=_device(request), method="password+" + method)
            _second_factor_proved(request, user)
            if method == "recovery":
                messages.warning(request, _("You signed in with a recovery code. %(left)d codes are left.")
                                 % {"left": services.recovery_codes_left(user)})
            landing = pending.get("next") or resolve_url(settings.LOGIN_REDIRECT_URL)
            return _with_device_cookie(request, redirect(landing))
    return render(request, "identity/login_otp.html", {"form": form}, status=200 if not form.errors else 400)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def second_factor_view(request: HttpRequest) -> HttpResponse:
    """A signed-in session proves the second factor here. Staff pages send staff members here when
    their session has not (``okpay.identity.staff``); one without a confirmed device is sent to set
    it up first, and comes back to ``next`` after the setup."""
    user: User = request.user  # type: ignore[assignment]
    next_url = _safe_next(request, reverse("identity:security"))
    if staff.request_verified(request):
        return redirect(next_url)
    if not services.two_factor_enabled(user):
        request.session[staff.NEXT_SESSION_KEY] = next_url
        return redirect("identity:2fa")
    form = forms.OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        method = _attempt(form, lambda: services.otp_verify(user=user, code=form.cleaned_data["code"], **_ctx(request)))
        if method is not None:
            _second_factor_proved(request, user)
            return redirect(next_url)
    return render(request, "identity/second_factor.html",
                  {"form": form, "next": next_url, "staff": staff.is_staff_member(user)},
                  status=200 if not form.errors else 400)


def _second_factor_proved(request: HttpRequest, user: User) -> None:
    """Mark this browser session as verified by the user's confirmed TOTP device (django-otp)."""
    from django_otp import login as otp_login
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is not None:
        otp_login(request, device)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        services.logout_record(user=request.user, public_id=_session_id(request), **_ctx(request))  # type: ignore[arg-type]
    logout(request)
    messages.info(request, _("You have signed out."))
    response = redirect("identity:login")
    # Everything the browser keeps for this site (the service worker's caches and the worker
    # itself, local storage) goes with the session: the next person at this device starts clean.
    response["Clear-Site-Data"] = '"storage"'
    return response


# --- registration ---------------------------------------------------------------------------------------

@never_cache
@require_http_methods(["GET", "POST"])
def register_view(request: HttpRequest) -> HttpResponse:
    initial = {"locale": "en" if (request.LANGUAGE_CODE or "").startswith("en") else "zh-hans"}
    form = forms.RegisterForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        done = _attempt(form, lambda: services.user_register(
            email=data["email"], password=data["password"], display_name=data["display_name"],
            phone=data["phone"], locale=data["locale"], **_ctx(request)) or True)
        if done is not None:
            request.session["okpay_registered_email"] = data["email"].strip().lower()
            return redirect("identity:register-sent")
    return render(request, "identity/register.html", {"form": form, "policy": forms.policy_help()},
                  status=200 if not form.errors else 400)


@require_GET
def register_sent_view(request: HttpRequest) -> HttpResponse:
    return render(request, "identity/register_sent.html",
                  {"email": request.session.get("okpay_registered_email", ""), "contact_url": contact_url()})


@never_cache
@require_http_methods(["GET", "POST"])
def verify_email_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (mail scanners that open links must not use the token up); POST verifies."""
    if request.method == "POST":
        try:
            services.email_verify(token=token, **_ctx(request))
        except OkpayError:
            return render(request, "identity/link_invalid.html", {"contact_url": contact_url()}, status=400)
        messages.success(request, _("Your email address is verified."))
        return redirect("identity:security" if request.user.is_authenticated else "identity:login")
    return render(request, "identity/verify_email.html", {"token": token})


@login_required
@require_POST
def verify_resend_view(request: HttpRequest) -> HttpResponse:
    try:
        services.email_verification_resend(user=request.user)  # type: ignore[arg-type]
        messages.success(request, _("We sent a new verification link to %(email)s.") % {"email": request.user.email})
    except OkpayError as exc:
        messages.error(request, _error_text(exc))
    return redirect("identity:security")


# --- the seed's password reset, steps 1–6 -------------------------------------------------------------------

@never_cache
@require_http_methods(["GET", "POST"])
def password_reset_view(request: HttpRequest) -> HttpResponse:
    form = forms.EmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = _attempt(form, lambda: services.password_reset_request(email=form.cleaned_data["email"],
                                                                      **_ctx(request)) or True)
        if done is not None:
            return redirect("identity:password-reset-sent")
    return render(request, "identity/password_reset.html", {"form": form}, status=200 if not form.errors else 400)


@require_GET
def password_reset_sent_view(request: HttpRequest) -> HttpResponse:
    return render(request, "identity/password_reset_sent.html",
                  {"contact_url": contact_url(), "minutes": settings.OKPAY_PASSWORD_RESET_TTL_MINUTES})


@never_cache
@require_GET
def password_reset_token_view(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the email: keep the token in the session and drop it from the address bar
    (so it never leaks through history or a Referer header)."""
    request.session[RESET_TOKEN] = token
    return redirect("identity:password-reset-new")


@never_cache
@require_http_methods(["GET", "POST"])
def password_reset_new_view(request: HttpRequest) -> HttpResponse:
    token = request.session.get(RESET_TOKEN, "")
    try:
        row = services.token_peek(raw=token, purpose="password_reset")
    except OkpayError:
        return render(request, "identity/link_invalid.html", {"contact_url": contact_url(), "reset": True}, status=400)
    form = forms.NewPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = _attempt(form, lambda: services.password_reset_confirm(
            token=token, new_password=data["new_password"], new_password_confirm=data["new_password_confirm"],
            **_ctx(request)), field_map={"password": "new_password"})  # a field name, not a secret  # nosec B105
        if user is not None:
            request.session.pop(RESET_TOKEN, None)
            if request.user.is_authenticated:
                logout(request)
            return redirect("identity:password-reset-done")
    return render(request, "identity/password_reset_new.html",
                  {"form": form, "policy": forms.policy_help(), "email": row.user.email},
                  status=200 if not form.errors else 400)


@require_GET
def password_reset_done_view(request: HttpRequest) -> HttpResponse:
    return render(request, "identity/password_reset_done.html")


# --- the account area --------------------------------------------------------------------------------------

def _account(request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    return render(request, template, {"section": template.rsplit("/", 1)[-1].removesuffix(".html"), **context},
                  status=status)


@login_required
@require_GET
def account_home_view(request: HttpRequest) -> HttpResponse:
    return redirect("identity:security")


@login_required
@require_GET
def security_view(request: HttpRequest) -> HttpResponse:
    overview = selectors.security_overview(request.user)  # type: ignore[arg-type]
    return _account(request, "identity/security.html", {"o": overview, "contact_url": contact_url()})


@login_required
@require_GET
def activity_view(request: HttpRequest) -> HttpResponse:
    try:
        page = selectors.activity_page(request.user, limit=25, cursor=request.GET.get("cursor"))  # type: ignore[arg-type]
    except OkpayError:
        raise Http404 from None
    return _account(request, "identity/activity.html", {"page": page, "contact_url": contact_url()})


def _recently_authenticated(request: HttpRequest) -> bool:
    at = int(request.session.get(REAUTH_AT, 0) or 0)
    return int(services._now().timestamp()) - at <= REAUTH_WINDOW


@login_required
@require_http_methods(["GET", "POST"])
def sessions_view(request: HttpRequest) -> HttpResponse:
    """Ending sessions needs the password typed in the last 10 minutes (ASVS 7.5.2)."""
    user: User = request.user  # type: ignore[assignment]
    current = _session_id(request)
    confirm = forms.PasswordConfirmForm(request.POST if "confirm_password" in request.POST else None)
    if request.method == "POST" and "confirm_password" in request.POST:
        if confirm.is_valid() and _attempt(confirm, lambda: services.password_check(
                user=user, password=confirm.cleaned_data["password"]) or True,
                field_map={"current_password": "password"}) is not None:  # a field name, not a secret  # nosec B105
            request.session[REAUTH_AT] = int(services._now().timestamp())
            return redirect("identity:sessions")
    elif request.method == "POST" and not _recently_authenticated(request):
        messages.error(request, _("Confirm your password first."))
        return redirect("identity:sessions")
    elif request.method == "POST":
        if request.POST.get("all_others"):
            count = services.sessions_revoke_others(user=user, current_session=current, **_ctx(request))
            messages.success(request, _("Signed out %(count)d other sessions and devices.") % {"count": count})
        else:
            try:
                services.session_revoke(user=user, session_id=request.POST.get("session", ""), **_ctx(request))
            except OkpayError:
                raise Http404 from None
            messages.success(request, _("That session was signed out."))
        return redirect("identity:sessions")
    return _account(request, "identity/sessions.html",
                    {"sessions": selectors.sessions_for_user(user, current_session=current),
                     "needs_reauth": not _recently_authenticated(request), "confirm": confirm},
                    status=400 if confirm.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def password_change_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = forms.PasswordChangeForm(request.POST or None)
    two_factor = services.two_factor_enabled(user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["new_password"] != data["new_password_confirm"]:
            form.add_error("new_password_confirm", _("The two passwords do not match."))
        else:
            done = _attempt(form, lambda: services.password_change(
                user=user, current_password=data["current_password"], new_password=data["new_password"],
                otp_code=data["otp_code"], current_session=_session_id(request), **_ctx(request)) or True,
                field_map={"password": "new_password"})  # a field name, not a secret  # nosec B105
            if done is not None:
                update_session_auth_hash(request, user)
                messages.success(request, _("Your password was changed. Other devices were signed out."))
                return redirect("identity:security")
    return _account(request, "identity/password_change.html",
                    {"form": form, "two_factor": two_factor, "policy": forms.policy_help()},
                    status=200 if not form.errors else 400)


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_view(request: HttpRequest) -> HttpResponse:
    """2FA status; starting the setup asks for the password again (step-up)."""
    user: User = request.user  # type: ignore[assignment]
    enabled = services.two_factor_enabled(user)
    form = forms.PasswordConfirmForm(request.POST or None)
    if request.method == "POST" and not enabled and form.is_valid():
        done = _attempt(form, lambda: services.password_check(user=user, password=form.cleaned_data["password"])
                        or True, field_map={"current_password": "password"})  # a field name, not a secret  # nosec B105
        if done is not None:
            services.totp_setup_start(user=user)
            return redirect("identity:2fa-setup")
    return _account(request, "identity/two_factor.html", {
        "enabled": enabled, "form": form, "code_form": forms.CodeForm(), "staff": staff.is_staff_member(user),
        "codes_left": services.recovery_codes_left(user) if enabled else 0,
    }, status=200 if not form.errors else 400)


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    device = services.totp_pending(user)
    if device is None or services.two_factor_enabled(user):
        return redirect("identity:2fa")
    form = forms.CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = _attempt(form, lambda: services.totp_setup_confirm(user=user, code=form.cleaned_data["code"],
                                                                   **_ctx(request)))
        if codes is not None:
            _second_factor_proved(request, user)
            return _account(request, "identity/recovery_codes.html", {
                "codes": codes, "fresh": True,
                "continue_url": request.session.pop(staff.NEXT_SESSION_KEY, None) or reverse("identity:security")})
    uri = device.config_url
    import base64

    qr = base64.b64encode(services.totp_qr_svg(uri).encode()).decode()
    secret = services.totp_secret(device)
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return _account(request, "identity/two_factor_setup.html",
                    {"form": form, "qr_data": qr, "secret": grouped, "raw_secret": secret},
                    status=200 if not form.errors else 400)


@login_required
@require_POST
def recovery_codes_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = forms.CodeForm(request.POST)
    if form.is_valid():
        codes = _attempt(form, lambda: services.recovery_codes_regenerate(user=user, code=form.cleaned_data["code"],
                                                                          **_ctx(request)))
        if codes is not None:
            return _account(request, "identity/recovery_codes.html", {"codes": codes, "fresh": False})
    messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("identity:2fa")


@login_required
@require_POST
def two_factor_disable_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = forms.CodeForm(request.POST)
    if form.is_valid():
        done = _attempt(form, lambda: services.totp_disable(user=user, code=form.cleaned_data["code"],
                                                            **_ctx(request)) or True)
        if done is not None:
            messages.success(request, _("Two-factor authentication is off. We sent you an email about it."))
            return redirect("identity:2fa")
    messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("identity:2fa")


@login_required
@require_http_methods(["GET", "POST"])
def profile_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = forms.ProfileForm(request.POST or None, initial={"display_name": user.display_name, "locale": user.locale})
    if request.method == "POST" and form.is_valid():
        done = _attempt(form, lambda: services.profile_update(user=user, display_name=form.cleaned_data["display_name"],
                                                              locale=form.cleaned_data["locale"], **_ctx(request)))
        if done is not None:
            from django.utils import translation

            messages.success(request, _("Your profile was saved."))
            response = redirect("identity:profile")
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, user.locale, samesite="Lax", httponly=True,
                                secure=settings.LANGUAGE_COOKIE_SECURE, max_age=365 * 24 * 3600)
            translation.activate(user.locale)
            return response
    return _account(request, "identity/profile.html", {
        "form": form, "email_form": forms.EmailChangeForm(),
        "phone_form": forms.PhoneForm(initial={"phone": user.phone}),
        "two_factor": services.two_factor_enabled(user), "phone_pending": _phone_pending(user),
        "code_form": forms.PhoneCodeForm(),
    }, status=200 if not form.errors else 400)


def _phone_pending(user: User) -> str:
    from okpay.identity.models import PhoneVerification

    row = (PhoneVerification.objects.filter(user=user, used_at__isnull=True, expires_at__gt=services._now())
           .order_by("-pk").first())
    return row.phone if row else ""


@login_required
@require_POST
def email_change_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = forms.EmailChangeForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        done = _attempt(form, lambda: services.email_change_request(
            user=user, new_email=data["new_email"], password=data["password"], otp_code=data["otp_code"],
            **_ctx(request)) or True, field_map={"current_password": "password"})  # a field name, not a secret  # nosec B105
        if done is not None:
            messages.success(request, _("We sent a confirmation link to %(email)s. Your address changes when you "
                                        "open it.") % {"email": data["new_email"]})
            return redirect("identity:profile")
    return _account(request, "identity/profile.html", {
        "form": forms.ProfileForm(initial={"display_name": user.display_name, "locale": user.locale}),
        "email_form": form, "phone_form": forms.PhoneForm(initial={"phone": user.phone}),
        "two_factor": services.two_factor_enabled(user), "phone_pending": _phone_pending(user),
        "code_form": forms.PhoneCodeForm(),
    }, status=400)


@never_cache
@require_http_methods(["GET", "POST"])
def email_confirm_view(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "POST":
        try:
            services.email_change_confirm(token=token, **_ctx(request))
        except OkpayError:
            return render(request, "identity/link_invalid.html", {"contact_url": contact_url()}, status=400)
        messages.success(request, _("Your email address was changed."))
        return redirect("identity:profile" if request.user.is_authenticated else "identity:login")
    return render(request, "identity/email_confirm.html", {"token": token})


@login_required
@require_POST
def phone_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if "code" in request.POST:
        form: django_forms.Form = forms.PhoneCodeForm(request.POST)
        if form.is_valid():
            done = _attempt(form, lambda: services.phone_verification_confirm(user=user, code=form.cleaned_data["code"],
                                                                              **_ctx(request)))
            if done is not None:
                messages.success(request, _("Your phone number is verified."))
                return redirect("identity:profile")
    else:
        form = forms.PhoneForm(request.POST)
        if form.is_valid():
            done = _attempt(form, lambda: services.phone_verification_start(
                user=user, phone=form.cleaned_data["phone"], password=form.cleaned_data["password"],
                ip=client_ip(request)), field_map={"current_password": "password"})  # a field name  # nosec B105
            if done is not None:
                messages.success(request, _("We sent a 6-digit code by SMS. Enter it below."))
                return redirect(reverse("identity:profile") + "#phone")
    # The errors are shown on the form that was sent, tied to their fields (issue 22: announced), not
    # carried back through a redirect as a message.
    return _profile_page(request, **({"code_form": form} if "code" in request.POST else {"phone_form": form}))


def _profile_page(request: HttpRequest, **forms_sent: django_forms.Form) -> HttpResponse:
    """The profile page re-rendered after a form of it was sent with errors (status 400): the sent
    form keeps what was typed and its errors, the other forms start fresh."""
    user: User = request.user  # type: ignore[assignment]
    context: dict[str, Any] = {
        "form": forms.ProfileForm(initial={"display_name": user.display_name, "locale": user.locale}),
        "email_form": forms.EmailChangeForm(), "phone_form": forms.PhoneForm(initial={"phone": user.phone}),
        "two_factor": services.two_factor_enabled(user), "phone_pending": _phone_pending(user),
        "code_form": forms.PhoneCodeForm(), **forms_sent,
    }
    return _account(request, "identity/profile.html", context, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def anti_phishing_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = forms.AntiPhishingForm(request.POST or None, initial={"anti_phishing_code": user.anti_phishing_code})
    if request.method == "POST" and form.is_valid():
        done = _attempt(form, lambda: services.anti_phishing_code_set(
            user=user, code=form.cleaned_data["anti_phishing_code"], **_ctx(request)) or True)
        if done is not None:
            messages.success(request, _("Your anti-phishing code was saved. Every OKPay email will show it."))
            return redirect("identity:security")
    return _account(request, "identity/anti_phishing.html", {"form": form}, status=200 if not form.errors else 400)


@login_required
@require_http_methods(["GET", "POST"])
def freeze_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if request.method == "POST":
        services.account_freeze(user=user, via="self", current_session=_session_id(request), **_ctx(request))
        messages.success(request, _("Your account is frozen. No money can leave it, and other devices were signed "
                                    "out. Contact customer service to unfreeze it."))
        return redirect("identity:security")
    return _account(request, "identity/freeze.html", {"contact_url": contact_url()})


@never_cache
@require_http_methods(["GET", "POST"])
def freeze_link_view(request: HttpRequest, token: str) -> HttpResponse:
    """The "this wasn't me" link of alert emails: works without signing in."""
    if request.method == "POST":
        try:
            services.account_freeze_by_link(token=token, **_ctx(request))
        except OkpayError:
            return render(request, "identity/link_invalid.html", {"contact_url": contact_url()}, status=400)
        if request.user.is_authenticated:
            logout(request)
        return render(request, "identity/freeze_done.html", {"contact_url": contact_url()})
    return render(request, "identity/freeze_link.html", {"token": token, "contact_url": contact_url()})


@login_required
@require_http_methods(["GET", "POST"])
def close_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = forms.CloseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        done = _attempt(form, lambda: services.account_close(user=user, password=data["password"],
                                                             otp_code=data["otp_code"], **_ctx(request)) or True,
                        field_map={"current_password": "password"})  # a field name, not a secret  # nosec B105
        if done is not None:
            logout(request)
            return render(request, "identity/closed.html")
    return _account(request, "identity/close.html", {"form": form, "two_factor": services.two_factor_enabled(user)},
                    status=200 if not form.errors else 400)


@require_GET
def dev_sms_view(request: HttpRequest) -> HttpResponse:
    """The sandbox SMS outbox (debug only), next to /dev/mail/."""
    if not settings.DEBUG:
        raise Http404
    return render(request, "identity/dev_sms.html", {"messages_": OutboundSms.objects.order_by("-pk")[:100]})
