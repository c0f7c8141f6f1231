"""What every payments service shares: checks, limits and risk, the wallet accounts, and the one
way a transaction changes status (``transaction_move``: the state machine, an event, one save).

Public for other apps (merchants): ``transaction_insert``, ``transaction_move``, ``transaction_void``,
``payer_lock``, ``ledger_post``, besides the checks. The ``_``-names are payments' own aliases."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_noop

from okpay.core.errors import NotFound
from okpay.core.ratelimit import RateLimit
from okpay.identity.models import User
from okpay.ledger import errors as ledger_errors
from okpay.ledger.models import Account, Transfer
from okpay.ledger.services import VoidPending, account_open, transfers_post
from okpay.payments.errors import (
    AccountFrozen,
    EmailNotVerified,
    InvalidPayment,
    LimitExceeded,
    NotCancellable,
    from_ledger,
)
from okpay.payments.models import (
    STATUS_MOVES,
    Biller,
    Direction,
    Status,
    Transaction,
    TransactionEvent,
    TxnType,
)

MAX_AMOUNT = 10**12  # minor units: ¥10,000,000,000.00 — far above any limit, far below BIGINT
OUTGOING = (TxnType.TRANSFER, TxnType.WITHDRAWAL, TxnType.BILL_PAYMENT, TxnType.PAYMENT)
COUNTED = (Status.PENDING, Status.SUCCEEDED, Status.PARTIALLY_REFUNDED, Status.REFUNDED)
RECIPIENT_LOOKUPS = RateLimit("recipient-lookup", limit=60, window=600)
SANDBOX_CARD = gettext_noop("Sandbox bank card •••• 4242")
SANDBOX_BANK = gettext_noop("Sandbox bank account •••• 8888")
_PHONE = re.compile(r"^\+?[\d\s().-]{6,20}$")
_WALLET = re.compile(r"^acc_[1-9A-HJ-NP-Za-km-z]{20}$")


def _now() -> datetime:
    return timezone.now()


def actor_of(user: User | None) -> str:
    return user.public_id if user is not None else "system"


# --- small checks ---------------------------------------------------------------------------------

def amount_check(amount: object, currency: object) -> tuple[int, str]:
    if type(amount) is not int or not 0 < amount <= MAX_AMOUNT:
        raise InvalidPayment(gettext_noop("The amount must be a positive whole number of minor units (fen)."),
                             param="amount")
    if currency not in settings.OKPAY_CURRENCIES:
        raise InvalidPayment(gettext_noop("This currency is not supported."), param="currency")
    return amount, str(currency)


def sender_check(user: User) -> None:
    if user.frozen:
        raise AccountFrozen()
    if not user.email_verified:
        raise EmailNotVerified()


def wallet(user: User | int, currency: str = "CNY") -> Account:
    """The customer's wallet account, opened on first use. (Not remembered between calls: an
    account opened in a transaction that rolls back — a refused payment, a retried request — is
    gone, and a remembered one would name a row that does not exist.)"""
    return account_open(owner=user, currency=currency)


def biller_account(biller: Biller) -> Account:
    return account_open(owner=None, kind=f"biller:{biller.code}"[:32], currency=biller.currency)


def mask_name(name: str) -> str:
    name = (name or "").strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return "*" + name[-1]
    return name[0] + "*" * min(len(name) - 2, 4) + name[-1]


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return (local[:1] + "***@" + domain) if local else email


def ledger_post(items: list[Any]) -> list[Transfer]:
    """Post ledger transfers (``TransferSpec``, ``PostPending``, ``VoidPending``) as one linked batch;
    a ledger refusal becomes the payments error customers see (``InsufficientFunds``…). Public:
    merchants moves its money through it."""
    try:
        return transfers_post(items)
    except ledger_errors.LedgerError as exc:
        raise from_ledger(exc) from exc


# --- limits --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Limits:
    level: str  # unverified, email, phone
    per_transaction: int
    daily: int
    used_today: int

    @property
    def remaining_today(self) -> int:
        return max(0, self.daily - self.used_today)


def _day_start() -> datetime:
    local = timezone.localtime(_now())
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def limits_for(user: User) -> Limits:
    """The customer's limits for money leaving the wallet, and what today's payments used."""
    if not user.email_verified:
        level, per_txn, daily = "unverified", 0, 0
    elif user.phone_verified_at:
        level, per_txn, daily = "phone", settings.OKPAY_LIMIT_PHONE_PER_TXN, settings.OKPAY_LIMIT_PHONE_DAILY
    else:
        level, per_txn, daily = "email", settings.OKPAY_LIMIT_EMAIL_PER_TXN, settings.OKPAY_LIMIT_EMAIL_DAILY
    used = (Transaction.objects.filter(user=user, direction=Direction.DEBIT, type__in=OUTGOING, status__in=COUNTED,
                                       created_at__gte=_day_start()).aggregate(total=Sum("amount"))["total"] or 0)
    return Limits(level, per_txn, daily, int(used))


def limits_check(user: User, amount: int) -> None:
    limits = limits_for(user)
    if amount > limits.per_transaction:
        raise LimitExceeded(gettext_noop("This payment is over your per-transaction limit."), param="amount")
    if limits.used_today + amount > limits.daily:
        raise LimitExceeded(gettext_noop("This payment would take you over your daily limit."), param="amount")


def payer_lock(user: User) -> User:
    """Serialise one customer's outgoing payments (daily limit, velocity) on their row; a frozen
    account is refused (``AccountFrozen``). Call it before ``limits_check`` in any service that
    takes money out of a wallet."""
    locked = User.objects.select_for_update(no_key=True).only("pk", "frozen_at", "email_verified_at").get(pk=user.pk)
    if locked.frozen_at is not None:
        raise AccountFrozen()
    return locked


def _risk_reason(sender: User, amount: int, *, recipient: User | None, email: str) -> str:
    if amount >= settings.OKPAY_RISK_REVIEW_AMOUNT:
        return "large_amount"
    if amount >= settings.OKPAY_RISK_NEW_RECIPIENT_AMOUNT:
        earlier = Transaction.objects.filter(user=sender, type=TxnType.TRANSFER, status=Status.SUCCEEDED)
        earlier = earlier.filter(counterparty_user=recipient) if recipient else earlier.filter(recipient_email=email)
        if not earlier.exists():
            return "new_recipient"
    hour_ago = _now() - timedelta(hours=1)
    recent = Transaction.objects.filter(user=sender, type=TxnType.TRANSFER, direction=Direction.DEBIT,
                                        created_at__gte=hour_ago).count()
    if recent >= settings.OKPAY_RISK_VELOCITY_PER_HOUR:
        return "velocity"
    return ""


# --- status moves ----------------------------------------------------------------------------------

def _event(txn: Transaction, *, actor: str, reason: str = "") -> None:
    event = TransactionEvent.objects.create(transaction=txn, status=txn.status, pending_reason=txn.pending_reason,
                                            reason=reason[:60], actor=actor[:150], at=txn.updated_at)
    cache = getattr(txn, "timeline_cache", None)
    if cache is not None:
        cache.append(event)


def transaction_move(txn: Transaction, status: str, *, actor: str, reason: str = "", pending_reason: str = "",
                     expected_by: datetime | None = None, failure_reason: str = "",
                     fields: tuple[str, ...] = ()) -> None:
    """The one way a transaction changes status: along ``STATUS_MOVES`` (else ``NotCancellable``),
    one save of the status fields plus ``fields``, one ``TransactionEvent`` with ``actor`` and
    ``reason``. The caller holds the row's lock and owns the database transaction."""
    if status not in STATUS_MOVES[txn.status]:
        raise NotCancellable(f"A {txn.status} transaction cannot become {status}.")
    txn.status = status
    txn.pending_reason = pending_reason if status == Status.PENDING else ""
    txn.expected_by = expected_by if status == Status.PENDING else txn.expected_by
    if failure_reason:
        txn.failure_reason = failure_reason[:60]
    txn.updated_at = _now()
    txn.save(update_fields=["status", "pending_reason", "expected_by", "failure_reason", "updated_at", *fields])
    _event(txn, actor=actor, reason=reason)


