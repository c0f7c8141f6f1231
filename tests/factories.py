"""The fixed cast of the tests (STYLE.md): alice, bob (customers), mallory (outsider), shop
(merchant), agent and supervisor — and the one way tests sign a browser in, :func:`sign_in`.

Staff (agent, supervisor, admin) always have a confirmed TOTP device here, as in production
(``okpay.identity.staff``), and staff pages open only for a session that proved it. So:

- ``sign_in(user)`` → a ``django.test.Client`` signed in as ``user``; for staff, the session is also
  marked verified by their device, exactly as OKPay's sign-in does after the code step.
  ``sign_in(user, verified=False)`` gives a staff member a password-only session (what the
  second-factor tests refuse). ``sign_in(user, client)`` signs an existing client in.
- ``session_cookie(user)`` → the session id of such a session, for WebSockets and Playwright.
- ``totp_code(user)`` → the current code of the user's device (or of a device), to type into a form.
- ``user_create(..., second_factor=False)`` makes a staff member without a device (the setup flow).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from okpay.identity.models import User

PASSWORD = "Correct-horse-9-battery"
STAFF_ROLES = {"agent", "supervisor", "admin"}


def user_create(email: str, *, name: str | None = None, role: str = "customer", verified: bool = True,
                second_factor: bool = True, **extra: object) -> User:
    # every member of the cast has an anti-phishing code, so "the code is in every email" can fail
    extra.setdefault("anti_phishing_code", anti_phishing_code_for(email))
    user = User.objects.create_user(
        email, PASSWORD, display_name=name or email.split("@")[0].title(),
        email_verified_at=timezone.now() if verified else None, **extra,
    )
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    if role in STAFF_ROLES:
        user.is_staff = True
        user.is_superuser = role == "admin"
        user.save(update_fields=["is_staff", "is_superuser"])
        if second_factor:
            TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    return user


def anti_phishing_code_for(email: str) -> str:
    """The cast's anti-phishing code: fixed per address, and a string no email contains by chance."""
    import hashlib

    return "防钓" + hashlib.sha256(email.lower().encode()).hexdigest()[:6].upper()


def totp_device(user: User) -> TOTPDevice:
    """The user's confirmed TOTP device (made now if there is none)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def totp_code(who: User | TOTPDevice) -> str:
    """The code the user's authenticator app (or this device, confirmed or not) shows right now.
    OKPay accepts each code once."""
    import time

    from django_otp.oath import TOTP

    device = who if isinstance(who, TOTPDevice) else totp_device(who)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


def sign_in(user: User, client: Client | None = None, *, verified: bool = True) -> Client:
    """A test client signed in as ``user`` (see the module docstring). Staff get a session verified by
    their TOTP device unless ``verified=False``; customers and merchants a plain session."""
    client = client or Client()
    client.force_login(user)
    if verified and (user.is_staff or user.is_superuser or user.get_all_permissions()):
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = totp_device(user).persistent_id
        session.save()
    return client


def session_cookie(user: User, *, verified: bool = True) -> str:
    """The session id of a browser signed in by :func:`sign_in` (for WebSockets and Playwright)."""
    return sign_in(user, verified=verified).cookies[settings.SESSION_COOKIE_NAME].value


def step_up_code(user: User) -> str:
    """The latest step-up code sent to ``user`` (SMS outbox to a verified phone, else the email outbox)."""
    import re

    from okpay.identity.models import OutboundEmail, OutboundSms

    if user.phone and user.phone_verified_at:
        body = OutboundSms.objects.filter(to=user.phone).order_by("-pk").values_list("body", flat=True).first()
    else:
        body = next((m.body_text for m in OutboundEmail.objects.order_by("-pk")
                     if user.email in m.to and re.search(r"OKPay[\]】]\s*\d{6}", m.body_text)),
                    None)
    found = re.search(r"OKPay[\]】]\s*(\d{6})", body or "")
    assert found, "no step-up code was sent"
    return found.group(1)


def stepped_up(user: User, call):  # type: ignore[no-untyped-def]
    """``call(otp_code)`` a payment service the way a client does: without a code first (the
    step-up refusal sends one), then again with the code it received (or the authenticator's)."""
    from django.db import transaction

    from okpay.identity.services import OtpRequired
    from okpay.identity.stepup import StepUpRequired

    try:
        return call(None)
    except StepUpRequired as exc:
        if exc.after_rollback is not None:
            with transaction.atomic():
                exc.after_rollback()
    except OtpRequired:  # people with an authenticator app (every staff member) type its code
        return call(totp_code(user))
    return call(step_up_code(user))
