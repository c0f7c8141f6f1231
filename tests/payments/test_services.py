"""Each flow and each refusal, with the ledger checked afterwards."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.mail import EmailMessage
from django.utils import timezone

from okpay.identity.models import OutboundEmail
from okpay.ledger.models import Transfer
from okpay.payments import notify, services
from okpay.payments.errors import (
    AccountFrozen,
    EmailNotVerified,
    InsufficientFunds,
    LimitExceeded,
    NotCancellable,
    RecipientNotFound,
)
from okpay.payments.models import Notification, Transaction
from tests.factories import sign_in, stepped_up, user_create
from tests.payments.conftest import assert_ledger_ok, assert_status_agrees_with_ledger, available, held

pytestmark = pytest.mark.django_db

_ = EmailMessage


def test_topup_is_immediate_from_the_funding_account(alice):
    txn = services.topup_create(user=alice, amount=12_345)
    assert (txn.status, txn.type, txn.direction, txn.amount) == ("succeeded", "top_up", "credit", 12_345)
    assert available(alice) == 12_345
    assert [e.status for e in txn.events.all()] == ["created", "succeeded"]
    moved = Transfer.objects.get(reference=txn.public_id)
    assert moved.debit_account.kind == "funding" and moved.amount == 12_345
    assert Notification.objects.filter(user=alice, kind="settled").count() == 1
    assert_ledger_ok()


def test_transfer_to_a_customer_by_email_credits_them_at_once(funded, bob):
    txn = services.transfer_create(sender=funded, to="BOB@example.com", amount=2_500, note="午饭")
    assert txn.status == "succeeded" and txn.counterparty_name == "B*b"
    assert available(funded) == 97_500 and available(bob) == 2_500
    peer = Transaction.objects.get(user=bob)
    assert (peer.direction, peer.status, peer.amount, peer.note, peer.peer_id) == ("credit", "succeeded", 2_500, "午饭",
                                                                                   txn.pk)
    assert set(Notification.objects.values_list("kind", flat=True)) == {"settled", "sent", "received"}
    assert OutboundEmail.objects.filter(to__icontains="bob@example.com").count() == 0  # the worker writes them
    assert notify.emails_send_due() == 3
    assert notify.emails_send_due() == 0
    [mail] = OutboundEmail.objects.filter(to__icontains="bob@example.com")
    assert mail.subject == "OKPay · 您收到 Alice 的转账 ¥25.00"
    assert anti_phishing_code_shown(mail, bob)
    assert_ledger_ok()


def test_transfer_by_wallet_id_and_phone(funded, bob):
    bob.phone, bob.phone_verified_at = "+8613800138000", timezone.now()
    bob.save()
    services.transfer_create(sender=funded, to=services.wallet(bob).public_id, amount=100)
    services.transfer_create(sender=funded, to="+86 138 0013 8000", amount=200)
    assert available(bob) == 300
    with pytest.raises(RecipientNotFound):
        services.transfer_create(sender=funded, to="+86 139 0000 0000", amount=100)
    with pytest.raises(RecipientNotFound):
        services.transfer_create(sender=funded, to="acc_" + "A" * 20, amount=100)
    assert available(funded) == 99_700
    assert_ledger_ok()


def test_transfer_to_an_unregistered_email_waits_and_is_claimed_on_verification(funded, client):
    txn = services.transfer_create(sender=funded, to="newcomer@example.com", amount=5_000)
    assert (txn.status, txn.pending_reason) == ("pending", "awaiting_claim")
    assert txn.expected_by - timezone.now() > timedelta(days=6, hours=23)
    assert available(funded) == 95_000 and held(funded) == 5_000
    invite = OutboundEmail.objects.get(to__icontains="newcomer@example.com")
    assert "Alice" in invite.subject
    # Registration alone does not claim; verification does (identity's EMAIL_VERIFIED_HOOKS).
    newcomer = user_create("newcomer@example.com", verified=False)
    assert services.transfers_claim_for(newcomer) == 0
    newcomer.email_verified_at = timezone.now()
    newcomer.save()
    assert services.transfers_claim_for(newcomer) == 1
    txn.refresh_from_db()
    assert txn.status == "succeeded" and txn.counterparty_user == newcomer
    assert available(newcomer) == 5_000 and held(funded) == 0 and available(funded) == 95_000
    assert services.transfers_claim_for(newcomer) == 0
    assert_ledger_ok()
    assert_status_agrees_with_ledger()


def test_the_email_verification_hook_claims(funded, settings):
    from okpay.identity import services as identity
    from okpay.identity.models import EmailToken

    services.transfer_create(sender=funded, to="carol@example.com", amount=700)
    carol = identity.user_register(email="carol@example.com", password="Tulip-river-93-lantern", display_name="Carol")
    raw = identity._token_issue(user=carol, purpose=EmailToken.Purpose.VERIFY_EMAIL, ttl=timedelta(hours=1))
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        identity.email_verify(token=raw)
    assert available(carol) == 700
    assert_ledger_ok()


def test_unclaimed_transfer_returns_after_the_claim_period(funded):
    txn = services.transfer_create(sender=funded, to="nobody@example.com", amount=3_000)
    assert services.sweep_step("claim_return") == 0
    later = timezone.now() + timedelta(days=7, minutes=1)
    assert services.sweep_step("claim_return", now=later) == 1
    txn.refresh_from_db()
    assert (txn.status, txn.pending_reason, txn.events.last().reason) == ("cancelled", "", "returned_unclaimed")
    assert available(funded) == 100_000 and held(funded) == 0
    assert services.sweep_step("claim_return", now=later) == 0
    assert Notification.objects.filter(kind="returned").count() == 1
    assert_ledger_ok()
    assert_status_agrees_with_ledger()


def test_cancel_pending_transfer_releases_the_hold_and_settled_is_not_cancellable(funded, bob):
    txn = services.transfer_create(sender=funded, to="later@example.com", amount=4_000)
    cancelled = services.transaction_cancel(user=funded, txn_id=txn.public_id)
    assert cancelled.status == "cancelled" and available(funded) == 100_000
    with pytest.raises(NotCancellable):
        services.transaction_cancel(user=funded, txn_id=txn.public_id)
    done = services.transfer_create(sender=funded, to="bob@example.com", amount=1_000)
    with pytest.raises(NotCancellable):
        services.transaction_cancel(user=funded, txn_id=done.public_id)
    assert available(funded) == 99_000 and available(bob) == 1_000
    assert_ledger_ok()


def test_someone_elses_transaction_is_not_found(funded, mallory):
    from okpay.core.errors import NotFound

    txn = services.transfer_create(sender=funded, to="x@example.com", amount=1_000)
    with pytest.raises(NotFound):
        services.transaction_cancel(user=mallory, txn_id=txn.public_id)
    txn.refresh_from_db()
    assert txn.status == "pending" and held(funded) == 1_000


def test_insufficient_funds_changes_nothing(funded, bob):
    with pytest.raises(InsufficientFunds):
        services.transfer_create(sender=funded, to="bob@example.com", amount=100_001)
    assert Transaction.objects.filter(type="transfer").count() == 0
    assert available(funded) == 100_000 and available(bob) == 0
    assert_ledger_ok()


def test_frozen_and_unverified_senders_are_refused(funded, bob):
    unverified = user_create("unverified@example.com", verified=False)
    services.topup_create(user=unverified, amount=1_000)
    with pytest.raises(EmailNotVerified):
        services.transfer_create(sender=unverified, to="bob@example.com", amount=100)
    funded.frozen_at = timezone.now()
    funded.save()
    with pytest.raises(AccountFrozen):
        services.transfer_create(sender=funded, to="bob@example.com", amount=100)
    with pytest.raises(AccountFrozen):
        services.withdrawal_create(user=funded, amount=100)
    assert available(funded) == 100_000 and available(bob) == 0 and available(unverified) == 1_000
    assert_ledger_ok()


def test_limits_per_transaction_and_daily(funded, bob, settings):
    settings.OKPAY_LIMIT_EMAIL_PER_TXN = 5_000
    settings.OKPAY_LIMIT_EMAIL_DAILY = 8_000
    with pytest.raises(LimitExceeded):
        services.transfer_create(sender=funded, to="bob@example.com", amount=5_001)
    services.transfer_create(sender=funded, to="bob@example.com", amount=5_000)
    with pytest.raises(LimitExceeded):
        services.transfer_create(sender=funded, to="bob@example.com", amount=3_001)
    services.transfer_create(sender=funded, to="bob@example.com", amount=3_000)
    limits = services.limits_for(funded)
    assert (limits.level, limits.used_today, limits.remaining_today) == ("email", 8_000, 0)
    funded.phone_verified_at = timezone.now()
    funded.save()
    assert services.limits_for(funded).level == "phone"
    assert available(bob) == 8_000
    assert_ledger_ok()


def test_withdrawal_waits_for_the_bank_and_settles(funded, settings):
    settings.OKPAY_WITHDRAWAL_SUBMIT_SECONDS = 0
    settings.OKPAY_WITHDRAWAL_SETTLE_SECONDS = 0
    txn = services.withdrawal_create(user=funded, amount=10_000)
    assert (txn.status, txn.pending_reason, txn.cancellable) == ("pending", "awaiting_bank", True)
    assert held(funded) == 10_000
    assert services.sweep_step("withdrawal_submit") == 1
    txn.refresh_from_db()
    assert txn.submitted_at is not None and not txn.cancellable
    with pytest.raises(NotCancellable):
        services.transaction_cancel(user=funded, txn_id=txn.public_id)
    assert services.sweep_step("withdrawal_settle") == 1
    txn.refresh_from_db()
    assert txn.status == "succeeded" and held(funded) == 0 and available(funded) == 90_000
    assert [e.reason for e in txn.events.all()] == ["created", "requested", "submitted", "settled"]
    assert_ledger_ok()
    assert_status_agrees_with_ledger()


def test_withdrawal_refused_by_the_bank_returns_the_money(funded, settings):
    settings.OKPAY_WITHDRAWAL_SUBMIT_SECONDS = 0
    settings.OKPAY_WITHDRAWAL_SETTLE_SECONDS = 0
    settings.OKPAY_WITHDRAWAL_FAILURE_PERCENT = 100
    txn = services.withdrawal_create(user=funded, amount=10_000)
    services.payments_sweep()
    txn.refresh_from_db()
    assert (txn.status, txn.failure_reason) == ("failed", "bank_refused")
    assert available(funded) == 100_000
    assert_ledger_ok()


def test_bill_payment_confirmed_or_rejected(funded, billers, settings):
    settings.OKPAY_BILL_SUBMIT_SECONDS = 0
    settings.OKPAY_BILL_CONFIRM_SECONDS = 0
    good = services.bill_payment_create(user=funded, biller="state-grid-sh", account_reference="1234 5678 97",
                                        amount=8_800)
    bad = services.bill_payment_create(user=funded, biller="sh-water", account_reference="12345670", amount=1_200)
    assert (good.status, good.pending_reason, good.account_reference) == ("pending", "awaiting_biller", "1234567897")
    assert held(funded) == 10_000
    services.payments_sweep()
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.status == "succeeded"
    assert (bad.status, bad.failure_reason) == ("failed", "reference_rejected")
    assert available(funded) == 100_000 - 8_800 and held(funded) == 0
    assert_ledger_ok()
    assert_status_agrees_with_ledger()


def test_bill_reference_format_is_checked_before_paying(funded, billers):
    from okpay.core.errors import InvalidRequest

    with pytest.raises(InvalidRequest) as caught:
        services.bill_payment_create(user=funded, biller="sh-gas", account_reference="123", amount=1_000)
    assert caught.value.param == "account_reference"
    assert Transaction.objects.filter(type="bill_payment").count() == 0


def test_risk_review_holds_then_supervisor_approves(funded, bob, supervisor, settings):
    settings.OKPAY_RISK_REVIEW_AMOUNT = 50_000
    txn = stepped_up(funded, lambda code: services.transfer_create(sender=funded, to="bob@example.com",
                                                                    amount=60_000, otp_code=code))  # a new payee
    assert (txn.status, txn.pending_reason, txn.review_reason) == ("pending", "risk_review", "large_amount")
    assert held(funded) == 60_000 and available(bob) == 0
    from okpay.core.errors import Forbidden

    with pytest.raises(Forbidden):
        services.risk_review_approve(txn_id=txn.public_id, actor=bob)
    services.risk_review_approve(txn_id=txn.public_id, actor=supervisor)
    txn.refresh_from_db()
    assert txn.status == "succeeded" and available(bob) == 60_000 and held(funded) == 0
    assert_ledger_ok()
    assert_status_agrees_with_ledger()


def test_risk_review_decline_and_expiry(funded, bob, supervisor, settings):
    settings.OKPAY_RISK_REVIEW_AMOUNT = 10_000
    first = services.transfer_create(sender=funded, to="bob@example.com", amount=10_000)
    second = services.transfer_create(sender=funded, to="bob@example.com", amount=20_000)
    services.risk_review_decline(txn_id=first.public_id, actor=supervisor)
    first.refresh_from_db()
    assert (first.status, first.failure_reason) == ("failed", "declined_by_review")
    later = timezone.now() + timedelta(hours=25)
    assert services.sweep_step("review_expire", now=later) == 1
    second.refresh_from_db()
    assert second.status == "cancelled"
    assert available(funded) == 100_000 and available(bob) == 0
    assert_ledger_ok()


def test_new_recipient_rule(funded, bob, settings):
    settings.OKPAY_RISK_NEW_RECIPIENT_AMOUNT = 5_000
    first = services.transfer_create(sender=funded, to="bob@example.com", amount=5_000)
    assert first.review_reason == "new_recipient"
    small = services.transfer_create(sender=funded, to="bob@example.com", amount=100)
    assert small.status == "succeeded"
    again = services.transfer_create(sender=funded, to="bob@example.com", amount=5_000)
    assert again.status == "succeeded"


def test_overdue_pending_is_flagged_once(funded, settings):
    txn = services.withdrawal_create(user=funded, amount=1_000)
    later = timezone.now() + timedelta(hours=1)
    assert services.overdue_flag_due(now=later) == 1
    assert services.overdue_flag_due(now=later) == 0
    txn.refresh_from_db()
    assert txn.overdue_flagged_at is not None and txn.status == "pending"


def test_status_only_moves_along_the_state_machine(funded):
    txn = services.topup_create(user=funded, amount=100)
    with pytest.raises(NotCancellable):
        services._move(txn, "pending", actor="test", pending_reason="awaiting_bank", expected_by=timezone.now())


def test_masking():
    assert services.mask_name("王小明") == "王*明"
    assert services.mask_name("Bo") == "*o"
    assert services.mask_email("bob@example.com") == "b***@example.com"


def anti_phishing_code_shown(mail, user) -> bool:  # type: ignore[no-untyped-def]
    """The email carries the recipient's own anti-phishing code."""
    code = user.anti_phishing_code
    return bool(code) and code in mail.body_text and code in mail.body_html


