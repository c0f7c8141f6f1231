"""Merchants (DESIGN.md §2): a business profile on a user, its API keys, payment intents, refunds,
customers' refund requests, and webhook endpoints with their stored events and deliveries.

Money never lives here: a payment intent names the payments ``Transaction`` rows (one per party)
and the ledger hold of a manual capture; a refund names its two ``Transaction`` rows.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from okpay.core.ids import new_id


def new_merchant_id() -> str:
    return new_id("mer")


def new_key_id() -> str:
    return new_id("key")


def new_intent_id() -> str:
    return new_id("pi")


def new_refund_id() -> str:
    return new_id("re")


def new_refund_request_id() -> str:
    return new_id("rr")


def new_endpoint_id() -> str:
    return new_id("we")


def new_event_id() -> str:
    return new_id("evt")


def new_delivery_id() -> str:
    return new_id("whd")


def new_application_id() -> str:
    return new_id("mapp")


class Merchant(models.Model):
    """A business profile on a user (group ``merchant``); its wallet is the user's ledger wallet."""

    public_id = models.CharField(max_length=32, unique=True, default=new_merchant_id, editable=False)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="merchant")
    name = models.CharField(max_length=100)
    support_email = models.EmailField(blank=True, default="")
    refund_window_days = models.PositiveIntegerField(default=30)
    # None: every refund request waits for the merchant; an amount: requests up to it are approved at once.
    auto_approve_up_to = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        permissions = [("use_dashboard", "Can use the merchant dashboard")]  # given to the merchant group
        constraints = [
            models.CheckConstraint(condition=Q(auto_approve_up_to__isnull=True) | Q(auto_approve_up_to__gte=0),
                                   name="merchants_auto_approve_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.name}"


class KeyKind(models.TextChoices):
    SECRET = "secret", _("Secret key")
    PUBLISHABLE = "publishable", _("Publishable key")


class ApiKey(models.Model):
    """A merchant API key. Secret keys (``sk_…``) are stored as SHA-256 only and shown once;
    publishable keys (``pk_…``) are public and kept as they are."""

    public_id = models.CharField(max_length=32, unique=True, default=new_key_id, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="keys")
    kind = models.CharField(max_length=12, choices=KeyKind.choices)
    name = models.CharField(max_length=60, blank=True, default="")
    key_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=80, help_text="sk_…last4, or the whole publishable key.")
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.hint}"

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()


class IntentStatus(models.TextChoices):
    REQUIRES_CONFIRMATION = "requires_confirmation", _("Awaiting payment")
    PROCESSING = "processing", _("Processing")
    REQUIRES_CAPTURE = "requires_capture", _("Awaiting capture")
    SUCCEEDED = "succeeded", _("Succeeded")
    CANCELLED = "cancelled", _("Cancelled")


INTENT_MOVES: dict[str, set[str]] = {
    IntentStatus.REQUIRES_CONFIRMATION: {IntentStatus.PROCESSING, IntentStatus.CANCELLED},
    IntentStatus.PROCESSING: {IntentStatus.SUCCEEDED, IntentStatus.REQUIRES_CAPTURE,
                              IntentStatus.REQUIRES_CONFIRMATION},
    IntentStatus.REQUIRES_CAPTURE: {IntentStatus.SUCCEEDED, IntentStatus.CANCELLED},
    IntentStatus.SUCCEEDED: set(),
    IntentStatus.CANCELLED: set(),
}


class CaptureMethod(models.TextChoices):
    AUTOMATIC = "automatic", _("Automatic")
    MANUAL = "manual", _("Manual")


class PaymentIntent(models.Model):
    public_id = models.CharField(max_length=32, unique=True, default=new_intent_id, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="intents")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="CNY")
    description = models.CharField(max_length=200, blank=True, default="")
    return_url = models.URLField(max_length=500, blank=True, default="")
    capture_method = models.CharField(max_length=10, choices=CaptureMethod.choices, default=CaptureMethod.AUTOMATIC)
    status = models.CharField(max_length=24, choices=IntentStatus.choices, default=IntentStatus.REQUIRES_CONFIRMATION)
    amount_received = models.BigIntegerField(default=0)
    amount_refunded = models.BigIntegerField(default=0)
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    customer_txn = models.OneToOneField("payments.Transaction", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="payment_intent")
    merchant_txn = models.OneToOneField("payments.Transaction", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    hold_transfer_id = models.CharField(max_length=64, blank=True, default="")
    # Given to the merchant's front end: with a publishable key it reads the intent's public status.
    client_secret = models.CharField(max_length=80, blank=True, default="")
    cancellation_reason = models.CharField(max_length=40, blank=True, default="")
    capture_before = models.DateTimeField(null=True, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    # "Pay again" (issue 17): made by the customer from their cancelled or expired payment of this
    # merchant; only that customer may pay it, and one is made per failed payment.
    again_of = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="paid_again")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="merchants_pi_amount_positive"),
            models.CheckConstraint(condition=Q(amount_received__gte=0) & Q(amount_received__lte=models.F("amount")),
                                   name="merchants_pi_received_within_amount"),
            models.CheckConstraint(condition=Q(amount_refunded__gte=0)
                                   & Q(amount_refunded__lte=models.F("amount_received")),
                                   name="merchants_pi_refunded_within_received"),
        ]
        indexes = [
            models.Index(fields=["merchant", "id"], name="merchants_pi_merchant_id"),
            models.Index(fields=["capture_before"], condition=Q(status="requires_capture"),
                         name="merchants_pi_capture_due"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.status} {self.amount} {self.currency}"


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class Refund(models.Model):
    public_id = models.CharField(max_length=32, unique=True, default=new_refund_id, editable=False)
    intent = models.ForeignKey(PaymentIntent, on_delete=models.PROTECT, related_name="refunds")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="CNY")
    reason = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    failure_reason = models.CharField(max_length=60, blank=True, default="")
    customer_txn = models.OneToOneField("payments.Transaction", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    merchant_txn = models.OneToOneField("payments.Transaction", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    fail_after = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="merchants_refund_amount_positive")]
        indexes = [models.Index(fields=["fail_after"], condition=Q(status="pending"), name="merchants_refund_due")]

    def __str__(self) -> str:
        return f"{self.public_id} {self.status} {self.amount}"


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the merchant")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")


