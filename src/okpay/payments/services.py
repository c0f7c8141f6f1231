"""Payments services: every change of a customer transaction goes through here.

Each function is one database transaction (``transaction.atomic()``, which nests inside the API's
idempotency transaction): it locks what it changes, moves the money in the ledger, moves the
transaction's status along ``models.STATUS_MOVES``, appends a :class:`TransactionEvent`, and
writes the notifications (in-app rows and outbox emails, which therefore exist only if the change
commits).

Where the money sits (every ledger transfer carries the transaction id as ``reference``):

- top-up: sandbox ``funding`` → wallet, at once;
- withdrawal: hold wallet → ``payout``; the bank settles it (post) or refuses it (void);
- transfer: wallet → recipient's wallet at once; when it must wait (``risk_review``,
  ``awaiting_claim``) a hold wallet → ``suspense``, settled by posting the hold and paying the
  recipient from suspense in one linked batch;
- bill payment: hold wallet → the biller's account; the biller confirms (post) or rejects (void).

Cancel, decline, expiry and return void the hold, so the money is available again at once.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_noop

from okpay.core.errors import Forbidden, NotFound
from okpay.core.ratelimit import RateLimit
from okpay.identity import services as identity
from okpay.identity.models import User
from okpay.ledger import errors as ledger_errors
from okpay.ledger.models import Account, Transfer
from okpay.ledger.services import PostPending, TransferSpec, VoidPending, account_open, system_account, transfers_post
from okpay.payments import billers as biller_rules
from okpay.payments import notify
from okpay.payments.errors import (
    AccountFrozen,
    EmailNotVerified,
    InvalidPayment,
    LimitExceeded,
    NotCancellable,
    RecipientNotFound,
    from_ledger,
)
from okpay.payments.models import (
    STATUS_MOVES,
    Biller,
    Direction,
    PendingReason,
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


def _post(items: list[Any]) -> list[Transfer]:
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


def _lock_user(user: User) -> User:
    """Serialise one customer's outgoing payments (daily limit, velocity) on their row."""
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
    TransactionEvent.objects.create(transaction=txn, status=txn.status, pending_reason=txn.pending_reason,
                                    reason=reason[:60], actor=actor[:150], at=txn.updated_at)


def _move(txn: Transaction, status: str, *, actor: str, reason: str = "", pending_reason: str = "",
          expected_by: datetime | None = None, failure_reason: str = "", fields: tuple[str, ...] = ()) -> None:
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


def _new(*, user: User, type: str, direction: str, amount: int, currency: str, actor: str,
         **fields: Any) -> Transaction:
    now = _now()
    txn = Transaction.objects.create(user=user, type=type, direction=direction, amount=amount, currency=currency,
                                     status=Status.CREATED, created_at=now, updated_at=now, **fields)
    _event(txn, actor=actor, reason="created")
    return txn


def _credit_peer(sender_txn: Transaction, recipient: User, *, actor: str) -> Transaction:
    sender = sender_txn.user
    peer = _new(user=recipient, type=TxnType.TRANSFER, direction=Direction.CREDIT, amount=sender_txn.amount,
                currency=sender_txn.currency, actor=actor, counterparty_name=sender.display_name,
                counterparty_user=sender, counterparty_wallet_id=wallet(sender, sender_txn.currency).public_id,
                note=sender_txn.note, peer=sender_txn)
    _move(peer, Status.SUCCEEDED, actor=actor, reason="received")
    sender_txn.peer = peer
    sender_txn.save(update_fields=["peer"])
    notify.send(peer, "received")
    return peer


# --- top-up and withdrawal ------------------------------------------------------------------------

