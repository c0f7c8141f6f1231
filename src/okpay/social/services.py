"""Writes of the social channel.

In: :func:`social_message_receive` takes one text message from a platform (already
authenticated by the webhook): ``/link CODE`` proves the social account belongs to a customer,
``/start`` is greeted, anything else becomes a ticket on channel ``social`` with the handle
``platform:id`` or joins that handle's open ticket. A platform's retry of the same message is
recorded once.

Out: an agent's public reply on a social ticket (``support.services.reply_deliver``) becomes an
:class:`OutboundMessage` in the reply's transaction, with a task to send it; the worker sends it
through the platform's API and retries with backoff, so a platform outage never loses a reply.
After the last attempt the desk gets an internal note saying the reply did not arrive.

Identity (issue 9, item 5): a handle is linked to a customer only through an :class:`AccountLink`
the customer made by sending the one-time code from their account page; an unlinked handle's
ticket has no customer, so the desk shows no wallet data for it.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from okpay.audit.services import audit_record
from okpay.core.errors import InvalidRequest, NotFound, RateLimited
from okpay.core.ratelimit import RateLimit
from okpay.identity.models import User
from okpay.social import platforms
from okpay.social.models import AccountLink, InboundMessage, LinkCode, OutboundMessage, WebhookNonce
from okpay.social.tasks import deliver_outbound
from okpay.support import notes, wallet
from okpay.support.models import ACTIVE_STATUSES, Category, Channel, RequesterLink, Ticket, TicketMessage
from okpay.support.services import (
    BODY_MAX,
    Requester,
    TicketNotFound,
    customer_reply,
    requester_link_set,
    system_note,
    ticket_create,
)

logger = logging.getLogger("okpay.social")

PLATFORM_RE = re.compile(r"[a-z][a-z0-9_]{1,19}")
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
CODE_LENGTH = 8
CODE_TTL = timedelta(minutes=15)
MAX_ATTEMPTS = 12  # ≈ 2 days of backoff
_BACKOFF_CAP = timedelta(hours=6)
LINK_TRIES = RateLimit("social-link-tries", limit=5, window=3600)
LINK_RE = re.compile(r"^/link(?:@\w+)?\s+([A-Za-z0-9\- ]{4,20})\s*$")


def handle_of(platform: str, external_id: str) -> str:
    return f"{platform}:{external_id}"


def _code_hash(code: str) -> str:
    normal = re.sub(r"[\s-]", "", code).upper()
    return hashlib.sha256(f"okpay-social-link:{normal}".encode()).hexdigest()


def _lang(user: User | None) -> str:
    return (user.locale if user is not None and user.locale else settings.LANGUAGE_CODE) or "zh-hans"


# --- linking ------------------------------------------------------------------------------------

@transaction.atomic
def link_code_create(*, user: User) -> str:
    """A fresh one-time code for the account page (earlier unused codes stop working)."""
    now = timezone.now()
    LinkCode.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    LinkCode.objects.create(user=user, code_hash=_code_hash(code), created_at=now, expires_at=now + CODE_TTL)
    audit_record(actor=user, action="social.link_code", detail={})
    return f"{code[:4]}-{code[4:]}"


@transaction.atomic
def account_link_remove(*, user: User, link_id: int) -> None:
    link = AccountLink.objects.select_for_update().filter(user=user, pk=link_id).first()
    if link is None:
        raise NotFound(gettext_noop("No such linked account."))
    audit_record(actor=user, action="social.unlink", detail={"handle": link.handle})
    link.delete()


def _link_attempt(*, platform: str, sender_id: str, display: str, code: str) -> str:
    """Try a code sent from a social account; returns the bot's answer (untranslated key)."""
    handle = handle_of(platform, sender_id)
    try:
        LINK_TRIES.hit(handle)
    except RateLimited:
        return "too_many"
    now = timezone.now()
    row = (LinkCode.objects.select_for_update().select_related("user")
           .filter(code_hash=_code_hash(code), used_at__isnull=True, expires_at__gt=now).first())
    if row is None:
        return "bad_code"
    existing = AccountLink.objects.select_for_update().filter(platform=platform, external_id=sender_id).first()
    if existing is not None and existing.user_id != row.user_id:
        return "taken"
    row.used_at = now
    row.save(update_fields=["used_at"])
    if existing is None:
        AccountLink.objects.create(user=row.user, platform=platform, external_id=sender_id, display=display[:100],
                                   created_at=now)
    audit_record(actor=row.user, action="social.link", detail={"handle": handle})
    return "linked:" + row.user.email


