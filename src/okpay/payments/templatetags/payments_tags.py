from __future__ import annotations

from django import template

from okpay.payments.money import format_money

register = template.Library()


@register.filter
def money(amount: int, currency: str = "CNY") -> str:
    return format_money(amount or 0, currency or "CNY")


@register.filter
def signed(txn: object) -> str:
    sign = "-" if getattr(txn, "direction", "") == "debit" else "+"
    return format_money(txn.amount, txn.currency, sign=sign)  # type: ignore[attr-defined]


@register.filter
def status_class(status: str) -> str:
    return {"succeeded": "status-ok", "pending": "status-pending", "failed": "status-bad",
            "cancelled": "status-bad"}.get(status, "status-ok")


@register.filter
def percent(share: float) -> str:
    return f"{max(2.0, share * 100):.1f}%"
