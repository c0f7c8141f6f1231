"""Wallet and transactions (API.md): balances, top-ups, withdrawals, transfers, bill payments,
the transaction list and detail, cancellation. Endpoints parse, call one service, serialize.

Money-moving POSTs require an ``Idempotency-Key`` (400 ``invalid_request`` with param
``Idempotency-Key`` without one): a retried request never moves money twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Query, Schema, Status
from pydantic import Field, StrictInt

from okpay.api.router import OkpayRouter, key_required
from okpay.api.schemas import ERRORS
from okpay.core.errors import InvalidRequest
from okpay.core.idempotency import HEADER
from okpay.core.replicas import lagging_reads
from okpay.identity.models import User
from okpay.payments import selectors, services
from okpay.payments.models import Transaction

router = OkpayRouter(tags=["wallet"])

Amount = StrictInt


class BalanceOut(Schema):
    currency: str
    available: int
    held: int
    total: int


class BalancesOut(Schema):
    data: list[BalanceOut]


class CounterpartyOut(Schema):
    name: str
    wallet_id: str | None = None


class EventOut(Schema):
    status: str
    at: datetime
    reason: str


class TransactionOut(Schema):
    id: str
    type: str
    status: str
    amount: int
    currency: str
    direction: str
    counterparty: CounterpartyOut | None
    note: str
    pending_reason: str | None
    expected_by: datetime | None
    failure_reason: str | None
    refunded_amount: int
    created_at: datetime
    updated_at: datetime
    timeline: list[EventOut]
    cancellable: bool
    biller: str | None = None
    account_reference: str | None = None


class TransactionListOut(Schema):
    data: list[TransactionOut]
    next_cursor: str | None


class TopUpIn(Schema):
    amount: Amount = Field(gt=0, le=services.MAX_AMOUNT)
    currency: str = Field(default="CNY", max_length=3)
    source: Literal["sandbox_card"] = "sandbox_card"


class WithdrawalIn(Schema):
    amount: Amount = Field(gt=0, le=services.MAX_AMOUNT)
    currency: str = Field(default="CNY", max_length=3)
    destination: Literal["sandbox_bank"] = "sandbox_bank"
    otp_code: str | None = Field(default=None, max_length=20)


class TransferIn(Schema):
    to: str = Field(min_length=1, max_length=254)
    amount: Amount = Field(gt=0, le=services.MAX_AMOUNT)
    currency: str = Field(default="CNY", max_length=3)
    note: str = Field(default="", max_length=140)
    otp_code: str | None = Field(default=None, max_length=20)


class BillPaymentIn(Schema):
    biller: str = Field(min_length=1, max_length=40)
    account_reference: str = Field(min_length=1, max_length=64)
    amount: Amount = Field(gt=0, le=services.MAX_AMOUNT)
    currency: str = Field(default="CNY", max_length=3)
    otp_code: str | None = Field(default=None, max_length=20)


class BillerOut(Schema):
    code: str
    name: str
    name_en: str
    category: str
    reference_label: str
    reference_example: str
    currency: str
    min_amount: int
    max_amount: int


class BillersOut(Schema):
    data: list[BillerOut]


class LimitsOut(Schema):
    level: str
    per_transaction: int
    daily: int
    used_today: int
    remaining_today: int


class ListQuery(Schema):
    status: str | None = None
    type: str | None = None
    limit: int | None = None
    cursor: str | None = None


def transaction_out(txn: Transaction, events: list | None = None) -> TransactionOut:  # type: ignore[type-arg]
    if events is None:
        events = getattr(txn, "timeline_cache", None)
    rows = events if events is not None else list(txn.events.all())
    counterparty = (CounterpartyOut(name=txn.counterparty_name, wallet_id=txn.counterparty_wallet_id or None)
                    if txn.counterparty_name else None)
    return TransactionOut(
        id=txn.public_id, type=txn.type, status=txn.status, amount=txn.amount, currency=txn.currency,
        direction=txn.direction, counterparty=counterparty, note=txn.note, pending_reason=txn.pending_reason or None,
        expected_by=txn.expected_by if txn.is_pending else None, failure_reason=txn.failure_reason or None,
        refunded_amount=txn.refunded_amount, created_at=txn.created_at, updated_at=txn.updated_at,
        timeline=[EventOut(status=e.status, at=e.at, reason=e.reason) for e in rows],
        cancellable=txn.cancellable, biller=txn.biller.code if txn.biller_id and txn.biller else None,
        account_reference=txn.account_reference or None)


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def _require_key(request: HttpRequest) -> None:
    if not request.headers.get(HEADER):
        raise InvalidRequest("Money-moving requests need an Idempotency-Key header.", param=HEADER)


@router.get("/wallet/balances", response={200: BalancesOut, **ERRORS})
def wallet_balances(request: HttpRequest) -> BalancesOut:
    return BalancesOut(data=[BalanceOut(currency=b.currency, available=b.available, held=b.held, total=b.total)
                             for b in selectors.balances(_user(request))])


@router.get("/wallet/limits", response={200: LimitsOut, **ERRORS})
def wallet_limits(request: HttpRequest) -> LimitsOut:
    limits = services.limits_for(_user(request))
    return LimitsOut(level=limits.level, per_transaction=limits.per_transaction, daily=limits.daily,
                     used_today=limits.used_today, remaining_today=limits.remaining_today)


@router.post("/topups", response={201: TransactionOut, **ERRORS})
@key_required
def topup(request: HttpRequest, body: TopUpIn) -> Status:
    _require_key(request)
    txn = services.topup_create(user=_user(request), amount=body.amount, currency=body.currency,
                                source=body.source)
    return Status(201, transaction_out(txn))


@router.post("/withdrawals", response={201: TransactionOut, **ERRORS})
@key_required
def withdrawal(request: HttpRequest, body: WithdrawalIn) -> Status:
    _require_key(request)
    txn = services.withdrawal_create(user=_user(request), amount=body.amount, currency=body.currency,
                                     destination=body.destination, otp_code=body.otp_code)
    return Status(201, transaction_out(txn))


@router.post("/transfers", response={201: TransactionOut, **ERRORS})
@key_required
def transfer(request: HttpRequest, body: TransferIn) -> Status:
    """``to`` is an email, a phone number or a wallet id. To an email with no account yet the
    transfer is ``pending``/``awaiting_claim`` (held) until claimed or returned."""
    _require_key(request)
    txn = services.transfer_create(sender=_user(request), to=body.to, amount=body.amount,
                                   currency=body.currency, note=body.note, otp_code=body.otp_code)
    return Status(201, transaction_out(txn))


@router.get("/transactions", response={200: TransactionListOut, **ERRORS})
def transactions(request: HttpRequest, query: Query[ListQuery]) -> TransactionListOut:
    return lagging_reads(request, lambda: _transactions(request, query))  # history may come from a replica


def _transactions(request: HttpRequest, query: ListQuery) -> TransactionListOut:
    page = selectors.transactions_for_user(_user(request), status=query.status, type=query.type,
                                           limit=query.limit, cursor=query.cursor)
    from okpay.payments.models import TransactionEvent

    events: dict[int, list[TransactionEvent]] = {}
    for event in TransactionEvent.objects.filter(transaction_id__in=[t.pk for t in page.items]).order_by("pk"):
        events.setdefault(event.transaction_id, []).append(event)
    return TransactionListOut(data=[transaction_out(t, events.get(t.pk, [])) for t in page.items],
                              next_cursor=page.next_cursor)


@router.get("/transactions/{txn_id}", response={200: TransactionOut, **ERRORS})
def transaction_detail(request: HttpRequest, txn_id: str) -> TransactionOut:
    return transaction_out(services.access_transaction(_user(request), txn_id))


@router.post("/transactions/{txn_id}/cancel", response={200: TransactionOut, **ERRORS})
def transaction_cancel(request: HttpRequest, txn_id: str) -> TransactionOut:
    return transaction_out(services.transaction_cancel(user=_user(request), txn_id=txn_id))


@router.get("/billers", response={200: BillersOut, **ERRORS})
def billers(request: HttpRequest) -> BillersOut:
    return BillersOut(data=[BillerOut(code=b.code, name=b.name, name_en=b.name_en, category=b.category,
                                      reference_label=b.reference_label, reference_example=b.reference_example,
                                      currency=b.currency, min_amount=b.min_amount, max_amount=b.max_amount)
                            for b in services.billers_active()])


@router.post("/bill-payments", response={201: TransactionOut, **ERRORS})
@key_required
def bill_payment(request: HttpRequest, body: BillPaymentIn) -> Status:
    _require_key(request)
    txn = services.bill_payment_create(user=_user(request), biller=body.biller,
                                       account_reference=body.account_reference, amount=body.amount,
                                       currency=body.currency, otp_code=body.otp_code)
    return Status(201, transaction_out(txn))


