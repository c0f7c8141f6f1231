"""Issue 16.10: a rogue agent or supervisor. A failed bill is paid again once; an agent's money
actions on one customer add up per day against the four-eyes amount; nobody decides a risk review
of their own transfer or of a customer whose ticket they handle; risk reviews are decided in the
desk, with four-eyes above the amount."""

from __future__ import annotations

import pytest

from okpay.audit.models import AuditRecord
from okpay.core.errors import Forbidden
from okpay.identity.models import User
from okpay.payments import services as payments
from okpay.payments.errors import AlreadyRetried, RiskReviewConflict
from okpay.payments.models import Transaction
from okpay.support import actions
from okpay.support import services as s
from okpay.support.models import ActionRequest, RiskDecision
from tests.factories import sign_in, stepped_up, user_create
from tests.payments.test_services import assert_ledger_ok
from tests.support.helpers import web_ticket

pytestmark = pytest.mark.django_db


def available(user: User) -> int:
    from okpay.ledger.selectors import balances_for_owner

    return sum(b.available for b in balances_for_owner(user))


def failed_bill(user: User, settings, amount: int = 1_200) -> Transaction:  # type: ignore[no-untyped-def]
    from okpay.payments.billers import billers_seed

    billers_seed()
    settings.OKPAY_BILL_SUBMIT_SECONDS = 0
    settings.OKPAY_BILL_CONFIRM_SECONDS = 0
    payments.topup_create(user=user, amount=50_000)
    failed = payments.bill_payment_create(user=user, biller="sh-water", account_reference="12345670", amount=amount)
    payments.payments_sweep()
    failed.refresh_from_db()
    assert failed.status == "failed"
    return failed


def test_a_failed_bill_is_paid_again_only_once(alice, agent, settings, fake_clock):
    settings.OKPAY_SUPPORT_FOUR_EYES_AMOUNT = 100_000
    failed = failed_bill(alice, settings)
    t = web_ticket(alice, transaction_id=failed.public_id)
    first = actions.action_request(ticket=t, agent=agent, kind="bill_payment_retry", reason="客户要求重新缴费",
                                   transaction_id=failed.public_id)
    assert first.state == "executed"
    again = Transaction.objects.get(public_id=first.result["transaction"])
    assert again.retry_of_id == failed.pk and available(alice) == 50_000 - 1_200
    with pytest.raises(AlreadyRetried):
        actions.action_request(ticket=t, agent=agent, kind="bill_payment_retry", reason="再缴一次",
                               transaction_id=failed.public_id)
    desk = sign_in(agent)
    again_on_the_desk = desk.post(f"/desk/t/{t.public_id}/action/", {
        "idempotency_key": "rogue-retry-on-the-desk", "kind": "bill_payment_retry", "reason": "再缴一次",
        "transaction_id": failed.public_id})
    assert again_on_the_desk.status_code == 409
    assert list(ActionRequest.objects.values_list("state", flat=True)) == ["executed"]
    with pytest.raises(AlreadyRetried) as caught:
        payments.bill_payment_retry(user=alice, txn_id=failed.public_id)
    assert caught.value.status == 409
    assert Transaction.objects.filter(type="bill_payment").count() == 2
    assert available(alice) == 50_000 - 1_200
    assert_ledger_ok()


def test_an_agents_money_actions_on_one_customer_add_up_per_day(alice, agent, settings, fake_clock):
    settings.OKPAY_SUPPORT_FOUR_EYES_AMOUNT = 100_000
    payments.topup_create(user=alice, amount=120_000)
    held = [payments.withdrawal_create(user=alice, amount=40_000) for _ in range(3)]
    t = web_ticket(alice)

    def cancel(txn: Transaction, who: User = agent):  # type: ignore[no-untyped-def]
        return actions.action_request(ticket=t, agent=who, kind="transaction_cancel", reason="客户要求取消",
                                      transaction_id=txn.public_id)

    assert [cancel(held[0]).state, cancel(held[1]).state] == ["executed", "executed"]  # 80 000 so far
    third = cancel(held[2])  # 120 000 today on Alice: a supervisor must approve
    held[2].refresh_from_db()
    assert (third.state, held[2].status) == ("pending", "pending")
    assert available(alice) == 80_000
    assert AuditRecord.objects.filter(action="support.action_requested", detail__needs_approval=True).count() == 1


