"""Writes of the phone channel: agents log calls on tickets; the phone system (CTI) reports
incoming calls, which pop the caller's customer record and open tickets up on the desk of the
agents on duty; a reported call can become a phone ticket.

Identity (issue 9, item 5): a number is matched to a customer only when it is the *verified*
phone of exactly one account (``support.services.requester_for``); otherwise the caller is
unverified and the pop-up shows no customer and no wallet data.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from okpay.audit.services import audit_record
from okpay.core.errors import InvalidRequest
from okpay.hotline import push, selectors
from okpay.hotline.models import Call, Direction, Outcome
from okpay.identity.models import User
from okpay.identity.services import phone_normalize
from okpay.support import clock, wallet
from okpay.support.models import AgentProfile, Category, Channel, Priority, RequesterLink, Status, Ticket
from okpay.support.permissions import can, require
from okpay.support.services import InvalidTransition, Requester, event_add, requester_for, ticket_create

NOTES_MAX = 5000
DURATION_MAX = 86_400
AGENT_OUTCOMES = [o for o in Outcome.values if o != Outcome.RINGING]
CTI_EVENTS = {"ringing", "answered", "ended", "missed"}


def _number(value: str) -> str:
    return phone_normalize(value)


def _duration(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidRequest(gettext_noop("Enter the duration in seconds."), param="duration_seconds")
    try:
        seconds = int(str(value).strip() or "0")
    except ValueError:
        raise InvalidRequest(gettext_noop("Enter the duration in seconds."), param="duration_seconds") from None
    if not 0 <= seconds <= DURATION_MAX:
        raise InvalidRequest(gettext_noop("Enter the duration in seconds."), param="duration_seconds")
    return seconds


def _verified_customer(number: str) -> User | None:
    requester = requester_for(phone=number)  # verified on exactly one account, or nobody's
    return requester.user if requester.link == RequesterLink.VERIFIED_PHONE else None


@transaction.atomic
def call_log(*, ticket: Ticket, agent: User, direction: str, number: str, duration_seconds: Any, outcome: str,
             notes: str = "") -> Call:
    """An agent records a call on a ticket. An answered outbound call (a call back) is the
    ticket's first response when nobody had answered yet."""
    require(agent, "reply_ticket")
    if direction not in Direction.values:
        raise InvalidRequest(gettext_noop("Choose inbound or outbound."), param="direction")
    if outcome not in AGENT_OUTCOMES:
        raise InvalidRequest(gettext_noop("Choose how the call ended."), param="outcome")
    number = _number(number)
    seconds = _duration(duration_seconds)
    notes = (notes or "").strip()
    if len(notes) > NOTES_MAX:
        raise InvalidRequest(gettext_noop("The notes are too long."), param="notes")
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.status == Status.CLOSED:
        raise InvalidTransition(gettext_noop("The ticket is closed."))
    now = clock.now()
    customer = ticket.requester if ticket.requester and ticket.requester.phone == number and \
        ticket.requester.phone_verified_at else None
    call = Call.objects.create(ticket=ticket, source=Call.Source.AGENT, direction=direction, number=number,
                               duration_seconds=seconds, outcome=outcome, notes=notes, agent=agent,
                               customer=customer, created_at=now)
    fields = ["updated_at"]
    if direction == Direction.OUTBOUND and outcome in (Outcome.ANSWERED, Outcome.RESOLVED) and \
            ticket.first_responded_at is None:
        ticket.first_responded_at = now
        fields.append("first_responded_at")
        if ticket.first_response_due and now > ticket.first_response_due and not ticket.first_response_breached:
            ticket.first_response_breached = True
            fields.append("first_response_breached")
    ticket.updated_at = now
    ticket.save(update_fields=fields)
    event_add(ticket, "call_logged", agent, call=call.public_id, direction=direction, outcome=outcome,
              duration=seconds)
    audit_record(actor=agent, action="hotline.call_log", target=ticket,
                 detail={"call": call.public_id, "direction": direction, "outcome": outcome, "duration": seconds})
    return call


def _agents_on_duty(preferred: str) -> list[User]:
    profiles = (AgentProfile.objects.filter(on_duty=True, user__is_active=True).select_related("user")
                .order_by("pk"))
    agents = [p.user for p in profiles if can(p.user, "view_desk")]
    if preferred:
        chosen = [a for a in agents if preferred in (a.email.lower(), a.public_id)]
        if chosen:
            return chosen
    return agents


