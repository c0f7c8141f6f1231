"""Assignment: manual, round robin by capacity among on-duty agents, auto-assign sweep, teams."""

from __future__ import annotations

import pytest

from okpay.core.errors import InvalidRequest, NotFound
from okpay.support import services as s
from okpay.support.models import AgentProfile, Team, TicketEvent
from okpay.support.permissions import access_desk_ticket, desk_tickets
from tests.factories import user_create
from tests.support.helpers import web_ticket


@pytest.fixture
def agents(db):
    a = user_create("a1@example.com", name="A1", role="agent")
    b = user_create("a2@example.com", name="A2", role="agent")
    c = user_create("a3@example.com", name="A3", role="agent")
    return a, b, c


def test_manual_assignment_only_to_agents(alice, bob, agent, supervisor, fake_clock):
    t = web_ticket(alice)
    s.ticket_assign(ticket=t, actor=supervisor, assignee=agent)
    t.refresh_from_db()
    assert t.assignee == agent
    assert TicketEvent.objects.filter(ticket=t, kind="assigned").count() == 1
    with pytest.raises(InvalidRequest):
        s.ticket_assign(ticket=t, actor=supervisor, assignee=bob)
    t.refresh_from_db()
    assert t.assignee == agent


def test_round_robin_by_capacity_among_on_duty(alice, agents, fake_clock):
    a, b, c = agents
    s.agent_duty_set(user=a, on_duty=True, capacity=2)
    s.agent_duty_set(user=b, on_duty=True, capacity=1)
    s.agent_duty_set(user=c, on_duty=False)
    got = []
    for _ in range(4):
        t = web_ticket(alice)
        fake_clock.advance(seconds=1)
        got.append(s.ticket_assign_round_robin(ticket=t))
    # A, then B (never assigned yet waits longest after A), then A again; then both are full
    assert got == [a, b, a, None]


def test_auto_assign_sweep_hands_out_oldest_first(alice, agents, fake_clock):
    a, b, _ = agents
    first = web_ticket(alice)
    fake_clock.advance(minutes=1)
    second = web_ticket(alice)
    assert s.tickets_auto_assign() == 0  # nobody on duty
    s.agent_duty_set(user=a, on_duty=True, capacity=1)
    s.agent_duty_set(user=b, on_duty=True, capacity=5)
    assert s.tickets_auto_assign() == 2
    first.refresh_from_db()
    second.refresh_from_db()
    assert {first.assignee, second.assignee} == {a, b}
    assert s.tickets_auto_assign() == 0


def test_agents_see_their_team_only(alice, agents, supervisor, fake_clock):
    a, b, _ = agents
    cards, security = Team.objects.create(slug="cards", name="Cards"), Team.objects.create(slug="sec", name="Sec")
    AgentProfile.objects.create(user=a, team=cards)
    AgentProfile.objects.create(user=b, team=security)
    t = web_ticket(alice)
    s.ticket_assign(ticket=t, actor=supervisor, assignee=None, team=security)
    with pytest.raises(NotFound):
        access_desk_ticket(a, t.public_id)
    assert access_desk_ticket(b, t.public_id) == t
    assert access_desk_ticket(supervisor, t.public_id) == t
    assert list(desk_tickets(a)) == []
    AgentProfile.objects.filter(user=a).update(all_teams=True)
    assert access_desk_ticket(a, t.public_id) == t


def test_round_robin_respects_the_ticket_team(alice, agents, supervisor, fake_clock):
    a, b, _ = agents
    security = Team.objects.create(slug="sec", name="Sec")
    AgentProfile.objects.create(user=a, on_duty=True)
    AgentProfile.objects.create(user=b, on_duty=True, team=security)
    t = web_ticket(alice)
    s.ticket_assign(ticket=t, actor=supervisor, assignee=None, team=security)
    assert s.ticket_assign_round_robin(ticket=t) == b


def test_collision_warning(alice, agents, fake_clock):
    a, b, _ = agents
    t = web_ticket(alice)
    assert s.presence_touch(ticket=t, user=a) == []
    assert s.presence_touch(ticket=t, user=b) == [a]
    fake_clock.advance(seconds=60)
    assert s.presence_touch(ticket=t, user=b) == []  # A left a minute ago


def test_canned_reply_variables(alice, agent, fake_clock):
    from okpay.support.models import CannedReply

    t = web_ticket(alice)
    reply = CannedReply.objects.get(key="reset-password", lang="zh-hans")
    text = s.canned_render(reply, ticket=t, agent=agent)
    assert text.startswith("Alice您好")
    assert t.number in text and "Agent" in text and "{" not in text
    assert CannedReply.objects.filter(from_seed=True).count() == 8  # the seed's four FAQ answers × 2 languages


def test_bulk_update_all_or_nothing(alice, agent, fake_clock):
    t1, t2 = web_ticket(alice), web_ticket(alice)
    s.ticket_status_set(ticket=t2, actor=agent, status="closed")
    with pytest.raises(s.InvalidTransition):
        s.tickets_bulk_update(actor=agent, tickets=[t1, t2], status="solved")
    t1.refresh_from_db()
    assert t1.status == "new"
    s.tickets_bulk_update(actor=agent, tickets=[t1], status="open", tag="vip", assignee=agent)
    t1.refresh_from_db()
    assert (t1.status, t1.assignee, list(t1.tags.values_list("name", flat=True))) == ("open", agent, ["vip"])


def test_auto_assign_sweep_leaves_chat_tickets_to_the_chat_queue(alice, agents, fake_clock):
    a, _, _ = agents
    chat = web_ticket(alice, channel="chat")
    fake_clock.advance(minutes=1)
    web = web_ticket(alice)
    s.agent_duty_set(user=a, on_duty=True, capacity=5)
    assert s.tickets_auto_assign() == 1
    chat.refresh_from_db()
    web.refresh_from_db()
    assert (chat.assignee, web.assignee) == (None, a)
    assert s.tickets_auto_assign() == 0