class RefundRequest(models.Model):
    """A customer asks for money back: of a payment to a merchant (``intent``; the merchant or its
    policy decides and a :class:`Refund` pays it) or of a confirmed bill payment (``bill_txn``; the
    sandbox biller decides after ``decide_after`` and the biller's ledger account pays it). While a
    request waits, the customer's ``refund_txn`` is pending ``awaiting_merchant``; it becomes the
    refund's transaction on approval and fails (``refund_declined``) on decline."""

    public_id = models.CharField(max_length=32, unique=True, default=new_refund_request_id, editable=False)
    intent = models.ForeignKey(PaymentIntent, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="refund_requests")
    bill_txn = models.ForeignKey("payments.Transaction", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    refund_txn = models.OneToOneField("payments.Transaction", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    decide_after = models.DateTimeField(null=True, blank=True)
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField()
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    decline_reason = models.CharField(max_length=500, blank=True, default="")
    auto_approved = models.BooleanField(default=False)
    refund = models.OneToOneField(Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="request")
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="merchants_rr_amount_positive"),
            models.CheckConstraint(condition=Q(intent__isnull=False, bill_txn__isnull=True)
                                   | Q(intent__isnull=True, bill_txn__isnull=False),
                                   name="merchants_rr_intent_or_bill"),
        ]
        indexes = [models.Index(fields=["intent", "status"], name="merchants_rr_intent_status"),
                   models.Index(fields=["decide_after"], condition=Q(status="pending", bill_txn__isnull=False),
                                name="merchants_rr_bill_due")]

    def __str__(self) -> str:
        return f"{self.public_id} {self.status} {self.amount}"


EVENT_TYPES = (
    "payment_intent.created",
    "payment_intent.requires_capture",
    "payment_intent.succeeded",
    "payment_intent.cancelled",
    "refund.created",
    "refund.succeeded",
    "refund.failed",
    "refund_request.created",
    "refund_request.approved",
    "refund_request.declined",
)


class WebhookEndpoint(models.Model):
    public_id = models.CharField(max_length=32, unique=True, default=new_endpoint_id, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="endpoints")
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list)
    secret = models.CharField(max_length=80)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=60, blank=True, default="")
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.public_id} {self.url}"


class WebhookEvent(models.Model):
    """The outbox: written in the transaction of the change it tells about."""

    public_id = models.CharField(max_length=32, unique=True, default=new_event_id, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=40)
    data = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["merchant", "id"], name="merchants_evt_merchant_id")]

    def __str__(self) -> str:
        return f"{self.public_id} {self.type}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Retrying")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Gave up")


class WebhookDelivery(models.Model):
    public_id = models.CharField(max_length=32, unique=True, default=new_delivery_id, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    give_up_at = models.DateTimeField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="merchants_whd_due")]

    def __str__(self) -> str:
        return f"{self.public_id} {self.status}"


# What a failed attempt's ``error`` may hold (``webhooks.error_code``), and how the dashboard says it.
ATTEMPT_ERRORS = {
    "timeout": _("Timed out"),
    "refused": _("Connection refused"),
    "tls": _("TLS error"),
    "unreachable": _("Network unreachable"),
    "connection_error": _("Connection failed"),
    "bad_response": _("Invalid HTTP response"),
    "unsafe_url": _("Address not allowed"),
    "endpoint_disabled": _("Endpoint disabled"),
}


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True, default="")
    duration_ms = models.PositiveIntegerField(default=0)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.status_code or self.error}"

    @property
    def error_code(self) -> str:
        """The coarse code; a row written before codes existed (raw exception text) reads as one."""
        if not self.error or self.error in ATTEMPT_ERRORS or self.error.startswith("http_"):
            return self.error
        return "connection_error"

    @property
    def outcome_label(self) -> str:
        if self.status_code:
            return f"HTTP {self.status_code}"
        return str(ATTEMPT_ERRORS.get(self.error_code, _("Delivery failed")))


class MerchantApplication(models.Model):
    """A verified customer asks to become a merchant; an operator approves (back office or
    ``okpay merchants approve``), which creates the business profile. At most one waits per user."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    public_id = models.CharField(max_length=32, unique=True, default=new_application_id, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="merchant_applications")
    business_name = models.CharField(max_length=100)
    contact_name = models.CharField(max_length=100)
    contact_email = models.EmailField()
    contact_phone = models.CharField(max_length=32, blank=True, default="")
    website = models.URLField(max_length=200)
    refund_policy = models.TextField(max_length=2000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    merchant = models.OneToOneField(Merchant, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_by = models.CharField(max_length=150, blank=True, default="", help_text="usr_… or cli:<operator>")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user"], condition=Q(status="pending"),
                                               name="merchants_one_pending_application")]

    def __str__(self) -> str:
        return f"{self.public_id} {self.business_name} ({self.status})"