@transaction.atomic
def topup_create(*, user: User, amount: int, currency: str = "CNY", source: str = "sandbox_card") -> Transaction:
    """Add money from the sandbox bank card: immediate."""
    amount, currency = amount_check(amount, currency)
    if source != "sandbox_card":
        raise InvalidPayment(gettext_noop("The only source is the sandbox bank card."), param="source")
    if amount > settings.OKPAY_TOPUP_MAX:
        raise LimitExceeded(gettext_noop("This top-up is over the per-transaction top-up limit."), param="amount")
    actor = actor_of(user)
    txn = _new(user=user, type=TxnType.TOP_UP, direction=Direction.CREDIT, amount=amount, currency=currency,
               actor=actor, counterparty_name=SANDBOX_CARD)
    (moved,) = _post([TransferSpec(system_account("funding", currency), wallet(user, currency), amount, currency,
                                   id=f"{txn.public_id}-topup", code="top_up", reference=txn.public_id, actor=actor)])
    txn.settle_transfer = moved
    _move(txn, Status.SUCCEEDED, actor=actor, reason="card_charged", fields=("settle_transfer",))
    notify.send(txn, "settled")
    return txn


@transaction.atomic
def withdrawal_create(*, user: User, amount: int, currency: str = "CNY", destination: str = "sandbox_bank",
                      otp_code: str | None = None) -> Transaction:
    """Send money to the sandbox bank account: held until the bank settles it."""
    amount, currency = amount_check(amount, currency)
    if destination != "sandbox_bank":
        raise InvalidPayment(gettext_noop("The only destination is the sandbox bank account."), param="destination")
    sender_check(user)
    identity.step_up_check(user, amount, otp_code)
    _lock_user(user)
    limits_check(user, amount)
    actor = actor_of(user)
    txn = _new(user=user, type=TxnType.WITHDRAWAL, direction=Direction.DEBIT, amount=amount, currency=currency,
               actor=actor, counterparty_name=SANDBOX_BANK)
    (hold,) = _post([TransferSpec(wallet(user, currency), system_account("payout", currency), amount, currency,
                                  id=f"{txn.public_id}-hold", code="withdrawal", pending=True,
                                  reference=txn.public_id, actor=actor)])
    txn.hold_transfer = hold
    eta = _now() + timedelta(seconds=settings.OKPAY_WITHDRAWAL_SUBMIT_SECONDS
                             + settings.OKPAY_WITHDRAWAL_SETTLE_SECONDS)
    _move(txn, Status.PENDING, actor=actor, reason="requested", pending_reason=PendingReason.AWAITING_BANK,
          expected_by=eta, fields=("hold_transfer",))
    notify.send(txn, "pending")
    return txn


# --- transfers ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Recipient:
    to: str
    kind: str  # email, phone, wallet
    user: User | None
    display: str  # masked
    wallet_id: str

    @property
    def registered(self) -> bool:
        return self.user is not None


def recipient_resolve(*, sender: User, to: str, currency: str = "CNY") -> Recipient:
    """Who ``to`` (an email, a phone number or a wallet id) is, with a masked name. An email with
    no account is a valid recipient (the money waits for them); phone numbers and wallet ids must
    belong to a customer. Raises ``recipient_not_found`` or ``invalid_request``."""
    to = (to or "").strip()
    if not to or len(to) > 254:
        raise InvalidPayment(gettext_noop("Enter an email address, a phone number or a wallet id."), param="to")
    user: User | None
    if "@" in to:
        email = identity.normalize_email(to)
        try:
            validate_email(email)
        except ValidationError:
            raise InvalidPayment(gettext_noop("Enter a valid email address."), param="to") from None
        user = User.objects.filter(email__iexact=email, is_active=True, closed_at__isnull=True).first()
        kind, key = "email", email
    elif _WALLET.match(to):
        account = (Account.objects.filter(public_id=to, kind="wallet", owner__isnull=False)
                   .select_related("owner").first())
        user = account.owner if account and account.owner.is_active else None
        if user is None:
            raise RecipientNotFound(param="to")
        kind, key = "wallet", to
    elif _PHONE.match(to):
        try:
            phone = identity.phone_normalize(to)
        except Exception:
            raise InvalidPayment(gettext_noop("Enter a valid phone number."), param="to") from None
        user = User.objects.filter(phone=phone, phone_verified_at__isnull=False, is_active=True).first()
        if user is None:
            raise RecipientNotFound(param="to")
        kind, key = "phone", phone
    else:
        raise InvalidPayment(gettext_noop("Enter an email address, a phone number or a wallet id."), param="to")
    if user is not None and user.pk == sender.pk:
        raise InvalidPayment(gettext_noop("You cannot send money to yourself."), param="to")
    if user is None:
        return Recipient(key, kind, None, mask_email(key), "")
    return Recipient(key, kind, user, mask_name(user.display_name), wallet(user, currency).public_id)


