"""Team queues: a chat transferred to a team waits in that team's queue; only the team's agents
(and agents allowed every team, and supervisors) see it, are offered it and may pick it."""

from __future__ import annotations

import pytest

from okpay.chat import services
from okpay.chat.models import Conversation
from okpay.core.errors import NotFound
from okpay.support.models import AgentProfile, Team
from okpay.support.services import agent_duty_set
from tests.factories import user_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def teams(db):  # type: ignore[no-untyped-def]
    cards, security = Team.objects.create(slug="cards", name="卡务"), Team.objects.create(slug="sec", name="安全")
    carol = user_create("carol@example.com", name="Carol", role="agent")
    sam = user_create("sam@example.com", name="Sam", role="agent")
    AgentProfile.objects.create(user=carol, team=cards)
    AgentProfile.objects.create(user=sam, team=security)
    return cards, security, carol, sam


def active_with(user, agent) -> Conversation:  # type: ignore[no-untyped-def]
    conv = services.conversation_open(user=user).conversation
    services.customer_says(conversation=conv, body="我的转账待处理", client_id="c1", user=user)
    services.handoff_request(conversation=conv, category="payment")
    conv.refresh_from_db()
    assert (conv.state, conv.agent) == ("active", agent)
    return conv


def test_transfer_to_a_team_goes_to_that_teams_agent(alice, teams) -> None:  # type: ignore[no-untyped-def]
    _, security, carol, sam = teams
    agent_duty_set(user=carol, on_duty=True, capacity=5)
    conv = active_with(alice, carol)
    agent_duty_set(user=sam, on_duty=True, capacity=5)
    services.conversation_transfer(agent=carol, conversation=conv, to="team:sec")
    conv.refresh_from_db()
    conv.ticket.refresh_from_db()
    # Sam (security) gets it at once; Carol (cards, with room) is not offered it.
    assert (conv.state, conv.agent, conv.ticket.team, conv.ticket.assignee) == ("active", sam, security, sam)


def test_a_teams_queue_is_only_its_agents_and_supervisors(alice, teams, supervisor) -> None:  # type: ignore[no-untyped-def]
    _, security, carol, sam = teams
    agent_duty_set(user=carol, on_duty=True, capacity=5)
    conv = active_with(alice, carol)
    services.conversation_transfer(agent=carol, conversation=conv, to="team:sec")  # Sam is off duty
    conv.refresh_from_db()
    assert (conv.state, conv.agent, conv.ticket.team) == ("queued", None, security)
    assert services.queue_assign() == 0  # Carol has room, but it is not her team's chat
    assert services.agent_overview(agent=carol)["queue"] == []
    with pytest.raises(NotFound):
        services.agent_pick(agent=carol, public_id=conv.public_id)
    with pytest.raises(NotFound):
        services.agent_conversation(agent=carol, public_id=conv.public_id)
    assert [q["conversation"] for q in services.agent_overview(agent=sam)["queue"]] == [conv.public_id]
    assert [q["conversation"] for q in services.agent_overview(agent=supervisor)["queue"]] == [conv.public_id]
    state = services.state_of(conv)
    assert (state["state"], state["position"]) == ("queued", 1)
    # An agent allowed every team may take it; then Sam comes on duty to an empty queue.
    AgentProfile.objects.filter(user=carol).update(all_teams=True)
    picked = services.agent_pick(agent=carol, public_id=conv.public_id)
    assert (picked.state, picked.agent) == ("active", carol)
    conv.refresh_from_db()
    assert conv.state == "active"


def test_general_queue_still_goes_to_anyone(alice, teams) -> None:  # type: ignore[no-untyped-def]
    """A chat handed over from the assistant is in the general queue: any agent's, whatever their team."""
    _, _, carol, _ = teams
    agent_duty_set(user=carol, on_duty=True, capacity=1)
    conv = active_with(alice, carol)
    assert conv.ticket.team is None
