"""What every payments service shares: checks, limits and risk, the wallet accounts, and the one
way a transaction changes status (``transaction_move``: the state machine, an event, one save).

Public for other apps (merchants): ``transaction_insert``, ``transaction_move``, ``transaction_void``,
``limits_take``, ``usage_give_back``, ``ledger_post``, besides the checks. The ``_``-names are
payments' own aliases."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from okpay.core.db import savepoint_needed
from okpay.core.errors import NotFound
from okpay.core.ratelimit import RateLimit
from okpay.identity import services as identity_services
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
    PayerUsage,
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
        # Without a savepoint where the caller's transaction ends on any error (okpay.core.db).
        return transfers_post(items, savepoint=savepoint_needed())
    except ledger_errors.LedgerError as exc:
        raise from_ledger(exc) from exc


def funds_precheck(user: User, amount: int, currency: str = "CNY") -> None:
    """Refuse at once a payment the wallet cannot cover, before a step-up code is sent for it (the
    ledger's own check at posting stays the one that counts)."""
    from okpay.payments.errors import InsufficientFunds

    account = Account.objects.filter(owner=user, kind="wallet", currency=currency).first()
    available = 0 if account is None else account.credits_posted - account.debits_posted - account.debits_pending
    if available < amount:
        raise InsufficientFunds(param="amount")


def step_up(user: User, amount: int, otp_code: str | None, *, kind: str, currency: str, payee: str,
            new_payee: bool = False) -> None:
    """The payment's step-up (``okpay.identity.stepup``): a payment the wallet cannot cover is refused
    first, so that no code is sent for it."""
    from django.conf import settings

    if amount > min(settings.OKPAY_STEP_UP_AMOUNT, settings.OKPAY_STEP_UP_NEW_PAYEE_AMOUNT):
        funds_precheck(user, amount, currency)
    identity_services.step_up_check(user, amount, otp_code, kind=kind, currency=currency, payee=payee,
                                    new_payee=new_payee)


PAY_AGAIN_TYPES = ("transfer", "bill_payment", "top_up", "payment")


def pay_again_of(user: User, txn_id: str | None) -> Transaction | None:
    """``user``'s own failed (or cancelled) payment that a new one may be made "again" of, else None."""
    if not txn_id:
        return None
    found = Transaction.objects.filter(user=user, public_id=txn_id[:32], type__in=PAY_AGAIN_TYPES).first()
    if found is None or found.status not in (Status.FAILED, Status.CANCELLED):
        return None
    if found.type != TxnType.TOP_UP and found.direction != Direction.DEBIT:
        return None
    if Transaction.objects.filter(retry_of=found).exists():  # paid again already (at most once)
        return None
    return found


def pay_again_link(*, user: User, txn: Transaction, failed_id: str | None) -> None:
    """Link a payment made from a failed one's "pay again" form to it (``retry_of``); each shows the
    other in its timeline. Nothing is linked unless the failed one is the user's and failed."""
    failed = pay_again_of(user, failed_id)
    if failed is None or failed.type != txn.type or failed.pk == txn.pk:
        return
    # The failed row locked, then checked again: two "pay again" forms sent at once link one payment.
    Transaction.objects.select_for_update().filter(pk=failed.pk).first()
    if Transaction.objects.filter(retry_of=failed).exists():
        return
    txn.retry_of = failed
    txn.save(update_fields=["retry_of"])


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


def local_day(at: datetime) -> date:
    """The date ``at`` falls on where OKPay keeps its books (``TIME_ZONE``): a payment counts
    toward the daily limit of the day it was created."""
    return timezone.localtime(at, timezone.get_default_timezone()).date()


def _clock_hour(at: datetime) -> int:
    return int(at.timestamp()) // 3600


def _levels(user: User) -> tuple[str, int, int]:
    if not user.email_verified:
        return "unverified", 0, 0
    if user.phone_verified_at:
        return "phone", settings.OKPAY_LIMIT_PHONE_PER_TXN, settings.OKPAY_LIMIT_PHONE_DAILY
    return "email", settings.OKPAY_LIMIT_EMAIL_PER_TXN, settings.OKPAY_LIMIT_EMAIL_DAILY


def limits_for(user: User) -> Limits:
    """The customer's limits for money leaving the wallet, and what today's payments used."""
    level, per_txn, daily = _levels(user)
    used = (PayerUsage.objects.filter(user_id=user.pk, day=local_day(_now())).values_list("debited", flat=True)
            .first())
    return Limits(level, per_txn, daily, int(used or 0))


def counts_toward_limits(txn: Transaction) -> bool:
    """A debit of the kinds the daily limit counts (while its status is in ``COUNTED``)."""
    return txn.direction == Direction.DEBIT and txn.type in OUTGOING


@dataclass(frozen=True)
class Usage:
    """What ``limits_take`` recorded: the moment the payment counts at (its ``created_at``), and
    for a transfer the sender's earlier transfers in this clock hour and in the one before."""

    at: datetime
    hour_transfers: int = 0
    previous_hour_transfers: int = 0


# One statement: the payer must not be frozen (read with FOR KEY SHARE, see limits_take), and the
# day's total plus this amount must stay within the daily limit; then the usage row (created on the
# customer's first payment) takes the amount, rolling over to a new day, and a transfer is counted
# in its clock hour. No row back: frozen, or over the limit. Day and hour never go back: a payment
# whose clock reads earlier than the one it waited for (a race at midnight, clocks of two machines)
# counts with the row's later day and hour.
_TAKE_SQL = """
INSERT INTO {usage} (user_id, day, debited, hour, hour_transfers, previous_hour_transfers)
SELECT id, %s, %s, %s, %s, 0 FROM {user} WHERE id = %s AND frozen_at IS NULL{lock}
ON CONFLICT (user_id) DO UPDATE SET
  debited = CASE WHEN {usage}.day >= excluded.day THEN {usage}.debited ELSE 0 END + excluded.debited,
  day = CASE WHEN {usage}.day >= excluded.day THEN {usage}.day ELSE excluded.day END,
  previous_hour_transfers = CASE WHEN excluded.hour_transfers = 0 OR {usage}.hour >= excluded.hour
                                   THEN {usage}.previous_hour_transfers
                                 WHEN {usage}.hour = excluded.hour - 1 THEN {usage}.hour_transfers
                                 ELSE 0 END,
  hour_transfers = CASE WHEN excluded.hour_transfers = 0 THEN {usage}.hour_transfers
                        WHEN {usage}.hour >= excluded.hour THEN {usage}.hour_transfers + 1
                        ELSE 1 END,
  hour = CASE WHEN excluded.hour_transfers = 0 OR {usage}.hour >= excluded.hour THEN {usage}.hour
              ELSE excluded.hour END
WHERE CASE WHEN {usage}.day >= excluded.day THEN {usage}.debited ELSE 0 END + excluded.debited <= %s
RETURNING day, hour, hour_transfers, previous_hour_transfers
"""


def limits_take(user: User, amount: int, *, transfer: bool = False) -> Usage:
    """Check the payer's limits and count ``amount`` against today's, in the caller's transaction;
    refuse a frozen payer (``AccountFrozen``). Call it before moving any money out of a wallet,
    and create the transaction at the returned ``Usage.at``: the moment (and so the day) it counts.

    The usage row's conditional upsert makes the daily limit exact under concurrency: its row
    lock, held to the commit, serialises one customer's payments; a second payment waits, then
    adds to the total the first committed (or rolled back).

    Why no lock on the user row any more (it used to be ``FOR NO KEY UPDATE``, which also made a
    customer's payments wait for any other update of their row): what it protected is
    - the daily limit and the velocity count: now the usage row above;
    - the freeze: ``account_freeze`` locks the user row ``FOR UPDATE`` before it sets ``frozen_at``.
      The upsert reads ``frozen_at`` ``FOR KEY SHARE``, the weakest row lock, which conflicts only
      with ``FOR UPDATE``: a payment that read "not frozen" holds it until its commit, so the freeze
      waits for it (and for every payment past that point) and commits after them; a payment
      arriving while the freeze holds its lock waits and then re-reads the row (PostgreSQL re-checks
      a locked row's newest version) and is refused. So, as before, no payment commits after a
      freeze that it did not precede. Payments do not wait for each other on it (the
      ``payments_transaction`` insert takes the same lock for its foreign key anyway). On SQLite a
      plain read suffices: ``BEGIN IMMEDIATE`` makes every writer wait for the others.
    - nothing else: email verification is never taken back (a change of address verifies the new
      one), ``sender_check`` saw it; closing an account needs an empty wallet with nothing pending,
      which a payment cannot leave behind unnoticed (it needs money in the wallet, which refuses
      the close, and a closed account cannot sign in or use a token to pay)."""
    _, per_txn, daily = _levels(user)
    if amount > per_txn:
        raise LimitExceeded(gettext_noop("This payment is over your per-transaction limit."), param="amount")
    over_daily = LimitExceeded(gettext_noop("This payment would take you over your daily limit."), param="amount")
    if amount > daily:
        raise over_daily
    at = _now()
    sql = _TAKE_SQL.format(usage=PayerUsage._meta.db_table, user=User._meta.db_table,
                           lock=" FOR KEY SHARE" if connection.vendor == "postgresql" else "")
    with connection.cursor() as cursor:
        cursor.execute(sql, [connection.ops.adapt_datefield_value(local_day(at)), amount, _clock_hour(at),
                             1 if transfer else 0, user.pk, daily])
        row = cursor.fetchone()
    if row is None:
        if User.objects.filter(pk=user.pk, frozen_at__isnull=False).exists():
            raise AccountFrozen()
        raise over_daily
    day, hour = date.fromisoformat(str(row[0])), int(row[1])
    if day > local_day(at):  # the row is a day ahead of our clock (see _TAKE_SQL): count on its day
        at = max(at, datetime.combine(day, time(), tzinfo=timezone.get_default_timezone()))
    if not transfer:
        return Usage(at)
    if hour > _clock_hour(at):
        at = max(at, datetime.fromtimestamp(hour * 3600, tz=UTC))
    return Usage(at, hour_transfers=int(row[2]) - 1, previous_hour_transfers=int(row[3]))


def usage_give_back(txn: Transaction, amount: int | None = None) -> None:
    """``txn`` stops counting toward its day's limit (failed, cancelled, returned, declined,
    expired), or ``amount`` of it does (captured for less): take it off the usage row, in the
    transaction of that change. Call it before the ledger, like ``limits_take``: the usage row is
    locked before the wallet accounts on every path, so they never wait for each other in a cycle.
    Marks ``txn`` (``transaction_move`` gives back what no one did)."""
    if not counts_toward_limits(txn) or txn.status not in COUNTED:
        return
    amount = txn.amount if amount is None else amount
    if amount > 0:
        PayerUsage.objects.filter(user_id=txn.user_id, day=local_day(txn.created_at)).update(
            debited=F("debited") - amount)
    if amount == txn.amount:
        txn.usage_given_back = True  # type: ignore[attr-defined]


def _risk_reason(sender: User, amount: int, *, recipient: User | None, email: str, usage: Usage) -> str:
    if amount >= settings.OKPAY_RISK_REVIEW_AMOUNT:
        return "large_amount"
    if amount >= settings.OKPAY_RISK_NEW_RECIPIENT_AMOUNT:
        earlier = Transaction.objects.filter(user=sender, type=TxnType.TRANSFER, status=Status.SUCCEEDED)
        earlier = earlier.filter(counterparty_user=recipient) if recipient else earlier.filter(recipient_email=email)
        if not earlier.exists():
            return "new_recipient"
    return "velocity" if _velocity(sender, usage) else ""


def _velocity(sender: User, usage: Usage) -> bool:
    """The velocity rule: ``OKPAY_RISK_VELOCITY_PER_HOUR`` or more of the sender's transfers were
    created in the 60 minutes before this one (whatever became of them).

    Those 60 minutes span the end of the previous clock hour and the current one so far, so the
    usage row's counters decide it alone unless the previous hour's transfers are needed and might
    be older than 60 minutes: then a query counts them, at most N, through a partial index. Exact
    under concurrency like the limit: ``limits_take`` serialised this sender's payments."""
    limit = settings.OKPAY_RISK_VELOCITY_PER_HOUR
    if usage.hour_transfers >= limit:
        return True
    if usage.hour_transfers + usage.previous_hour_transfers < limit:
        return False
    recent = Transaction.objects.filter(user=sender, type=TxnType.TRANSFER, direction=Direction.DEBIT,
                                        created_at__gte=usage.at - timedelta(hours=1))
    return len(recent.values_list("pk", flat=True)[:limit]) >= limit


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
    ``reason``. The caller holds the row's lock and owns the database transaction. A payment that
    stops counting toward the daily limit gives its amount back (``usage_give_back``; the paths
    that also move money do it earlier, before the ledger)."""
    if status not in STATUS_MOVES[txn.status]:
        raise NotCancellable(f"A {txn.status} transaction cannot become {status}.")
    if status not in COUNTED and not getattr(txn, "usage_given_back", False):
        usage_give_back(txn)
    txn.status = status
    txn.pending_reason = pending_reason if status == Status.PENDING else ""
    txn.expected_by = expected_by if status == Status.PENDING else txn.expected_by
    if failure_reason:
        txn.failure_reason = failure_reason[:60]
    txn.updated_at = _now()
    txn.save(update_fields=["status", "pending_reason", "expected_by", "failure_reason", "updated_at", *fields])
    _event(txn, actor=actor, reason=reason)


def transaction_insert(*, user: User, type: str, direction: str, amount: int, currency: str, actor: str,
                       done: tuple[str, str] | None = None, at: datetime | None = None,
                       events_into: list[TransactionEvent] | None = None, **fields: Any) -> Transaction:
    """Insert a transaction as ``created``; with ``done=(status, reason)`` it is an immediate one
    whose money has already moved: it is inserted in that status, both steps on its timeline.
    ``at``: its creation time (a payment's is ``limits_take``'s ``Usage.at``: the day it counts).
    ``events_into``: its timeline events are appended there for the caller to write with others in
    one INSERT (in the same transaction) rather than written here."""
    now = at or _now()
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
    if events_into is None:
        TransactionEvent.objects.bulk_create(events)
    else:
        events_into.extend(events)
    txn.timeline_cache = events  # type: ignore[attr-defined]  # the API answers without reading them back
    return txn


def _credit_peer(sender_txn: Transaction, recipient: User, *, actor: str, sender_wallet_id: str,
                 events_into: list[TransactionEvent] | None = None) -> Transaction:
    """The recipient's side of a transfer whose money has reached them (``peer`` names the sender's)."""
    sender = sender_txn.user
    return transaction_insert(user=recipient, type=TxnType.TRANSFER, direction=Direction.CREDIT,
                              amount=sender_txn.amount, currency=sender_txn.currency, actor=actor,
                              done=(Status.SUCCEEDED, "received"), counterparty_name=sender.display_name,
                              counterparty_user=sender, counterparty_wallet_id=sender_wallet_id, note=sender_txn.note,
                              peer=sender_txn, events_into=events_into)


def transaction_void(txn: Transaction, status: str, *, actor: str, reason: str, failure_reason: str = "") -> None:
    """Release the ledger hold of a pending ``txn`` (the money is available again at once) and move it
    to ``status`` (``cancelled`` or ``failed``), recording the void as its ``settle_transfer``."""
    hold = txn.hold_transfer
    assert hold is not None
    usage_give_back(txn)
    (released,) = ledger_post([VoidPending(hold.public_id, id=f"{txn.public_id}-void", actor=actor,
                                           note=reason[:255])])
    txn.settle_transfer = released
    transaction_move(txn, status, actor=actor, reason=reason, failure_reason=failure_reason,
                     fields=("settle_transfer",))


# The names payments' own modules have always used.
_post = ledger_post
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
