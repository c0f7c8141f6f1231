"""The phone channel: the call-back form (verified number pre-filled, window → due time), calls
logged on a ticket from the desk, and the phone system's signed webhook that pops the caller up on
the desk of the agent on duty over a real WebSocket."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.utils import timezone

from okpay.audit.models import AuditRecord
from okpay.core import signing
from okpay.hotline.models import Call
from okpay.support.models import Channel, Priority, Ticket
from okpay.support.services import Requester, agent_duty_set, ticket_create
from tests.chat.conftest import communicator, run, session_cookie
from tests.factories import sign_in

CTI_SECRET = "cti-shared-secret-for-tests"


@pytest.fixture(autouse=True)
def _hotline_settings(settings):  # type: ignore[no-untyped-def]
    settings.OKPAY_CTI_SECRET = CTI_SECRET
    settings.OKPAY_HOTLINE = "+86 400-800-1234"
    settings.OKPAY_HOTLINE_HOURS = "每天 8:00–22:00"


def verified_phone(user, phone: str = "+8613800138000"):  # type: ignore[no-untyped-def]
    user.phone, user.phone_verified_at = phone, timezone.now()
    user.save(update_fields=["phone", "phone_verified_at"])
    return user


def login(user) -> Client:  # type: ignore[no-untyped-def]
    return sign_in(user)


def cti_post(payload: dict, *, secret: str = CTI_SECRET, timestamp: int | None = None, client: Client | None = None):  # type: ignore[no-untyped-def]
    body = json.dumps(payload).encode()
    return (client or Client()).post("/hooks/phone/calls", body, content_type="application/json",
                                     headers={"OKPay-Signature": signing.sign(secret, body, timestamp)})


# --- call-back requests --------------------------------------------------------------------------

def test_callback_form_prefills_the_verified_phone_and_sets_the_due_time(alice, bob, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from okpay.support import clock

    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 11, 23, 2, 0, tzinfo=UTC))  # 10:00 in Beijing
    verified_phone(alice)
    page = login(alice).get("/support/callback/").content.decode()
    assert 'value="+8613800138000"' in page
    assert "+86 400-800-1234" in page and "每天 8:00–22:00" in page  # from the channel registry
    bob.phone = "+8613900139000"  # typed into the profile, never verified: not offered
    bob.save(update_fields=["phone"])
    assert 'value="+8613900139000"' not in login(bob).get("/support/callback/").content.decode()

    response = login(alice).post("/support/callback/", {"phone": "+86 138 0013 8000", "topic": "security",
                                                         "preferred_time": "18-21"})
    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.priority, ticket.category, ticket.requester_id, ticket.requester_phone) == (
        Channel.PHONE, Priority.URGENT, "security", alice.pk, "+8613800138000")
    # Due by the end of the chosen window: 21:00 Beijing time = 13:00 UTC, same day.
    assert ticket.first_response_due == datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    assert ticket.meta["callback"]["preferred_time"] == "18-21"
    assert "2026-11-23 21:00" in response.content.decode()


def test_callback_as_soon_as_possible_is_due_within_the_hour_and_bad_input_stores_nothing(alice) -> None:  # type: ignore[no-untyped-def]
    assert login(alice).post("/support/callback/", {"phone": "abc", "topic": "account"}).status_code == 400
    assert not Ticket.objects.exists()
    login(alice).post("/support/callback/", {"phone": "+8613800138000", "topic": "account", "preferred_time": "asap"})
    ticket = Ticket.objects.get()
    assert (ticket.first_response_due - ticket.created_at).total_seconds() == 3600


# --- calls logged on a ticket -------------------------------------------------------------------------

def test_agent_logs_calls_on_a_ticket_with_audit_and_first_response(alice, agent) -> None:  # type: ignore[no-untyped-def]
    verified_phone(alice)
    ticket = ticket_create(requester=Requester(user=alice), channel=Channel.PHONE, category="account",
                           subject="Call me", body="Please call", priority=Priority.URGENT)
    desk = login(agent)
    panel = desk.get(f"/desk/t/{ticket.public_id}/calls/").content.decode()
    assert 'value="+8613800138000"' in panel  # the requester's number is offered
    response = desk.post(f"/desk/t/{ticket.public_id}/calls/", {
        "direction": "outbound", "number": "+86 138 0013 8000", "duration_seconds": "184", "outcome": "answered",
        "notes": "Explained the pending transfer."})
    assert response.status_code == 302
    call = Call.objects.get()
    assert (call.ticket_id, call.source, call.direction, call.number, call.duration_seconds, call.outcome,
            call.notes, call.agent_id, call.customer_id) == (
        ticket.pk, "agent", "outbound", "+8613800138000", 184, "answered", "Explained the pending transfer.",
        agent.pk, alice.pk)
    ticket.refresh_from_db()
    assert ticket.first_responded_at == call.created_at  # the call back answered the customer
    assert ticket.events.filter(kind="call_logged").get().detail == {
        "call": call.public_id, "direction": "outbound", "outcome": "answered", "duration": 184}
    assert AuditRecord.objects.filter(action="hotline.call_log").count() == 1
    panel = desk.get(f"/desk/t/{ticket.public_id}/calls/").content.decode()
    assert "Explained the pending transfer." in panel and "184 s" in panel
    assert f"/desk/t/{ticket.public_id}/calls/" in desk.get(f"/desk/t/{ticket.public_id}/").content.decode()

    # Bad input: a clear error, nothing stored. A customer cannot log calls.
    bad = desk.post(f"/desk/t/{ticket.public_id}/calls/", {"direction": "sideways", "number": "+8613800138000",
                                                           "outcome": "answered"})
    assert bad.status_code == 400 and Call.objects.count() == 1
    # Issue 22: sent without a number (under htmx too), the panel comes back with the error at the field.
    for headers in ({}, {"HX-Request": "true"}):
        empty = desk.post(f"/desk/t/{ticket.public_id}/calls/", {"direction": "outbound", "number": "",
                                                                 "outcome": "answered"}, headers=headers)
        html = empty.content.decode()
        assert 'aria-invalid="true" aria-describedby="call-error" id="call-number"' in html
        assert 'role="alert" id="call-error">' in html and Call.objects.count() == 1
    assert login(alice).post(f"/desk/t/{ticket.public_id}/calls/", {
        "direction": "inbound", "number": "+8613800138000", "outcome": "answered"}).status_code == 403
    assert Call.objects.count() == 1


# --- the phone system's webhook ---------------------------------------------------------------------

def test_cti_webhook_refuses_bad_stale_or_missing_signatures(agent) -> None:  # type: ignore[no-untyped-def]
    payload = {"call_id": "c-1", "event": "ringing", "from": "+8613800138000"}
    for kwargs in ({"secret": "wrong"}, {"timestamp": int(time.time()) - 301}, {"timestamp": int(time.time()) + 400}):
        response = cti_post(payload, **kwargs)
        assert response.status_code == 403
        assert response.json() == {"error": {"code": "forbidden", "param": None,
                                             "message": "The signature is missing, wrong or too old."}}
    assert Client().post("/hooks/phone/calls", json.dumps(payload), content_type="application/json").status_code == 403
    assert not Call.objects.exists()
    bad = cti_post({"call_id": "c-1", "event": "ringing", "from": "not a number"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "phone"
    assert not Call.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_cti_call_pops_the_verified_customer_and_open_tickets_on_the_agent_on_duty(  # type: ignore[no-untyped-def]
        alice, bob, agent, supervisor) -> None:
    verified_phone(alice)
    open_ticket = ticket_create(requester=Requester(user=alice), channel=Channel.WEB, category="payment",
                                subject="Where is my refund?", body="…")
    agent_duty_set(user=agent, on_duty=True)
    cookie, other = session_cookie(agent), session_cookie(supervisor)  # the supervisor is not on duty

    async def scenario():  # type: ignore[no-untyped-def]
        on_duty = communicator("/ws/desk/calls/", cookie=cookie)
        off_duty = communicator("/ws/desk/calls/", cookie=other)
        assert (await on_duty.connect())[0] and (await off_duty.connect())[0]
        first = await database_sync_to_async(cti_post)(
            {"call_id": "pbx-778", "event": "ringing", "from": "+86 138 0013 8000", "to": "+864008001234"})
        frame = await on_duty.receive_json_from(timeout=5)
        again = await database_sync_to_async(cti_post)(  # the phone system repeats itself
            {"call_id": "pbx-778", "event": "answered", "from": "+8613800138000"})
        stranger = await database_sync_to_async(cti_post)(
            {"call_id": "pbx-779", "event": "ringing", "from": "+8613900139000"})
        frame2 = await on_duty.receive_json_from(timeout=5)
        quiet = await off_duty.receive_nothing(timeout=0.3) and await on_duty.receive_nothing(timeout=0.3)
        await on_duty.disconnect()
        await off_duty.disconnect()
        return first, frame, again, stranger, frame2, quiet

    first, frame, again, stranger, frame2, quiet = run(scenario)
    call = Call.objects.get(external_id="pbx-778")
    # Alice's verified number is only a claim (caller ID can be forged, issue 16.9): no customer,
    # none of her tickets, until the caller reads out a one-time code (tests/hotline/test_caller_claim.py).
    assert first.json() == {"call": call.public_id, "popped": True, "verified_customer": False,
                            "claimed_customer": True, "ticket": None}
    assert frame == {"type": "call", "id": call.public_id, "number": "+8613800138000", "verified": False,
                     "claimed": True, "customer": None, "tickets": [],
                     "pop_url": f"/desk/calls/{call.public_id}/"}
    assert again.json()["popped"] is False
    call.refresh_from_db()
    assert call.outcome == "answered"
    # Bob's number is not verified: an unverified caller, no customer, no wallet data.
    assert stranger.json()["verified_customer"] is False
    assert (frame2["verified"], frame2["claimed"], frame2["customer"], frame2["tickets"]) == (False, False, None, [])
    assert quiet

    # The pop-up's content (what the desk script shows), then a ticket made from the call.
    desk = login(agent)
    pop = desk.get(frame["pop_url"]).content.decode()
    assert "data-claimed" in pop and "Alice" not in pop and open_ticket.number not in pop
    pop2 = desk.get(frame2["pop_url"]).content.decode()
    assert "Bob" not in pop2 and "+8613900139000" in pop2
    response = desk.post(f"/desk/calls/{frame2['id']}/ticket/", {"topic": "security"})
    ticket = Ticket.objects.get(calls__external_id="pbx-779")
    assert response["Location"] == f"/desk/t/{ticket.public_id}/"
    assert (ticket.channel, ticket.priority, ticket.requester_id, ticket.requester_phone, ticket.category) == (
        Channel.PHONE, Priority.URGENT, None, "+8613900139000", "security")
    assert Client().get(frame["pop_url"]).status_code == 302  # not for the public
