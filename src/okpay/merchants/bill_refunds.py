"""Refund requests of bill payments: "a bill payment's refund request goes to the biller the same way".

A customer asks for (part of) a confirmed bill payment back, from the transaction page or
``POST /api/v1/transactions/{id}/refund-requests``. At once a ``refund`` transaction is written for
the customer, pending ``awaiting_merchant`` with ``expected_by`` = when the biller answers
(``OKPAY_BILL_REFUND_DECIDE_SECONDS``). The sandbox biller answers in the worker's sweep
(``bill_refund_requests_decide_due``, part of ``merchant_sweep``) by a deterministic rule
(``payments.billers.biller_refund_decision``):

- approved: the biller's ledger account (which received the bill payment) pays the customer's wallet;
  the refund transaction succeeds, the bill payment becomes ``partially_refunded`` / ``refunded``;
- declined: the refund transaction fails (``refund_declined``) with the biller's reason; the page
  offers "contact customer service" with the transaction attached.

Either way the customer is emailed. The bill payment's row is the lock for everything about it, so
requests together never exceed what was paid.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy, gettext_noop

from okpay.core.errors import InvalidRequest
from okpay.identity.models import User
from okpay.ledger.services import TransferSpec
from okpay.merchants import emails
from okpay.merchants.errors import NotRefundable, RefundExceedsPayment, RefundWindowClosed
from okpay.merchants.models import RefundRequest, RequestStatus
from okpay.payments import notify
from okpay.payments.billers import biller_refund_decision
from okpay.payments.models import Direction, PendingReason, Status, Transaction, TxnType
from okpay.payments.services import (
    biller_account,
    ledger_post,
    transaction_insert,
    transaction_move,
    wallet,
)

REFUNDABLE = (Status.SUCCEEDED, Status.PARTIALLY_REFUNDED)

BILLER_DECLINE_REASONS = {
    "top_up_delivered": gettext_lazy("The top-up was already credited to the phone number and cannot be taken "
                                     "back."),
}


def bill_refundable(txn: Transaction) -> bool:
    return (txn.type == TxnType.BILL_PAYMENT and txn.direction == Direction.DEBIT and txn.biller_id is not None
            and txn.status in REFUNDABLE)


def bill_window_ends(txn: Transaction) -> datetime | None:
    """The end of the biller's refund window: ``OKPAY_BILL_REFUND_WINDOW_DAYS`` after it confirmed."""
    settled = txn.settle_transfer.created_at if txn.settle_transfer_id else None  # type: ignore[union-attr]
    return settled + timedelta(days=settings.OKPAY_BILL_REFUND_WINDOW_DAYS) if settled else None


def _requested(txn: Transaction) -> int:
    total = (RefundRequest.objects.filter(bill_txn=txn, status=RequestStatus.PENDING)
             .aggregate(total=Sum("amount"))["total"])
    return int(total or 0)


def bill_refund_request_create(*, customer: User, txn: Transaction, reason: str,
                               amount: int | None) -> RefundRequest:
    """Called by ``services.refund_request_create`` inside its transaction, ``txn`` already the customer's own."""
    if not bill_refundable(txn):
        raise NotRefundable()
    locked = (Transaction.objects.select_for_update(of=("self",)).select_related("biller", "settle_transfer")
              .get(pk=txn.pk))
    if not bill_refundable(locked):
        raise NotRefundable()
    ends = bill_window_ends(locked)
    if ends is None or timezone.now() > ends:
        raise RefundWindowClosed()
    remaining = locked.amount - locked.refunded_amount - _requested(locked)
    if amount is None:
        amount = remaining
    if type(amount) is not int or amount <= 0:
        if amount == 0:
            raise RefundExceedsPayment(param="amount")
        raise InvalidRequest(gettext_noop("The amount must be a positive whole number of minor units (fen)."),
                             param="amount")
    if amount > remaining:
        raise RefundExceedsPayment(param="amount")
    biller = locked.biller
    assert biller is not None
    now = timezone.now()
    decide_after = now + timedelta(seconds=settings.OKPAY_BILL_REFUND_DECIDE_SECONDS)
    actor = customer.public_id
    refund_txn = transaction_insert(user=customer, type=TxnType.REFUND, direction=Direction.CREDIT, amount=amount,
                                    currency=locked.currency, actor=actor, counterparty_name=biller.name,
                                    biller=biller, account_reference=locked.account_reference, note=reason[:140])
    transaction_move(refund_txn, Status.PENDING, actor=actor, reason="refund_requested",
                     pending_reason=PendingReason.AWAITING_MERCHANT, expected_by=decide_after)
    return RefundRequest.objects.create(bill_txn=locked, customer=customer, amount=amount, reason=reason[:500],
                                        refund_txn=refund_txn, decide_after=decide_after, created_at=now)


def _decide(request: RefundRequest, bill: Transaction) -> None:
    assert request.refund_txn_id is not None
    refund_txn = Transaction.objects.select_for_update(of=("self",)).get(pk=request.refund_txn_id)
    biller = bill.biller
    assert biller is not None
    actor = f"system:biller:{biller.code}"[:150]
    refusal = biller_refund_decision(biller, amount=request.amount)
    if refusal:
        transaction_move(refund_txn, Status.FAILED, actor=actor, reason="refund_declined",
                         failure_reason="refund_declined")
        notify.send(refund_txn, "failed", email=False)  # the decline email below says it with the reason
        request.status = RequestStatus.DECLINED
        request.decline_reason = refusal
    else:
        (moved,) = ledger_post([TransferSpec(biller_account(biller), wallet(request.customer, bill.currency),
                                             request.amount, bill.currency, id=f"{request.public_id}-refund",
                                             code="refund", reference=refund_txn.public_id, actor=actor)])
        refund_txn.settle_transfer = moved
        transaction_move(refund_txn, Status.SUCCEEDED, actor=actor, reason="refunded", fields=("settle_transfer",))
        notify.send(refund_txn, "settled", email=False)
        bill.refunded_amount += request.amount
        target = Status.REFUNDED if bill.refunded_amount >= bill.amount else Status.PARTIALLY_REFUNDED
        transaction_move(bill, target, actor=actor, reason="refund", fields=("refunded_amount",))
        request.status = RequestStatus.APPROVED
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decline_reason", "decided_at"])
    emails.request_decided(request)


def bill_refund_requests_decide_due(*, limit: int = 200) -> int:
    """Worker sweep: the sandbox biller answers the requests that are due, one transaction each
    (the bill payment row locked with ``skip_locked``: any number of workers, each request once)."""
    done = 0
    due = list(RefundRequest.objects.filter(status=RequestStatus.PENDING, bill_txn__isnull=False,
                                            decide_after__lte=timezone.now())
               .order_by("decide_after").values_list("pk", "bill_txn_id")[:limit])
    for pk, bill_pk in due:
        with transaction.atomic():
            bill = (Transaction.objects.select_for_update(skip_locked=True, of=("self",)).select_related("biller")
                    .filter(pk=bill_pk).first())
            if bill is None:
                continue
            request = (RefundRequest.objects.select_related("customer").filter(pk=pk, status=RequestStatus.PENDING)
                       .first())
            if request is None:
                continue
            request.bill_txn = bill
            _decide(request, bill)
            done += 1
    return done
