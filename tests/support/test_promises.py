"""Issue 17, item 3: "customer service has been alerted" is true. A pending payment, refund or
refund request past its ``expected_by`` opens (or adds to) a ticket in the payments queue; the
customer's page links it; when the transaction settles the ticket gets a note and is solved if
nobody wrote in it; the supervisor dashboard lists every overdue promise with its age."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from okpay.identity.models import OutboundEmail
from okpay.merchants import services as merchants
from okpay.payments.models import Transaction
from okpay.payments.services import overdue_flag_due, sweep_step, topup_create, withdrawal_create
from okpay.support import promises
from okpay.support.models import AgentProfile, Channel, PromiseAlert, Ticket, TicketMessage
from okpay.support.services import Requester, agent_reply, ticket_create
from tests.factories import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _velocity(settings):  # type: ignore[no-untyped-def]
    settings.OKPAY_RISK_VELOCITY_PER_HOUR = 1000


def _late(txn: Transaction, *, hours: float = 3) -> Transaction:
    """Time passes: the transaction's expected time is ``hours`` ago."""
    Transaction.objects.filter(pk=txn.pk).update(expected_by=timezone.now() - timedelta(hours=hours))
    txn.refresh_from_db()
    return txn


def _late_withdrawal(alice, amount: int = 20_000, hours: float = 3) -> Transaction:  # type: ignore[no-untyped-def]
    topup_create(user=alice, amount=100_000)
    return _late(withdrawal_create(user=alice, amount=amount), hours=hours)


def _sweep() -> dict[str, int]:
    overdue_flag_due()
    return promises.promises_sweep()


def _settle_withdrawals() -> None:
    later = timezone.now() + timedelta(days=1)
    sweep_step("withdrawal_submit", now=later)
    sweep_step("withdrawal_settle", now=later + timedelta(days=1))


def test_a_late_payment_opens_a_ticket_in_the_payments_queue(alice, agent) -> None:
    txn = _late_withdrawal(alice)
    assert _sweep() == {"opened": 1, "settled": 0}
    assert _sweep() == {"opened": 0, "settled": 0}  # idempotent: one alert, one ticket, one message
    alert = PromiseAlert.objects.get()
    ticket = alert.ticket
    assert (alert.transaction_id, alert.kind, alert.customer) == (txn.public_id, "pending", alice)
    assert ticket.requester == alice and ticket.channel == Channel.ALERT and ticket.category == "payment"
    assert ticket.team.slug == "payments" and ticket.priority == "high" and ticket.status == "new"
    # an SLA of its own: the alert channel's policy, first answer within 2 hours
    assert (ticket.sla_policy.channel, ticket.sla_policy.first_response_minutes) == ("alert", 120)
    assert ticket.first_response_due == ticket.created_at + timedelta(hours=2)
    assert list(ticket.linked_transactions.values_list("transaction_id", flat=True)) == [txn.public_id]
    (message,) = ticket.messages.all()
    assert message.author_kind == "system" and message.visibility == "public"
    assert txn.public_id in message.body_text and "仍在处理中" in message.body_text  # alice reads Chinese
    assert list(ticket.events.values_list("kind", flat=True)) == ["created", "promise_overdue"]
    # the timeline is in the desk's wallet context, flagged step included (for the payments team)
    AgentProfile.objects.create(user=agent, team=ticket.team)
    panel = sign_in(agent).get(f"/desk/t/{ticket.public_id}/context/").content.decode()
    assert f'data-timeline="{txn.public_id}"' in panel and 'data-step="overdue_flagged_for_support"' in panel
    # the customer's page says what happens next and links the ticket
    page = sign_in(alice).get(f"/wallet/transactions/{txn.public_id}/").content.decode()
    assert f"客服已收到提醒，并为此创建了工单 {ticket.number}" in page
    assert f'href="/support/tickets/{ticket.public_id}/"' in page and "接下来会怎样？" in page
    assert not OutboundEmail.objects.filter(subject__contains=ticket.number).exists()  # no "we received" mail


def test_the_page_says_the_alert_is_on_its_way_before_the_sweep(alice) -> None:
    txn = _late_withdrawal(alice)
    page = sign_in(alice).get(f"/wallet/transactions/{txn.public_id}/").content.decode()
    assert "客服正在收到提醒" in page and "followup-ticket" not in page


def test_settling_notes_the_ticket_and_solves_it_when_nobody_wrote(alice) -> None:
    txn = _late_withdrawal(alice)
    _sweep()
    ticket = Ticket.objects.get()
    _settle_withdrawals()
    txn.refresh_from_db()
    assert txn.status in ("succeeded", "failed")
    assert _sweep() == {"opened": 0, "settled": 1}
    assert _sweep() == {"opened": 0, "settled": 0}
    ticket.refresh_from_db()
    assert ticket.status == "solved"
    note = ticket.messages.order_by("pk").last()
    assert note.author_kind == "system" and txn.public_id in note.body_text and "更新" in note.body_text
    assert PromiseAlert.objects.get().outcome == txn.status
    assert not OutboundEmail.objects.filter(subject__contains="如何").exists()  # no CSAT survey for an alert
    page = sign_in(alice).get(f"/wallet/transactions/{txn.public_id}/").content.decode()
    assert f"客服已在工单 {ticket.number} 中跟进此交易。" in page


