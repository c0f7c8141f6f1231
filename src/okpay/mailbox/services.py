"""Receiving one email for the support desk (``okpay smtpd`` and ``okpay ingest-email`` both
call :func:`inbound_email_receive`).

    raw bytes ─► parse (email.policy.default) ─► duplicate? ─► our own mail / X-Loop? (dropped)
        ─► per-sender rate limit ─► DSN bounce? (mark the address undeliverable)
        ─► attachments within limits? (else the whole message is refused, nothing stored)
        ─► reply to a ticket (In-Reply-To / References, else [OK-YYYY-NNNNNN] in the subject, and
           only from that ticket's requester) ─► customer_reply; otherwise ─► ticket_create
           (acknowledged unless the mail was automatic)

All of it is one database transaction; a refusal raises a :class:`MailRefused` carrying the SMTP
reply for the sending server.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from okpay.core.errors import RateLimited
from okpay.core.ratelimit import RateLimit
from okpay.mailbox import parse
from okpay.mailbox.models import InboundEmail
from okpay.support import notes
from okpay.support import services as support
from okpay.support.models import Channel, EmailMessageId, Ticket, TicketMessage

logger = logging.getLogger("okpay.mailbox")

NO_SUBJECT = "(no subject)"


class MailRefused(Exception):
    """The message is refused as a whole; ``smtp`` is the reply for the sending server."""

    def __init__(self, smtp: str) -> None:
        super().__init__(smtp)
        self.smtp = smtp

    @property
    def permanent(self) -> bool:
        return self.smtp.startswith("5")


@dataclass
class Received:
    outcome: str  # created | joined | duplicate | bounce | loop
    message_id: str
    ticket: Ticket | None = None

    @property
    def smtp(self) -> str:
        number = f" {self.ticket.number}" if self.ticket else ""
        return f"250 2.0.0 OK {self.outcome}{number}"


def sender_limit() -> RateLimit:
    return RateLimit("mail-sender", limit=settings.OKPAY_MAIL_SENDER_LIMIT, window=3600)


def our_addresses() -> set[str]:
    found = {parseaddr(a)[1].lower() for a in settings.OKPAY_MAIL_ADDRESSES}
    found.add(parseaddr(settings.OKPAY_SUPPORT_EMAIL)[1].lower())
    found.add(parseaddr(settings.DEFAULT_FROM_EMAIL)[1].lower())
    return {a for a in found if a}


def accepts(address: str) -> bool:
    """Whether ``address`` is one of the support mailboxes (``OKPAY_MAIL_ADDRESSES``)."""
    wanted = {parseaddr(a)[1].lower() for a in settings.OKPAY_MAIL_ADDRESSES}
    return parseaddr(address)[1].lower() in wanted


def _uploads(parsed: parse.Parsed) -> tuple[list[SimpleUploadedFile], list[str]]:
    """The attachments as uploads; a message over the count or size limit is refused whole,
    one of a type we do not take is left out (and named to the agent)."""
    if len(parsed.attachments) > support.ATTACHMENTS_MAX:
        raise MailRefused(f"552 5.3.4 Too many attachments: at most {support.ATTACHMENTS_MAX} per message")
    limit = settings.OKPAY_SUPPORT_ATTACHMENT_MAX_BYTES
    uploads, dropped = [], []
    for att in parsed.attachments:
        if len(att.data) > limit:
            raise MailRefused(f"552 5.3.4 Attachment {att.name[:60]!r} is too big: at most {limit} bytes each")
        upload = SimpleUploadedFile(att.name[:200], att.data, content_type=att.content_type)
        try:
            support.attachment_check(upload)
        except support.AttachmentRefused:
            dropped.append(att.name[:100])
            continue
        uploads.append(upload)
    return uploads, dropped


def _body(parsed: parse.Parsed, *, reply: bool) -> tuple[str, str | None]:
    """(plain text, cleaned HTML or None) within the desk's length limit."""
    if parsed.html and not parsed.text:
        clean = support.sanitize_html(parsed.html)
        text = support.html_to_text(clean)
        if text and len(text) <= support.BODY_MAX:
            return "", clean
        parsed.text = text
    text = parse.strip_quoted(parsed.text) if reply else parsed.text.strip()
    text = text or parsed.text.strip() or parsed.subject or NO_SUBJECT
    return text[: support.BODY_MAX], None


def _thread(parsed: parse.Parsed) -> Ticket | None:
    if parsed.references:
        known = {e.message_id: e.ticket for e in
                 EmailMessageId.objects.select_related("ticket").filter(message_id__in=parsed.references[:50])}
        for ref in parsed.references:
            if ref in known:
                return known[ref]
    match = parse.TICKET_RE.search(parsed.subject)
    if match:
        return Ticket.objects.filter(number=match.group(0)).first()
    return None


def _log(parsed: parse.Parsed, outcome: str, size: int, ticket: Ticket | None = None) -> InboundEmail:
    return InboundEmail.objects.create(
        message_id=parsed.message_id[:255], sender=parsed.sender[:254], subject=parsed.subject[:200], outcome=outcome,
        ticket=ticket, automatic=parsed.automatic, authentication=parsed.authentication, size=size,
        received_at=timezone.now())


