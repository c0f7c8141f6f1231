"""The phone channel end to end: a customer rings the hotline (the phone system's signed webhook),
the agent makes a ticket of the call, calls the customer back and logs it: the answer went out on
the channel the question came in on, and the SLA's first response is that call."""

from __future__ import annotations

import re

from okpay.hotline.models import Call
from okpay.identity.models import OutboundSms
from okpay.support.models import Channel, Priority, Ticket
from okpay.support.services import agent_duty_set
from tests.hotline.test_hotline import _hotline_settings, cti_post, login, verified_phone  # noqa: F401 - autouse fixture


def test_phone_round_trip_call_in_ticket_call_back(alice, agent) -> None:  # type: ignore[no-untyped-def]
    verified_phone(alice)
    agent_duty_set(user=agent, on_duty=True)
    rang = cti_post({"call_id": "pbx-900", "event": "ringing", "from": "+86 138 0013 8000", "to": "+864008001234"})
    assert rang.status_code == 200 and (rang.json()["verified_customer"], rang.json()["claimed_customer"]) == (
        False, True)  # caller ID is a claim (issue 16.9)
    incoming = Call.objects.get(external_id="pbx-900")
    assert (incoming.direction, incoming.customer_id) == ("inbound", None)

    desk = login(agent)
    made = desk.post(f"/desk/calls/{incoming.public_id}/ticket/", {"topic": "payment"})
    ticket = Ticket.objects.get(calls__external_id="pbx-900")
    assert made["Location"] == f"/desk/t/{ticket.public_id}/"
    assert (ticket.channel, ticket.priority, ticket.requester_id, ticket.category) == (
        Channel.PHONE, Priority.URGENT, None, "payment")
    # the agent proves the caller: a code by SMS to the verified phone, read out on the call
    desk.post(f"/desk/t/{ticket.public_id}/caller/", {"op": "send", "via": "sms"})
    code = re.search(r"\b(\d{6})\b", OutboundSms.objects.get(to="+8613800138000").body).group(1)  # type: ignore[union-attr]
    assert desk.post(f"/desk/t/{ticket.public_id}/caller/", {"op": "verify", "code": code}).status_code == 302
    ticket.refresh_from_db()
    assert (ticket.requester_id, ticket.requester_link) == (alice.pk, "verified_phone")
    assert ticket.first_responded_at is None

    back = desk.post(f"/desk/t/{ticket.public_id}/calls/", {
        "direction": "outbound", "number": "+8613800138000", "duration_seconds": "95", "outcome": "answered",
        "notes": "Called back: the transfer is waiting for the recipient to register."})
    assert back.status_code == 302
    reply = Call.objects.get(ticket=ticket, direction="outbound")
    assert (reply.number, reply.outcome, reply.customer_id, reply.agent_id) == (
        "+8613800138000", "answered", alice.pk, agent.pk)
    ticket.refresh_from_db()
    assert ticket.first_responded_at == reply.created_at
    assert list(ticket.calls.order_by("created_at").values_list("direction", flat=True)) == ["inbound", "outbound"]
