"""Accounts, transfers and open holds of the double-entry ledger (TigerBeetle's model).

An :class:`Account` keeps four counters in minor units. A :class:`Transfer` moves ``amount``
from its debit account to its credit account and is never changed once written. A pending
transfer (a hold) raises the ``*_pending`` counters; it is resolved at most once by a later
``post_pending``, ``void_pending`` or ``expire_pending`` transfer that names it in ``pending``.
While unresolved, it also has a :class:`PendingHold` row: resolving deletes that row, which is
how concurrent resolutions of one hold are serialised.

The database enforces what must never go wrong even if code has a bug: amounts are positive,
counters are never negative, an account that says its debits must not exceed its credits
(a customer wallet) cannot be overdrawn, transfer ids are unique, and a pending transfer has at
most one resolution.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _random_id(prefix: str) -> str:
    """``prefix_`` + 20 base-58 characters from 128 random bits (≈ 117 bits kept)."""
    number = int.from_bytes(secrets.token_bytes(16))
    chars = []
    for _ in range(20):
        number, digit = divmod(number, 58)
        chars.append(_ALPHABET[digit])
    return prefix + "_" + "".join(chars)


def new_account_id() -> str:
    return _random_id("acc")


def new_transfer_id() -> str:
    return _random_id("trf")


class AccountKind(models.TextChoices):
    WALLET = "wallet", "Wallet"
    FUNDING = "funding", "Sandbox bank funding"
    PAYOUT = "payout", "Sandbox bank payout"
    FEES = "fees", "Fees"
    SUSPENSE = "suspense", "Suspense"


SYSTEM_KINDS = (AccountKind.FUNDING, AccountKind.PAYOUT, AccountKind.FEES, AccountKind.SUSPENSE)


class Account(models.Model):
    """Balances of one owner in one currency.

    Counters only ever change by ``col = col + delta`` in SQL while the row is locked.
    ``frozen`` accounts can receive money but not send it (a void or expiry still releases a
    hold back to them).
    """

    public_id = models.CharField(max_length=32, unique=True, default=new_account_id, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="ledger_accounts")
    kind = models.CharField(max_length=32, default=AccountKind.WALLET)
    currency = models.CharField(max_length=3)
    debits_posted = models.BigIntegerField(default=0)
    credits_posted = models.BigIntegerField(default=0)
    debits_pending = models.BigIntegerField(default=0)
    credits_pending = models.BigIntegerField(default=0)
    debits_must_not_exceed_credits = models.BooleanField(default=False)
    credits_must_not_exceed_debits = models.BooleanField(default=False)
    frozen = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(debits_posted__gte=0, credits_posted__gte=0, debits_pending__gte=0,
                            credits_pending__gte=0),
                name="ledger_account_counters_non_negative"),
            models.CheckConstraint(
                condition=~Q(debits_must_not_exceed_credits=True, credits_must_not_exceed_debits=True),
                name="ledger_account_one_balance_flag"),
            models.CheckConstraint(
                condition=Q(debits_must_not_exceed_credits=False)
                | Q(credits_posted__gte=F("debits_posted") + F("debits_pending")),
                name="ledger_account_debits_within_credits"),
            models.CheckConstraint(
                condition=Q(credits_must_not_exceed_debits=False)
                | Q(debits_posted__gte=F("credits_posted") + F("credits_pending")),
                name="ledger_account_credits_within_debits"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="ledger_account_currency_iso"),
            # One account per owner, kind and currency; one system account per kind and currency.
            models.UniqueConstraint(fields=["owner", "kind", "currency"], condition=Q(owner__isnull=False),
                                    name="ledger_account_owner_kind_currency_unique"),
            models.UniqueConstraint(fields=["kind", "currency"], condition=Q(owner__isnull=True),
                                    name="ledger_account_system_kind_currency_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.kind} {self.currency}"


class TransferKind(models.TextChoices):
    SINGLE = "single", "Single"
    PENDING = "pending", "Pending"
    POST_PENDING = "post_pending", "Post pending"
    VOID_PENDING = "void_pending", "Void pending"
    EXPIRE_PENDING = "expire_pending", "Expire pending"


RESOLUTION_KINDS = (TransferKind.POST_PENDING, TransferKind.VOID_PENDING, TransferKind.EXPIRE_PENDING)


class Transfer(models.Model):
    """One immutable movement. ``public_id`` is the client-chosen id and the ledger's idempotency.

    A resolution (post/void/expire) copies its pending transfer's accounts and currency; a
    post's ``amount`` is what was actually moved (≤ the pending amount, the rest is released);
    a void's or expiry's ``amount`` is the released pending amount.
    """

    public_id = models.CharField(max_length=64, unique=True, default=new_transfer_id)
    kind = models.CharField(max_length=16, choices=TransferKind.choices, default=TransferKind.SINGLE)
    debit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", db_index=False)
    credit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", db_index=False)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    code = models.CharField(max_length=40, default="transfer", help_text="Why money moved (top_up, fee, ...).")
    pending = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                db_index=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    reference = models.CharField(max_length=64, blank=True, default="",
                                 help_text="The business object this belongs to (txn_..., pi_...).")
    actor = models.CharField(max_length=150, blank=True, default="", help_text="Who caused it, for adjustments.")
    note = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_transfer_amount_positive"),
            models.CheckConstraint(condition=~Q(debit_account=F("credit_account")),
                                   name="ledger_transfer_distinct_accounts"),
            models.CheckConstraint(condition=Q(kind__in=[k.value for k in TransferKind]),
                                   name="ledger_transfer_kind_valid"),
            models.CheckConstraint(condition=Q(expires_at__isnull=True) | Q(kind=TransferKind.PENDING),
                                   name="ledger_transfer_expiry_only_pending"),
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in RESOLUTION_KINDS], pending__isnull=False)
                | (~Q(kind__in=[k.value for k in RESOLUTION_KINDS]) & Q(pending__isnull=True)),
                name="ledger_transfer_resolution_names_pending"),
            # A pending transfer is posted, voided or expired at most once.
            models.UniqueConstraint(fields=["pending"], name="ledger_transfer_pending_resolved_once"),
        ]
        indexes = [
            # History of one account, newest first, keyset-paged by id.
            models.Index(fields=["debit_account", "id"], name="ledger_trf_debit_id"),
            models.Index(fields=["credit_account", "id"], name="ledger_trf_credit_id"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.kind} {self.amount} {self.currency}"


class PendingHold(models.Model):
    """An unresolved pending transfer. Deleted, in the same transaction, by its resolution."""

    transfer = models.OneToOneField(Transfer, primary_key=True, on_delete=models.PROTECT, related_name="hold")
    debit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField()
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_hold_amount_positive")]

    def __str__(self) -> str:
        return f"hold {self.transfer_id} {self.amount}"


# Reading transfers with hand-written SQL (the services' hot path, the history selector).
TRANSFER_FIELDS = [f.attname for f in Transfer._meta.concrete_fields]
TRANSFER_COLUMNS = ", ".join(TRANSFER_FIELDS)
_EXPIRES, _CREATED = TRANSFER_FIELDS.index("expires_at"), TRANSFER_FIELDS.index("created_at")


def _aware(value: Any) -> Any:
    """A datetime from the driver: SQLite gives Django's naive-UTC text, psycopg an aware value."""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def transfer_from_values(values: list[Any]) -> Transfer:
    """A Transfer from its column values in ``TRANSFER_FIELDS`` order (no query)."""
    return Transfer.from_db("default", TRANSFER_FIELDS, values)


def transfer_from_row(row: Sequence[Any]) -> Transfer:
    """A Transfer from a database row of ``SELECT TRANSFER_COLUMNS``."""
    values = list(row)
    values[_EXPIRES], values[_CREATED] = _aware(row[_EXPIRES]), _aware(row[_CREATED])
    return transfer_from_values(values)