def transaction_insert(*, user: User, type: str, direction: str, amount: int, currency: str, actor: str,
                       done: tuple[str, str] | None = None, **fields: Any) -> Transaction:
    """Insert a transaction as ``created``; with ``done=(status, reason)`` it is an immediate one
    whose money has already moved: it is inserted in that status, both steps on its timeline."""
    now = _now()
    status: str = Status.CREATED
    if done is not None:
        if done[0] not in STATUS_MOVES[Status.CREATED]:
            raise NotCancellable(f"A created transaction cannot become {done[0]}.")
        status = done[0]
    txn = Transaction.objects.create(user=user, type=type, direction=direction, amount=amount, currency=currency,
                                     status=status, created_at=now, updated_at=now, **fields)
    events = [TransactionEvent(transaction=txn, status=Status.CREATED, reason="created", actor=actor[:150], at=now)]
    if done is not None:
        events.append(TransactionEvent(transaction=txn, status=status, reason=done[1], actor=actor[:150], at=now))
    TransactionEvent.objects.bulk_create(events)
    txn.timeline_cache = events  # type: ignore[attr-defined]  # the API answers without reading them back
    return txn


def _credit_peer(sender_txn: Transaction, recipient: User, *, actor: str, sender_wallet_id: str) -> Transaction:
    """The recipient's side of a transfer whose money has reached them (``peer`` names the sender's)."""
    sender = sender_txn.user
    return transaction_insert(user=recipient, type=TxnType.TRANSFER, direction=Direction.CREDIT,
                              amount=sender_txn.amount, currency=sender_txn.currency, actor=actor,
                              done=(Status.SUCCEEDED, "received"), counterparty_name=sender.display_name,
                              counterparty_user=sender, counterparty_wallet_id=sender_wallet_id, note=sender_txn.note,
                              peer=sender_txn)


def transaction_void(txn: Transaction, status: str, *, actor: str, reason: str, failure_reason: str = "") -> None:
    """Release the ledger hold of a pending ``txn`` (the money is available again at once) and move it
    to ``status`` (``cancelled`` or ``failed``), recording the void as its ``settle_transfer``."""
    hold = txn.hold_transfer
    assert hold is not None
    (released,) = ledger_post([VoidPending(hold.public_id, id=f"{txn.public_id}-void", actor=actor,
                                           note=reason[:255])])
    txn.settle_transfer = released
    transaction_move(txn, status, actor=actor, reason=reason, failure_reason=failure_reason,
                     fields=("settle_transfer",))


# The names payments' own modules have always used.
_post = ledger_post
_lock_user = payer_lock
_move = transaction_move
_new = transaction_insert
_void = transaction_void


def _locked(txn_pk: int, *, skip_locked: bool = False) -> Transaction | None:
    qs = Transaction.objects.select_for_update(skip_locked=skip_locked, of=("self",)).select_related(
        "user", "hold_transfer", "biller")
    return qs.filter(pk=txn_pk).first()


def access_transaction(user: User, txn_id: str) -> Transaction:
    """The one door to a customer's transaction: someone else's is ``404``."""
    txn = (Transaction.objects.select_related("biller", "counterparty_user").filter(public_id=txn_id, user=user)
           .first()) if isinstance(txn_id, str) else None
    if txn is None:
        raise NotFound()
    return txn
