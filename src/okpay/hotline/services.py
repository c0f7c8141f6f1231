"""Writes of the phone channel: agents log calls on tickets; the phone system (CTI) reports
incoming calls, which pop the caller's customer record and open tickets up on the desk of the
agents on duty; a reported call can become a phone ticket.

Identity (issue 9, item 5; issue 16, item 9): caller ID can be forged, so a number that is the
*verified* phone of exactly one account (``support.services.requester_for``) is only a **claim**:
the pop-up says so and shows no customer, no tickets of theirs and no wallet data, and a ticket made
from the call is not linked. The agent proves the caller by sending a one-time code (SMS to that
verified phone, or email to the account's address, ``caller_code_send``) that the caller reads out
(``caller_code_verify``); only then is the ticket linked (``verified_phone``) and the wallet context
and account actions open.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from okpay.audit.services import audit_record
from okpay.core.errors import Conflict, InvalidRequest, RateLimited
from okpay.hotline import push, selectors
from okpay.hotline.models import Call, CallerCheck, Direction, Outcome
from okpay.identity.models import User
from okpay.identity.services import phone_normalize
from okpay.support import clock, wallet
from okpay.support.models import AgentProfile, Category, Channel, Priority, RequesterLink, Status, Ticket
from okpay.support.permissions import can, require
from okpay.support.services import (
    InvalidTransition,
    Requester,
    event_add,
    requester_for,
    requester_link_set,
    ticket_create,
)

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


def claimed_customer(number: str) -> User | None:
    """The account whose verified phone is ``number`` (on exactly one account): what the caller
    ID *claims*, never proof."""
    if not number:
        return None
    requester = requester_for(phone=number)
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
        "claimed": customer is None and claimed_customer(call.number) is not None,
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
    claimed = claimed_customer(number)  # a claim only: the call has no customer until the caller is proved
    call = Call.objects.create(source=Call.Source.CTI, external_id=call_id, direction=Direction.INBOUND,
                               number=number, duration_seconds=seconds, outcome=outcome, customer=None,
                               created_at=clock.now())
    tickets = selectors.open_tickets_for_caller(number=number, customer=None)
    payload = pop_payload(call, tickets)
    targets = _agents_on_duty((agent or "").strip().lower())
    for target in targets:
        push.screen_pop(target.public_id, payload)
    audit_record(actor="system", action="hotline.cti_call", target=call,
                 detail={"call": call.public_id, "customer": None,
                         "claimed": claimed.public_id if claimed else None,
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
    # Unlinked even when the caller ID matches a verified phone: that is a claim (caller_code_send).
    requester = Requester(phone=call.number)
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


# --- proving a caller: a one-time code read out on the call -----------------------------------------

CODE_TTL = timedelta(minutes=10)
CODE_TRIES = 5
CODES_PER_TICKET = 3  # in any 10 minutes


def _code_hash(check_ticket: int, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"caller:{check_ticket}:{code}".encode(), hashlib.sha256).hexdigest()


def caller_claim(ticket: Ticket) -> User | None:
    """The account a phone ticket's caller ID claims, while the ticket is not linked to anyone."""
    if ticket.requester_id is not None or ticket.channel != Channel.PHONE or not ticket.requester_phone:
        return None
    return claimed_customer(ticket.requester_phone)


def _code_text(user: User, code: str) -> str:
    with translation.override(user.locale or settings.LANGUAGE_CODE):
        return _("[OKPay] Code %(code)s: read it out only to the OKPay agent on the call you made to our hotline "
                 "%(hotline)s. Valid for 10 minutes. If you are not on such a call, do not share it with anyone.") % {
            "code": code, "hotline": settings.OKPAY_HOTLINE}


@transaction.atomic
def caller_code_send(*, ticket: Ticket, agent: User, via: str) -> CallerCheck:
    """Send the claimed customer a one-time code (SMS to their verified phone, or email) for the
    caller to read out. Earlier codes of the ticket stop working; three codes per ten minutes."""
    from okpay.identity.emails import Mail, mail_user
    from okpay.identity.sms import sms_send

    require(agent, "reply_ticket")
    if via not in CallerCheck.Via.values:
        raise InvalidRequest(gettext_noop("Choose SMS or email."), param="via")
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    customer = caller_claim(ticket)
    if customer is None:
        raise Conflict(gettext_noop("This ticket has no caller to prove."))
    now = clock.now()
    if CallerCheck.objects.filter(ticket=ticket, created_at__gt=now - CODE_TTL).count() >= CODES_PER_TICKET:
        raise RateLimited(gettext_noop("Too many codes for this call. Wait a few minutes."))
    CallerCheck.objects.filter(ticket=ticket, verified_at__isnull=True, closed_at__isnull=True).update(closed_at=now)
    code = f"{secrets.randbelow(10**6):06d}"
    check = CallerCheck.objects.create(ticket=ticket, customer=customer, via=via, code_hash="", sent_by=agent,
                                       created_at=now, expires_at=now + CODE_TTL)
    check.code_hash = _code_hash(check.pk, code)
    check.save(update_fields=["code_hash"])
    if via == CallerCheck.Via.SMS:
        sms_send(to=customer.phone, body=_code_text(customer, code))
    else:
        def build(user: User) -> Mail:
            return Mail(subject=_("Your code for the OKPay hotline"), heading=_("Your code for the OKPay hotline"),
                        paragraphs=[_code_text(user, code)])
        mail_user(customer, build)
    event_add(ticket, "caller_code_sent", agent, via=via)
    audit_record(actor=agent, action="hotline.caller_code_sent", target=ticket,
                 detail={"via": via, "claimed": customer.public_id})
    return check


def caller_code_verify(*, ticket: Ticket, agent: User, code: str) -> Ticket:
    """The caller read out the code: the ticket is linked to the account (``verified_phone``) and
    the ticket's calls to the customer. A wrong code counts a try; five end the code."""
    require(agent, "reply_ticket")
    code = "".join((code or "").split())
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        now = clock.now()
        check = (CallerCheck.objects.select_for_update()
                 .filter(ticket=ticket, verified_at__isnull=True, closed_at__isnull=True, expires_at__gt=now)
                 .order_by("-pk").first())
        if check is None or check.attempts >= CODE_TRIES or caller_claim(ticket) != check.customer:
            raise InvalidRequest(gettext_noop("The code has expired. Send a new one."), param="code")
        ok = hmac.compare_digest(check.code_hash, _code_hash(check.pk, code))
        if not ok:
            check.attempts += 1
            check.save(update_fields=["attempts"])
            audit_record(actor=agent, action="hotline.caller_code_wrong", target=ticket,
                         detail={"attempts": check.attempts})
        else:
            check.verified_at = now
            check.save(update_fields=["verified_at"])
            ticket = requester_link_set(ticket=ticket, user=check.customer, link=RequesterLink.VERIFIED_PHONE,
                                        actor=agent)
            Call.objects.filter(ticket=ticket, number=ticket.requester_phone).update(customer=check.customer)
            event_add(ticket, "caller_verified", agent, via=check.via)
            audit_record(actor=agent, action="hotline.caller_verified", target=ticket,
                         detail={"via": check.via, "customer": check.customer.public_id})
    if not ok:
        raise InvalidRequest(gettext_noop("The code is not correct."), param="code")
    return ticket
