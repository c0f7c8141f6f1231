"""Issue 17, item 2: every desk agent action and the supervisor's four-eyes decision carry a key
minted when the form is rendered; a double submit has one effect and the second shows the first result."""

from __future__ import annotations

import re

import pytest

from okpay.identity.models import OutboundEmail
from okpay.payments import services as payments
from okpay.payments.models import Transaction
from okpay.support.models import ActionRequest, TicketEvent
from tests.factories import sign_in, stepped_up
from tests.support.helpers import web_ticket

pytestmark = pytest.mark.django_db


def keys_in(html: str) -> list[str]:
    return re.findall(r'name="idempotency_key" value="([^"]+)"', html)


def action_post(client, ticket, key, **form):  # type: ignore[no-untyped-def]
    return client.post(f"/desk/t/{ticket.public_id}/action/", {"idempotency_key": key, **form})


def test_the_action_form_carries_a_fresh_key_each_render(alice, agent):
    ticket = web_ticket(alice)
    desk = sign_in(agent)
    first = keys_in(desk.get(f"/desk/t/{ticket.public_id}/").content.decode())
    second = keys_in(desk.get(f"/desk/t/{ticket.public_id}/").content.decode())
    assert first and second and not set(first) & set(second)


@pytest.mark.parametrize("kind", ["freeze", "password_reset_link"])
def test_a_double_submitted_action_has_one_effect(alice, agent, kind):
    ticket = web_ticket(alice)
    desk = sign_in(agent)
    key = keys_in(desk.get(f"/desk/t/{ticket.public_id}/").content.decode())[0]
    emails = OutboundEmail.objects.count()
    one = action_post(desk, ticket, key, kind=kind, reason="客户来电要求")
    two = action_post(desk, ticket, key, kind=kind, reason="客户来电要求")
    assert one.status_code == two.status_code == 302
    assert two["Idempotent-Replayed"] == "true" and two["Location"] == one["Location"]
    assert ActionRequest.objects.filter(kind=kind).count() == 1
    assert TicketEvent.objects.filter(ticket=ticket, kind="action_requested").count() == 1
    if kind == "password_reset_link":
        assert OutboundEmail.objects.count() == emails + 1 or OutboundEmail.objects.count() > emails


def test_a_cancel_double_submitted_cancels_once(alice, agent):
    payments.topup_create(user=alice, amount=5_000)
    txn = payments.withdrawal_create(user=alice, amount=3_000)
    ticket = web_ticket(alice, transaction_id=txn.public_id)
    desk = sign_in(agent)
    key = keys_in(desk.get(f"/desk/t/{ticket.public_id}/").content.decode())[0]
    for _ in range(2):
        action_post(desk, ticket, key, kind="transaction_cancel", reason="客户要求", transaction_id=txn.public_id)
    txn.refresh_from_db()
    assert txn.status == "cancelled"
    assert ActionRequest.objects.filter(kind="transaction_cancel").count() == 1
    assert txn.events.filter(status="cancelled").count() == 1


def test_a_form_without_its_key_does_nothing(alice, agent):
    ticket = web_ticket(alice)
    desk = sign_in(agent)
    answer = desk.post(f"/desk/t/{ticket.public_id}/action/", {"kind": "freeze", "reason": "客户要求"})
    assert answer.status_code == 400 and not ActionRequest.objects.exists()
    alice.refresh_from_db()
    assert not alice.frozen


def test_the_four_eyes_decision_double_submitted_decides_once(alice, agent, supervisor, settings):
    settings.OKPAY_SUPPORT_FOUR_EYES_AMOUNT = 100_000
    payments.topup_create(user=alice, amount=200_000)
    txn = stepped_up(alice, lambda code: payments.withdrawal_create(user=alice, amount=200_000, otp_code=code))
    ticket = web_ticket(alice, transaction_id=txn.public_id)
    desk = sign_in(agent)
    key = keys_in(desk.get(f"/desk/t/{ticket.public_id}/").content.decode())[0]
    action_post(desk, ticket, key, kind="transaction_cancel", reason="客户要求", transaction_id=txn.public_id)
    action = ActionRequest.objects.get()
    assert action.state == "pending"
    boss = sign_in(supervisor)
    page = boss.get(f"/desk/t/{ticket.public_id}/").content.decode()
    decide_key = next(k for k in keys_in(page) if k in page[page.index(f"/desk/actions/{action.public_id}/decide/"):])
    url = f"/desk/actions/{action.public_id}/decide/"
    one = boss.post(url, {"idempotency_key": decide_key, "decision": "approve", "note": "核实"})
    two = boss.post(url, {"idempotency_key": decide_key, "decision": "approve", "note": "核实"})
    assert one.status_code == 302 and two["Idempotent-Replayed"] == "true"
    action.refresh_from_db()
    txn.refresh_from_db()
    assert action.state == "executed" and txn.status == "cancelled"
    assert Transaction.objects.get(pk=txn.pk).events.filter(status="cancelled").count() == 1
    assert TicketEvent.objects.filter(ticket=ticket, kind="action_executed").count() == 1
