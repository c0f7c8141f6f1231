"""Agent actions (permission, reason, audit, note), four-eyes approval above the policy amount, the
permission matrix (each role × each action; refused ones change nothing) and audit-chain tampering."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client

from okpay.audit.models import AuditRecord
from okpay.audit.services import audit_verify
from okpay.core.errors import Forbidden, InvalidRequest, NotFound
from okpay.identity import services as identity
from okpay.identity.models import OutboundEmail, User
from okpay.payments import services as payments
from okpay.payments.models import Transaction
from okpay.support import actions
from okpay.support import services as s
from okpay.support.models import ActionRequest, Ticket, TicketEvent, TicketMessage
from okpay.support.permissions import access_desk_ticket
from tests.factories import sign_in, stepped_up, user_create
from tests.support.helpers import web_ticket


def available(user: User) -> int:
    from okpay.ledger.selectors import balances_for_owner

    return sum(b.available for b in balances_for_owner(user))


def snapshot(ticket: Ticket, customer: User) -> tuple[Any, ...]:
    ticket.refresh_from_db()
    customer.refresh_from_db()
    return (ticket.status, ticket.priority, ticket.assignee_id, ticket.team_id,
            TicketMessage.objects.count(), TicketEvent.objects.count(), AuditRecord.objects.count(),
            ActionRequest.objects.count(), list(ActionRequest.objects.values_list("state", flat=True).order_by("pk")),
            customer.frozen_at, OutboundEmail.objects.count())


# --- actions ------------------------------------------------------------------------------------

def test_password_reset_link_is_sent_never_seen(alice, agent, fake_clock):
    t = web_ticket(alice, category="account", subject="忘记密码")
    hash_before = alice.password
    before = OutboundEmail.objects.count()
    action = actions.action_request(ticket=t, agent=agent, kind="password_reset_link", reason="客户忘记密码")
    assert action.state == "executed" and action.result == {"outcome": "sent"}
    alice.refresh_from_db()
    assert alice.password == hash_before
    assert OutboundEmail.objects.count() == before + 1
    note = TicketMessage.objects.filter(ticket=t, author_kind="system").get()
    assert note.visibility == "internal" and "客户忘记密码" in note.body_text
    rec = AuditRecord.objects.filter(action="support.action.password_reset_link").get()
    assert rec.actor == agent.public_id and rec.detail["reason"] == "客户忘记密码"


def test_reason_is_required_and_nothing_happens_without(alice, agent, fake_clock):
    t = web_ticket(alice)
    before = snapshot(t, alice)
    with pytest.raises(InvalidRequest):
        actions.action_request(ticket=t, agent=agent, kind="freeze", reason="  ")
    assert snapshot(t, alice) == before


def test_freeze_by_agent_unfreeze_needs_a_supervisor(alice, agent, supervisor, fake_clock):
    t = web_ticket(alice, category="security", subject="账户被盗")
    actions.action_request(ticket=t, agent=agent, kind="freeze", reason="客户报告账户被盗")
    alice.refresh_from_db()
    assert alice.frozen
    pending = actions.action_request(ticket=t, agent=agent, kind="unfreeze", reason="已核实身份")
    alice.refresh_from_db()
    assert pending.state == "pending" and alice.frozen
    with pytest.raises(Forbidden):
        actions.action_decide(action=pending, supervisor=agent, approve=True)
    done = actions.action_decide(action=pending, supervisor=supervisor, approve=True)
    alice.refresh_from_db()
    assert done.state == "executed" and not alice.frozen and done.decided_by == supervisor


def test_resend_verification(agent, fake_clock):
    carol = user_create("carol@example.com", name="Carol", verified=False)
    t = web_ticket(carol, category="account", subject="没收到验证邮件")
    sent = actions.action_request(ticket=t, agent=agent, kind="verification_resend", reason="客户未收到")
    assert sent.state == "executed"
    dave = user_create("dave@example.com", name="Dave")
    t2 = web_ticket(dave, category="account", subject="x")
    failed = actions.action_request(ticket=t2, agent=agent, kind="verification_resend", reason="r")
    assert failed.state == "failed" and failed.result["error"] == "conflict"


@pytest.fixture
def pending_withdrawal(alice):  # type: ignore[no-untyped-def]
    def make(amount: int) -> Transaction:
        payments.topup_create(user=alice, amount=amount)
        return stepped_up(alice, lambda code: payments.withdrawal_create(user=alice, amount=amount, otp_code=code))
    return make


def test_cancel_small_pending_transaction_at_once(alice, agent, pending_withdrawal, settings, fake_clock):
    settings.OKPAY_SUPPORT_FOUR_EYES_AMOUNT = 100_000
    txn = pending_withdrawal(50_000)
    assert available(alice) == 0
    t = web_ticket(alice, transaction_id=txn.public_id)
    action = actions.action_request(ticket=t, agent=agent, kind="transaction_cancel", reason="客户要求取消",
                                    transaction_id=txn.public_id)
    txn.refresh_from_db()
    assert action.state == "executed" and txn.status == "cancelled" and available(alice) == 50_000
    last = txn.events.order_by("pk").last()
    assert last.reason == "cancelled_by_support"


def test_four_eyes_above_the_policy_amount(alice, agent, supervisor, pending_withdrawal, settings, fake_clock):
    settings.OKPAY_SUPPORT_FOUR_EYES_AMOUNT = 100_000
    second = user_create("boss2@example.com", name="Boss 2", role="supervisor")
    txn = pending_withdrawal(200_000)
    t = web_ticket(alice, transaction_id=txn.public_id)
    # even a supervisor's own request waits for a second person
    action = actions.action_request(ticket=t, agent=supervisor, kind="transaction_cancel", reason="客户要求",
                                    transaction_id=txn.public_id)
    txn.refresh_from_db()
    assert action.state == "pending" and txn.status == "pending" and available(alice) == 0
    before = snapshot(t, alice)
    with pytest.raises(Forbidden):
        actions.action_decide(action=action, supervisor=supervisor, approve=True)
    with pytest.raises(Forbidden):
        actions.action_decide(action=action, supervisor=agent, approve=True)
    assert snapshot(t, alice) == before
    actions.action_decide(action=action, supervisor=second, approve=True)
    txn.refresh_from_db()
    action.refresh_from_db()
    assert action.state == "executed" and txn.status == "cancelled" and available(alice) == 200_000
    with pytest.raises(s.Conflict):
        actions.action_decide(action=action, supervisor=second, approve=True)
    # the database refuses a decision by the requester too
    with pytest.raises(IntegrityError), transaction.atomic():
        ActionRequest.objects.filter(pk=action.pk).update(decided_by=supervisor)


def test_rejected_request_does_nothing(alice, agent, supervisor, pending_withdrawal, settings, fake_clock):
    settings.OKPAY_SUPPORT_FOUR_EYES_AMOUNT = 100_000
    txn = pending_withdrawal(150_000)
    t = web_ticket(alice, transaction_id=txn.public_id)
    action = actions.action_request(ticket=t, agent=agent, kind="transaction_cancel", reason="r",
                                    transaction_id=txn.public_id)
    actions.action_decide(action=action, supervisor=supervisor, approve=False, note="客户已撤回")
    txn.refresh_from_db()
    assert txn.status == "pending" and ActionRequest.objects.get().state == "rejected"


def test_transaction_must_belong_to_the_ticket_customer(alice, bob, agent, pending_withdrawal, fake_clock):
    txn = pending_withdrawal(10_000)
    t = web_ticket(bob)
    with pytest.raises(NotFound):
        actions.action_request(ticket=t, agent=agent, kind="transaction_cancel", reason="r",
                               transaction_id=txn.public_id)
    txn.refresh_from_db()
    assert txn.status == "pending" and ActionRequest.objects.count() == 0


# --- permission matrix --------------------------------------------------------------------------

ROLES = ["customer", "merchant", "agent", "supervisor", "admin"]
ACTIONS = ["open_ticket", "reply", "note", "status", "assign", "view_context", "freeze", "unfreeze",
           "approve", "dashboard"]
# what each role gets: ok, pending (waits for a supervisor) or denied
EXPECTED = {
    "customer": dict.fromkeys(ACTIONS, "denied"),
    "merchant": dict.fromkeys(ACTIONS, "denied"),
    "agent": {**dict.fromkeys(ACTIONS, "ok"), "unfreeze": "pending", "approve": "denied", "dashboard": "denied"},
    "supervisor": dict.fromkeys(ACTIONS, "ok"),
    "admin": dict.fromkeys(ACTIONS, "ok"),
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(role, action, alice, fake_clock):
    actor = user_create(f"{role}-actor@example.com", name=role.title(), role=role)
    other_agent = user_create("helper@example.com", name="Helper", role="agent")
    t = web_ticket(alice, category="security", subject="账户被冻结")
    if action in ("unfreeze", "approve"):
        identity.account_freeze(user=alice, via="self")
    pending = actions.action_request(ticket=t, agent=other_agent, kind="unfreeze", reason="核实") \
        if action == "approve" else None
    runs: dict[str, Callable[[], Any]] = {
        "open_ticket": lambda: access_desk_ticket(actor, t.public_id),
        "reply": lambda: s.agent_reply(ticket=t, agent=actor, body="您好"),
        "note": lambda: s.agent_reply(ticket=t, agent=actor, body="内部", internal=True),
        "status": lambda: s.ticket_status_set(ticket=t, actor=actor, status="on_hold"),
        "assign": lambda: s.ticket_assign(ticket=t, actor=actor, assignee=other_agent),
        "view_context": lambda: s.ticket_view_record(ticket=t, agent=actor, what="customer_context"),
        "freeze": lambda: actions.action_request(ticket=t, agent=actor, kind="freeze", reason="r"),
        "unfreeze": lambda: actions.action_request(ticket=t, agent=actor, kind="unfreeze", reason="r"),
        "approve": lambda: actions.action_decide(action=pending, supervisor=actor, approve=True),
    }
    expected = EXPECTED[role][action]
    before = snapshot(t, alice)
    if action == "dashboard":
        status = sign_in(actor).get("/desk/dashboard/").status_code
        assert status == (200 if expected == "ok" else 403)
        return
    if expected == "denied":
        with pytest.raises((Forbidden, NotFound)):
            runs[action]()
        assert snapshot(t, alice) == before
        return
    result = runs[action]()
    assert snapshot(t, alice) != before or action == "open_ticket"
    alice.refresh_from_db()
    if action == "freeze":
        assert alice.frozen
    if action == "unfreeze":
        assert isinstance(result, ActionRequest)
        assert result.state == ("pending" if expected == "pending" else "executed")
        assert alice.frozen == (expected == "pending")
    if action == "approve":
        assert result.state == "executed" and not alice.frozen
    if action in ("view_context",):
        assert AuditRecord.objects.filter(action="support.view.customer_context", actor=actor.public_id).count() == 1


def test_customers_never_see_internal_notes_nor_others_tickets(alice, bob, agent, api_client, fake_clock):
    t = web_ticket(alice)
    s.agent_reply(ticket=t, agent=agent, body="内部：可能是钓鱼", internal=True)
    s.agent_reply(ticket=t, agent=agent, body="您好，正在处理")
    c = Client()
    c.force_login(alice)
    page = c.get(f"/support/tickets/{t.public_id}/").content.decode()
    assert "正在处理" in page and "可能是钓鱼" not in page
    c.force_login(bob)
    assert c.get(f"/support/tickets/{t.public_id}/").status_code == 404
    body = api_client(alice).get(f"/api/v1/support/tickets/{t.public_id}").json()
    assert [m["body"] for m in body["messages"]] == ["付款显示待处理，怎么办？", "您好，正在处理"]
    assert api_client(bob).get(f"/api/v1/support/tickets/{t.public_id}").status_code == 404


# --- audit ----------------------------------------------------------------------------------------

def test_every_agent_action_and_view_is_in_a_tamper_evident_chain(alice, agent, fake_clock):
    t = web_ticket(alice)
    s.ticket_view_record(ticket=t, agent=agent, what="customer_context", ip="10.0.0.8")
    actions.action_request(ticket=t, agent=agent, kind="freeze", reason="客户要求冻结")
    assert list(audit_verify()) == []
    view = AuditRecord.objects.get(action="support.view.customer_context")
    assert view.detail == {"ticket": t.number, "customer": alice.public_id} and view.ip == "10.0.0.8"
    with connection.cursor() as cur:  # someone with database access drops the guard and edits the log
        if connection.vendor == "postgresql":
            cur.execute("DROP TRIGGER IF EXISTS audit_record_no_update ON audit_auditrecord")
        else:
            cur.execute("DROP TRIGGER IF EXISTS audit_record_no_update")
        cur.execute("UPDATE audit_auditrecord SET actor = %s WHERE id = %s", ["usr_nobody", view.pk])
    problems = list(audit_verify())
    assert [p.seq for p in problems] == [view.seq]


def test_refund_of_a_merchant_payment_within_policy(alice, shop, agent, supervisor, settings, fake_clock):
    from okpay.merchants import services as merchants
    from okpay.merchants.models import RefundRequest

    settings.OKPAY_SUPPORT_FOUR_EYES_AMOUNT = 100_000
    merchant = merchants.merchant_create(user=shop, name="茶叶小店", refund_window_days=30)
    merchants.merchant_policy_update(merchant=merchant, refund_window_days=30, auto_approve_up_to=5_000)
    payments.topup_create(user=alice, amount=300_000)
    small = merchants.intent_confirm(intent_id=merchants.intent_create(merchant=merchant, amount=3_000).public_id,
                                     customer=alice)
    big_intent = merchants.intent_create(merchant=merchant, amount=200_000).public_id
    big = stepped_up(alice, lambda code: merchants.intent_confirm(intent_id=big_intent, customer=alice, otp_code=code))
    t = web_ticket(alice, transaction_id=small.public_id)
    done = actions.action_request(ticket=t, agent=agent, kind="refund_request", reason="商品未收到",
                                  transaction_id=small.public_id)
    assert done.state == "executed" and done.result["outcome"] == "refund_requested"
    assert available(alice) == 300_000 - 200_000  # auto-approved by the shop's policy: the 3,000 came back
    waiting = actions.action_request(ticket=t, agent=agent, kind="refund_request", reason="重复扣款",
                                     transaction_id=big.public_id)
    assert waiting.state == "pending" and RefundRequest.objects.count() == 1  # four-eyes above the amount
    actions.action_decide(action=waiting, supervisor=supervisor, approve=True)
    assert RefundRequest.objects.count() == 2  # now with the merchant, who decides
    # a transfer is no merchant payment: refused by merchants, recorded as failed (the next day: today
    # this agent's money actions on Alice already add up past the four-eyes amount)
    fake_clock.advance(days=1)
    top = payments.topup_create(user=alice, amount=1_000)
    failed = actions.action_request(ticket=t, agent=agent, kind="refund_request", reason="r",
                                    transaction_id=top.public_id)
    assert failed.state == "failed" and RefundRequest.objects.count() == 2


def test_agent_pays_a_failed_bill_again(alice, agent, settings, fake_clock):
    from okpay.payments.billers import billers_seed

    billers_seed()
    settings.OKPAY_SUPPORT_FOUR_EYES_AMOUNT = 100_000
    settings.OKPAY_BILL_SUBMIT_SECONDS = 0
    settings.OKPAY_BILL_CONFIRM_SECONDS = 0
    payments.topup_create(user=alice, amount=5_000)
    failed = payments.bill_payment_create(user=alice, biller="sh-water", account_reference="12345670", amount=1_200)
    payments.payments_sweep()
    failed.refresh_from_db()
    assert failed.status == "failed" and available(alice) == 5_000
    t = web_ticket(alice, transaction_id=failed.public_id)
    action = actions.action_request(ticket=t, agent=agent, kind="bill_payment_retry", reason="客户要求重新缴费",
                                    transaction_id=failed.public_id)
    assert action.state == "executed"
    again = Transaction.objects.get(public_id=action.result["transaction"])
    assert (again.type, again.status, again.amount) == ("bill_payment", "pending", 1_200)
    assert available(alice) == 5_000 - 1_200
    assert AuditRecord.objects.filter(action="support.action.bill_payment_retry").exists()


def test_an_approval_says_what_it_is_in_words(alice, agent, supervisor, pending_withdrawal, settings, fake_clock):
    settings.OKPAY_SUPPORT_FOUR_EYES_AMOUNT = 100_000
    txn = pending_withdrawal(150_000)
    t = web_ticket(alice, transaction_id=txn.public_id)
    actions.action_request(ticket=t, agent=agent, kind="transaction_cancel", reason="客户要求取消",
                           transaction_id=txn.public_id)
    page = sign_in(supervisor).get("/desk/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'data-testid="approval-title">取消待处理的交易 ¥1,500.00<' in page
    assert "transaction_cancel" not in page