def _bot_answer(key: str, lang: str) -> str:
    with translation.override(lang):
        if key.startswith("linked:"):
            return _("This account is now linked to your OKPay account %(email)s. Write your question "
                     "here and an agent will answer.") % {"email": wallet.mask_email(key.split(":", 1)[1])}
        return {
            "bad_code": _("That code is wrong or has expired. Get a new one on your OKPay account page "
                          "(Security → Social accounts)."),
            "too_many": _("Too many tries. Please wait an hour and get a new code."),
            "taken": _("This social account is already linked to another OKPay account. Unlink it there first."),
            "start": _("Hello! This is OKPay's official customer service. Write your question and an agent "
                       "will answer here. We will never ask for your password or verification codes."),
        }[key]


# --- in -----------------------------------------------------------------------------------------

def _open_ticket(handle: str) -> Ticket | None:
    return (Ticket.objects.filter(channel=Channel.SOCIAL, requester_handle=handle, status__in=ACTIVE_STATUSES)
            .order_by("-created_at").first())


def _subject(text: str) -> str:
    first = " ".join(text.split())
    return (first[:60] + "…") if len(first) > 60 else first


@transaction.atomic
def social_message_receive(*, platform: str, sender_id: str, text: str, message_key: str, sender_name: str = "",
                           lang: str = "") -> InboundMessage | None:
    """One message from a platform. None when the platform already delivered it (a retry)."""
    if not PLATFORM_RE.fullmatch(platform or ""):
        raise InvalidRequest(gettext_noop("Unknown platform."), param="platform")
    sender_id = (sender_id or "").strip()
    message_key = (message_key or "").strip()
    if not sender_id or len(sender_id) > 100 or not message_key or len(message_key) > 100:
        raise InvalidRequest(gettext_noop("The message has no sender or id."), param="message")
    text = (text or "").strip()[:BODY_MAX]
    now = timezone.now()
    try:
        with transaction.atomic():
            inbound = InboundMessage.objects.create(platform=platform, message_key=message_key, sender=sender_id,
                                                    received_at=now)
    except IntegrityError:
        return None  # delivered before
    handle = handle_of(platform, sender_id)
    link = AccountLink.objects.select_related("user").filter(platform=platform, external_id=sender_id).first()
    user = link.user if link is not None and link.user.is_active else None
    match = LINK_RE.match(text)
    if match or text.split(maxsplit=1)[:1] == ["/start"]:
        key = _link_attempt(platform=platform, sender_id=sender_id, display=sender_name,
                            code=match.group(1)) if match else "start"
        inbound.kind = "link" if match else "start"
        inbound.save(update_fields=["kind"])
        answer_user = user or (User.objects.filter(email=key.split(":", 1)[1]).first() if key.startswith("linked:")
                               else None)
        outbound_queue(platform=platform, recipient=sender_id, text=_bot_answer(key, lang or _lang(answer_user)))
        return inbound
    if not text:
        inbound.kind = "ignored"  # a sticker, a photo…: nothing an agent can read
        inbound.save(update_fields=["kind"])
        return inbound
    requester = Requester(user=user, handle=handle, name=sender_name[:100],
                          link=RequesterLink.SOCIAL_LINK if user is not None else "")
    ticket = _open_ticket(handle)
    joined = False
    if ticket is not None:
        try:  # a linked ticket takes only its customer, an unlinked one only this handle (support decides)
            customer_reply(ticket=ticket, requester=requester, body=text, channel=Channel.SOCIAL)
            joined = True
        except TicketNotFound:
            joined = False
        if joined and user is not None and ticket.requester_id is None:
            # the handle has since been proved to be this customer's: so is its open conversation
            ticket = requester_link_set(ticket=ticket, user=user, link=RequesterLink.SOCIAL_LINK, actor=user)
    if not joined:
        ticket = ticket_create(requester=requester, channel=Channel.SOCIAL, category=Category.ACCOUNT,
                               subject=_subject(text), body=text, lang=lang,
                               meta={"social": {"platform": platform, "sender": sender_id}})
    inbound.ticket = ticket
    inbound.save(update_fields=["ticket"])
    return inbound


# --- out ----------------------------------------------------------------------------------------

