"""The customer's view of money movement (DESIGN.md §3): a :class:`Transaction` per party, its
append-only :class:`TransactionEvent` timeline, the sandbox :class:`Biller` catalogue and in-app
:class:`Notification` rows.

Money itself lives in the ledger: a transaction names the ledger transfers that moved (or hold)
its money (``hold_transfer``, ``settle_transfer``), and every ledger transfer it causes carries
the transaction's public id as ``reference``. Status only changes along the state machine of
``STATUS_MOVES`` (``services.py`` enforces it; the database refuses a pending transaction
without a reason and the other way round).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from okpay.core.ids import new_id


def new_transaction_id() -> str:
    return new_id("txn")


def new_event_id() -> str:
    return new_id("tev")


def new_notification_id() -> str:
    return new_id("ntf")


class TxnType(models.TextChoices):
    TOP_UP = "top_up", _("Top-up")
    WITHDRAWAL = "withdrawal", _("Withdrawal")
    TRANSFER = "transfer", _("Transfer")
    PAYMENT = "payment", _("Payment")
    BILL_PAYMENT = "bill_payment", _("Bill payment")
    REFUND = "refund", _("Refund")


class Status(models.TextChoices):
    CREATED = "created", _("Created")
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")


class PendingReason(models.TextChoices):
    RISK_REVIEW = "risk_review", _("Security review")
    AWAITING_BILLER = "awaiting_biller", _("Waiting for the biller")
    AWAITING_BANK = "awaiting_bank", _("Waiting for the bank")
    AWAITING_CLAIM = "awaiting_claim", _("Waiting for the recipient")
    AWAITING_CAPTURE = "awaiting_capture", _("Waiting for the merchant")
    # A refund waiting for the merchant or biller: its answer to the refund request, or money in its wallet.
    AWAITING_MERCHANT = "awaiting_merchant", _("Waiting for the merchant or biller")


class Direction(models.TextChoices):
    DEBIT = "debit", _("Money out")
    CREDIT = "credit", _("Money in")


# DESIGN.md §3.6: the only moves a status may make.
STATUS_MOVES: dict[str, set[str]] = {
    Status.CREATED: {Status.PENDING, Status.SUCCEEDED, Status.FAILED},
    Status.PENDING: {Status.PENDING, Status.SUCCEEDED, Status.FAILED, Status.CANCELLED},
    Status.SUCCEEDED: {Status.PARTIALLY_REFUNDED, Status.REFUNDED},
    Status.PARTIALLY_REFUNDED: {Status.PARTIALLY_REFUNDED, Status.REFUNDED},
    Status.FAILED: set(),
    Status.CANCELLED: set(),
    Status.REFUNDED: set(),
}


class BillerCategory(models.TextChoices):
    ELECTRICITY = "electricity", _("Electricity")
    WATER = "water", _("Water")
    GAS = "gas", _("Gas")
    MOBILE = "mobile", _("Mobile top-up")


class Biller(models.Model):
    """A sandbox biller customers pay by account reference. ``reference_pattern`` is checked before
    paying; the sandbox biller then accepts references whose last digit is a Luhn check digit."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    name_en = models.CharField(max_length=100)
    category = models.CharField(max_length=16, choices=BillerCategory.choices)
    reference_label = models.CharField(max_length=60, help_text="What the reference is called (English).")
    reference_pattern = models.CharField(max_length=200, help_text="A full-match regular expression.")
    reference_example = models.CharField(max_length=40)
    currency = models.CharField(max_length=3, default="CNY")
    min_amount = models.BigIntegerField(default=100)
    max_amount = models.BigIntegerField(default=5_000_000)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["category", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(min_amount__gt=0) & Q(max_amount__gte=models.F("min_amount")),
                                   name="payments_biller_amount_range"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.name_en})"