def recipient_preview(*, sender: User, to: str, currency: str = "CNY") -> Recipient:
    """``recipient_resolve`` for the confirmation screen, rate-limited against enumeration."""
    RECIPIENT_LOOKUPS.hit(str(sender.pk))
    return recipient_resolve(sender=sender, to=to, currency=currency)


@transaction.atomic
def transfer_create(*, sender: User, to: str, amount: int, currency: str = "CNY", note: str = "",
                    otp_code: str | None = None) -> Transaction:
    """Send money to an email, phone number or wallet id (API.md ``POST /transfers``)."""
    amount, currency = amount_check(amount, currency)
    note = (note or "").strip()
    if len(note) > 140:
        raise InvalidPayment(gettext_noop("A note is at most 140 characters."), param="note")
    sender_check(sender)
    recipient = recipient_resolve(sender=sender, to=to, currency=currency)
    identity.step_up_check(sender, amount, otp_code)
    _lock_user(sender)
    limits_check(sender, amount)
    risk = _risk_reason(sender, amount, recipient=recipient.user, email=recipient.to)
    actor = actor_of(sender)
    txn = _new(user=sender, type=TxnType.TRANSFER, direction=Direction.DEBIT, amount=amount, currency=currency,
               actor=actor, counterparty_name=recipient.display, counterparty_user=recipient.user,
               counterparty_wallet_id=recipient.wallet_id, recipient_email="" if recipient.user else recipient.to,
               note=note, review_reason=risk)
    source = wallet(sender, currency)
    if recipient.user is not None and not risk:
        (moved,) = _post([TransferSpec(source, wallet(recipient.user, currency), amount, currency,
                                       id=f"{txn.public_id}-pay", code="transfer", reference=txn.public_id,
                                       actor=actor)])
        txn.settle_transfer = moved
        _move(txn, Status.SUCCEEDED, actor=actor, reason="sent", fields=("settle_transfer",))
        notify.send(txn, "sent")
        _credit_peer(txn, recipient.user, actor=actor)
        return txn
    (hold,) = _post([TransferSpec(source, system_account("suspense", currency), amount, currency,
                                  id=f"{txn.public_id}-hold", code="transfer", pending=True,
                                  reference=txn.public_id, actor=actor)])
    txn.hold_transfer = hold
    if risk:
        _move(txn, Status.PENDING, actor=actor, reason=risk, pending_reason=PendingReason.RISK_REVIEW,
              expected_by=_now() + timedelta(hours=settings.OKPAY_RISK_REVIEW_HOURS), fields=("hold_transfer",))
    else:
        _move(txn, Status.PENDING, actor=actor, reason="invited", pending_reason=PendingReason.AWAITING_CLAIM,
              expected_by=_now() + timedelta(days=settings.OKPAY_CLAIM_DAYS), fields=("hold_transfer",))
        notify.invite(txn)
    notify.send(txn, "pending")
    return txn


