"""Becoming a merchant: a signed-in customer with a verified email applies (business name, contact,
website, refund policy); an operator approves in the back office or with ``okpay merchants
approve``, which creates the business profile (``services.merchant_create``) and tells the
applicant. Operators can also make a merchant and its keys directly (``okpay merchants create``,
``okpay merchants keys create``). Every decision is in the audit log."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from okpay.audit.services import audit_record
from okpay.core.errors import BusinessRuleError, Conflict, InvalidRequest, NotFound
from okpay.identity.models import User
from okpay.merchants import emails
from okpay.merchants.models import ApiKey, KeyKind, Merchant, MerchantApplication
from okpay.merchants.services import api_key_create, merchant_create

Status = MerchantApplication.Status


def _text(value: Any, *, param: str, low: int, high: int, message: str) -> str:
    text = " ".join(str(value or "").split()) if param != "refund_policy" else str(value or "").strip()
    if not low <= len(text) <= high:
        raise InvalidRequest(message, param=param)
    return text


def application_for(user: User) -> MerchantApplication | None:
    """The user's latest application (selector)."""
    return MerchantApplication.objects.filter(user=user).order_by("-created_at", "-pk").first()


@transaction.atomic
def merchant_application_create(*, user: User, business_name: str, contact_name: str, contact_email: str,
                                website: str, refund_policy: str, contact_phone: str = "") -> MerchantApplication:
    """A customer applies to become a merchant. Only with a verified email address, once at a time."""
    if not user.is_authenticated or not user.is_active:
        raise InvalidRequest(gettext_noop("Sign in to apply."))
    if user.email_verified_at is None:
        raise BusinessRuleError(gettext_noop("Verify your email address before you apply to become a merchant."),
                                code="email_not_verified")
    if Merchant.objects.filter(user=user).exists():
        raise Conflict(gettext_noop("You already have a merchant account."), code="already_merchant")
    name = _text(business_name, param="business_name", low=2, high=100,
                 message=gettext_noop("Enter the business name (2 to 100 characters)."))
    contact = _text(contact_name, param="contact_name", low=2, high=100,
                    message=gettext_noop("Enter the name of a contact person (2 to 100 characters)."))
    email = (contact_email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidRequest(gettext_noop("Enter a valid email address."), param="contact_email") from None
    site = (website or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(site)
    except ValidationError:
        raise InvalidRequest(gettext_noop("Enter the address of your website, starting with https://."),
                             param="website") from None
    if len(site) > 200 or not urlsplit(site).hostname:
        raise InvalidRequest(gettext_noop("Enter the address of your website, starting with https://."),
                             param="website")
    policy = _text(refund_policy, param="refund_policy", low=10, high=2000,
                   message=gettext_noop("Describe your refund policy (10 to 2000 characters)."))
    phone = " ".join((contact_phone or "").split())[:32]
    try:
        with transaction.atomic():
            application = MerchantApplication.objects.create(
                user=user, business_name=name, contact_name=contact, contact_email=email, contact_phone=phone,
                website=site, refund_policy=policy, created_at=timezone.now())
    except IntegrityError:  # one waiting application per user (a unique constraint)
        raise Conflict(gettext_noop("Your application is already waiting for review."),
                       code="application_pending") from None
    audit_record(actor=user, action="merchants.application_create", target=application,
                 detail={"business_name": name})
    return application


def _locked(application_id: str) -> MerchantApplication:
    application = (MerchantApplication.objects.select_for_update().select_related("user")
                   .filter(public_id=application_id).first()) if isinstance(application_id, str) else None
    if application is None:
        raise NotFound(gettext_noop("No such application."))
    return application


def _actor_ref(actor: User | str) -> str:
    return actor if isinstance(actor, str) else actor.public_id


@transaction.atomic
def merchant_application_approve(*, application_id: str, actor: User | str) -> Merchant:
    """Approve: the business profile is made (with a first publishable key) and the applicant is told.
    Approving twice changes nothing; a rejected application cannot be approved."""
    application = _locked(application_id)
    if application.status == Status.APPROVED and application.merchant is not None:
        return application.merchant
    if application.status != Status.PENDING:
        raise Conflict(gettext_noop("This application was already decided."), code="application_decided")
    merchant = merchant_create(user=application.user, name=application.business_name,
                               support_email=application.contact_email)
    application.status, application.merchant = Status.APPROVED, merchant
    application.decided_by, application.decided_at = _actor_ref(actor), timezone.now()
    application.save(update_fields=["status", "merchant", "decided_by", "decided_at"])
    audit_record(actor=actor, action="merchants.application_approve", target=application,
                 detail={"merchant": merchant.public_id})
    emails.application_approved(application)
    return merchant


@transaction.atomic
def merchant_application_reject(*, application_id: str, actor: User | str, reason: str) -> MerchantApplication:
    reason = " ".join((reason or "").split())
    if not 3 <= len(reason) <= 500:
        raise InvalidRequest(gettext_noop("Give the applicant a reason (3 to 500 characters)."), param="reason")
    application = _locked(application_id)
    if application.status != Status.PENDING:
        raise Conflict(gettext_noop("This application was already decided."), code="application_decided")
    application.status, application.decision_reason = Status.REJECTED, reason
    application.decided_by, application.decided_at = _actor_ref(actor), timezone.now()
    application.save(update_fields=["status", "decision_reason", "decided_by", "decided_at"])
    audit_record(actor=actor, action="merchants.application_reject", target=application, detail={"reason": reason})
    emails.application_rejected(application)
    return application


def _account(email: str) -> User:
    user = User.objects.filter(email__iexact=(email or "").strip()).first()
    if user is None:
        raise NotFound(gettext_noop("No account with this email address."))
    return user


@transaction.atomic
def merchant_create_by_operator(*, email: str, name: str, actor: str) -> Merchant:
    """``okpay merchants create``: give an existing account a business profile at once."""
    user = _account(email)
    name = " ".join((name or "").split())
    if not 2 <= len(name) <= 100:
        raise InvalidRequest(gettext_noop("Enter the business name (2 to 100 characters)."), param="name")
    existed = Merchant.objects.filter(user=user).exists()
    merchant = merchant_create(user=user, name=name)
    if not existed:
        audit_record(actor=actor, action="merchants.merchant_create", target=merchant, detail={"user": user.public_id})
    return merchant


@transaction.atomic
def api_key_create_by_operator(*, email: str, publishable: bool, actor: str, name: str = "cli") -> tuple[str, ApiKey]:
    """``okpay merchants keys create``: a new key for the merchant of this account (shown once)."""
    merchant = Merchant.objects.filter(user=_account(email)).first()
    if merchant is None:
        raise NotFound(gettext_noop("This account has no merchant profile."))
    raw, key = api_key_create(merchant=merchant, kind=KeyKind.PUBLISHABLE if publishable else KeyKind.SECRET,
                              name=name)
    audit_record(actor=actor, action="merchants.key_create", target=merchant, detail={"key": key.public_id,
                                                                                      "kind": key.kind})
    return raw, key


def merchant_profile_for_role(user: User, role: str) -> None:
    """identity.ROLE_HOOKS: an account made with the merchant role gets its business profile too,
    so the merchant dashboard never answers 404 to a merchant."""
    if role == "merchant":
        merchant_create(user=user, name=user.display_name)
