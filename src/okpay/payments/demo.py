"""Demo data of payments for ``okpay demo``: the sandbox billers and starting balances."""

from __future__ import annotations

from django.db import transaction

from okpay.identity.models import User
from okpay.ledger.selectors import balances_for_owner
from okpay.payments.billers import billers_seed
from okpay.payments.services import topup_create

DEMO_BALANCES = {"alice@okpay.example": 500_000, "bob@okpay.example": 200_000}  # ¥5,000.00 and ¥2,000.00


def payments_demo() -> list[str]:
    """Idempotent: seeds the billers and tops up a demo customer whose wallet is still empty."""
    lines = [f"billers: {billers_seed()} added"]
    for email, amount in DEMO_BALANCES.items():
        user = User.objects.filter(email=email).first()
        if user is None:
            continue
        with transaction.atomic():
            User.objects.select_for_update(no_key=True).get(pk=user.pk)
            if not any(b.total or b.held for b in balances_for_owner(user)):
                topup_create(user=user, amount=amount)
                lines.append(f"{email}: topped up {amount / 100:.2f} CNY")
    return lines
