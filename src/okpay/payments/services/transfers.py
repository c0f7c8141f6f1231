"""Transfers between people: recipients by email, phone or wallet id, held transfers (risk review,
unregistered recipients), claims and the supervisor's review decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_noop

from okpay.core.db import service_atomic
from okpay.core.errors import Forbidden, InvalidRequest, NotFound
from okpay.identity import services as identity
from okpay.identity.models import User
from okpay.ledger.models import Account
from okpay.ledger.services import PostPending, TransferSpec, system_account
from okpay.payments import alerts, hooks, notify
from okpay.payments.errors import (
    InvalidPayment,
    NotCancellable,
    RecipientNotFound,
    RiskReviewConflict,
)
from okpay.payments.models import (
    Direction,
    Notification,
    PendingReason,
    Status,
    Transaction,
    TransactionEvent,
    TxnType,
    new_transaction_id,
)
from okpay.payments.services.core import (
    _PHONE,
    _WALLET,
    RECIPIENT_LOOKUPS,
    _credit_peer,
    _locked,
    _move,
    _new,
    _now,
    _post,
    _risk_reason,
    _void,
    actor_of,
    amount_check,
    limits_take,
    mask_email,
    mask_name,
    sender_check,
    step_up,
    wallet,
)

# --- transfers ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Recipient:
    to: str
    kind: str  # email, phone, wallet
    user: User | None
    display: str  # masked
    wallet_id: str
    account: Account | None = None

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
        owner = account.owner if account is not None else None
        user = owner if owner is not None and owner.is_active and owner.closed_at is None else None
        if user is None:
            raise RecipientNotFound(param="to")
        kind, key = "wallet", to
    elif _PHONE.match(to):
        try:
            phone = identity.phone_normalize(to)
        except InvalidRequest:
            raise InvalidPayment(gettext_noop("Enter a valid phone number."), param="to") from None
        user = User.objects.filter(phone=phone, phone_verified_at__isnull=False, is_active=True,
                                   closed_at__isnull=True).first()
        if user is None:
            raise RecipientNotFound(param="to")
        kind, key = "phone", phone
    else:
        raise InvalidPayment(gettext_noop("Enter an email address, a phone number or a wallet id."), param="to")
    if user is not None and user.pk == sender.pk:
        raise InvalidPayment(gettext_noop("You cannot send money to yourself."), param="to")
    if user is None:
        return Recipient(key, kind, None, mask_email(key), "")
    account = wallet(user, currency)
    return Recipient(key, kind, user, mask_name(user.display_name), account.public_id, account)


def _email_recipient_with_wallets(sender: User, to: str, currency: str) -> tuple[Recipient, Account] | None:
    """The common case of ``recipient_resolve`` + the sender's wallet in one statement (decision
    0004): a valid email whose active, open account has a wallet, and the sender's wallet, read
    together with the recipient's user row. None when that does not hold (bad or unknown email, a
    recipient without a wallet yet, the sender's own address, no sender wallet): then the general
    path decides, with the same answers as before. The lookup goes through the lower-cased unique
    index on the email (``user_email_ci_unique``)."""
    to = (to or "").strip()
    if "@" not in to or len(to) > 254:
        return None
    email = identity.normalize_email(to)
    try:
        validate_email(email)
    except ValidationError:
        return None
    accounts = list(Account.objects.alias(owner_email=Lower("owner__email"))
                    .filter(kind="wallet", currency=currency)
                    .filter(Q(owner_id=sender.pk)
                            | Q(owner_email=email, owner__is_active=True, owner__closed_at__isnull=True))
                    .select_related("owner"))
    source = next((a for a in accounts if a.owner_id == sender.pk), None)
    others = [a for a in accounts if a.owner_id != sender.pk]
    if source is None or len(others) != 1:
        return None
    account = others[0]
    user = account.owner
    assert user is not None
    return Recipient(email, "email", user, mask_name(user.display_name), account.public_id, account), source


def recipient_preview(*, sender: User, to: str, currency: str = "CNY") -> Recipient:
    """``recipient_resolve`` for the confirmation screen, rate-limited against enumeration."""
    RECIPIENT_LOOKUPS.hit(str(sender.pk))
    return recipient_resolve(sender=sender, to=to, currency=currency)


def payee_is_new(sender: User, recipient: Recipient) -> bool:
    """No transfer of ``sender``'s to this recipient ever went through (step-up for a new payee)."""
    done = Transaction.objects.filter(user=sender, type=TxnType.TRANSFER,
                                      status__in=(Status.SUCCEEDED, Status.PARTIALLY_REFUNDED, Status.REFUNDED))
    if recipient.user is not None:
        return not done.filter(counterparty_user=recipient.user).exists()
    return not done.filter(recipient_email__iexact=recipient.to).exists()


