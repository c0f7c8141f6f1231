"""SLA computations on a fake clock: 24×7 and business-hours calendars, holidays, pauses while
waiting on the customer, next-response and resolution targets, warnings and escalation at breach."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from okpay.identity.models import OutboundEmail
from okpay.support import services as s
from okpay.support.models import BusinessCalendar, SlaPolicy, Ticket, TicketEvent
from okpay.support.sla import Calendar
from tests.support.helpers import web_ticket

SH = ZoneInfo("Asia/Shanghai")
OFFICE = {str(d): [["09:00", "18:00"]] for d in range(5)}  # Monday–Friday 09:00–18:00


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.fixture
def office(db: None) -> BusinessCalendar:
    return BusinessCalendar.objects.create(name="office", timezone="Asia/Shanghai", hours=OFFICE,
                                           holidays=["2026-11-30"])


def test_default_calendar_is_24x7():
    cal = Calendar()
    start = datetime(2026, 11, 28, 23, 0, tzinfo=UTC)  # a Saturday night
    assert cal.add(start, 24 * 60) == start + timedelta(hours=24)
    assert cal.between(start, start + timedelta(hours=5)) == 5 * 3600


def test_business_hours_skip_nights_weekends_and_holidays(office):
    cal = Calendar.of(office)
    # Friday 17:00 + 2 business hours → Monday is a holiday → Tuesday 10:00
    assert cal.add(local(2026, 11, 27, 17, 0), 120) == local(2026, 12, 1, 10, 0)
    # before opening: counting starts at 09:00
    assert cal.add(local(2026, 11, 24, 7, 30), 30) == local(2026, 11, 24, 9, 30)
    # exactly at closing time the whole target lies on the next day
    assert cal.add(local(2026, 11, 24, 18, 0), 60) == local(2026, 11, 25, 10, 0)
    # open seconds between Friday 17:00 and Tuesday 10:00: 1 h Friday + 1 h Tuesday
    assert cal.between(local(2026, 11, 27, 17, 0), local(2026, 12, 1, 10, 0)) == 2 * 3600
    assert cal.between(local(2026, 12, 1, 10, 0), local(2026, 11, 27, 17, 0)) == 0


def test_ticket_due_times_follow_the_policy_calendar(alice, office, fake_clock):
    SlaPolicy.objects.filter(channel="web", priority="normal").update(calendar=office, first_response_minutes=8 * 60)
    fake_clock.now = local(2026, 11, 27, 16, 0).astimezone(UTC)  # Friday 16:00
    t = web_ticket(alice)
    # 2 h on Friday, Monday is a holiday, 6 h on Tuesday → Tuesday 15:00
    assert t.first_response_due == local(2026, 12, 1, 15, 0)


def test_waiting_on_customer_pauses_the_clock(alice, agent, fake_clock):
    t = web_ticket(alice)
    due_first, due_resolution = t.first_response_due, t.resolution_due
    fake_clock.advance(hours=1)
    s.ticket_status_set(ticket=t, actor=agent, status="waiting")
    fake_clock.advance(hours=30)  # the customer takes 30 hours to answer
    assert s.sla_sweep() == {"warned": 0, "breached": 0}  # paused: no breach although 31 h passed
    s.customer_reply(ticket=t, user=alice, body="这是截图")
    t.refresh_from_db()
    assert t.status == "open" and t.sla_paused_at is None
    assert t.sla_paused_seconds == 30 * 3600
    assert t.first_response_due == due_first + timedelta(hours=30)
    assert t.resolution_due == due_resolution + timedelta(hours=30)


def test_pause_counts_only_business_time(alice, agent, office, fake_clock):
    SlaPolicy.objects.filter(channel="web", priority="normal").update(calendar=office)
    fake_clock.now = local(2026, 11, 27, 17, 0).astimezone(UTC)  # Friday 17:00
    t = web_ticket(alice)
    before = t.resolution_due
    s.ticket_status_set(ticket=t, actor=agent, status="waiting")
    fake_clock.now = local(2026, 12, 1, 10, 0).astimezone(UTC)  # Tuesday 10:00: 2 business hours later
    s.ticket_status_set(ticket=t, actor=agent, status="open")
    t.refresh_from_db()
    assert t.sla_paused_seconds == 2 * 3600
    assert Calendar.of(office).between(before, t.resolution_due) == 2 * 3600


def test_warning_then_breach_escalates_once(alice, agent, supervisor, fake_clock):
    t = web_ticket(alice)  # web × normal: first response 24 h, warned 60 min before
    s.ticket_assign(ticket=t, actor=supervisor, assignee=agent)
    fake_clock.advance(hours=22, minutes=59)
    assert s.sla_sweep() == {"warned": 0, "breached": 0}
    fake_clock.advance(minutes=2)
    assert s.sla_sweep() == {"warned": 1, "breached": 0}
    assert s.sla_sweep() == {"warned": 0, "breached": 0}
    fake_clock.advance(hours=1)
    assert s.sla_sweep() == {"warned": 0, "breached": 1}
    t.refresh_from_db()
    assert t.first_response_breached and not t.resolution_breached
    assert t.priority == "high" and t.escalated_at == fake_clock.now
    kinds = list(TicketEvent.objects.filter(ticket=t).values_list("kind", flat=True))
    assert kinds == ["created", "assigned", "sla_warning", "sla_breached", "priority"]
    warnings = [m for m in OutboundEmail.objects.all() if m.to == ["agent@example.com"]]
    assert len(warnings) == 1 and t.number in warnings[0].subject
    alerts = [m for m in OutboundEmail.objects.all() if m.to == ["supervisor@example.com"]]
    assert len(alerts) == 1 and t.number in alerts[0].subject
    assert s.sla_sweep() == {"warned": 0, "breached": 0}  # idempotent


def test_answer_in_time_is_no_breach_and_late_answer_is_recorded(alice, bob, agent, fake_clock):
    on_time = web_ticket(alice)
    late = web_ticket(bob)
    fake_clock.advance(hours=23)
    s.agent_reply(ticket=on_time, agent=agent, body="您好")
    fake_clock.advance(hours=2)
    s.agent_reply(ticket=late, agent=agent, body="抱歉久等")
    on_time.refresh_from_db()
    late.refresh_from_db()
    assert not on_time.first_response_breached
    assert late.first_response_breached


def test_next_response_target_after_customer_reply(alice, agent, fake_clock):
    t = web_ticket(alice)
    s.agent_reply(ticket=t, agent=agent, body="请提供截图", status="waiting")
    fake_clock.advance(hours=2)
    s.customer_reply(ticket=t, user=alice, body="截图如下")
    t.refresh_from_db()
    assert t.next_response_due == fake_clock.now + timedelta(hours=24)
    fake_clock.advance(hours=25)
    assert s.sla_sweep()["breached"] == 1
    t.refresh_from_db()
    assert t.next_response_breached and t.priority == "high"
    s.agent_reply(ticket=t, agent=agent, body="已处理")
    t.refresh_from_db()
    assert t.next_response_due is None


def test_priority_change_recomputes_targets(alice, agent, fake_clock):
    t = web_ticket(alice)
    s.ticket_priority_set(ticket=t, actor=agent, priority="urgent")
    t.refresh_from_db()
    assert t.first_response_due == t.created_at + timedelta(hours=1)
    assert t.resolution_due == t.created_at + timedelta(hours=24)


def test_resolution_breach_when_solved_late(alice, agent, fake_clock):
    t = web_ticket(alice)
    s.agent_reply(ticket=t, agent=agent, body="处理中")
    fake_clock.advance(hours=73)
    s.ticket_status_set(ticket=t, actor=agent, status="solved")
    t.refresh_from_db()
    assert t.resolution_breached and Ticket.objects.filter(resolution_breached=True).count() == 1


def test_reply_without_email_still_records_the_first_response(alice, agent, fake_clock):
    t = web_ticket(alice, channel="chat")
    before = OutboundEmail.objects.count()
    fake_clock.advance(minutes=3)
    s.agent_reply(ticket=t, agent=agent, body="您好，我来帮您看看", notify=False)
    t.refresh_from_db()
    assert t.first_responded_at == fake_clock.now
    assert not t.first_response_breached
    assert (t.status, t.assignee) == ("open", agent)
    assert OutboundEmail.objects.count() == before  # the customer read it in the chat
    assert t.messages.filter(visibility="public", body_text="您好，我来帮您看看").count() == 1
    s.agent_reply(ticket=t, agent=agent, body="还在吗？")
    assert OutboundEmail.objects.count() == before + 1  # the default still mails the customer