def outbound_queue(*, platform: str, recipient: str, text: str, ticket: Ticket | None = None,
                   ticket_message: TicketMessage | None = None) -> OutboundMessage:
    """Store a message to send and its task, in the caller's transaction."""
    row = OutboundMessage.objects.create(platform=platform, recipient=recipient, text=text[:platforms.TEXT_MAX],
                                         ticket=ticket, ticket_message=ticket_message, created_at=timezone.now(),
                                         next_attempt_at=timezone.now())
    deliver_outbound.enqueue(row.pk)
    return row


def agent_reply_send(ticket: Ticket, message: TicketMessage) -> None:
    """support's reply hook for channel ``social``: the reply goes back to the handle it came from."""
    platform, _sep, recipient = ticket.requester_handle.partition(":")
    if not recipient:
        return
    outbound_queue(platform=platform, recipient=recipient, text=message.body_text, ticket=ticket,
                   ticket_message=message)


def backoff(attempts: int) -> timedelta:
    base = min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), _BACKOFF_CAP)
    return base * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not a secret  # nosec B311


def outbound_deliver(*, outbound_id: int) -> str:
    """Send one queued message once (no lock held during the HTTP call); on failure schedule the
    next attempt. Safe to run twice: a claimed or finished message is left alone."""
    now = timezone.now()
    with transaction.atomic():
        claimed = (OutboundMessage.objects.filter(pk=outbound_id, status=OutboundMessage.Status.QUEUED,
                                                  next_attempt_at__lte=now)
                   .update(next_attempt_at=now + timedelta(seconds=settings.OKPAY_SOCIAL_TIMEOUT * 3)))
    if not claimed:
        return "skipped"
    row = OutboundMessage.objects.select_related("ticket").get(pk=outbound_id)
    error, permanent = "", False
    try:
        platforms.send(row.platform, row.recipient, row.text, ticket_number=row.ticket.number if row.ticket else "")
    except platforms.DeliveryError as exc:
        error, permanent = str(exc)[:2000], exc.permanent
    now = timezone.now()
    attempts = row.attempts + 1
    with transaction.atomic():
        if not error:
            OutboundMessage.objects.filter(pk=row.pk).update(status=OutboundMessage.Status.SENT, sent_at=now,
                                                             attempts=attempts, next_attempt_at=None, last_error="")
            return "sent"
        if permanent or attempts >= MAX_ATTEMPTS:
            OutboundMessage.objects.filter(pk=row.pk).update(status=OutboundMessage.Status.FAILED, attempts=attempts,
                                                             next_attempt_at=None, last_error=error)
            if row.ticket is not None:
                system_note(row.ticket, parts=notes.tr(gettext_noop(
                    "This reply could not be delivered on %(platform)s: %(error)s. Reach the customer another way."),
                    platform=row.platform, error=error))
            logger.error("social delivery gave up", extra={"outbound": row.public_id, "error": error})
            return "failed"
        retry_at = now + backoff(attempts)
        OutboundMessage.objects.filter(pk=row.pk).update(attempts=attempts, next_attempt_at=retry_at, last_error=error)
        deliver_outbound.using(run_after=retry_at).enqueue(row.pk)
    logger.warning("social delivery failed; will retry", extra={"outbound": row.public_id, "error": error})
    return "retry"


def outbound_requeue_stuck() -> int:
    """Sweep: a queued message long past its attempt time lost its task (a crash); enqueue it again."""
    from okpay.core.worker import requeue_lost

    cutoff = timezone.now() - timedelta(minutes=10)
    return requeue_lost(OutboundMessage.objects.filter(status=OutboundMessage.Status.QUEUED,
                                                       next_attempt_at__lt=cutoff), deliver_outbound)


# --- replay memory of signed pushes ----------------------------------------------------------------

def webhook_nonce_claim(*, platform: str, nonce: str) -> bool:
    """Remember a signed push's ``timestamp:nonce``; False when it was seen before (a replay).
    Runs inside the caller's transaction: a push whose handling fails leaves no trace."""
    try:
        with transaction.atomic():
            WebhookNonce.objects.create(platform=platform, nonce=nonce[:150], seen_at=timezone.now())
    except IntegrityError:
        return False
    return True


def webhook_nonces_prune() -> int:
    """Sweep: forget nonces older than twice the replay window (their timestamps are refused anyway)."""
    cutoff = timezone.now() - timedelta(seconds=2 * settings.OKPAY_CTI_TOLERANCE_SECONDS)
    deleted, _ = WebhookNonce.objects.filter(seen_at__lt=cutoff).delete()
    return deleted