def test_admin_actions_decide_risk_reviews(funded, bob, supervisor, settings):

    settings.OKPAY_RISK_REVIEW_AMOUNT = 10_000
    held_one = services.transfer_create(sender=funded, to="bob@example.com", amount=10_000)
    held_two = services.transfer_create(sender=funded, to="bob@example.com", amount=12_000)
    supervisor.is_superuser = True  # the admin site's model permissions; the service checks the role itself
    supervisor.save()
    client = sign_in(supervisor)
    url = "/admin/payments/transaction/"
    assert client.get(url).status_code == 200
    client.post(url, {"action": "approve_reviews", "_selected_action": [held_one.pk]})
    client.post(url, {"action": "decline_reviews", "_selected_action": [held_two.pk]})
    held_one.refresh_from_db()
    held_two.refresh_from_db()
    assert (held_one.status, held_two.status) == ("succeeded", "failed")
    assert available(bob) == 10_000 and available(funded) == 90_000 and held(funded) == 0
    assert_ledger_ok()


def test_cancel_on_behalf_of_the_customer_records_the_agent(funded, agent):
    txn = services.transfer_create(sender=funded, to="later@example.com", amount=1_000)
    services.transaction_cancel(user=funded, txn_id=txn.public_id, actor=agent)
    last = txn.events.last()
    assert (last.status, last.reason, last.actor) == ("cancelled", "cancelled_by_support", agent.public_id)
    assert available(funded) == 100_000