def pop_payload(call: Call, tickets: list[Ticket]) -> dict[str, Any]:
    customer = call.customer
    return {
        "id": call.public_id,
        "number": call.number,
        "verified": customer is not None,
        "customer": None if customer is None else {
            "id": customer.public_id, "name": customer.display_name, "email": wallet.mask_email(customer.email),
            "link": "verified_phone"},
        "tickets": [{"id": t.public_id, "number": t.number, "subject": t.subject, "status": t.status,
                     "url": reverse("support:desk-ticket", args=[t.public_id])} for t in tickets],
        "pop_url": reverse("hotline:call-pop", args=[call.public_id]),
    }


@transaction.atomic
def cti_call_report(*, call_id: str, event: str, number: str, agent: str = "", duration_seconds: Any = 0
                    ) -> tuple[Call, bool]:
    """The phone system reports a call (``ringing``, ``answered``, ``ended``, ``missed``). The first
    report of a call id stores it and pops it up on the desks of the agents on duty (the agent
    the system names, when that one is on duty); later reports only update outcome and duration.
    Returns the call and whether this report popped it up."""
    call_id = (call_id or "").strip()
    if not call_id or len(call_id) > 100:
        raise InvalidRequest(gettext_noop("A call id is required."), param="call_id")
    if event not in CTI_EVENTS:
        raise InvalidRequest(gettext_noop("Unknown call event."), param="event")
    number = _number(number)
    seconds = _duration(duration_seconds or 0)
    call = Call.objects.select_for_update().filter(external_id=call_id).first()
    outcome = {"ringing": Outcome.RINGING, "answered": Outcome.ANSWERED, "ended": Outcome.ANSWERED,
               "missed": Outcome.NO_ANSWER}[event]
    if call is not None:
        if call.number != number:
            raise InvalidRequest(gettext_noop("This call id belongs to another number."), param="call_id")
        changed = []
        if event != "ringing" and call.outcome != outcome and call.outcome != Outcome.NO_ANSWER:
            call.outcome = outcome
            changed.append("outcome")
        if seconds and call.duration_seconds != seconds:
            call.duration_seconds = seconds
            changed.append("duration_seconds")
        if changed:
            call.save(update_fields=changed)
        return call, False
    customer = _verified_customer(number)
    call = Call.objects.create(source=Call.Source.CTI, external_id=call_id, direction=Direction.INBOUND,
                               number=number, duration_seconds=seconds, outcome=outcome, customer=customer,
                               created_at=clock.now())
    tickets = selectors.open_tickets_for_caller(number=number, customer=customer)
    payload = pop_payload(call, tickets)
    targets = _agents_on_duty((agent or "").strip().lower())
    for target in targets:
        push.screen_pop(target.public_id, payload)
    audit_record(actor="system", action="hotline.cti_call", target=call,
                 detail={"call": call.public_id, "customer": customer.public_id if customer else None,
                         "agents": [a.public_id for a in targets]})
    return call, True


@transaction.atomic
def call_ticket_create(*, call: Call, agent: User, topic: str = Category.ACCOUNT) -> Ticket:
    """A phone ticket for a reported call (the agent picked it up from the pop-up)."""
    require(agent, "reply_ticket")
    call = Call.objects.select_for_update().get(pk=call.pk)
    if call.ticket_id is not None:
        return call.ticket  # type: ignore[return-value]
    if topic not in Category.values:
        raise InvalidRequest(gettext_noop("Choose a category."), param="topic")
    customer = call.customer
    requester = Requester(user=customer, phone=call.number, link=RequesterLink.VERIFIED_PHONE) if customer else \
        Requester(phone=call.number)
    with translation.override(settings.LANGUAGE_CODE):  # stored text: in the desk's first language
        subject = _("Phone call from %(number)s") % {"number": call.number}
        body = _("Incoming call, reported by the phone system.")
    ticket = ticket_create(requester=requester, channel=Channel.PHONE, category=topic, priority=Priority.URGENT,
                           subject=subject, body=body, actor=agent, meta={"call": call.public_id})
    call.ticket = ticket
    call.agent = agent
    call.save(update_fields=["ticket", "agent"])
    event_add(ticket, "call_linked", agent, call=call.public_id)
    return ticket