def _settle_held_transfer(txn: Transaction, recipient: User, *, actor: str, reason: str) -> None:
    """Post the hold into suspense and pay the recipient from it, in one linked batch."""
    hold = txn.hold_transfer
    assert hold is not None
    _, moved = _post([PostPending(hold.public_id, id=f"{txn.public_id}-post", actor=actor),
                      TransferSpec(hold.credit_account_id, wallet(recipient, txn.currency), txn.amount, txn.currency,
                                   id=f"{txn.public_id}-pay", code="transfer", reference=txn.public_id, actor=actor)])
    txn.settle_transfer = moved
    txn.counterparty_user = recipient
    txn.counterparty_wallet_id = wallet(recipient, txn.currency).public_id
    _move(txn, Status.SUCCEEDED, actor=actor, reason=reason,
          fields=("settle_transfer", "counterparty_user", "counterparty_wallet_id"))
    notify.send(txn, "settled")
    _credit_peer(txn, recipient, actor=actor)


def _void(txn: Transaction, status: str, *, actor: str, reason: str, failure_reason: str = "") -> None:
    hold = txn.hold_transfer
    assert hold is not None
    (released,) = _post([VoidPending(hold.public_id, id=f"{txn.public_id}-void", actor=actor, note=reason[:255])])
    txn.settle_transfer = released
    _move(txn, status, actor=actor, reason=reason, failure_reason=failure_reason, fields=("settle_transfer",))


def _locked(txn_pk: int, *, skip_locked: bool = False) -> Transaction | None:
    qs = Transaction.objects.select_for_update(skip_locked=skip_locked, of=("self",)).select_related(
        "user", "hold_transfer", "biller")
    return qs.filter(pk=txn_pk).first()


def claim_one(txn: Transaction, recipient: User) -> bool:
    if not (txn.status == Status.PENDING and txn.pending_reason == PendingReason.AWAITING_CLAIM):
        return False
    _settle_held_transfer(txn, recipient, actor=actor_of(recipient), reason="claimed")
    return True


def transfers_claim_for(user: User) -> int:
    """Pay ``user`` every transfer waiting for their (now verified) email address; returns how many.
    Identity calls it after email verification (``EMAIL_VERIFIED_HOOKS``); the sweep does too."""
    if not user.email_verified:
        return 0
    ids = list(Transaction.objects.filter(recipient_email=identity.normalize_email(user.email),
                                          status=Status.PENDING, pending_reason=PendingReason.AWAITING_CLAIM)
               .order_by("pk").values_list("pk", flat=True))
    claimed = 0
    for pk in ids:
        with transaction.atomic():
            txn = _locked(pk)
            if txn is not None and claim_one(txn, user):
                claimed += 1
    return claimed


# --- bill payments ----------------------------------------------------------------------------------

def billers_active() -> list[Biller]:
    return list(Biller.objects.filter(active=True).order_by("category", "code"))


@transaction.atomic
def bill_payment_create(*, user: User, biller: str, account_reference: str, amount: int, currency: str = "CNY",
                        otp_code: str | None = None) -> Transaction:
    """Pay a biller by account reference: held until the biller confirms or rejects."""
    amount, currency = amount_check(amount, currency)
    found = Biller.objects.filter(code=biller, active=True).first()
    if found is None:
        raise InvalidPayment(gettext_noop("Choose a biller from the list."), param="biller")
    reference = biller_rules.normalize_reference(account_reference)
    if not biller_rules.reference_valid(found, reference):
        raise InvalidPayment(gettext_noop("This account reference does not have the biller's format."),
                             param="account_reference")
    if found.currency != currency:
        raise InvalidPayment(gettext_noop("This biller is paid in another currency."), param="currency")
    if not found.min_amount <= amount <= found.max_amount:
        raise InvalidPayment(gettext_noop("This biller accepts amounts between its minimum and maximum."),
                             param="amount")
    sender_check(user)
    identity.step_up_check(user, amount, otp_code)
    _lock_user(user)
    limits_check(user, amount)
    actor = actor_of(user)
    txn = _new(user=user, type=TxnType.BILL_PAYMENT, direction=Direction.DEBIT, amount=amount, currency=currency,
               actor=actor, counterparty_name=found.name, biller=found, account_reference=reference)
    (hold,) = _post([TransferSpec(wallet(user, currency), biller_account(found), amount, currency,
                                  id=f"{txn.public_id}-hold", code="bill_payment", pending=True,
                                  reference=txn.public_id, actor=actor)])
    txn.hold_transfer = hold
    eta = _now() + timedelta(seconds=settings.OKPAY_BILL_SUBMIT_SECONDS + settings.OKPAY_BILL_CONFIRM_SECONDS)
    _move(txn, Status.PENDING, actor=actor, reason="requested", pending_reason=PendingReason.AWAITING_BILLER,
          expected_by=eta, fields=("hold_transfer",))
    notify.send(txn, "pending")
    return txn