def test_a_failed_bill_payment_can_be_paid_again(funded, billers, settings):
    settings.OKPAY_BILL_SUBMIT_SECONDS = 0
    settings.OKPAY_BILL_CONFIRM_SECONDS = 0
    bad = services.bill_payment_create(user=funded, biller="sh-water", account_reference="12345670", amount=1_200)
    services.payments_sweep()
    bad.refresh_from_db()
    assert bad.status == "failed"
    again = services.bill_payment_retry(user=funded, txn_id=bad.public_id)
    assert (again.status, again.pending_reason, again.amount) == ("pending", "awaiting_biller", 1_200)
    assert (again.biller_id, again.account_reference) == (bad.biller_id, bad.account_reference)
    assert again.public_id != bad.public_id
    assert held(funded) == 1_200
    bad.refresh_from_db()
    assert bad.status == "failed"  # the failed one keeps its history
    assert_ledger_ok()


def test_only_failed_bill_payments_of_ones_own_can_be_paid_again(funded, billers, bob):
    from okpay.core.errors import NotFound
    from okpay.payments.errors import NotRetryable

    pending = services.bill_payment_create(user=funded, biller="state-grid-sh", account_reference="1234 5678 97",
                                           amount=800)
    with pytest.raises(NotRetryable):
        services.bill_payment_retry(user=funded, txn_id=pending.public_id)
    with pytest.raises(NotFound):
        services.bill_payment_retry(user=bob, txn_id=pending.public_id)
    assert held(funded) == 800
