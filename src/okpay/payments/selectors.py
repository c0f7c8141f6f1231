"""Reads of payments: the customer's transactions (keyset pages), balances, chart data, exports."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import QuerySet, Sum
from django.utils import timezone

from okpay.core.errors import InvalidRequest
from okpay.core.pagination import Page, keyset_page
from okpay.identity.models import User
from okpay.ledger.selectors import Balance, balances_for_owner
from okpay.payments.models import Direction, Notification, Status, Transaction, TxnType


def balances(user: User) -> list[Balance]:
    found = balances_for_owner(user)
    if not found:
        from okpay.payments.services import wallet

        wallet(user, "CNY")
        found = balances_for_owner(user)
    return found


def _filtered(user: User, *, status: str | None = None, type: str | None = None, since: date | None = None,
              until: date | None = None) -> QuerySet[Transaction]:
    qs = Transaction.objects.filter(user=user).select_related("biller")
    if status:
        if status not in Status.values:
            raise InvalidRequest("Unknown status.", param="status")
        qs = qs.filter(status=status)
    if type:
        if type not in TxnType.values:
            raise InvalidRequest("Unknown type.", param="type")
        qs = qs.filter(type=type)
    tz = timezone.get_current_timezone()
    if since:
        qs = qs.filter(created_at__gte=datetime.combine(since, datetime.min.time(), tzinfo=tz))
    if until:
        qs = qs.filter(created_at__lt=datetime.combine(until + timedelta(days=1), datetime.min.time(), tzinfo=tz))
    return qs


def transactions_for_user(user: User, *, status: str | None = None, type: str | None = None,
                          since: date | None = None, until: date | None = None, limit: int | None = None,
                          cursor: str | None = None) -> Page[Transaction]:
    return keyset_page(_filtered(user, status=status, type=type, since=since, until=until), limit=limit, cursor=cursor)


def transactions_for_export(user: User, *, since: date, until: date, cap: int = 10_000) -> list[Transaction]:
    if until < since:
        raise InvalidRequest("The end date is before the start date.", param="to")
    if (until - since).days > 366:
        raise InvalidRequest("Export at most one year at a time.", param="to")
    return list(_filtered(user, since=since, until=until).order_by("pk")[:cap])


def recent(user: User, limit: int = 5) -> list[Transaction]:
    return list(Transaction.objects.filter(user=user).select_related("biller").order_by("-pk")[:limit])


def timeline(txn: Transaction) -> list:  # type: ignore[type-arg]
    return list(txn.events.order_by("pk"))


@dataclass(frozen=True)
class Slice:
    key: str
    label: str
    amount: int
    share: float


def spending_by_category(user: User, *, days: int = 30, currency: str = "CNY") -> list[Slice]:
    """Money that left the wallet in the last ``days``, by category: transfers, withdrawals, payments,
    and bill payments by biller category. Money still held (pending) is not spent yet, so it is not counted."""
    since = timezone.now() - timedelta(days=days)
    rows = (Transaction.objects.filter(user=user, direction=Direction.DEBIT, currency=currency, created_at__gte=since,
                                       status__in=(Status.SUCCEEDED, Status.PARTIALLY_REFUNDED))
            .values("type", "biller__category").annotate(total=Sum("amount")))
    from okpay.payments.models import BillerCategory

    totals: OrderedDict[str, tuple[str, int]] = OrderedDict()
    for row in rows:
        if row["type"] == TxnType.BILL_PAYMENT and row["biller__category"]:
            key, label = row["biller__category"], str(BillerCategory(row["biller__category"]).label)
        else:
            key, label = row["type"], str(TxnType(row["type"]).label)
        previous = totals.get(key, (label, 0))
        totals[key] = (label, previous[1] + int(row["total"] or 0))
    grand = sum(amount for _, amount in totals.values())
    slices = [Slice(key, label, amount, amount / grand if grand else 0.0) for key, (label, amount) in totals.items()]
    return sorted(slices, key=lambda s: -s.amount)


def notifications_for(user: User, limit: int = 30) -> list[Notification]:
    return list(Notification.objects.filter(user=user).select_related("transaction").order_by("-pk")[:limit])


def unread_count(user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