@service_atomic
def transfer_create(*, sender: User, to: str, amount: int, currency: str = "CNY", note: str = "",
                    otp_code: str | None = None) -> Transaction:
    """Send money to an email, phone number or wallet id (API.md ``POST /transfers``)."""
    amount, currency = amount_check(amount, currency)
    note = (note or "").strip()
    if len(note) > 140:
        raise InvalidPayment(gettext_noop("A note is at most 140 characters."), param="note")
    sender_check(sender)
    found = _email_recipient_with_wallets(sender, to, currency)
    if found is not None:
        recipient, source = found
    else:
        recipient = recipient_resolve(sender=sender, to=to, currency=currency)
        source = wallet(sender, currency)
    usage = limits_take(sender, amount, transfer=True)
    # Whether the payee is new only matters above a step-up amount (stepup.required): below both,
    # the query is not made (decision 0004).
    new_payee = (amount > min(settings.OKPAY_STEP_UP_AMOUNT, settings.OKPAY_STEP_UP_NEW_PAYEE_AMOUNT)
                 and payee_is_new(sender, recipient))
    step_up(sender, amount, otp_code, kind="transfer", currency=currency, payee=recipient.to, new_payee=new_payee)
    risk = _risk_reason(sender, amount, recipient=recipient.user, email=recipient.to, usage=usage)
    actor = actor_of(sender)
    fields: dict[str, Any] = {"counterparty_name": recipient.display, "counterparty_user": recipient.user,
              "counterparty_wallet_id": recipient.wallet_id, "note": note, "review_reason": risk,
              "recipient_email": "" if recipient.user else recipient.to}
    if recipient.user is not None and recipient.account is not None and not risk:
        public_id = new_transaction_id()
        (moved,) = _post([TransferSpec(source, recipient.account, amount, currency, id=f"{public_id}-pay",
                                       code="transfer", reference=public_id, actor=actor)])
        events: list[TransactionEvent] = []  # both parties' timelines, written in one INSERT
        txn = _new(user=sender, type=TxnType.TRANSFER, direction=Direction.DEBIT, amount=amount, currency=currency,
                   actor=actor, done=(Status.SUCCEEDED, "sent"), at=usage.at, public_id=public_id,
                   settle_transfer=moved, events_into=events, **fields)
        peer = _credit_peer(txn, recipient.user, actor=actor, sender_wallet_id=source.public_id, events_into=events)
        TransactionEvent.objects.bulk_create(events)
        now = _now()
        Notification.objects.bulk_create([
            Notification(user_id=sender.pk, transaction=txn, kind="sent", created_at=now),
            Notification(user_id=recipient.user.pk, transaction=peer, kind="received", created_at=now)])
        alerts.notice(user_id=sender.pk, txn=txn, kind="sent", locale=sender.locale)
        alerts.notice(user_id=recipient.user.pk, txn=peer, kind="received", locale=recipient.user.locale)
        return txn
    txn = _new(user=sender, type=TxnType.TRANSFER, direction=Direction.DEBIT, amount=amount, currency=currency,
               actor=actor, at=usage.at, **fields)
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
    peer = _credit_peer(txn, recipient, actor=actor, sender_wallet_id=wallet(txn.user, txn.currency).public_id)
    notify.send(peer, "received")


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


def _supervisor_check(actor: User) -> None:
    if not (actor.is_superuser or actor.groups.filter(name__in=("supervisor", "admin")).exists()):
        raise Forbidden(gettext_noop("Only a supervisor can decide a risk review."))


def risk_review_conflict(actor: User, txn: Transaction) -> str | None:
    """Why ``actor`` may not decide ``txn``'s risk review, or None: nobody decides on a transfer of
    their own (as sender or recipient), nor (``hooks.RISK_REVIEW_CONFLICTS``: support) on one of a
    customer whose ticket they handle."""
    if actor.pk in (txn.user_id, txn.counterparty_user_id):
        return gettext_noop("You cannot decide a risk review of your own transfer.")
    for check in hooks.RISK_REVIEW_CONFLICTS:
        reason = check(actor, txn)
        if reason:
            return reason
    return None


def _conflict_check(actor: User, txn: Transaction) -> None:
    reason = risk_review_conflict(actor, txn)
    if reason:
        raise RiskReviewConflict(reason)


@service_atomic
def risk_review_approve(*, txn_id: str, actor: User) -> Transaction:
    """A supervisor lets a held transfer go: to the recipient, or on to wait for their claim."""
    _supervisor_check(actor)
    found = Transaction.objects.filter(public_id=txn_id).values_list("pk", flat=True).first()
    txn = _locked(found) if found else None
    if txn is None:
        raise NotFound()
    if not (txn.status == Status.PENDING and txn.pending_reason == PendingReason.RISK_REVIEW):
        raise NotCancellable(gettext_noop("This transaction is not waiting for a review."))
    _conflict_check(actor, txn)
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


@service_atomic
def risk_review_decline(*, txn_id: str, actor: User, reason: str = "declined_by_review") -> Transaction:
    _supervisor_check(actor)
    found = Transaction.objects.filter(public_id=txn_id).values_list("pk", flat=True).first()
    txn = _locked(found) if found else None
    if txn is None:
        raise NotFound()
    if not (txn.status == Status.PENDING and txn.pending_reason == PendingReason.RISK_REVIEW):
        raise NotCancellable(gettext_noop("This transaction is not waiting for a review."))
    _conflict_check(actor, txn)
    _void(txn, Status.FAILED, actor=actor_of(actor), reason=reason[:60] or "declined_by_review",
          failure_reason="declined_by_review")
    notify.send(txn, "failed")
    from okpay.audit.services import audit_record

    audit_record(actor=actor.public_id, action="payments.risk_review.decline", target=txn)
    return txn