class Transaction(models.Model):
    """One party's record of a money movement; a transfer between two customers has two, linked
    by ``peer`` (the sender's, direction debit, and the recipient's, direction credit)."""

    public_id = models.CharField(max_length=32, unique=True, default=new_transaction_id, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="transactions")
    type = models.CharField(max_length=16, choices=TxnType.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CREATED)
    direction = models.CharField(max_length=6, choices=Direction.choices)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="CNY")
    # The other party as the customer sees it (a masked name for people) and, for customers, their user.
    counterparty_name = models.CharField(max_length=200, blank=True, default="")
    counterparty_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                          related_name="+")
    counterparty_wallet_id = models.CharField(max_length=32, blank=True, default="")
    recipient_email = models.EmailField(blank=True, default="", help_text="An unregistered recipient (awaiting_claim).")
    biller = models.ForeignKey(Biller, null=True, blank=True, on_delete=models.PROTECT, related_name="payments")
    account_reference = models.CharField(max_length=64, blank=True, default="")
    note = models.CharField(max_length=140, blank=True, default="")
    pending_reason = models.CharField(max_length=20, choices=PendingReason.choices, blank=True, default="")
    expected_by = models.DateTimeField(null=True, blank=True)
    failure_reason = models.CharField(max_length=60, blank=True, default="")
    refunded_amount = models.BigIntegerField(default=0)
    peer = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # A payment paid again (the desk's bill retry, the customer's "pay again" form): the failed one
    # it retries (each failed payment is retried at most once).
    retry_of = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="retry")
    hold_transfer = models.ForeignKey("ledger.Transfer", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+", db_index=False)
    settle_transfer = models.ForeignKey("ledger.Transfer", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+", db_index=False)
    review_reason = models.CharField(max_length=60, blank=True, default="")
    submitted_at = models.DateTimeField(null=True, blank=True, help_text="Handed to the bank or biller: "
                                        "from then on it cannot be cancelled.")
    overdue_flagged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_txn_amount_positive"),
            models.CheckConstraint(condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=models.F("amount")),
                                   name="payments_txn_refund_within_amount"),
            models.CheckConstraint(
                condition=(Q(status="pending") & ~Q(pending_reason="") & Q(expected_by__isnull=False))
                | (~Q(status="pending") & Q(pending_reason="")),
                name="payments_txn_pending_has_reason"),
            models.CheckConstraint(condition=Q(status__in=[s.value for s in Status]), name="payments_txn_status_valid"),
        ]
        indexes = [
            models.Index(fields=["user", "id"], name="payments_txn_user_id"),
            # The velocity rule's exact count, when the usage row's hour counters cannot decide it.
            models.Index(fields=["user", "created_at"], condition=Q(type="transfer", direction="debit"),
                         name="payments_txn_user_sent"),
            models.Index(fields=["status", "pending_reason", "expected_by"], name="payments_txn_pending_due"),
            models.Index(fields=["recipient_email"], condition=Q(status="pending", pending_reason="awaiting_claim"),
                         name="payments_txn_unclaimed"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.type} {self.status} {self.amount} {self.currency}"

    @property
    def is_pending(self) -> bool:
        return self.status == Status.PENDING

    @property
    def cancellable(self) -> bool:
        return (self.status == Status.PENDING and self.direction == Direction.DEBIT
                and self.submitted_at is None and self.pending_reason != PendingReason.AWAITING_CAPTURE)


class PayerUsage(models.Model):
    """What a customer's outgoing payments have used of their limits, kept in step with their
    transactions so that no payment has to add up the day's (``services.core.limits_take``).

    - ``debited`` is the sum of ``amount`` over the customer's debits of the counted types
      (transfer, withdrawal, bill payment, payment) created on ``day`` (local date) and still in a
      counted status (pending, succeeded, partially or fully refunded). A payment adds its amount
      with a conditional upsert that refuses to pass the daily limit; a payment that stops counting
      (failed, cancelled, returned, declined, expired, or captured for less) gives it back in the
      same transaction. The row of a new day starts again from zero.
    - ``hour_transfers`` and ``previous_hour_transfers`` count the customer's transfers created in
      the clock hour ``hour`` (hours since the Unix epoch) and the one before: enough to decide the
      velocity rule ("N transfers in the last 60 minutes") without a query, except when the
      previous hour's transfers might or might not fall within those 60 minutes.

    One row per customer who has paid (not one per day: nothing needs past days, and the hour
    counters span midnight). The row's lock serialises one customer's payments from the limit
    check to the commit, which is what makes the limit exact under concurrency."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="+")
    day = models.DateField(help_text="The local date ``debited`` counts.")
    debited = models.BigIntegerField(default=0)
    hour = models.BigIntegerField(default=0, help_text="Hours since 1970-01-01T00:00Z of ``hour_transfers``.")
    hour_transfers = models.IntegerField(default=0)
    previous_hour_transfers = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(debited__gte=0), name="payments_usage_debited_not_negative"),
            models.CheckConstraint(condition=Q(hour_transfers__gte=0) & Q(previous_hour_transfers__gte=0),
                                   name="payments_usage_transfers_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.day}: {self.debited}"


class TransactionEvent(models.Model):
    """One step of a transaction's timeline. Rows are only ever inserted."""

    public_id = models.CharField(max_length=32, unique=True, default=new_event_id, editable=False)
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="events")
    status = models.CharField(max_length=20, choices=Status.choices)
    pending_reason = models.CharField(max_length=20, blank=True, default="")
    reason = models.CharField(max_length=60, blank=True, default="")
    actor = models.CharField(max_length=150, help_text="usr_… of a person, or system:<sweep>.")
    at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.transaction_id} → {self.status} ({self.reason})"


class Notification(models.Model):
    """An in-app notice (the same events are emailed)."""

    public_id = models.CharField(max_length=32, unique=True, default=new_notification_id, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="payment_notifications")
    transaction = models.ForeignKey(Transaction, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "id"], name="payments_ntf_user_id"),
                   models.Index(fields=["id"], condition=Q(emailed_at__isnull=True), name="payments_ntf_to_email")]

    def __str__(self) -> str:
        return f"{self.kind} {self.transaction_id}"


class PushSubscription(models.Model):
    """A browser's Web Push subscription (issue 22): where the browser vendor's push service takes
    messages for this device, and the keys to encrypt them. Removed when the push service says it
    is gone (404/410), when the customer turns alerts off, or with the account."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    created_at = models.DateTimeField()
    last_sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"push {self.user_id} {self.endpoint[:40]}"