def test_the_daily_sum_is_per_agent_per_customer_per_day(alice, bob, agent, settings, fake_clock):
    settings.OKPAY_SUPPORT_FOUR_EYES_AMOUNT = 100_000
    other_agent = user_create("agent2@example.com", name="Agent 2", role="agent")
    payments.topup_create(user=alice, amount=270_000)
    payments.topup_create(user=bob, amount=90_000)
    a1, a2, a3 = (payments.withdrawal_create(user=alice, amount=90_000) for _ in range(3))
    b1 = payments.withdrawal_create(user=bob, amount=90_000)
    ta, tb = web_ticket(alice), web_ticket(bob)

    def cancel(ticket, txn, who=agent) -> str:  # type: ignore[no-untyped-def]
        return actions.action_request(ticket=ticket, agent=who, kind="transaction_cancel", reason="客户要求取消",
                                      transaction_id=txn.public_id).state

    assert cancel(ta, a1) == "executed"
    assert cancel(tb, b1) == "executed"  # another customer: a sum of its own
    assert cancel(ta, a2, other_agent) == "executed"  # another agent: a sum of their own
    fake_clock.advance(days=1)  # the next day starts from zero
    assert cancel(ta, a3) == "executed"


def held_transfer(sender: User, to: User, settings, amount: int = 60_000) -> Transaction:  # type: ignore[no-untyped-def]
    settings.OKPAY_RISK_REVIEW_AMOUNT = 50_000
    payments.topup_create(user=sender, amount=amount)
    # A first payment to this payee above OKPAY_STEP_UP_NEW_PAYEE_AMOUNT: confirmed by a code first.
    txn = stepped_up(sender, lambda code: payments.transfer_create(sender=sender, to=to.email, amount=amount,
                                                                   otp_code=code))
    assert (txn.status, txn.pending_reason) == ("pending", "risk_review")
    return txn


def test_nobody_decides_a_risk_review_of_their_own_transfer(bob, supervisor, settings, fake_clock):
    txn = held_transfer(supervisor, bob, settings)
    for decide in (payments.risk_review_approve, payments.risk_review_decline):
        with pytest.raises(RiskReviewConflict):
            decide(txn_id=txn.public_id, actor=supervisor)
    client = sign_in(supervisor)
    response = client.post(f"/desk/risk-reviews/{txn.public_id}/decide/", {"decision": "approve"})
    assert response.status_code == 403
    txn.refresh_from_db()
    assert (txn.status, available(bob)) == ("pending", 0) and not RiskDecision.objects.exists()


def test_a_supervisor_handling_the_customers_ticket_does_not_decide_its_review(alice, bob, agent, supervisor,
                                                                                 settings, fake_clock):
    settings.OKPAY_SUPPORT_FOUR_EYES_AMOUNT = 1_000_000
    txn = held_transfer(alice, bob, settings)
    t = web_ticket(alice, transaction_id=txn.public_id)
    s.ticket_assign(ticket=t, assignee=supervisor, actor=supervisor)
    with pytest.raises(RiskReviewConflict):
        payments.risk_review_approve(txn_id=txn.public_id, actor=supervisor)
    # through an agent's request on that ticket: the supervisor who handles it cannot carry it out
    action = actions.action_request(ticket=t, agent=agent, kind="risk_review_approve", reason="客户确认",
                                    transaction_id=txn.public_id)
    assert action.state == "pending"
    actions.action_decide(action=action, supervisor=supervisor, approve=True)
    action.refresh_from_db()
    txn.refresh_from_db()
    assert (action.state, action.result["error"], txn.status) == ("failed", "conflict_of_interest", "pending")
    # another supervisor, not on the ticket, can
    other = user_create("boss2@example.com", name="Boss 2", role="supervisor")
    payments.risk_review_approve(txn_id=txn.public_id, actor=other)
    txn.refresh_from_db()
    assert txn.status == "succeeded" and available(bob) == 60_000


