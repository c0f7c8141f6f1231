from __future__ import annotations

from django import template
from django.utils.translation import get_language, gettext

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


@register.filter
def counterparty(txn: object) -> str:
    """The other party's name; the sandbox bank's names are shown in the reader's language."""
    biller = getattr(txn, "biller", None) if getattr(txn, "biller_id", None) else None
    if biller is not None and not (get_language() or "zh").startswith("zh"):
        return biller.name_en
    return display_counterparty(getattr(txn, "counterparty_name", ""))


def display_counterparty(name: str) -> str:
    from okpay.payments.services import SANDBOX_BANK, SANDBOX_CARD

    return gettext(name) if name in (SANDBOX_BANK, SANDBOX_CARD) else name


@register.simple_tag
def once_key() -> str:
    """A hidden idempotency key for a money form, fresh at each render (``core.idempotency.form_once``)."""
    import secrets

    from django.utils.html import format_html

    return format_html('<input type="hidden" name="idempotency_key" value="{}">', secrets.token_urlsafe(18))