# --- cancel, review ---------------------------------------------------------------------------------

def access_transaction(user: User, txn_id: str) -> Transaction:
    """The one door to a customer's transaction: someone else's is ``404``."""
    txn = (Transaction.objects.select_related("biller", "counterparty_user").filter(public_id=txn_id, user=user)
           .first()) if isinstance(txn_id, str) else None
    if txn is None:
        raise NotFound()
    return txn


@transaction.atomic
def transaction_cancel(*, user: User, txn_id: str) -> Transaction:
    """Cancel a pending payment that has not been handed over yet; its hold is released."""
    found = access_transaction(user, txn_id)
    txn = _locked(found.pk)
    assert txn is not None
    if not txn.cancellable:
        if txn.status != Status.PENDING:
            raise NotCancellable(gettext_noop("Only a pending transaction can be cancelled; this one is %(status)s.")
                                 % {"status": txn.status})
        raise NotCancellable(
            gettext_noop("It was already handed to the bank or biller and can no longer be cancelled."))
    _void(txn, Status.CANCELLED, actor=actor_of(user), reason="cancelled_by_customer")
    notify.send(txn, "cancelled")
    return txn


def _supervisor_check(actor: User) -> None:
    if not (actor.is_superuser or actor.groups.filter(name__in=("supervisor", "admin")).exists()):
        raise Forbidden(gettext_noop("Only a supervisor can decide a risk review."))


@transaction.atomic
def risk_review_approve(*, txn_id: str, actor: User) -> Transaction:
    """A supervisor lets a held transfer go: to the recipient, or on to wait for their claim."""
    _supervisor_check(actor)
    found = Transaction.objects.filter(public_id=txn_id).values_list("pk", flat=True).first()
    txn = _locked(found) if found else None
    if txn is None:
        raise NotFound()
    if not (txn.status == Status.PENDING and txn.pending_reason == PendingReason.RISK_REVIEW):
        raise NotCancellable(gettext_noop("This transaction is not waiting for a review."))
    recipient = txn.counterparty_user
    if recipient is None and txn.recipient_email:
        recipient = User.objects.filter(email__iexact=txn.recipient_email, email_verified_at__isnull=False).first()
    if recipient is None:
        _move(txn, Status.PENDING, actor=actor_of(actor), reason="review_approved",
              pending_reason=PendingReason.AWAITING_CLAIM,
              expected_by=_now() + timedelta(days=settings.OKPAY_CLAIM_DAYS))
        notify.invite(txn)
        notify.send(txn, "pending")
    else:
        _settle_held_transfer(txn, recipient, actor=actor_of(actor), reason="review_approved")
    from okpay.audit.services import audit_record

    audit_record(actor=actor.public_id, action="payments.risk_review.approve", target=txn)
    return txn