def test_risk_reviews_are_decided_in_the_desk_with_four_eyes(alice, bob, supervisor, agent, settings, fake_clock):
    settings.OKPAY_SUPPORT_FOUR_EYES_AMOUNT = 50_000
    big = held_transfer(alice, bob, settings, amount=60_000)
    second = user_create("boss2@example.com", name="Boss 2", role="supervisor")
    one, two = sign_in(supervisor), sign_in(second)
    assert sign_in(agent).get("/desk/risk-reviews/").status_code == 403
    page = one.get("/desk/risk-reviews/")
    body = page.content.decode()
    assert page.status_code == 200 and big.public_id in body and alice.public_id in body
    assert "data-reason>" in body and ("large amount" in body or "大额" in body)
    url = f"/desk/risk-reviews/{big.public_id}/decide/"
    assert one.post(url, {"decision": "approve", "note": "客户已电话确认"}).status_code == 302
    big.refresh_from_db()
    assert big.status == "pending" and available(bob) == 0  # a proposal only
    assert one.post(url, {"decision": "approve"}).status_code == 403  # the proposer cannot confirm
    assert "data-proposal" in one.get("/desk/risk-reviews/").content.decode()
    assert two.post(url, {"decision": "approve"}).status_code == 302
    big.refresh_from_db()
    assert big.status == "succeeded" and available(bob) == 60_000
    decision = RiskDecision.objects.get()
    assert (decision.state, decision.proposed_by, decision.decided_by) == ("executed", supervisor, second)
    assert AuditRecord.objects.filter(action="support.risk_review.confirm").count() == 1
    # below the amount, or declining: one supervisor decides at once; the money returns to the sender
    small = held_transfer(alice, bob, settings, amount=50_000)
    assert one.post(f"/desk/risk-reviews/{small.public_id}/decide/", {"decision": "decline"}).status_code == 302
    small.refresh_from_db()
    assert (small.status, small.failure_reason) == ("failed", "declined_by_review")
    assert_ledger_ok()


def test_the_admin_no_longer_approves_above_the_four_eyes_amount(alice, bob, settings, fake_clock):
    settings.OKPAY_SUPPORT_FOUR_EYES_AMOUNT = 50_000
    txn = held_transfer(alice, bob, settings, amount=60_000)
    operator = user_create("operator@example.com", name="Operator", role="admin")
    client = sign_in(operator)
    client.post("/admin/payments/transaction/", {"action": "approve_reviews", "_selected_action": [txn.pk]})
    txn.refresh_from_db()
    assert txn.status == "pending" and available(bob) == 0
    with pytest.raises(Forbidden):
        payments.risk_review_approve(txn_id=txn.public_id, actor=alice)


def test_a_retry_waiting_for_approval_cannot_be_asked_twice(alice, agent, supervisor, settings, fake_clock):
    settings.OKPAY_SUPPORT_FOUR_EYES_AMOUNT = 1_000  # the 1 200 retry needs a supervisor
    failed = failed_bill(alice, settings)
    t = web_ticket(alice, transaction_id=failed.public_id)
    waiting = actions.action_request(ticket=t, agent=agent, kind="bill_payment_retry", reason="客户要求重新缴费",
                                     transaction_id=failed.public_id)
    assert waiting.state == "pending"
    with pytest.raises(AlreadyRetried):
        actions.action_request(ticket=t, agent=agent, kind="bill_payment_retry", reason="再缴一次",
                               transaction_id=failed.public_id)
    actions.action_decide(action=waiting, supervisor=supervisor, approve=True)
    waiting.refresh_from_db()
    assert waiting.state == "executed" and Transaction.objects.filter(retry_of=failed).count() == 1
    assert available(alice) == 50_000 - 1_200
