"""Every write of the support desk. Views, the API, sweeps and commands call these; each owns its
database transaction (nestable: the API's idempotency layer may already have opened one).

Status machine (``TRANSITIONS``)::

    new ──► open ◄──► waiting (SLA paused) ◄──► on_hold
     │        │            │                       │
     └────────┴────────────┴──► solved ──(7 days, or closed by the customer)──► closed
                                  │
                 customer reply within 7 days: reopened (open); later: a follow-up ticket
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import nh3
from django.conf import settings
from django.core import signing
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Q
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext, gettext_noop

from okpay.audit.services import audit_record
from okpay.core.errors import Conflict, Forbidden, InvalidRequest, NotFound
from okpay.identity.models import User
from okpay.support import clock, emails, notes, wallet
from okpay.support.models import (
    ACTIVE_STATUSES,
    PRIORITY_ORDER,
    AgentProfile,
    Attachment,
    CannedReply,
    Category,
    Channel,
    EmailMessageId,
    Feedback,
    NpsResponse,
    Priority,
    Rating,
    RequesterLink,
    SlaPolicy,
    Status,
    Tag,
    Team,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketMessage,
    TicketPresence,
    TicketTransaction,
    UndeliverableAddress,
)
from okpay.support.permissions import can, require
from okpay.support.sla import Calendar

TRANSITIONS: dict[str, set[str]] = {
    Status.NEW: {Status.OPEN, Status.WAITING, Status.ON_HOLD, Status.SOLVED, Status.CLOSED},
    Status.OPEN: {Status.WAITING, Status.ON_HOLD, Status.SOLVED},
    Status.WAITING: {Status.OPEN, Status.ON_HOLD, Status.SOLVED},
    Status.ON_HOLD: {Status.OPEN, Status.WAITING, Status.SOLVED},
    Status.SOLVED: {Status.OPEN, Status.CLOSED},
    Status.CLOSED: set(),
}

SUBJECT_MAX = 200
BODY_MAX = 20_000
ATTACHMENTS_MAX = 5
# type → the first bytes every such file starts with (empty: text, checked as UTF-8)
ATTACHMENT_TYPES: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF-",),
    "text/plain": (),
}
ALLOWED_TAGS = {"p", "br", "strong", "b", "em", "i", "u", "ul", "ol", "li", "a", "blockquote", "code", "pre"}
PRESENCE_SECONDS = 45


class TicketNotFound(NotFound):
    code = "not_found"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class AlreadyRated(Conflict):
    code = "already_rated"


class NotRatable(Conflict):
    code = "not_ratable"


class NpsNotDue(Conflict):
    code = "nps_not_due"


class AttachmentRefused(InvalidRequest):
    code = "attachment_refused"


# --- helpers ------------------------------------------------------------------------------------

def _actor(actor: User | str | None) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    return actor.public_id


def event_add(ticket: Ticket, kind: str, actor: User | str | None, **detail: Any) -> TicketEvent:
    return TicketEvent.objects.create(ticket=ticket, kind=kind, actor=_actor(actor), at=clock.now(),
                                      detail={k: v for k, v in detail.items() if v is not None})


def sanitize_html(value: str) -> str:
    """Inbound HTML (email, rich text) reduced to a few harmless tags; links get rel=noopener."""
    return nh3.clean(value[: BODY_MAX * 2], tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}},
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")


def text_to_html(text: str) -> str:
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs)


def html_to_text(value: str) -> str:
    stripped = nh3.clean(re.sub(r"(?i)<br\s*/?>|</p>|</li>", "\n", value), tags=set())
    return html.unescape(stripped).strip()


def _body(body: str | None, body_html: str | None) -> tuple[str, str]:
    if body_html:
        clean = sanitize_html(body_html)
        text = html_to_text(clean)
    else:
        text = (body or "").strip()
        clean = text_to_html(text)
    if not text:
        raise InvalidRequest(gettext_noop("Write a message."), param="body")
    if len(text) > BODY_MAX:
        raise InvalidRequest(gettext_noop("The message is too long."), param="body")
    return clean, text


def attachment_check(upload: UploadedFile) -> str:
    """The content type of an acceptable upload; refuses big files and types we do not take.
    The type is decided by the file's first bytes, never by its name or the browser's claim."""
    limit = settings.OKPAY_SUPPORT_ATTACHMENT_MAX_BYTES
    if upload.size is None or upload.size > limit:
        raise AttachmentRefused(gettext_noop("An attachment is too big."), param="attachments")
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for content_type, magics in ATTACHMENT_TYPES.items():
        if magics and any(head.startswith(m) for m in magics):
            if content_type == "image/webp" and head[8:12] != b"WEBP":
                continue
            return content_type
    sample = upload.read(4096)
    upload.seek(0)
    if b"\x00" not in sample:
        try:
            sample.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(sample) - 4:  # a cut multibyte character at the end is fine
                raise AttachmentRefused(gettext_noop("This type of file is not accepted."),
                                        param="attachments") from None
        return "text/plain"
    raise AttachmentRefused(gettext_noop("This type of file is not accepted."), param="attachments")


def _attachments_save(message: TicketMessage, uploads: Sequence[UploadedFile]) -> None:
    if len(uploads) > ATTACHMENTS_MAX:
        raise AttachmentRefused(gettext_noop("Too many attachments."), param="attachments")
    for upload in uploads:
        content_type = attachment_check(upload)
        name = re.sub(r"[^\w.\- ]", "_", (upload.name or "file").rsplit("/", 1)[-1])[:200] or "file"
        Attachment.objects.create(message=message, file=upload, name=name, content_type=content_type,
                                  size=upload.size or 0)


def _next_number(now: datetime) -> str:
    year = now.year
    TicketCounter.objects.get_or_create(year=year)
    TicketCounter.objects.filter(year=year).update(last=F("last") + 1)
    last = TicketCounter.objects.select_for_update().get(year=year).last
    return f"OK-{year}-{last:06d}"


# --- SLA ----------------------------------------------------------------------------------------

def policy_for(ticket: Ticket) -> SlaPolicy | None:
    return SlaPolicy.objects.select_related("calendar").filter(channel=ticket.channel,
                                                               priority=ticket.priority).first()


def calendar_for(ticket: Ticket) -> Calendar:
    policy = ticket.sla_policy
    return Calendar.of(policy.calendar if policy else None)


def _resolution_minutes(ticket: Ticket, policy: SlaPolicy) -> float:
    minutes = float(policy.resolution_minutes)
    if ticket.category == Category.COMPLAINT:  # the complaint rule: its own resolution target
        minutes = min(minutes, settings.OKPAY_SUPPORT_COMPLAINT_RESOLUTION_HOURS * 60.0)
    return minutes


def sla_apply(ticket: Ticket) -> None:
    """(Re)compute the due times from the policy of the ticket's channel × priority, counting
    business time from creation plus the time spent waiting on the customer."""
    policy = policy_for(ticket)
    ticket.sla_policy = policy
    if policy is None:
        ticket.first_response_due = ticket.resolution_due = None
        return
    cal = Calendar.of(policy.calendar)
    paused = ticket.sla_paused_seconds / 60.0
    if ticket.first_responded_at is None:
        ticket.first_response_due = cal.add(ticket.created_at, policy.first_response_minutes + paused)
    ticket.resolution_due = cal.add(ticket.created_at, _resolution_minutes(ticket, policy) + paused)


def _sla_pause(ticket: Ticket, now: datetime) -> None:
    if ticket.sla_paused_at is None:
        ticket.sla_paused_at = now


def _sla_resume(ticket: Ticket, now: datetime) -> None:
    if ticket.sla_paused_at is None:
        return
    cal = calendar_for(ticket)
    seconds = cal.between(ticket.sla_paused_at, now)
    ticket.sla_paused_seconds += seconds
    ticket.sla_paused_at = None
    for field in ("first_response_due", "next_response_due", "resolution_due"):
        due = getattr(ticket, field)
        if due is not None:
            setattr(ticket, field, cal.add(due, seconds / 60.0))
    ticket.sla_warned_at = None


SLA_FIELDS = ["sla_policy", "first_response_due", "next_response_due", "resolution_due", "sla_paused_at",
              "sla_paused_seconds", "sla_warned_at"]


# --- creating tickets ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Requester:
    """Who writes. ``user`` is set only when we know the customer; ``link`` says how we know
    (``RequesterLink``: '' unlinked, ``session``, ``verified_email``, ``verified_phone``,
    ``social_link``, ``proved_by_email``); a user given without a link counts as ``session``.
    ``unverified`` is a reason the channel's own proof failed (e.g. an email whose
    Authentication-Results said fail): shown to the agent, and such a requester is never linked."""

    user: User | None = None
    email: str = ""
    phone: str = ""
    handle: str = ""
    name: str = ""
    link: str = ""
    unverified: str = ""

    @property
    def how(self) -> str:
        if self.user is None:
            return RequesterLink.NONE
        return self.link or RequesterLink.SESSION


def requester_for(*, email: str = "", phone: str = "", handle: str = "", name: str = "",
                  unverified: str = "") -> Requester:
    """The requester behind a channel address. Linked to a customer only when the email address
    or phone number is *verified* on that customer's account (an address someone merely typed
    into a profile, or one that failed the channel's own checks, stays unlinked and unverified).
    A social ``handle`` (``platform:id``) is linked by the social channel's own account links,
    which it passes as ``Requester(user=…, link="social_link")``; here it stays unlinked."""
    email = (email or "").strip().lower()[:254]
    phone = re.sub(r"[\s().-]", "", phone or "")[:32]
    handle = (handle or "").strip()[:120]
    name = " ".join((name or "").split())[:100]
    base = Requester(email=email, phone=phone, handle=handle, name=name, unverified=unverified[:60])
    if unverified:
        return base
    if email:
        user = User.objects.filter(email__iexact=email, email_verified_at__isnull=False, is_active=True).first()
        if user is not None:
            return Requester(user=user, email=email, phone=phone, handle=handle, name=name,
                             link=RequesterLink.VERIFIED_EMAIL)
    if phone:
        candidates = {phone, phone if phone.startswith("+") else "+" + phone}
        users = list(User.objects.filter(phone__in=candidates, phone_verified_at__isnull=False,
                                         is_active=True)[:2])
        if len(users) == 1:  # a number verified on two accounts proves neither
            return Requester(user=users[0], email=email, phone=phone, handle=handle, name=name,
                             link=RequesterLink.VERIFIED_PHONE)
    return base


def _email_id_record(ticket: Ticket, message_id: str, address: str) -> None:
    """Remember the Message-ID of a received mail, for threading the replies."""
    if message_id:
        EmailMessageId.objects.create(message_id=message_id[:255], ticket=ticket, direction=EmailMessageId.Direction.IN,
                                      address=address.lower()[:254], created_at=clock.now())


@transaction.atomic
def ticket_create(*, requester: Requester, channel: str, category: str, subject: str, body: str = "",
                  body_html: str | None = None, transaction_id: str | None = None, priority: str | None = None,
                  attachments: Sequence[UploadedFile] = (), actor: User | None = None, lang: str = "",
                  meta: dict[str, Any] | None = None, follow_up_of: Ticket | None = None,
                  acknowledge: bool = True, email_message_id: str = "") -> Ticket:
    """A new ticket from any channel, with its first message; acknowledged by email at once
    (``acknowledge=False``: not, e.g. for an automatic mail that must get no automatic answer)."""
    if channel not in Channel.values:
        raise InvalidRequest(gettext_noop("Unknown channel."), param="channel")
    if category not in Category.values:
        raise InvalidRequest(gettext_noop("Choose a category."), param="category")
    subject = " ".join((subject or "").split())
    if not subject or len(subject) > SUBJECT_MAX:
        raise InvalidRequest(gettext_noop("Enter a subject of at most 200 characters."), param="subject")
    if not (requester.user or requester.email or requester.phone or requester.handle):
        raise InvalidRequest(gettext_noop("Say who is asking."), param="requester")
    if priority is not None and priority not in Priority.values:
        raise InvalidRequest(gettext_noop("Unknown priority."), param="priority")
    clean_html, text = _body(body, body_html)
    txn = None
    if transaction_id:
        txn = wallet.transaction_of(requester.user, transaction_id) if requester.user else None
        if txn is None:
            raise InvalidRequest(gettext_noop("No such transaction in your wallet."), param="transaction_id")
    now = clock.now()
    priority = priority or Priority.NORMAL
    complaint_floor = PRIORITY_ORDER.index(Priority.HIGH)
    if category == Category.COMPLAINT and PRIORITY_ORDER.index(Priority(priority)) < complaint_floor:
        priority = Priority.HIGH  # the complaint rule
    user = requester.user
    ticket = Ticket(
        number=_next_number(now), requester=user,
        requester_name=(requester.name or (user.display_name if user else ""))[:100],
        requester_email=(requester.email or (user.email if user else ""))[:254],
        requester_phone=(requester.phone or (user.phone if user else "") or "")[:32],
        requester_handle=requester.handle[:120], requester_link=requester.how, channel=channel,
        category=category, subject=subject, priority=priority, created_at=now, updated_at=now,
        follow_up_of=follow_up_of,
        meta={**(meta or {}), **({"lang": lang} if lang else {}),
              **({"unverified": requester.unverified} if requester.unverified else {})},
    )
    sla_apply(ticket)
    ticket.save()
    message = TicketMessage.objects.create(
        ticket=ticket, author=user, author_kind=TicketMessage.AuthorKind.CUSTOMER, channel=channel,
        body_html=clean_html, body_text=text, created_at=now)
    _attachments_save(message, attachments)
    _email_id_record(ticket, email_message_id, requester.email or ticket.requester_email)
    if txn is not None:
        TicketTransaction.objects.create(ticket=ticket, transaction_id=txn.public_id, added_at=now)
    event_add(ticket, "created", actor or user or "system", channel=channel, category=category, priority=priority,
              link=requester.how or None, unverified=requester.unverified or None,
              transaction=txn.public_id if txn else None, follow_up_of=follow_up_of.number if follow_up_of else None)
    if actor is not None and actor != user:
        audit_record(actor=actor, action="support.ticket_create", target=ticket, detail={"channel": channel})
    if acknowledge:
        emails.acknowledgement(ticket)
    if category == Category.COMPLAINT:
        event_add(ticket, "complaint_rule", "system", priority=priority)
        emails.supervisors_alert(ticket, reason=gettext_noop("A complaint was filed"))
    return ticket


# Call-back windows offered on the contact page (local time of the desk); "asap" is within the hour.
CALLBACK_WINDOWS = ["asap", "09-12", "12-15", "15-18", "18-21"]


def callback_due(window: str, *, now: datetime | None = None) -> datetime:
    """When the call back must have happened: an hour from now for "as soon as possible" (or a
    free-text wish), else the end of the next such window in the desk's time zone."""
    now = now or clock.now()
    if window not in CALLBACK_WINDOWS or window == "asap":
        return now + timedelta(hours=1)
    end_hour = int(window.split("-")[1])
    local = now.astimezone(ZoneInfo(settings.TIME_ZONE))
    end = local.replace(hour=end_hour, minute=0, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return max(end, now + timedelta(minutes=15))


@transaction.atomic
def callback_request(*, phone: str, topic: str, preferred_time: str = "", user: User | None = None,
                     lang: str = "") -> Ticket:
    """"Call me back": an urgent phone ticket for the hotline team, due by the end of the chosen
    window (``CALLBACK_WINDOWS``; within the hour by default)."""
    phone = re.sub(r"[\s\-()]", "", phone or "")
    if not re.fullmatch(r"\+?\d{6,20}", phone):
        raise InvalidRequest(gettext_noop("Enter a phone number."), param="phone")
    topic = " ".join((topic or "").split())
    if not topic:
        raise InvalidRequest(gettext_noop("Say what the call is about."), param="topic")
    preferred_time = " ".join((preferred_time or "").split())[:100]
    category = topic if topic in Category.values else Category.ACCOUNT
    if topic in Category.values:  # a topic picked from the list: its name in words, in the desk's language
        from django.utils import translation

        with translation.override(settings.LANGUAGE_CODE):
            topic = gettext("Call-back request: %(topic)s") % {"topic": str(Category(topic).label)}
    body = f"{topic}\n\n{phone}" + (f"\n{preferred_time}" if preferred_time else "")
    due = callback_due(preferred_time)
    ticket = ticket_create(
        requester=Requester(user=user, phone=phone), channel=Channel.PHONE, category=category,
        subject=topic[:SUBJECT_MAX], body=body, priority=Priority.URGENT, lang=lang,
        meta={"callback": {"phone": phone, "preferred_time": preferred_time, "due": due.isoformat()}})
    if ticket.first_response_due is None or ticket.first_response_due < due:
        ticket.first_response_due = due  # the call back is the first response; the window sets its time
        ticket.save(update_fields=["first_response_due"])
    return ticket


# --- customer side -----------------------------------------------------------------------------

def _same_address(ticket: Ticket, requester: Requester) -> bool:
    return bool((requester.email and requester.email.lower() == ticket.requester_email.lower())
                or (requester.phone and requester.phone == ticket.requester_phone)
                or (requester.handle and requester.handle == ticket.requester_handle))


def reply_author(ticket: Ticket, requester: Requester) -> User | None:
    """Who may write on ``ticket`` as its requester: on a linked ticket only that customer (a
    sender we could not link never joins a customer's ticket); on an unlinked one the same
    email address, phone number or handle. Raises ``TicketNotFound`` for anybody else."""
    if ticket.requester_id is not None:
        if requester.user is not None and requester.user.pk == ticket.requester_id and not requester.unverified:
            return requester.user
        raise TicketNotFound(gettext_noop("No such ticket."))
    if _same_address(ticket, requester):
        return None
    raise TicketNotFound(gettext_noop("No such ticket."))


@transaction.atomic
def customer_reply(*, ticket: Ticket, user: User | None = None, requester: Requester | None = None,
                   body: str = "", body_html: str | None = None, attachments: Sequence[UploadedFile] = (),
                   channel: str | None = None, email_message_id: str = "", acknowledge: bool = True) -> TicketMessage:
    """The customer writes on their ticket: a signed-in ``user``, or a channel ``requester``
    (see ``reply_author``: a requester that does not own the ticket gets ``TicketNotFound``).
    A solved ticket reopens within the reopen window; a closed one, or a solved one past the
    window, gets a follow-up ticket instead (acknowledged unless ``acknowledge=False``)."""
    if requester is None:
        if user is None:
            raise TicketNotFound(gettext_noop("No such ticket."))
        requester = Requester(user=user)
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    user = reply_author(ticket, requester)
    now = clock.now()
    window = timedelta(days=settings.OKPAY_SUPPORT_REOPEN_DAYS)
    if ticket.status == Status.CLOSED or (
            ticket.status == Status.SOLVED and ticket.solved_at and now - ticket.solved_at > window):
        if user is None:  # an unlinked follow-up keeps the address it came from
            requester = Requester(email=requester.email or ticket.requester_email,
                                  phone=requester.phone or ticket.requester_phone,
                                  handle=requester.handle or ticket.requester_handle,
                                  name=requester.name or ticket.requester_name, unverified=requester.unverified)
        follow_up = ticket_create(
            requester=requester, channel=channel or ticket.channel, category=ticket.category,
            subject=ticket.subject, body=body, body_html=body_html, attachments=attachments,
            follow_up_of=ticket, lang=ticket.meta.get("lang", ""), email_message_id=email_message_id,
            acknowledge=acknowledge)
        event_add(ticket, "follow_up_created", user or "requester", follow_up=follow_up.number)
        return follow_up.messages.get()
    clean_html, text = _body(body, body_html)
    message = TicketMessage.objects.create(
        ticket=ticket, author=user, author_kind=TicketMessage.AuthorKind.CUSTOMER,
        channel=channel or ticket.channel, body_html=clean_html, body_text=text, created_at=now)
    _attachments_save(message, attachments)
    _email_id_record(ticket, email_message_id, requester.email or ticket.requester_email)
    fields = ["updated_at", *SLA_FIELDS]
    if ticket.status == Status.SOLVED:
        ticket.status = Status.OPEN
        ticket.solved_at = None
        fields += ["status", "solved_at"]
        event_add(ticket, "reopened", user or "requester")
    elif ticket.status in (Status.WAITING, Status.ON_HOLD):
        _sla_resume(ticket, now)
        event_add(ticket, "status", user or "requester", old=ticket.status, new=Status.OPEN)
        ticket.status = Status.OPEN
        fields.append("status")
    policy = ticket.sla_policy
    if ticket.first_responded_at is not None and ticket.next_response_due is None and policy is not None:
        ticket.next_response_due = calendar_for(ticket).add(now, policy.next_response_minutes)
        ticket.next_response_breached = False
        fields.append("next_response_breached")
    ticket.updated_at = now
    ticket.save(update_fields=fields)
    event_add(ticket, "message", user or "requester", message=message.public_id, visibility="public")
    return message


# --- proving who the requester is ------------------------------------------------------------------

PROOF_SALT = "okpay.support.requester-proof"
PROOF_MAX_AGE = timedelta(days=3)


class ProofInvalid(InvalidRequest):
    code = "invalid_token"


@transaction.atomic
def requester_link_set(*, ticket: Ticket, user: User, link: str, actor: User | str) -> Ticket:
    """Link an unlinked ticket to the customer ``user`` (how: ``link``); an event and an audit
    record say who did it. A ticket linked to somebody else is never relinked."""
    if link not in RequesterLink.values or not link:
        raise InvalidRequest(gettext_noop("Unknown way of linking."), param="link")
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.requester_id is not None:
        if ticket.requester_id == user.pk:
            return ticket
        raise Conflict(gettext_noop("This ticket belongs to another customer."))
    ticket.requester = user
    ticket.requester_link = link
    if not ticket.requester_name:
        ticket.requester_name = user.display_name[:100]
    ticket.updated_at = clock.now()
    ticket.save(update_fields=["requester", "requester_link", "requester_name", "updated_at"])
    event_add(ticket, "requester_linked", actor, customer=user.public_id, link=link)
    audit_record(actor=actor, action="support.requester_linked", target=ticket,
                 detail={"customer": user.public_id, "link": link, "email": ticket.requester_email or None})
    return ticket


def proof_token(ticket: Ticket) -> str:
    return signing.dumps({"t": ticket.public_id, "e": ticket.requester_email.lower()}, salt=PROOF_SALT,
                         compress=True)


@transaction.atomic
def requester_proof_send(*, ticket: Ticket, agent: User) -> Ticket:
    """"Prove it's you": mail the ticket's address a signed link. Following it (and, when the
    address is no customer's verified one, signing in) links the ticket to the customer."""
    require(agent, "reply_ticket")
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.requester_id is not None:
        raise Conflict(gettext_noop("This ticket is already linked to a customer."))
    if not ticket.requester_email:
        raise InvalidRequest(gettext_noop("This ticket has no email address to write to."), param="ticket")
    event_add(ticket, "requester_proof_sent", agent, email=ticket.requester_email)
    audit_record(actor=agent, action="support.requester_proof_sent", target=ticket,
                 detail={"email": ticket.requester_email})
    emails.requester_proof(ticket, proof_token(ticket))
    return ticket


def proof_ticket(token: str) -> Ticket:
    """The ticket a proof link is for; ``ProofInvalid`` when the link is forged, expired, or the
    ticket's address has changed since."""
    try:
        data = signing.loads(token, salt=PROOF_SALT, max_age=PROOF_MAX_AGE)
    except signing.BadSignature:
        raise ProofInvalid(gettext_noop("This link is invalid or has expired.")) from None
    ticket = Ticket.objects.filter(public_id=str(data.get("t", ""))).first()
    if ticket is None or ticket.requester_email.lower() != data.get("e"):
        raise ProofInvalid(gettext_noop("This link is invalid or has expired."))
    return ticket


def proof_customer(ticket: Ticket) -> User | None:
    """The customer whose verified email is the ticket's address, if any."""
    if not ticket.requester_email:
        return None
    return User.objects.filter(email__iexact=ticket.requester_email, email_verified_at__isnull=False,
                               is_active=True).first()


def proof_owns_address(ticket: Ticket, user: User) -> bool:
    """Whether ``user`` is the customer whose *verified* email address is the ticket's address:
    the only account a proof link may link the ticket to."""
    return bool(ticket.requester_email and user.email_verified_at is not None and user.is_active
                and user.email.lower() == ticket.requester_email.lower())


@transaction.atomic
def requester_prove(*, token: str, user: User | None = None) -> Ticket:
    """Someone followed a proof link: they can read the ticket's mailbox. The ticket links to the
    customer whose verified email is that address (``proved_by_email``), and to nobody else: a
    signed-in customer with another address gets ``Forbidden`` (a link forwarded or phished to
    them proves nothing about *their* account); an address that is no customer's verified one
    gets ``ProofInvalid`` (param ``email``)."""
    ticket = proof_ticket(token)
    if user is not None and user.is_authenticated:
        if not proof_owns_address(ticket, user):
            raise Forbidden(gettext_noop("This link is for another email address: only the OKPay account whose "
                                         "verified email address it is can confirm this ticket."))
        customer = user
    else:
        found = proof_customer(ticket)
        if found is None:
            raise ProofInvalid(gettext_noop("No OKPay account has verified this email address, so the ticket "
                                            "cannot be linked. If it is your account's address, verify it first, "
                                            "then open this link again; or sign in and write to us from your "
                                            "account."), param="email")
        customer = found
    return requester_link_set(ticket=ticket, user=customer, link=RequesterLink.PROVED_BY_EMAIL, actor=customer)


# --- email addresses that bounce ----------------------------------------------------------------

@transaction.atomic
def email_bounce_record(*, message_id: str, address: str, reason: str = "") -> Ticket | None:
    """A delivery-status notification says our mail ``message_id`` could not be delivered to
    ``address``. Only a bounce of a mail we really sent (its Message-ID is on a ticket, to that
    address) counts: the address is marked undeliverable, the ticket gets an event and a note.
    Returns the ticket, or None for a bounce we cannot match (ignored)."""
    address = (address or "").strip().lower()
    sent = (EmailMessageId.objects.select_related("ticket")
            .filter(message_id=message_id, direction=EmailMessageId.Direction.OUT).first())
    if sent is None or not address or sent.address != address:
        return None
    ticket = sent.ticket
    _, created = UndeliverableAddress.objects.get_or_create(address=address, defaults={
        "reason": reason[:200], "bounced_message_id": message_id[:255], "since": clock.now()})
    if created:
        event_add(ticket, "email_bounced", "system", address=address, reason=reason[:200] or None)
        bounced = gettext_noop("Mail to %(address)s bounced (%(reason)s); no more mail goes there until an agent "
                               "marks the address as working again.")
        system_note(ticket, parts=notes.tr(bounced, address=address,
                                           reason=reason[:200] or notes.tr(gettext_noop("undeliverable"))))
    return ticket


@transaction.atomic
def undeliverable_clear(*, ticket: Ticket, actor: User) -> int:
    """The agent fixed the address (or the customer did): mail it again."""
    require(actor, "reply_ticket")
    address = ticket.requester_email.lower()
    deleted, _ = UndeliverableAddress.objects.filter(address=address).delete()
    if deleted:
        event_add(ticket, "email_deliverable", actor, address=address)
        audit_record(actor=actor, action="support.undeliverable_clear", target=ticket, detail={"address": address})
    return deleted


@transaction.atomic
def ticket_category_set(*, ticket: Ticket, actor: User, category: str) -> Ticket:
    """Agents correct the category a channel guessed."""
    require(actor, "reply_ticket")
    if category not in Category.values:
        raise InvalidRequest(gettext_noop("Choose a category."), param="category")
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.category == category:
        return ticket
    old = ticket.category
    ticket.category = category
    ticket.updated_at = clock.now()
    ticket.save(update_fields=["category", "updated_at"])
    event_add(ticket, "category", actor, old=old, new=category)
    audit_record(actor=actor, action="support.ticket_category", target=ticket, detail={"old": old, "new": category})
    return ticket


@transaction.atomic
def customer_close(*, ticket: Ticket, user: User) -> Ticket:
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.requester_id != user.pk:
        raise TicketNotFound(gettext_noop("No such ticket."))
    if ticket.status == Status.CLOSED:
        raise InvalidTransition(gettext_noop("The ticket is already closed."))
    if ticket.status in (Status.OPEN, Status.WAITING, Status.ON_HOLD):
        _status_set(ticket, Status.SOLVED, user)  # solved by the customer, then closed: the history says so
    return _status_set(ticket, Status.CLOSED, user)


@transaction.atomic
def rating_create(*, ticket: Ticket, user: User, score: int, comment: str = "") -> Rating:
    """CSAT: 1–5 and a comment, once per ticket, once it is solved or closed."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.requester_id != user.pk:
        raise TicketNotFound(gettext_noop("No such ticket."))
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise InvalidRequest(gettext_noop("Give a score from 1 to 5."), param="score")
    if ticket.status not in (Status.SOLVED, Status.CLOSED):
        raise NotRatable(gettext_noop("You can rate a ticket once it is solved."))
    if Rating.objects.filter(ticket=ticket).exists():
        raise AlreadyRated(gettext_noop("This ticket has already been rated."))
    rating = Rating.objects.create(ticket=ticket, user=user, score=score, comment=(comment or "").strip()[:2000],
                                   created_at=clock.now())
    event_add(ticket, "rated", user, score=score)
    return rating


def quarter_of(moment: datetime) -> str:
    return f"{moment.year}Q{(moment.month - 1) // 3 + 1}"


def nps_due(user: User) -> bool:
    """Ask at most once a quarter, and only customers who have had a ticket solved."""
    if not user.is_authenticated:
        return False
    if NpsResponse.objects.filter(user=user, quarter=quarter_of(clock.now())).exists():
        return False
    return Ticket.objects.filter(requester=user, status__in=[Status.SOLVED, Status.CLOSED]).exists()


@transaction.atomic
def nps_answer(*, user: User, score: int | None, comment: str = "") -> NpsResponse:
    """Record the NPS answer (``score=None``: the customer dismissed the question)."""
    if score is not None and (not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 10):
        raise InvalidRequest(gettext_noop("Give a score from 0 to 10."), param="score")
    now = clock.now()
    try:
        with transaction.atomic():
            return NpsResponse.objects.create(user=user, quarter=quarter_of(now), score=score,
                                              comment=(comment or "").strip()[:2000], created_at=now)
    except IntegrityError:
        raise NpsNotDue(gettext_noop("You have already answered this quarter.")) from None


@transaction.atomic
def feedback_create(*, body: str, kind: str = Feedback.Kind.IDEA, user: User | None = None, email: str = "",
                    page: str = "") -> Feedback:
    body = (body or "").strip()
    if not body or len(body) > 5000:
        raise InvalidRequest(gettext_noop("Write your feedback (at most 5,000 characters)."), param="body")
    if kind not in Feedback.Kind.values:
        raise InvalidRequest(gettext_noop("Unknown kind of feedback."), param="kind")
    return Feedback.objects.create(user=user if user and user.is_authenticated else None, email=email[:254],
                                   kind=kind, body=body, page=page[:200], created_at=clock.now())


# --- status -----------------------------------------------------------------------------------

def _status_set(ticket: Ticket, new: str, actor: User | str | None, *, survey: bool = True) -> Ticket:
    old = ticket.status
    if new not in TRANSITIONS.get(old, set()):
        raise InvalidTransition(gettext_noop("This status change is not possible."), param="status")
    now = clock.now()
    fields = ["status", "updated_at", *SLA_FIELDS]
    if old == Status.WAITING or (old == Status.ON_HOLD and ticket.sla_paused_at):
        _sla_resume(ticket, now)
    if new == Status.WAITING:
        _sla_pause(ticket, now)
    if new == Status.SOLVED:
        ticket.solved_at = now
        fields.append("solved_at")
        if ticket.resolution_due and now > ticket.resolution_due and not ticket.resolution_breached:
            ticket.resolution_breached = True
            fields.append("resolution_breached")
        ticket.next_response_due = None
    if new == Status.OPEN and old == Status.SOLVED:
        ticket.solved_at = None
        fields.append("solved_at")
    if new == Status.CLOSED:
        ticket.closed_at = now
        ticket.next_response_due = None
        fields.append("closed_at")
    ticket.status = new
    ticket.updated_at = now
    ticket.save(update_fields=fields)
    event_add(ticket, "reopened" if old == Status.SOLVED and new == Status.OPEN else "status", actor,
              old=old, new=new)
    if survey and new == Status.SOLVED and not (isinstance(actor, User) and actor.pk == ticket.requester_id) and \
            not Rating.objects.filter(ticket=ticket).exists():
        emails.csat_survey(ticket)
    return ticket


@transaction.atomic
def ticket_status_set(*, ticket: Ticket, actor: User, status: str) -> Ticket:
    require(actor, "reply_ticket")
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    _status_set(ticket, status, actor)
    audit_record(actor=actor, action="support.ticket_status", target=ticket, detail={"status": status})
    return ticket


@transaction.atomic
def ticket_priority_set(*, ticket: Ticket, actor: User | str, priority: str) -> Ticket:
    if not isinstance(actor, str):
        require(actor, "assign_ticket")
    if priority not in Priority.values:
        raise InvalidRequest(gettext_noop("Unknown priority."), param="priority")
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.priority == priority:
        return ticket
    old = ticket.priority
    ticket.priority = priority
    sla_apply(ticket)
    ticket.updated_at = clock.now()
    ticket.save(update_fields=["priority", "updated_at", *SLA_FIELDS])
    event_add(ticket, "priority", actor, old=old, new=priority)
    audit_record(actor=actor, action="support.ticket_priority", target=ticket, detail={"old": old, "new": priority})
    return ticket


# --- agents --------------------------------------------------------------------------------------

def canned_render(reply: CannedReply, *, ticket: Ticket, agent: User) -> str:
    linked = ticket.linked_transactions.order_by("pk").first()
    values = {"customer_name": ticket.requester_name or "", "ticket_number": ticket.number,
              "agent_name": agent.display_name, "transaction_id": linked.transaction_id if linked else ""}

    class Safe(dict):  # type: ignore[type-arg]
        def __missing__(self, key: str) -> str:
            return "{" + key + "}"

    text = reply.body.format_map(Safe(values))
    # An empty variable leaves no gap: "Hello ," → "Hello,", "交易  显示" → "交易 显示".
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"[ \t]+([,，.。;；:：!！?？])", r"\1", text)
    return "\n".join(line.strip(" \t") for line in text.split("\n"))


@transaction.atomic
def agent_reply(*, ticket: Ticket, agent: User, body: str = "", body_html: str | None = None, internal: bool = False,
                attachments: Sequence[UploadedFile] = (), status: str | None = None,
                canned: CannedReply | None = None, notify: bool = True) -> TicketMessage:
    """A public reply (mailed to the customer) or an internal note (never shown to them).
    ``notify=False``: the customer already has the reply where it was written (a live chat's
    socket), so no email; the ticket, its SLA timers and the audit record are the same."""
    require(agent, "reply_ticket")
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.status == Status.CLOSED:
        raise InvalidTransition(gettext_noop("The ticket is closed."))
    clean_html, text = _body(body, body_html)
    now = clock.now()
    message = TicketMessage.objects.create(
        ticket=ticket, author=agent, author_kind=TicketMessage.AuthorKind.AGENT,
        visibility=TicketMessage.Visibility.INTERNAL if internal else TicketMessage.Visibility.PUBLIC,
        channel=ticket.channel, body_html=clean_html, body_text=text, created_at=now)
    _attachments_save(message, attachments)
    fields = ["updated_at"]
    if not internal:
        ticket.sla_warned_at = None  # the next running target gets its own warning
        fields.append("sla_warned_at")
        if ticket.first_responded_at is None:
            ticket.first_responded_at = now
            fields.append("first_responded_at")
            if ticket.first_response_due and now > ticket.first_response_due and not ticket.first_response_breached:
                ticket.first_response_breached = True
                fields.append("first_response_breached")
        if ticket.next_response_due is not None:
            if now > ticket.next_response_due and not ticket.next_response_breached:
                ticket.next_response_breached = True
                fields.append("next_response_breached")
            ticket.next_response_due = None
            fields.append("next_response_due")
    if ticket.assignee_id is None:
        ticket.assignee = agent
        fields.append("assignee")
        event_add(ticket, "assigned", agent, assignee=agent.public_id, how="reply")
    ticket.updated_at = now
    ticket.save(update_fields=fields)
    event_add(ticket, "message", agent, message=message.public_id,
              visibility="internal" if internal else "public", canned=canned.key if canned else None)
    audit_record(actor=agent, action="support.note" if internal else "support.reply", target=ticket,
                 detail={"message": message.public_id})
    if status is None and not internal and ticket.status == Status.NEW:
        status = Status.OPEN
    if status and status != ticket.status:
        _status_set(ticket, status, agent)
    if not internal and notify:
        reply_deliver(ticket, message)
    return message


# channel → dotted path of ``f(ticket, message)`` sending an agent's public reply back on that
# channel (in the reply's transaction: it queues, a worker sends). Other channels get it by email.
REPLY_SENDERS: dict[str, str] = {Channel.SOCIAL: "okpay.social.services.agent_reply_send"}


def reply_deliver(ticket: Ticket, message: TicketMessage) -> None:
    sender = REPLY_SENDERS.get(ticket.channel)
    if sender and ticket.requester_handle:
        import_string(sender)(ticket, message)
    else:
        emails.agent_replied(ticket, message.body_text)


def system_note(ticket: Ticket, text: str = "", *, parts: Any = None) -> TicketMessage:
    """An internal note written by the desk itself (what an action did, and why). Pass ``parts``
    (``support.notes``) so the desk shows it in each reader's language; ``text`` alone is shown as
    it is. ``body_text`` is the note in the site's language either way (search, exports)."""
    if parts is not None:
        with translation.override(settings.LANGUAGE_CODE):
            text = notes.render(parts)
    message = TicketMessage.objects.create(
        ticket=ticket, author=None, author_kind=TicketMessage.AuthorKind.SYSTEM,
        visibility=TicketMessage.Visibility.INTERNAL, channel=ticket.channel,
        body_html=text_to_html(text), body_text=text, created_at=clock.now(),
        note={"parts": parts} if parts is not None else {})
    return message


def _open_counts(user_ids: Iterable[int]) -> dict[int, int]:
    rows = (Ticket.objects.filter(assignee_id__in=list(user_ids), status__in=ACTIVE_STATUSES)
            .values("assignee_id").annotate(n=Count("pk")))
    return {r["assignee_id"]: r["n"] for r in rows}


@transaction.atomic
def ticket_assign(*, ticket: Ticket, actor: User | str, assignee: User | None, team: Team | None = None,
                  how: str = "manual") -> Ticket:
    if not isinstance(actor, str):
        require(actor, "assign_ticket")
    if assignee is not None and not can(assignee, "view_desk"):
        raise InvalidRequest(gettext_noop("Tickets can only be assigned to agents."), param="assignee")
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    fields = ["updated_at"]
    if ticket.assignee_id != (assignee.pk if assignee else None):
        ticket.assignee = assignee
        fields.append("assignee")
        event_add(ticket, "assigned", actor, assignee=assignee.public_id if assignee else None, how=how)
    if team is not None and ticket.team_id != team.pk:
        ticket.team = team
        fields.append("team")
        event_add(ticket, "team", actor, team=team.slug)
    if len(fields) == 1:
        return ticket
    ticket.updated_at = clock.now()
    ticket.save(update_fields=fields)
    audit_record(actor=actor, action="support.ticket_assign", target=ticket,
                 detail={"assignee": assignee.public_id if assignee else None, "how": how})
    return ticket


def _eligible_agents(ticket: Ticket) -> list[AgentProfile]:
    profiles = (AgentProfile.objects.select_for_update(of=("self",)).filter(on_duty=True, user__is_active=True)
                .select_related("user").order_by("pk"))
    if ticket.team_id is not None:
        profiles = profiles.filter(Q(team_id=ticket.team_id) | Q(all_teams=True))
    return [p for p in profiles if can(p.user, "reply_ticket")]


@transaction.atomic
def ticket_assign_round_robin(*, ticket: Ticket, actor: User | str = "system") -> User | None:
    """Give the ticket to the on-duty agent with free capacity who has waited longest for one
    (fewest open tickets first). None when everybody is full or off duty."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    profiles = _eligible_agents(ticket)
    counts = _open_counts(p.user_id for p in profiles)
    free = [p for p in profiles if counts.get(p.user_id, 0) < p.capacity]
    if not free:
        return None
    epoch = datetime.min.replace(tzinfo=clock.now().tzinfo)
    chosen = min(free, key=lambda p: (p.last_assigned_at or epoch, counts.get(p.user_id, 0), p.pk))
    ticket_assign(ticket=ticket, actor=actor, assignee=chosen.user, how="round_robin")
    chosen.last_assigned_at = clock.now()
    chosen.save(update_fields=["last_assigned_at"])
    return chosen.user


def tickets_auto_assign() -> int:
    """Sweep: hand unassigned active tickets to on-duty agents, oldest first. Chat tickets are
    left to the chat's own queue (``chat.services.queue_assign``), which knows who is free to chat."""
    done = 0
    with transaction.atomic():
        ids = list(Ticket.objects.select_for_update(skip_locked=True)
                   .filter(assignee__isnull=True, status__in=[Status.NEW, Status.OPEN])
                   .exclude(channel=Channel.CHAT)
                   .order_by("created_at").values_list("pk", flat=True)[:100])
        for pk in ids:
            if ticket_assign_round_robin(ticket=Ticket.objects.get(pk=pk)) is None:
                break
            done += 1
    return done


@transaction.atomic
def agent_duty_set(*, user: User, on_duty: bool, capacity: int | None = None) -> AgentProfile:
    require(user, "view_desk")
    profile, _ = AgentProfile.objects.select_for_update().get_or_create(user=user)
    profile.on_duty = on_duty
    if capacity is not None:
        if not 0 <= capacity <= 200:
            raise InvalidRequest(gettext_noop("Capacity must be between 0 and 200."), param="capacity")
        profile.capacity = capacity
    profile.save(update_fields=["on_duty", "capacity"])
    audit_record(actor=user, action="support.duty", detail={"on_duty": on_duty, "capacity": profile.capacity})
    return profile


@transaction.atomic
def ticket_tags_set(*, ticket: Ticket, actor: User, tags: Iterable[str]) -> list[str]:
    require(actor, "reply_ticket")
    names = sorted({re.sub(r"[^\w-]", "-", t.strip().lower())[:40] for t in tags if t.strip()})
    objs = [Tag.objects.get_or_create(name=n)[0] for n in names]
    before = sorted(ticket.tags.values_list("name", flat=True))
    if before != names:
        ticket.tags.set(objs)
        event_add(ticket, "tags", actor, old=before, new=names)
    return names


@transaction.atomic
def ticket_link_transaction(*, ticket: Ticket, actor: User, transaction_id: str) -> TicketTransaction:
    require(actor, "reply_ticket")
    if ticket.requester is None or wallet.transaction_of(ticket.requester, transaction_id) is None:
        raise InvalidRequest(gettext_noop("No such transaction of this customer."), param="transaction_id")
    link, created = TicketTransaction.objects.get_or_create(ticket=ticket, transaction_id=transaction_id,
                                                            defaults={"added_at": clock.now()})
    if created:
        event_add(ticket, "transaction_linked", actor, transaction=transaction_id)
    return link


@transaction.atomic
def tickets_bulk_update(*, actor: User, tickets: Sequence[Ticket], status: str | None = None,
                        assignee: User | None = None, priority: str | None = None, tag: str | None = None,
                        unassign: bool = False) -> int:
    """One change on many tickets; all or none."""
    require(actor, "reply_ticket")
    for ticket in tickets:
        if assignee is not None or unassign:
            ticket_assign(ticket=ticket, actor=actor, assignee=None if unassign else assignee, how="bulk")
        if priority:
            ticket_priority_set(ticket=ticket, actor=actor, priority=priority)
        if status:
            ticket_status_set(ticket=ticket, actor=actor, status=status)
        if tag:
            current = list(ticket.tags.values_list("name", flat=True))
            ticket_tags_set(ticket=ticket, actor=actor, tags=[*current, tag])
    return len(tickets)


def presence_touch(*, ticket: Ticket, user: User, typing: bool = False) -> list[User]:
    """Note that ``user`` has the ticket open; return the other agents who have it open too."""
    now = clock.now()
    TicketPresence.objects.update_or_create(ticket=ticket, user=user, defaults={"seen_at": now, "typing": typing})
    others = (TicketPresence.objects.filter(ticket=ticket, seen_at__gte=now - timedelta(seconds=PRESENCE_SECONDS))
              .exclude(user=user).select_related("user"))
    return [p.user for p in others]


# --- SLA sweep -----------------------------------------------------------------------------------

def _priority_up(priority: str) -> str:
    i = PRIORITY_ORDER.index(Priority(priority))
    return PRIORITY_ORDER[min(i + 1, len(PRIORITY_ORDER) - 1)]


def sla_sweep() -> dict[str, int]:
    """Warn before a breach, escalate at breach (priority one step up, supervisors told).
    Idempotent: a ticket is warned once per running target and escalated once per breach."""
    now = clock.now()
    counts = {"warned": 0, "breached": 0}
    running = Q(status__in=[Status.NEW, Status.OPEN, Status.ON_HOLD])
    with transaction.atomic():
        due_fr = Q(first_responded_at__isnull=True, first_response_breached=False, first_response_due__lte=now)
        due_nr = Q(next_response_breached=False, next_response_due__lte=now)
        due_res = Q(resolution_breached=False, resolution_due__lte=now)
        for ticket in (Ticket.objects.select_for_update(skip_locked=True).filter(running & (due_fr | due_nr | due_res))
                       .order_by("pk")[:200]):
            which = []
            if ticket.first_responded_at is None and not ticket.first_response_breached and \
                    ticket.first_response_due and ticket.first_response_due <= now:
                ticket.first_response_breached = True
                which.append("first_response")
            if not ticket.next_response_breached and ticket.next_response_due and ticket.next_response_due <= now:
                ticket.next_response_breached = True
                which.append("next_response")
            if not ticket.resolution_breached and ticket.resolution_due and ticket.resolution_due <= now:
                ticket.resolution_breached = True
                which.append("resolution")
            old = ticket.priority
            ticket.priority = _priority_up(old)
            ticket.escalated_at = now
            ticket.updated_at = now
            ticket.save(update_fields=["first_response_breached", "next_response_breached", "resolution_breached",
                                       "priority", "escalated_at", "updated_at"])
            event_add(ticket, "sla_breached", "system", targets=which)
            if ticket.priority != old:
                event_add(ticket, "priority", "system", old=old, new=ticket.priority, why="escalation")
            audit_record(actor="system", action="support.sla_escalated", target=ticket,
                         detail={"targets": which, "priority": ticket.priority})
            emails.supervisors_alert(ticket, reason=gettext_noop("SLA breached: escalated"))
            counts["breached"] += 1
    with transaction.atomic():
        max_warn = SlaPolicy.objects.aggregate(m=Max("warn_before_minutes"))["m"] or 60
        horizon = now + timedelta(minutes=max_warn)
        soon_q = (Q(first_responded_at__isnull=True, first_response_due__gt=now, first_response_due__lte=horizon)
                  | Q(next_response_due__gt=now, next_response_due__lte=horizon)
                  | Q(resolution_due__gt=now, resolution_due__lte=horizon))
        for ticket in (Ticket.objects.select_for_update(skip_locked=True, of=("self",))
                       .filter(running, soon_q, sla_warned_at__isnull=True, sla_policy__isnull=False)
                       .select_related("sla_policy").order_by("pk")[:500]):
            window = timedelta(minutes=ticket.sla_policy.warn_before_minutes if ticket.sla_policy else 60)
            targets = [d for d in (ticket.first_response_due if ticket.first_responded_at is None else None,
                                   ticket.next_response_due, ticket.resolution_due) if d is not None]
            soon = [d for d in targets if now < d <= now + window]
            if not soon:
                continue
            ticket.sla_warned_at = now
            ticket.save(update_fields=["sla_warned_at"])
            event_add(ticket, "sla_warning", "system", due=min(soon).isoformat())
            emails.assignee_warning(ticket, min(soon))
            counts["warned"] += 1
    return counts


def solved_tickets_close() -> int:
    """Sweep: a solved ticket closes when its reopen window has passed."""
    cutoff = clock.now() - timedelta(days=settings.OKPAY_SUPPORT_REOPEN_DAYS)
    closed = 0
    with transaction.atomic():
        for ticket in (Ticket.objects.select_for_update(skip_locked=True)
                       .filter(status=Status.SOLVED, solved_at__lte=cutoff).order_by("pk")[:500]):
            _status_set(ticket, Status.CLOSED, "system")
            closed += 1
    return closed


# --- viewing (audited) ---------------------------------------------------------------------------

def ticket_view_record(*, ticket: Ticket, agent: User, what: str, ip: str | None = None) -> None:
    """Every look of an agent at a customer's data: who, what, when, which ticket."""
    require(agent, "view_desk")
    if what == "customer_context":
        require(agent, "view_customer_context")
    audit_record(actor=agent, action=f"support.view.{what}", target=ticket,
                 detail={"ticket": ticket.number, "customer": ticket.requester.public_id if ticket.requester else None},
                 ip=ip)