@transaction.atomic
def risk_review_decline(*, txn_id: str, actor: User, reason: str = "declined_by_review") -> Transaction:
    _supervisor_check(actor)
    found = Transaction.objects.filter(public_id=txn_id).values_list("pk", flat=True).first()
    txn = _locked(found) if found else None
    if txn is None:
        raise NotFound()
    if not (txn.status == Status.PENDING and txn.pending_reason == PendingReason.RISK_REVIEW):
        raise NotCancellable(gettext_noop("This transaction is not waiting for a review."))
    _void(txn, Status.FAILED, actor=actor_of(actor), reason=reason[:60] or "declined_by_review",
          failure_reason="declined_by_review")
    notify.send(txn, "failed")
    from okpay.audit.services import audit_record

    audit_record(actor=actor.public_id, action="payments.risk_review.decline", target=txn)
    return txn


# --- what the sandbox bank and billers do (called by the sweeps, one row per transaction) ------------

def _bank_refuses(txn: Transaction) -> bool:
    digest = hashlib.sha256(txn.public_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < settings.OKPAY_WITHDRAWAL_FAILURE_PERCENT


def submit_one(txn: Transaction, *, actor: str) -> bool:
    """Hand a pending withdrawal or bill payment to the bank/biller: from now on it cannot be cancelled."""
    if txn.status != Status.PENDING or txn.submitted_at is not None or txn.pending_reason not in (
            PendingReason.AWAITING_BANK, PendingReason.AWAITING_BILLER):
        return False
    txn.submitted_at = _now()
    _move(txn, Status.PENDING, actor=actor, reason="submitted", pending_reason=txn.pending_reason,
          expected_by=txn.expected_by, fields=("submitted_at",))
    return True


def complete_one(txn: Transaction, *, actor: str) -> bool:
    """The bank settles or refuses a submitted withdrawal; the biller confirms or rejects a bill."""
    if txn.status != Status.PENDING or txn.submitted_at is None:
        return False
    hold = txn.hold_transfer
    assert hold is not None
    if txn.pending_reason == PendingReason.AWAITING_BANK:
        refused = _bank_refuses(txn)
        failure = "bank_refused"
    elif txn.pending_reason == PendingReason.AWAITING_BILLER:
        refused = not biller_rules.biller_accepts(txn.biller, txn.account_reference)  # type: ignore[arg-type]
        failure = "reference_rejected"
    else:
        return False
    if refused:
        _void(txn, Status.FAILED, actor=actor, reason=failure, failure_reason=failure)
        notify.send(txn, "failed")
    else:
        (posted,) = _post([PostPending(hold.public_id, id=f"{txn.public_id}-post", actor=actor)])
        txn.settle_transfer = posted
        _move(txn, Status.SUCCEEDED, actor=actor, reason="settled" if failure == "bank_refused" else "confirmed",
              fields=("settle_transfer",))
        notify.send(txn, "settled")
    return True


def return_unclaimed_one(txn: Transaction, *, actor: str) -> bool:
    if not (txn.status == Status.PENDING and txn.pending_reason == PendingReason.AWAITING_CLAIM):
        return False
    _void(txn, Status.CANCELLED, actor=actor, reason="returned_unclaimed")
    notify.send(txn, "returned")
    return True


def review_expire_one(txn: Transaction, *, actor: str) -> bool:
    if not (txn.status == Status.PENDING and txn.pending_reason == PendingReason.RISK_REVIEW):
        return False
    _void(txn, Status.CANCELLED, actor=actor, reason="review_expired")
    notify.send(txn, "cancelled")
    return True


def overdue_flag_one(txn: Transaction, *, actor: str) -> bool:
    if txn.status != Status.PENDING or txn.overdue_flagged_at is not None:
        return False
    txn.overdue_flagged_at = _now()
    _move(txn, Status.PENDING, actor=actor, reason="overdue_flagged_for_support", pending_reason=txn.pending_reason,
          expected_by=txn.expected_by, fields=("overdue_flagged_at",))
    return True


def _seconds(value: int) -> timedelta:
    return timedelta(seconds=value)


SWEEP_STEPS = {
    # name: (queryset of due rows at ``now``, handler)
    "withdrawal_submit": (lambda now: Q(pending_reason=PendingReason.AWAITING_BANK, submitted_at__isnull=True,
                                        created_at__lte=now - _seconds(settings.OKPAY_WITHDRAWAL_SUBMIT_SECONDS)),
                          submit_one),
    "withdrawal_settle": (lambda now: Q(pending_reason=PendingReason.AWAITING_BANK, submitted_at__isnull=False,
                                        submitted_at__lte=now - _seconds(settings.OKPAY_WITHDRAWAL_SETTLE_SECONDS)),
                          complete_one),
    "bill_submit": (lambda now: Q(pending_reason=PendingReason.AWAITING_BILLER, submitted_at__isnull=True,
                                  created_at__lte=now - _seconds(settings.OKPAY_BILL_SUBMIT_SECONDS)),
                    submit_one),
    "bill_confirm": (lambda now: Q(pending_reason=PendingReason.AWAITING_BILLER, submitted_at__isnull=False,
                                   submitted_at__lte=now - _seconds(settings.OKPAY_BILL_CONFIRM_SECONDS)),
                     complete_one),
    "claim_return": (lambda now: Q(pending_reason=PendingReason.AWAITING_CLAIM, expected_by__lte=now),
                     return_unclaimed_one),
    "review_expire": (lambda now: Q(pending_reason=PendingReason.RISK_REVIEW, expected_by__lte=now),
                      review_expire_one),
}


def sweep_step(name: str, *, now: datetime | None = None, limit: int = 500) -> int:
    """Process due rows of one step, one transaction per row, each row claimed with
    ``select_for_update(skip_locked=True)``: safe on any number of workers, and idempotent
    (a handler re-checks the row's state after locking it)."""
    condition, handler = SWEEP_STEPS[name]
    done = 0
    seen: set[int] = set()
    while done < limit:
        moment = now or _now()
        with transaction.atomic():
            txn = (Transaction.objects.select_for_update(skip_locked=True, of=("self",))
                   .select_related("user", "hold_transfer", "biller")
                   .filter(condition(moment), status=Status.PENDING).exclude(pk__in=seen).order_by("pk").first())
            if txn is None:
                break
            seen.add(txn.pk)
            if handler(txn, actor=f"system:{name}"):
                done += 1
    return done


def overdue_flag_due(*, now: datetime | None = None, limit: int = 500) -> int:
    moment = now or _now()
    done = 0
    ids = list(Transaction.objects.filter(status=Status.PENDING, expected_by__lt=moment,
                                          overdue_flagged_at__isnull=True)
               .exclude(pending_reason__in=(PendingReason.AWAITING_CLAIM, PendingReason.RISK_REVIEW))
               .order_by("pk").values_list("pk", flat=True)[:limit])
    for pk in ids:
        with transaction.atomic():
            txn = _locked(pk, skip_locked=True)
            if txn is not None and overdue_flag_one(txn, actor="system:overdue"):
                done += 1
    return done


def claims_for_verified_users(*, limit: int = 200) -> int:
    """Safety net for the verification hook: pay waiting transfers whose recipient has verified."""
    emails = set(Transaction.objects.filter(status=Status.PENDING, pending_reason=PendingReason.AWAITING_CLAIM)
                 .values_list("recipient_email", flat=True)[:limit])
    claimed = 0
    for user in User.objects.filter(email__in=emails, email_verified_at__isnull=False, is_active=True):
        claimed += transfers_claim_for(user)
    return claimed


def payments_sweep() -> dict[str, int]:
    """The worker's periodic sweep (core.worker.SWEEPS)."""
    counts = {name: sweep_step(name) for name in SWEEP_STEPS}
    counts["claims"] = claims_for_verified_users()
    counts["overdue"] = overdue_flag_due()
    return counts