def inbound_email_receive(raw: bytes, *, rcpt_tos: Sequence[str] = ()) -> Received:
    """Take one message for the support desk. Raises :class:`MailRefused` (with the SMTP reply)
    when it must be refused; returns what became of it otherwise."""
    if len(raw) > settings.OKPAY_MAIL_MAX_BYTES:
        raise MailRefused(f"552 5.3.4 Message too big: at most {settings.OKPAY_MAIL_MAX_BYTES} bytes")
    try:
        parsed = parse.parse(raw)
    except parse.NotAnEmail as exc:
        raise MailRefused(f"550 5.6.0 Not an email message: {exc}") from None
    if InboundEmail.objects.filter(message_id=parsed.message_id[:255]).exists() or \
            EmailMessageId.objects.filter(message_id=parsed.message_id[:255]).exists():
        return Received("duplicate", parsed.message_id)
    ours = our_addresses()
    if parsed.sender in ours or ours.intersection(parsed.x_loop):
        with transaction.atomic(durable=True):
            try:
                _log(parsed, InboundEmail.Outcome.LOOP, len(raw))
            except IntegrityError:
                return Received("duplicate", parsed.message_id)
        logger.warning("mail loop dropped", extra={"message_id": parsed.message_id, "sender": parsed.sender})
        return Received("loop", parsed.message_id)
    try:
        sender_limit().hit(parsed.sender)
    except RateLimited as exc:
        raise MailRefused(f"451 4.7.1 Too many messages from {parsed.sender}; try again in "
                          f"{exc.retry_after or 3600} seconds") from None
    parsed.authentication = parse.authentication(parsed.message, settings.OKPAY_MAIL_AUTHSERV_ID, parsed.sender)
    report = parse.bounce(parsed.message)
    uploads: list[SimpleUploadedFile] = []
    dropped: list[str] = []
    if report is None:
        parse.body_and_attachments(parsed)
        uploads, dropped = _uploads(parsed)
    try:
        with transaction.atomic(durable=True):
            if report is not None:
                row = _log(parsed, InboundEmail.Outcome.BOUNCE, len(raw))
                for address, reason in report.failed:
                    ticket = support.email_bounce_record(message_id=report.original_message_id, address=address,
                                                         reason=reason)
                    if ticket is not None and row.ticket_id is None:
                        row.ticket = ticket
                        row.save(update_fields=["ticket"])
                return Received("bounce", parsed.message_id, row.ticket)
            row = _log(parsed, InboundEmail.Outcome.CREATED, len(raw))
            ticket, outcome = _store(parsed, uploads, dropped)
            row.ticket, row.outcome = ticket, outcome
            row.save(update_fields=["ticket", "outcome"])
    except IntegrityError:  # the same Message-ID, received at the same moment by another process
        return Received("duplicate", parsed.message_id)
    except support.InvalidRequest as exc:
        raise MailRefused(f"550 5.6.0 {exc.message}") from None
    return Received(outcome, parsed.message_id, ticket)


def _store(parsed: parse.Parsed, uploads: list[SimpleUploadedFile], dropped: list[str]) -> tuple[Ticket, str]:
    # Fail closed: only a pass of our own MTA (OKPAY_MAIL_AUTHSERV_ID) proves the From: address; without
    # one the sender is a stranger who may have typed anybody's address (never linked, never joins a
    # linked ticket, no wallet in the desk until they prove it or write signed in).
    unverified = "" if parsed.authentication == "pass" else (
        "authentication_failed" if parsed.authentication == "fail" else "authentication_missing")
    requester = support.requester_for(email=parsed.sender, name=parsed.sender_name, unverified=unverified)
    ticket = _thread(parsed)
    message: TicketMessage | None = None
    if ticket is not None:
        text, html = _body(parsed, reply=True)
        try:
            message = support.customer_reply(ticket=ticket, requester=requester, body=text, body_html=html,
                                              attachments=uploads, channel=Channel.EMAIL,
                                              email_message_id=parsed.message_id, acknowledge=not parsed.automatic)
        except support.TicketNotFound:  # not the requester of that ticket: a ticket of their own
            message = None
    if message is None:
        text, html = _body(parsed, reply=False)
        subject = (parsed.subject or NO_SUBJECT)[: support.SUBJECT_MAX]
        created = support.ticket_create(
            requester=requester, channel=Channel.EMAIL, category=parse.guess_category(parsed.subject, text),
            subject=subject, body=text, body_html=html, attachments=uploads,
            lang=parse.guess_lang(parsed.subject, text), acknowledge=not parsed.automatic,
            email_message_id=parsed.message_id,
            meta={"email": {"message_id": parsed.message_id, "authentication": parsed.authentication,
                            "automatic": parsed.automatic}})
        message = created.messages.get()
        outcome = InboundEmail.Outcome.CREATED
    else:
        outcome = InboundEmail.Outcome.JOINED if message.ticket_id == ticket.pk else InboundEmail.Outcome.CREATED  # type: ignore[union-attr]
    if dropped or parsed.dropped_inline:
        note: list[Any] = []
        if dropped:
            note.append(notes.tr(gettext_noop("Attachments not accepted (type): %(names)s"), names=", ".join(dropped)))
        if parsed.dropped_inline:
            note += ["; "] if note else []
            note.append(notes.tr(gettext_noop("Inline images dropped: %(n)s"), n=str(parsed.dropped_inline)))
        support.system_note(message.ticket, parts=note)
    return message.ticket, outcome
