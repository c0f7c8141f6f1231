"""What the desk reads of the wallet, through the other apps' own selectors and models.

Support may import payments, identity and ledger (DESIGN.md §2); nothing there imports support.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps

from okpay.identity.models import SecurityEvent, User


def payments_ready() -> bool:
    return apps.is_installed("okpay.payments")


def transactions_of(user: User, *, limit: int = 10) -> list[Any]:
    if not payments_ready():
        return []
    from okpay.payments.models import Transaction

    return list(Transaction.objects.filter(user=user).order_by("-created_at", "-pk")[:limit])


def transaction_of(user: User, public_id: str) -> Any | None:
    """The customer's own transaction ``txn_…``, or None."""
    if not payments_ready() or not public_id:
        return None
    from okpay.payments.models import Transaction

    return Transaction.objects.filter(user=user, public_id=public_id).first()


def transactions_by_ids(ids: list[str]) -> dict[str, Any]:
    if not payments_ready() or not ids:
        return {}
    from okpay.payments.models import Transaction

    return {t.public_id: t for t in Transaction.objects.filter(public_id__in=ids)}


def linked_timelines(ids: list[str]) -> list[tuple[Any, list[tuple[Any, str]]]]:
    """The linked transactions with their timelines (each step with its text), in link order."""
    if not payments_ready() or not ids:
        return []
    from okpay.payments.explain import event_text
    from okpay.payments.models import TransactionEvent

    found = transactions_by_ids(ids)
    events: dict[int, list[tuple[Any, str]]] = {}
    for event in TransactionEvent.objects.filter(transaction__in=list(found.values())).order_by("pk"):
        events.setdefault(event.transaction_id, []).append((event, str(event_text(event.reason))))
    return [(found[i], events.get(found[i].pk, [])) for i in ids if i in found]


def balances_of(user: User) -> list[Any]:
    """Read-only: a customer without a wallet account yet simply has no balances."""
    from okpay.ledger.selectors import balances_for_owner

    return list(balances_for_owner(user))


def security_events_of(user: User, *, limit: int = 10) -> list[SecurityEvent]:
    return list(SecurityEvent.objects.filter(user=user).order_by("-pk")[:limit])


def verification_level(user: User) -> str:
    """none → email → phone → two_factor: how much of the account the customer has proved."""
    from okpay.identity.services import two_factor_enabled

    level = "none"
    if user.email_verified_at:
        level = "email"
        if getattr(user, "phone_verified_at", None):
            level = "phone"
        if two_factor_enabled(user):
            level = "two_factor"
    return level


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    if not domain:
        return "***"
    keep = local[:1] if len(local) <= 3 else local[:2]
    return f"{keep}***@{domain}"


def mask_phone(phone: str) -> str:
    if len(phone) < 7:
        return "***" if phone else ""
    return f"{phone[:3]}****{phone[-4:]}"
