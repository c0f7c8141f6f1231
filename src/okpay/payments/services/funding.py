"""Money in and out of the wallet: top-ups, withdrawals, bill payments, and cancelling what is pending."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils.translation import gettext_noop

from okpay.core.db import service_atomic
from okpay.identity.models import User
from okpay.ledger.services import TransferSpec, system_account
from okpay.payments import billers as biller_rules
from okpay.payments import notify
from okpay.payments.errors import (
    AlreadyRetried,
    InvalidPayment,
    LimitExceeded,
    NotCancellable,
    NotRetryable,
)
from okpay.payments.models import (
    Biller,
    Direction,
    PendingReason,
    Status,
    Transaction,
    TxnType,
    new_transaction_id,
)
from okpay.payments.services.core import (
    SANDBOX_BANK,
    SANDBOX_CARD,
    _locked,
    _move,
    _new,
    _now,
    _post,
    _void,
    access_transaction,
    actor_of,
    amount_check,
    biller_account,
    limits_take,
    sender_check,
    wallet,
)
from okpay.payments.services.core import (
    step_up as step_up_check,
)

# --- top-up and withdrawal ------------------------------------------------------------------------

@service_atomic
def topup_create(*, user: User, amount: int, currency: str = "CNY", source: str = "sandbox_card") -> Transaction:
    """Add money from the sandbox bank card: immediate."""
    amount, currency = amount_check(amount, currency)
    if source != "sandbox_card":
        raise InvalidPayment(gettext_noop("The only source is the sandbox bank card."), param="source")
    if amount > settings.OKPAY_TOPUP_MAX:
        raise LimitExceeded(gettext_noop("This top-up is over the per-transaction top-up limit."), param="amount")
    actor = actor_of(user)
    public_id = new_transaction_id()
    (moved,) = _post([TransferSpec(system_account("funding", currency), wallet(user, currency), amount, currency,
                                   id=f"{public_id}-topup", code="top_up", reference=public_id, actor=actor)])
    txn = _new(user=user, type=TxnType.TOP_UP, direction=Direction.CREDIT, amount=amount, currency=currency,
               actor=actor, done=(Status.SUCCEEDED, "card_charged"), public_id=public_id,
               counterparty_name=SANDBOX_CARD, settle_transfer=moved)
    notify.send(txn, "settled")
    return txn


@service_atomic
def withdrawal_create(*, user: User, amount: int, currency: str = "CNY", destination: str = "sandbox_bank",
                      otp_code: str | None = None) -> Transaction:
    """Send money to the sandbox bank account: held until the bank settles it."""
    amount, currency = amount_check(amount, currency)
    if destination != "sandbox_bank":
        raise InvalidPayment(gettext_noop("The only destination is the sandbox bank account."), param="destination")
    sender_check(user)
    usage = limits_take(user, amount)
    step_up_check(user, amount, otp_code, kind="withdrawal", currency=currency, payee=destination)
    actor = actor_of(user)
    txn = _new(user=user, type=TxnType.WITHDRAWAL, direction=Direction.DEBIT, amount=amount, currency=currency,
               actor=actor, at=usage.at, counterparty_name=SANDBOX_BANK)
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


# --- bill payments ----------------------------------------------------------------------------------

def billers_active() -> list[Biller]:
    return list(Biller.objects.filter(active=True).order_by("category", "code"))


@service_atomic
def bill_payment_create(*, user: User, biller: str, account_reference: str, amount: int, currency: str = "CNY",
                        otp_code: str | None = None, step_up: bool = True,
                        retry_of: Transaction | None = None) -> Transaction:
    """Pay a biller by account reference: held until the biller confirms or rejects.

    ``step_up=False`` only for a support agent acting for the customer (see ``bill_payment_retry``);
    ``retry_of``: the failed payment this one pays again."""
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
    usage = limits_take(user, amount)
    if step_up:
        new_payee = not Transaction.objects.filter(
            user=user, type=TxnType.BILL_PAYMENT, biller=found, account_reference=reference,
            status__in=(Status.SUCCEEDED, Status.PARTIALLY_REFUNDED, Status.REFUNDED)).exists()
        step_up_check(user, amount, otp_code, kind="bill_payment", currency=currency,
                               payee=f"{found.code}:{reference}", new_payee=new_payee)
    actor = actor_of(user)
    txn = _new(user=user, type=TxnType.BILL_PAYMENT, direction=Direction.DEBIT, amount=amount, currency=currency,
               actor=actor, at=usage.at, counterparty_name=found.name, biller=found, account_reference=reference,
               retry_of=retry_of)
    (hold,) = _post([TransferSpec(wallet(user, currency), biller_account(found), amount, currency,
                                  id=f"{txn.public_id}-hold", code="bill_payment", pending=True,
                                  reference=txn.public_id, actor=actor)])
    txn.hold_transfer = hold
    eta = _now() + timedelta(seconds=settings.OKPAY_BILL_SUBMIT_SECONDS + settings.OKPAY_BILL_CONFIRM_SECONDS)
    _move(txn, Status.PENDING, actor=actor, reason="requested", pending_reason=PendingReason.AWAITING_BILLER,
          expected_by=eta, fields=("hold_transfer",))
    notify.send(txn, "pending")
    return txn


@service_atomic
def bill_payment_retry(*, user: User, txn_id: str, actor: User | None = None,
                       otp_code: str | None = None) -> Transaction:
    """Pay ``user``'s failed bill payment again: a new bill payment to the same biller, reference and
    amount (the failed one keeps its history; limits and funds are checked as for any payment).
    ``actor`` is a support agent doing it for the customer: then no 2FA step-up is asked, because the
    desk's permission check, reason, audit record and four-eyes approval stand for it.

    A failed payment is paid again at most once (``retry_of`` is unique; the failed row is locked
    while its retry is made): a second retry is ``AlreadyRetried`` (409), whoever asks."""
    found = access_transaction(user, txn_id)
    failed = _locked(found.pk)
    assert failed is not None
    if failed.type != TxnType.BILL_PAYMENT or failed.status != Status.FAILED or failed.biller_id is None:
        raise NotRetryable(param="transaction_id")
    if Transaction.objects.filter(retry_of=failed).exists():
        raise AlreadyRetried(param="transaction_id")
    assert failed.biller is not None
    return bill_payment_create(user=user, biller=failed.biller.code, account_reference=failed.account_reference,
                               amount=failed.amount, currency=failed.currency, otp_code=otp_code,
                               step_up=actor is None or actor.pk == user.pk, retry_of=failed)


@service_atomic
def transaction_cancel(*, user: User, txn_id: str, actor: User | None = None) -> Transaction:
    """Cancel ``user``'s pending payment that has not been handed over yet; its hold is released.
    ``actor`` is who asked, when not the customer (an agent through the support desk): the
    timeline records them."""
    found = access_transaction(user, txn_id)
    txn = _locked(found.pk)
    assert txn is not None
    if not txn.cancellable:
        if txn.status != Status.PENDING:
            raise NotCancellable(gettext_noop("Only a pending transaction can be cancelled; this one is %(status)s."),
                                 params={"status": Status(txn.status).label})
        raise NotCancellable(
            gettext_noop("It was already handed to the bank or biller and can no longer be cancelled."))
    by_support = actor is not None and actor.pk != user.pk
    _void(txn, Status.CANCELLED, actor=actor_of(actor or user),
          reason="cancelled_by_support" if by_support else "cancelled_by_customer")
    notify.send(txn, "cancelled")
    return txn