def test_a_ticket_someone_wrote_in_stays_open_with_the_note(alice, agent) -> None:
    txn = _late_withdrawal(alice)
    _sweep()
    ticket = Ticket.objects.get()
    agent_reply(ticket=ticket, agent=agent, body="我们正在与银行核实。")
    _settle_withdrawals()
    assert _sweep()["settled"] == 1
    ticket.refresh_from_db()
    assert ticket.status != "solved"
    assert txn.public_id in ticket.messages.order_by("pk").last().body_text


def test_two_late_payments_share_one_alert_ticket(alice) -> None:
    first = _late_withdrawal(alice, amount=10_000)
    second = _late(withdrawal_create(user=alice, amount=5_000))
    assert _sweep()["opened"] == 2
    assert Ticket.objects.count() == 1
    ticket = Ticket.objects.get()
    assert set(ticket.linked_transactions.values_list("transaction_id", flat=True)) == {first.public_id,
                                                                                        second.public_id}
    assert ticket.messages.filter(author_kind=TicketMessage.AuthorKind.SYSTEM).count() == 2


def test_a_late_refund_request_is_added_to_the_customers_ticket_about_it(alice, shop) -> None:
    topup_create(user=alice, amount=100_000)
    merchant = merchants.merchant_create(user=shop, name="茶叶小店", refund_window_days=30)
    intent = merchants.intent_create(merchant=merchant, amount=10_000, description="龙井")
    paid = merchants.intent_confirm(intent_id=intent.public_id, customer=alice)
    request = merchants.refund_request_create(customer=alice, txn_id=paid.public_id, reason="不想要了", amount=2_000)
    refund = _late(request.refund_txn)
    own = ticket_create(requester=Requester(user=alice), channel="web", category="payment", subject="退款没回音",
                        body="商家一直没回复。", transaction_id=refund.public_id)
    assert _sweep()["opened"] == 1
    alert = PromiseAlert.objects.get()
    assert alert.kind == "refund_request" and alert.ticket == own and Ticket.objects.count() == 1
    own.refresh_from_db()
    assert own.team.slug == "payments"
    # the merchant answers: the refund settles, the ticket gets its note but stays open (alice wrote in it)
    merchants.refund_request_approve(merchant=merchant, request_id=request.public_id)
    assert _sweep()["settled"] == 1
    own.refresh_from_db()
    assert own.status != "solved" and refund.public_id in own.messages.order_by("pk").last().body_text


def test_a_row_locked_by_another_worker_is_skipped_then_taken(alice) -> None:
    """The claim is select_for_update(skip_locked=True): a worker never waits for, nor doubles,
    another's row; the row is taken by the next sweep. (On SQLite writers are serialised.)"""
    txn = _late_withdrawal(alice)
    overdue_flag_due()
    txn.refresh_from_db()
    assert promises.alert_open(txn) is not None
    assert promises.alert_open(txn) is None  # the second claim finds the alert and does nothing
    assert PromiseAlert.objects.count() == 1 and Ticket.objects.count() == 1


def test_the_dashboard_lists_every_overdue_promise_with_its_age(alice, bob, supervisor, shop) -> None:
    late_payment = _late_withdrawal(alice, hours=5)
    topup_create(user=bob, amount=100_000)
    merchant = merchants.merchant_create(user=shop, name="茶叶小店", refund_window_days=30)
    intent = merchants.intent_create(merchant=merchant, amount=10_000, description="龙井")
    paid = merchants.intent_confirm(intent_id=intent.public_id, customer=bob)
    request = merchants.refund_request_create(customer=bob, txn_id=paid.public_id, reason="坏了", amount=1_000)
    late_request = _late(request.refund_txn, hours=2)
    mail = ticket_create(requester=Requester(email="carol@example.com", name="Carol"), channel="email",
                         category="payment", subject="付款问题", body="没有回复")
    Ticket.objects.filter(pk=mail.pk).update(first_response_due=timezone.now() - timedelta(hours=1))
    _sweep()
    rows = promises.overdue_promises()
    assert [(r.kind, r.reference) for r in rows] == [("pending", late_payment.public_id),
                                                      ("refund_request", late_request.public_id),
                                                      ("first_reply", mail.number)]
    assert [round(r.age_hours) for r in rows] == [5, 2, 1]
    assert rows[0].ticket_number and rows[2].ticket_number == mail.number
    browser = sign_in(supervisor)
    zh = browser.get("/desk/dashboard/").content.decode()
    assert "逾期的承诺" in zh and f'data-ref="{late_payment.public_id}"' in zh and "5.0 小时" in zh
    assert "退款申请未按时答复" in zh and "邮件的首次回复" in zh
    browser.cookies["django_language"] = "en"
    text = browser.get("/desk/dashboard/").content.decode()
    assert "Overdue promises" in text and "Refund request not answered in time" in text
    rows_csv = list(csv.reader(io.StringIO(browser.get("/desk/dashboard.csv").content.decode("utf-8-sig"))))
    overdue = [r for r in rows_csv if r[0] == "overdue_promise_hours"]
    assert [r[1].split(" ")[0] for r in overdue] == ["pending", "refund_request", "first_reply"]
    assert [round(float(r[2])) for r in overdue] == [5, 2, 1]
