"""Property: whatever sequence of payments, cancellations, reviews and sweeps happens, the ledger
is sound, each wallet equals its owner's transactions (credits − debits that succeeded; held =
debits still pending), and the usage row equals today's debits that still count, never above the
daily limit."""

from __future__ import annotations

import pytest
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from okpay.core.errors import OkpayError
from okpay.ledger.checks import ledger_check
from okpay.ledger.selectors import account_balance
from okpay.payments import services
from okpay.payments.billers import billers_seed
from okpay.payments.models import Status, Transaction
from tests.factories import user_create
from tests.payments.conftest import assert_usage_agrees, counted_today

pytestmark = pytest.mark.django_db

OPS = st.lists(st.tuples(
    st.sampled_from(["top_up", "transfer", "invite", "bill_ok", "bill_bad", "withdraw", "cancel", "approve",
                     "decline", "sweep", "sweep_later"]),
    st.integers(min_value=1, max_value=60_000)), min_size=1, max_size=25)


def wallet_matches_transactions(user) -> None:  # type: ignore[no-untyped-def]
    mine = Transaction.objects.filter(user=user)

    def total(**kw: object) -> int:
        return int(mine.filter(**kw).aggregate(s=Sum("amount"))["s"] or 0)

    balance = account_balance(services.wallet(user))
    assert balance.total == total(direction="credit", status=Status.SUCCEEDED) - total(direction="debit",
                                                                                       status=Status.SUCCEEDED)
    assert balance.held == total(direction="debit", status=Status.PENDING)


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(ops=OPS, daily=st.sampled_from([2_000_000, 150_000]))
def test_any_sequence_keeps_wallets_equal_to_transactions(ops, daily, settings) -> None:  # type: ignore[no-untyped-def]
    settings.OKPAY_LIMIT_EMAIL_DAILY = daily  # the low one refuses payments and spends what is given back
    settings.OKPAY_BILL_SUBMIT_SECONDS = settings.OKPAY_BILL_CONFIRM_SECONDS = 0
    settings.OKPAY_WITHDRAWAL_SUBMIT_SECONDS = settings.OKPAY_WITHDRAWAL_SETTLE_SECONDS = 0
    settings.OKPAY_WITHDRAWAL_FAILURE_PERCENT = 50
    settings.OKPAY_RISK_REVIEW_AMOUNT = 40_000
    billers_seed()
    stamp = timezone.now().strftime("%H%M%S%f")
    alice = user_create(f"a{stamp}@example.com")
    bob = user_create(f"b{stamp}@example.com")
    boss = user_create(f"s{stamp}@example.com", role="supervisor")
    for op, amount in ops:
        try:
            if op == "top_up":
                services.topup_create(user=alice, amount=amount)
            elif op == "transfer":
                services.transfer_create(sender=alice, to=bob.email, amount=amount)
            elif op == "invite":
                services.transfer_create(sender=alice, to=f"guest{stamp}@example.com", amount=amount)
            elif op in ("bill_ok", "bill_bad"):
                reference = "12345674" if op == "bill_ok" else "12345670"
                services.bill_payment_create(user=alice, biller="sh-water", account_reference=reference,
                                             amount=max(amount, 100))
            elif op == "withdraw":
                services.withdrawal_create(user=alice, amount=amount)
            elif op in ("cancel", "approve", "decline"):
                pending = Transaction.objects.filter(user=alice, status="pending").order_by("pk").first()
                if pending is None:
                    continue
                if op == "cancel":
                    services.transaction_cancel(user=alice, txn_id=pending.public_id)
                elif op == "approve":
                    services.risk_review_approve(txn_id=pending.public_id, actor=boss)
                else:
                    services.risk_review_decline(txn_id=pending.public_id, actor=boss)
            elif op == "sweep":
                services.payments_sweep()
            else:
                later = timezone.now() + timezone.timedelta(days=8)
                for step in ("claim_return", "review_expire"):
                    services.sweep_step(step, now=later)
        except OkpayError:
            pass  # a refusal (no money, not cancellable, not in review...) changes nothing
        wallet_matches_transactions(alice)
        wallet_matches_transactions(bob)
        assert_usage_agrees(alice)
        assert counted_today(alice) <= daily
    assert ledger_check().violations == []
