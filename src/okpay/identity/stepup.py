"""Step-up for every customer: a payment above ``OKPAY_STEP_UP_AMOUNT`` (or a first payment to a
payee above ``OKPAY_STEP_UP_NEW_PAYEE_AMOUNT``) is confirmed once more before money moves.

- With an authenticator app (TOTP on): its code, as before (``method: "totp"``).
- Without one: a six-digit code sent by SMS to the verified phone (``method: "sms"``), else to the
  verified email (``method: "email"``). The code is bound to the payment: a keyed hash of its kind,
  amount, currency, payee and the request's ``Idempotency-Key`` (``StepUpChallenge.binding``), so
  it confirms that payment and no other. It lives ``OKPAY_STEP_UP_CODE_MINUTES``, works once, allows
  5 tries; at most 5 codes are sent per user per 15 minutes, and a code is not sent again for the
  same payment within a minute.

A payment without the code is refused with ``401 otp_required`` (``param: "otp_code"``, and
``method``); the code is sent only after the refused work has been rolled back
(``StepUpRequired.after_rollback``: the API's error handler and the web money forms run it in a
``core.idempotency.Deferred`` answer). The retry sends the same request with ``otp_code`` and the
same ``Idempotency-Key``.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from okpay.core.errors import RateLimited
from okpay.core.idempotency import current_key
from okpay.core.ratelimit import RateLimit
from okpay.identity.models import StepUpChallenge, User
from okpay.identity.services import InvalidOtp, OtpRequired, otp_verify, two_factor_enabled

SENDS_PER_USER = RateLimit("step-up-send", limit=5, window=900)
TRIES_PER_CODE = RateLimit("step-up-try", limit=5, window=3600)
RESEND_AFTER = timedelta(seconds=60)
TOTP, SMS, EMAIL = "totp", "sms", "email"


@dataclass(frozen=True)
class Payment:
    """What is being confirmed. ``payee`` is canonical (a normalised email, phone or wallet id, a
    biller and reference, a payment intent)."""

    kind: str
    amount: int
    currency: str
    payee: str
    new_payee: bool = False


def method_for(user: User) -> str:
    if two_factor_enabled(user):
        return TOTP
    if user.phone and user.phone_verified_at is not None:
        return SMS
    return EMAIL


def required(user: User, payment: Payment) -> bool:
    if payment.amount > settings.OKPAY_STEP_UP_AMOUNT:
        return True
    return payment.new_payee and payment.amount > settings.OKPAY_STEP_UP_NEW_PAYEE_AMOUNT


def binding_of(user: User, payment: Payment, key: str | None = None) -> str:
    key = current_key() if key is None else key
    value = f"step-up\0{user.pk}\0{payment.kind}\0{payment.amount}\0{payment.currency}\0{payment.payee}\0{key}"
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), "sha256").hexdigest()


def _code_hash(challenge_binding: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"step-up-code\0{challenge_binding}\0{code}".encode(),
                    "sha256").hexdigest()


def destination(user: User, method: str) -> str:
    """Where the code goes, masked for the screen: ``+86****8000`` or ``a***@example.com``."""
    if method == SMS:
        return user.phone[:3] + "****" + user.phone[-4:]
    local, _at, domain = user.email.partition("@")
    return f"{local[:1]}***@{domain}"


class StepUpRequired(OtpRequired):
    """``401 otp_required`` with the method to use; ``after_rollback()`` sends the code (if any)."""

    def __init__(self, user: User, payment: Payment, method: str, binding: str) -> None:
        params: dict[str, object] = {}
        if method == TOTP:
            message = gettext_noop("Enter the code from your authenticator app.")
        elif method == SMS:
            message = gettext_noop("Enter the code sent by SMS to %(to)s to confirm this payment.")
            params = {"to": destination(user, method)}
        else:
            message = gettext_noop("Enter the code sent by email to %(to)s to confirm this payment.")
            params = {"to": destination(user, method)}
        super().__init__(message, param="otp_code", params=params, extra={"method": method})
        self.method = method
        self.destination = "" if method == TOTP else destination(user, method)
        self.after_rollback = None if method == TOTP else (lambda: challenge_send(user, payment, binding, method))


def challenge_send(user: User, payment: Payment, binding: str, method: str) -> bool:
    """Send a code for ``binding`` (in the caller's transaction: the outbox rows commit with it).
    False when a code for this payment went out less than a minute ago, or too many were sent."""
    from okpay.identity import emails
    from okpay.identity.sms import sms_send

    now = timezone.now()
    last = (StepUpChallenge.objects.filter(user=user, binding=binding, used_at__isnull=True, expires_at__gt=now)
            .order_by("-pk").first())
    if last is not None and last.created_at > now - RESEND_AFTER:
        return False
    if SENDS_PER_USER.exceeded(str(user.pk)):
        return False
    SENDS_PER_USER.hit(str(user.pk))
    code = f"{secrets.randbelow(10**6):06d}"
    StepUpChallenge.objects.filter(user=user, binding=binding, used_at__isnull=True).update(used_at=now)
    minutes = settings.OKPAY_STEP_UP_CODE_MINUTES
    StepUpChallenge.objects.create(user=user, binding=binding, method=method, code_hash=_code_hash(binding, code),
                                   created_at=now, expires_at=now + timedelta(minutes=minutes))
    from okpay.payments.money import format_money

    with translation.override(user.locale or settings.LANGUAGE_CODE):
        money = format_money(payment.amount, payment.currency)
        text = _("[OKPay] %(code)s is your code to confirm a payment of %(amount)s (valid for %(minutes)d "
                 "minutes, for this payment only). Never share it with anyone, including OKPay staff. "
                 "If you did not start this payment, do not enter the code and change your password.") % {
            "code": code, "amount": money, "minutes": minutes}
    if method == SMS:
        sms_send(to=user.phone, body=text)
    else:
        emails.step_up_code(user, text)
    return True


def check(user: User, payment: Payment, code: str | None) -> None:
    """Raise unless ``payment`` may go ahead: ``StepUpRequired`` without a code (or when the code
    for this payment expired), ``invalid_otp`` for a wrong one, ``rate_limited`` after too many."""
    if not required(user, payment):
        return
    method = method_for(user)
    if method == TOTP:
        otp_verify(user=user, code=code)
        return
    binding = binding_of(user, payment)
    if not code:
        if SENDS_PER_USER.exceeded(str(user.pk)) and not StepUpChallenge.objects.filter(
                user=user, binding=binding, used_at__isnull=True, expires_at__gt=timezone.now()).exists():
            raise RateLimited(gettext_noop("Too many codes were sent. Try again later."),
                              retry_after=SENDS_PER_USER.retry_after(str(user.pk)))
        raise StepUpRequired(user, payment, method, binding)
    normalized = "".join(ch for ch in code if ch.isdigit())
    with transaction.atomic():
        row = (StepUpChallenge.objects.select_for_update()
               .filter(user=user, binding=binding, used_at__isnull=True, expires_at__gt=timezone.now())
               .order_by("-pk").first())
        if row is None:
            # No live code for *this* payment (expired, used, or it was sent for another one): a new one.
            raise StepUpRequired(user, payment, method, binding)
        subject = row.code_hash[:32]  # unique per code (a row id may come back after a restore)
        if TRIES_PER_CODE.exceeded(subject):
            raise StepUpRequired(user, payment, method, binding)
        if not (len(normalized) == 6 and hmac.compare_digest(row.code_hash, _code_hash(binding, normalized))):
            try:
                TRIES_PER_CODE.hit(subject)  # counted in the cache: the refusal rolls the database back
            except RateLimited:
                pass
            raise InvalidOtp(param="otp_code")
        # Used once, even if the payment's transaction is then rolled back (an error answer).
        if not cache.add(f"step-up-used:{subject}", 1, timeout=settings.OKPAY_STEP_UP_CODE_MINUTES * 60 + 60):
            raise InvalidOtp(param="otp_code")
        row.used_at = timezone.now()
        row.save(update_fields=["used_at"])


def prepare(user: User, payment: Payment, key: str) -> tuple[str, str] | None:
    """For a confirmation page: when ``payment`` needs a step-up, send the code now (for a customer
    without an authenticator app) and return ``(method, masked destination)``; else ``None``."""
    if not required(user, payment):
        return None
    method = method_for(user)
    if method == TOTP:
        return TOTP, ""
    with transaction.atomic():
        challenge_send(user, payment, binding_of(user, payment, key), method)
    return method, destination(user, method)
