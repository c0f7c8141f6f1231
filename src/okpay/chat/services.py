"""Every write of the live chat. Consumers parse, call one of these, and send the answer."""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from okpay.audit.services import audit_record
from okpay.chat import push
from okpay.chat.models import Conversation, Message
from okpay.core.errors import BusinessRuleError, Forbidden, InvalidRequest, NotFound, RateLimited
from okpay.core.ratelimit import RateLimit
from okpay.identity.emails import Mail, absolute
from okpay.identity.models import User

CLIENT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# Security first: the order in which a waiting conversation reaches an agent.
CATEGORY_RANK = {"security": 0, "complaint": 1, "payment": 2, "account": 3, "technical": 4, "feedback": 5}
DEFAULT_HANDLE_MINUTES = 6.0
TRANSCRIPTS_PER_CONVERSATION = 3


class ChatClosed(BusinessRuleError):
    code = "chat_ended"


def _locked() -> Any:
    """Conversations under a row lock that never extends to the nullable joined rows (PostgreSQL)."""
    return Conversation.objects.select_for_update(of=("self",))


def _now() -> datetime:
    return timezone.now()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def serialize(message: Message) -> dict[str, Any]:
    return {
        "id": message.public_id, "seq": message.seq, "kind": message.kind, "body": message.body,
        "client_id": message.client_id or None, "data": message.data or {},
        "author": (message.author.display_name if message.author is not None and message.kind == Message.Kind.AGENT
                   else None),
        "at": message.created_at.isoformat(),
    }


def _lang(lang: str) -> str:
    return "en" if (lang or "").lower().startswith("en") else "zh-hans"


# --- opening and resuming --------------------------------------------------------------------------

@dataclass
class Opened:
    conversation: Conversation
    token: str | None  # a guest's resume token, only when the conversation was just opened
    created: bool


def _guests_per_ip() -> RateLimit:
    return RateLimit("chat-guest", limit=settings.OKPAY_CHAT_GUESTS_PER_HOUR, window=3600)


def _transcripts_per_address() -> RateLimit:
    return RateLimit("chat-transcript", limit=settings.OKPAY_CHAT_TRANSCRIPTS_PER_DAY, window=86400)


@transaction.atomic
def conversation_open(*, user: User | None, guest_email: str = "", lang: str = "zh-hans",
                      ip: str | None = None) -> Opened:
    """A signed-in customer resumes their open conversation (or starts one); a guest, who must
    give an email address, starts one and gets a resume token (stored only as a hash)."""
    lang = _lang(lang)
    now = _now()
    if user is not None and user.is_authenticated:
        current = (Conversation.objects.select_for_update().filter(user=user).exclude(state=Conversation.State.ENDED)
                   .order_by("-pk").first())
        if current is not None:
            if current.lang != lang:  # the customer switched the site's language
                current.lang = lang
                current.save(update_fields=["lang"])
            return Opened(current, None, False)
        conv = Conversation.objects.create(user=user, lang=lang, created_at=now, updated_at=now)
        token = None
    else:
        email = (guest_email or "").strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            raise InvalidRequest(gettext_noop("Enter your email address so that we can answer you."),
                                 param="email") from None
        _guests_per_ip().hit(ip or "-")
        token = secrets.token_urlsafe(24)
        conv = Conversation.objects.create(guest_email=email, guest_token_hash=token_hash(token), lang=lang,
                                           created_at=now, updated_at=now)
    with translation.override(lang):
        _append(conv, kind=Message.Kind.BOT, body=_(
            "Hello, I am the OKPay assistant. Ask me anything — about a payment, your account or the app. "
            "You can ask for a person at any time."),
            data={"actions": [{"action": "handoff", "label": _("Talk to a person")}]})
    return Opened(conv, token, True)


def conversation_lang_set(*, conversation: Conversation, lang: str) -> None:
    """Answers follow the language of the page the customer writes from."""
    lang = _lang(lang)
    if conversation.lang != lang:
        Conversation.objects.filter(pk=conversation.pk).update(lang=lang)
        conversation.lang = lang


def conversation_access(*, public_id: str, user: User | None, token: str = "") -> Conversation:
    """The customer's door to a conversation: their own (signed in) or the guest token's; else 404."""
    conv = Conversation.objects.filter(public_id=str(public_id or "")).select_related("user", "agent").first()
    if conv is None:
        raise NotFound()
    if conv.user_id is not None:
        if user is None or not user.is_authenticated or user.pk != conv.user_id:
            raise NotFound()
    elif not token or not secrets.compare_digest(conv.guest_token_hash, token_hash(str(token))):
        raise NotFound()
    return conv


# --- messages ------------------------------------------------------------------------------------------

def _append(conv: Conversation, *, kind: str, body: str, client_id: str = "", author: User | None = None,
            data: dict[str, Any] | None = None) -> Message:
    """Append under the conversation's row lock (taken here): ``seq`` is gap-free and ordered."""
    now = _now()
    updated = Conversation.objects.filter(pk=conv.pk).update(last_seq=F("last_seq") + 1, updated_at=now)
    assert updated == 1
    seq = Conversation.objects.filter(pk=conv.pk).values_list("last_seq", flat=True).get()
    conv.last_seq, conv.updated_at = seq, now
    message = Message.objects.create(conversation=conv, seq=seq, client_id=client_id, kind=kind, author=author,
                                     body=body, data=data or {}, created_at=now)
    push.push(push.conversation_group(conv.public_id), {"type": "chat.message", "conversation": conv.public_id,
                                                        "message": serialize(message)})
    return message


def message_post(*, conversation: Conversation, body: str, client_id: str, author: User | None = None,
                 kind: str = Message.Kind.CUSTOMER) -> tuple[Message, bool]:
    """Store a customer's (or agent's) message once per ``client_id``. Returns ``(message, created)``:
    a resend of a stored message answers the stored one and changes nothing."""
    if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
        raise InvalidRequest(gettext_noop("Every message needs a client id."), param="client_id")
    body = (body or "").strip() if isinstance(body, str) else ""
    if not body:
        raise InvalidRequest(gettext_noop("Write a message."), param="body")
    if len(body) > settings.OKPAY_CHAT_MAX_CHARS:
        raise InvalidRequest(gettext_noop("The message is too long."), param="body")
    existing = Message.objects.filter(conversation=conversation, client_id=client_id).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            conv = Conversation.objects.select_for_update().get(pk=conversation.pk)
            if conv.state == Conversation.State.ENDED:
                raise ChatClosed(gettext_noop("This chat has ended. Start a new one to write again."))
            message = _append(conv, kind=kind, body=body, client_id=client_id, author=author)
    except IntegrityError:
        # The same client id raced in on another connection: that one won.
        return Message.objects.get(conversation=conversation, client_id=client_id), False
    conversation.last_seq, conversation.state = conv.last_seq, conv.state
    return message, True


def messages_after(conversation: Conversation, seq: int, *, include_notes: bool = False,
                   limit: int = 500) -> list[Message]:
    qs = Message.objects.filter(conversation=conversation, seq__gt=max(0, int(seq))).select_related("author")
    if not include_notes:
        qs = qs.exclude(kind=Message.Kind.NOTE)
    return list(qs.order_by("seq")[:limit])


@transaction.atomic
def read_mark(*, conversation: Conversation, side: str, seq: int) -> int:
    """The reader has seen everything up to ``seq``; never moves backwards."""
    field = "customer_read_seq" if side == "customer" else "agent_read_seq"
    if not isinstance(seq, int) or seq < 0:
        raise InvalidRequest(gettext_noop("Read up to which message?"), param="seq")
    conv = Conversation.objects.select_for_update().get(pk=conversation.pk)
    seq = min(seq, conv.last_seq)
    if seq > getattr(conv, field):
        setattr(conv, field, seq)
        conv.save(update_fields=[field])
        push.push(push.conversation_group(conv.public_id), {"type": "chat.read", "side": side, "seq": seq,
                                                                "conversation": conv.public_id})
    return getattr(conv, field)


# --- the assistant's turn, and the customer's clicks -----------------------------------------------

def customer_says(*, conversation: Conversation, body: Any, client_id: Any, user: User | None,
                  ip: str | None = None) -> tuple[Message, bool]:
    """The customer's message, stored once, then — while no person has the chat — the assistant's
    answer (also once: a resend of a stored message gets no second answer)."""
    message, created = customer_message_store(conversation=conversation, body=body, client_id=client_id, user=user)
    if created:
        assistant_turn(conversation=conversation, message=message, ip=ip)
    return message, created


def customer_message_store(*, conversation: Conversation, body: Any, client_id: Any,
                           user: User | None) -> tuple[Message, bool]:
    """Store the customer's message (what the ack confirms)."""
    return message_post(conversation=conversation, body=body, client_id=client_id,
                        author=user if user is not None and user.is_authenticated else None)


def _last_bot_data(conv: Conversation, before_seq: int) -> dict[str, Any]:
    last = (Message.objects.filter(conversation=conv, kind=Message.Kind.BOT, seq__lt=before_seq)
            .order_by("-seq").only("data").first())
    return dict(last.data or {}) if last is not None else {}


def assistant_turn(*, conversation: Conversation, message: Message, ip: str | None = None) -> Message | None:
    """The assistant answers a stored customer message while the chat is still with it (a flow's
    next step follows from the data of its previous answer)."""
    from okpay.chat import assistant

    if conversation.state != Conversation.State.BOT:
        return None
    with translation.override(conversation.lang):
        reply = assistant.answer(text=message.body, user=conversation.user, lang=conversation.lang,
                                 previous=_last_bot_data(conversation, message.seq), ip=ip)
        with transaction.atomic():
            conv = Conversation.objects.select_for_update().get(pk=conversation.pk)
            if conv.state != Conversation.State.BOT:
                return None
            if reply.category and not conv.category:
                conv.category = reply.category
                conv.save(update_fields=["category"])
            answer = _append(conv, kind=Message.Kind.BOT, body=reply.body, data={
                **reply.data, "intent": reply.intent, "reply_to": message.seq})
        conversation.category = conv.category
        if reply.data.get("handoff"):
            handoff_request(conversation=conversation, category=reply.category)
    return answer


def _cancel_request(user: User, txn_id: str) -> Any:
    from django.http import HttpRequest

    request = HttpRequest()
    request.method = "POST"
    request.path = f"/ws/chat/cancel/{txn_id}"
    request._body = b""  # the fingerprint is method + path + body
    request.user = user  # type: ignore[assignment]
    return request


def customer_action(*, conversation: Conversation, user: User | None, action: str, target: str,
                    key: str) -> dict[str, Any]:
    """A button the customer clicked. ``cancel`` goes through payments' own cancel service under the
    button's idempotency key (a second click answers the first result and moves nothing)."""
    if action == "handoff":
        return {"state": handoff_request(conversation=conversation, category="")}
    if action != "cancel":
        raise InvalidRequest(gettext_noop("Unknown action."), param="action")
    if user is None or conversation.user_id != user.pk:
        raise NotFound()
    if not key or len(key) > 100:
        raise InvalidRequest(gettext_noop("The button has no idempotency key."), param="key")
    from django.http import HttpResponse

    from okpay.core.idempotency import run_idempotently
    from okpay.payments.money import format_money
    from okpay.payments.services.funding import transaction_cancel

    outcome: dict[str, Any] = {}

    def view() -> HttpResponse:
        try:
            txn = transaction_cancel(user=user, txn_id=target)
        except NotFound:
            return HttpResponse(b"not_found", status=404)
        except BusinessRuleError as exc:
            outcome["error"] = exc.message
            return HttpResponse(b"not_cancellable", status=422)
        outcome["amount"] = format_money(txn.amount, txn.currency)
        return HttpResponse(b"cancelled", status=200)

    response = run_idempotently(_cancel_request(user, target), scope=f"{user.public_id}:chat", key=key, view=view)
    status = response.status_code
    replayed = response.get("Idempotent-Replayed") == "true"
    if status == 404:
        raise NotFound()
    with translation.override(conversation.lang):
        if status == 422:
            reason = outcome.get("error") or gettext_noop("This payment can no longer be cancelled.")
            raise BusinessRuleError(reason, code="not_cancellable")
        if status >= 400:
            raise InvalidRequest(response.content.decode(errors="replace")[:200], param="key")
        if not replayed:
            from okpay.payments.models import Transaction

            txn = Transaction.objects.get(user=user, public_id=target)
            with transaction.atomic():
                conv = Conversation.objects.select_for_update().get(pk=conversation.pk)
                _append(conv, kind=Message.Kind.BOT, data={"cancelled": target}, body=_(
                    "Done: %(ref)s is cancelled and %(amount)s is back in your available balance.")
                    % {"ref": target, "amount": format_money(txn.amount, txn.currency)})
    return {"target": target, "cancelled": True, "replayed": replayed}


# --- queue and hand-off ----------------------------------------------------------------------------

def _rank(conv: Conversation) -> tuple[int, datetime]:
    return (CATEGORY_RANK.get(conv.category, 3), conv.queued_at or conv.created_at)


def _queue() -> list[Conversation]:
    queued = list(Conversation.objects.filter(state=Conversation.State.QUEUED).select_related("ticket")[:1000])
    return sorted(queued, key=_rank)


def _team_of(conv: Conversation) -> int | None:
    """The team whose queue a waiting chat is in (its ticket's team); None: the general queue."""
    return conv.ticket.team_id if conv.ticket is not None else None


def _serves(profile: Any, team_id: int | None) -> bool:
    """Whether an agent (their desk profile) takes chats of ``team_id``'s queue: everyone takes the
    general queue; a team's queue goes to its members, agents allowed every team and supervisors."""
    from okpay.support.permissions import can

    return (team_id is None or profile.all_teams or profile.team_id == team_id
            or can(profile.user, "view_all_teams"))


def _agent_profile(agent: User) -> Any:
    from okpay.support.models import AgentProfile

    return AgentProfile.objects.filter(user=agent).first() or AgentProfile(user=agent)


def _queue_for(agent: User) -> list[Conversation]:
    profile = _agent_profile(agent)
    return [c for c in _queue() if _serves(profile, _team_of(c))]


def _on_duty() -> list[Any]:
    from okpay.support.models import AgentProfile
    from okpay.support.permissions import can

    profiles = (AgentProfile.objects.filter(on_duty=True, user__is_active=True, capacity__gt=0)
                .select_related("user").order_by("pk"))
    return [p for p in profiles if can(p.user, "reply_ticket")]


def handle_minutes() -> float:
    """Mean handling time of the last 20 chats an agent finished in the past week."""
    since = _now() - timedelta(days=7)
    rows = list(Conversation.objects.filter(ended_at__gte=since, assigned_at__isnull=False)
                .order_by("-ended_at").values_list("assigned_at", "ended_at")[:20])
    if not rows:
        return DEFAULT_HANDLE_MINUTES
    seconds = [(e - a).total_seconds() for a, e in rows if a is not None and e is not None]
    return max(1.0, sum(seconds) / max(1, len(seconds)) / 60.0)


def state_of(conv: Conversation, *, queue: list[Conversation] | None = None,
             agents: int | None = None, minutes: float | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {"state": conv.state, "conversation": conv.public_id,
                             "ticket": conv.ticket.number if conv.ticket is not None else None,
                             "rating": conv.rating, "category": conv.category or None}
    if conv.state == Conversation.State.QUEUED:
        queue = _queue() if queue is None else queue
        team = _team_of(conv)
        ids = [c.pk for c in queue if _team_of(c) == team]  # the position in its own (team's) queue
        position = ids.index(conv.pk) + 1 if conv.pk in ids else 1
        if team is not None:
            agents = len([p for p in _on_duty() if _serves(p, team)])
        agents = len(_on_duty()) if agents is None else agents
        minutes = handle_minutes() if minutes is None else minutes
        state.update(position=position, wait_minutes=math.ceil(math.ceil(position / max(1, agents)) * minutes))
    if conv.state == Conversation.State.ACTIVE and conv.agent_id:
        agent = conv.agent if conv.agent is not None else User.objects.get(pk=conv.agent_id)
        state["agent"] = agent.display_name or _("Agent")
    return state


def _queue_changed() -> None:
    """Everyone waiting learns their new position; every desk sees the queue."""
    queue = _queue()
    agents, minutes = len(_on_duty()), handle_minutes()
    for conv in queue:
        push.push(push.conversation_group(conv.public_id),
                  {"type": "chat.state", "state": state_of(conv, queue=queue, agents=agents, minutes=minutes)})
    push.push(push.AGENTS, {"type": "chat.queue", "size": len(queue)})


def transcript_lines(conv: Conversation, *, include_notes: bool = False, mark_customer: bool = False) -> list[str]:
    """One line per message. ``mark_customer`` (the transcript email): the customer's lines say they
    were typed by the customer, so nobody mistakes a guest's text (a link, a "security notice") for
    OKPay's."""
    customer = _("Customer (typed by the customer, not OKPay)") if mark_customer else _("Customer")
    lines = []
    colon = "：" if (translation.get_language() or "").startswith("zh") else ": "  # full width in Chinese text
    for m in messages_after(conv, 0, include_notes=include_notes, limit=5000):
        who = {"customer": customer, "bot": _("Assistant"), "system": _("System"),
               "note": _("Internal note")}.get(m.kind) or (m.author.display_name if m.author else _("Agent"))
        lines.append(f"[{timezone.localtime(m.created_at):%Y-%m-%d %H:%M}] {who}{colon}{m.body}")
    return lines


def transcript_text(conv: Conversation, *, include_notes: bool = False) -> str:
    return "\n".join(transcript_lines(conv, include_notes=include_notes))


def _subject(conv: Conversation) -> str:
    first = Message.objects.filter(conversation=conv, kind=Message.Kind.CUSTOMER).order_by("seq").first()
    text = " ".join((first.body if first else "").split())
    return (text[:80] + "…") if len(text) > 80 else (text or _("Live chat"))


def matched_article(conv: Conversation) -> dict[str, str] | None:
    """The help article the assistant last matched in this chat (the first it showed) and the flow
    it was in, for the person who takes the chat over."""
    for m in Message.objects.filter(conversation=conv, kind=Message.Kind.BOT).order_by("-seq").only("data")[:20]:
        articles = (m.data or {}).get("articles") or []
        if articles and isinstance(articles[0], dict) and articles[0].get("slug"):
            first = articles[0]
            return {"slug": str(first["slug"]), "title": str(first.get("title") or ""),
                    "url": str(first.get("url") or ""), "flow": str((m.data or {}).get("flow") or "")}
    return None


def handoff_request(*, conversation: Conversation, category: str = "") -> dict[str, Any]:
    """"Talk to a person": a chat-channel ticket with the bot transcript (SLA applied by support),
    then the queue; with nobody on duty, the offer to leave a message instead."""
    from okpay.support.models import Category, Priority
    from okpay.support.services import Requester, ticket_create

    with translation.override(conversation.lang), transaction.atomic():
        conv = _locked().select_related("ticket", "user").get(pk=conversation.pk)
        if conv.state != Conversation.State.BOT:
            return state_of(conv)
        if category and category not in Category.values:
            raise InvalidRequest(gettext_noop("Unknown category."), param="category")
        if not _on_duty():
            _append(conv, kind=Message.Kind.SYSTEM, data={"leave_message": True}, body=_(
                "Nobody from customer service is available right now. Leave a message and we will answer by "
                "email within 24 hours."))
            state = state_of(conv)
            state["offline"] = True
            return state
        conv.category = category or conv.category or Category.ACCOUNT
        requester = Requester(user=conv.user) if conv.user_id else Requester(email=conv.guest_email)
        priority = Priority.HIGH if conv.category == Category.SECURITY else None
        matched = matched_article(conv)
        body, meta = transcript_text(conv), {"chat": conv.public_id}
        if matched:
            body += "\n\n" + _("Help article the assistant matched: %(title)s — %(url)s") % matched
            meta.update(article=matched["slug"], flow=matched.get("flow", ""))
        ticket = ticket_create(requester=requester, channel="chat", category=conv.category, subject=_subject(conv),
                               body=body, priority=priority, lang=conv.lang, meta=meta)
        conv.ticket, conv.state, conv.queued_at = ticket, Conversation.State.QUEUED, _now()
        conv.save(update_fields=["ticket", "state", "queued_at", "category"])
        state = state_of(conv)
        _append(conv, kind=Message.Kind.SYSTEM, data={"queue": state}, body=_(
            "You are number %(position)d in the queue; the estimated wait is %(minutes)d minutes. Your ticket is "
            "%(ticket)s.") % {"position": state["position"], "minutes": state["wait_minutes"],
                              "ticket": ticket.number})
        _queue_changed()
    queue_assign()
    conversation.refresh_from_db()
    return state_of(conversation)


def _active_counts(user_ids: Sequence[int]) -> dict[int, int]:
    rows = (Conversation.objects.filter(agent_id__in=list(user_ids), state=Conversation.State.ACTIVE)
            .values("agent_id").annotate(n=Count("pk")))
    return {r["agent_id"]: r["n"] for r in rows}


def _assign(conv: Conversation, agent: User, *, how: str, actor: User | str = "system") -> None:
    from okpay.support.services import ticket_assign

    conv.agent, conv.state, conv.assigned_at = agent, Conversation.State.ACTIVE, _now()
    conv.save(update_fields=["agent", "state", "assigned_at"])
    if conv.ticket is not None:
        ticket_assign(ticket=conv.ticket, actor=actor, assignee=agent, how=how)
    with translation.override(conv.lang):
        _append(conv, kind=Message.Kind.SYSTEM, data={"agent": agent.display_name},
                body=_("%(name)s from customer service has joined the chat.") % {"name": agent.display_name})
    push.push(push.conversation_group(conv.public_id), {"type": "chat.state", "state": state_of(conv)})
    push.push(push.agent_group(agent.public_id), {"type": "chat.assigned", "conversation": conv.public_id})


def queue_assign() -> int:
    """Sweep (and after every hand-off): waiting chats, security first then oldest, go to on-duty
    agents with free chat capacity — the ticket's assignee if they have room, else the agent who
    has waited longest for a chat."""
    from okpay.support.models import AgentProfile

    done = 0
    with transaction.atomic():
        ids = list(Conversation.objects.select_for_update(skip_locked=True)
                   .filter(state=Conversation.State.QUEUED).values_list("pk", flat=True)[:200])
        if not ids:
            return 0
        queue = sorted(Conversation.objects.filter(pk__in=ids).select_related("ticket"), key=_rank)
        profiles = _on_duty()
        counts = _active_counts([p.user_id for p in profiles])
        for conv in queue:
            free = [p for p in profiles if counts.get(p.user_id, 0) < p.capacity]
            if not free:
                break
            free = [p for p in free if _serves(p, _team_of(conv))]
            if not free:  # nobody of this chat's team has room; another team's chat may still go
                continue
            preferred = [p for p in free if conv.ticket is not None and p.user_id == conv.ticket.assignee_id]
            epoch = datetime.min.replace(tzinfo=_now().tzinfo)
            chosen = preferred[0] if preferred else min(
                free, key=lambda p: (counts.get(p.user_id, 0), p.last_assigned_at or epoch, p.pk))
            _assign(conv, chosen.user, how="chat_queue")
            AgentProfile.objects.filter(pk=chosen.pk).update(last_assigned_at=_now())
            chosen.last_assigned_at = _now()
            counts[chosen.user_id] = counts.get(chosen.user_id, 0) + 1
            done += 1
        if done:
            _queue_changed()
    return done


def _require_agent(agent: User) -> None:
    from okpay.support.permissions import can

    if agent is None or not agent.is_authenticated or not can(agent, "reply_ticket"):
        raise Forbidden()


def agent_conversation(*, agent: User, public_id: str) -> Conversation:
    """The desk's door: a chat that reached a person (queued, active, ended) whose ticket the agent
    may see on the desk (their team's, the general queue's, their own; every team's for
    supervisors), or that is theirs."""
    from okpay.support.permissions import desk_tickets

    _require_agent(agent)
    conv = (Conversation.objects.filter(public_id=str(public_id or "")).exclude(state=Conversation.State.BOT)
            .select_related("user", "agent", "ticket").first())
    if conv is None or (conv.agent_id != agent.pk and conv.ticket_id is not None
                        and not desk_tickets(agent).filter(pk=conv.ticket_id).exists()):
        raise NotFound()
    return conv


@transaction.atomic
def agent_pick(*, agent: User, public_id: str) -> Conversation:
    """An agent takes a waiting chat themselves."""
    conv = agent_conversation(agent=agent, public_id=public_id)
    conv = _locked().select_related("ticket").get(pk=conv.pk)
    if conv.state != Conversation.State.QUEUED:
        raise BusinessRuleError(gettext_noop("Somebody else already has this chat."), code="chat_taken")
    if not _serves(_agent_profile(agent), _team_of(conv)):
        raise NotFound()  # another team's queue
    _assign(conv, agent, how="picked", actor=agent)
    _queue_changed()
    return conv


def agent_says(*, agent: User, conversation: Conversation, body: Any, client_id: Any,
               internal: bool = False) -> tuple[Message, bool]:
    """A reply (shown to the customer) or an internal note (never sent to them). The first reply
    also goes on the ticket through support's own reply service, without an email (the customer
    read it in the chat): the SLA's first response, the ticket's status and the audit record
    are support's. The rest of the chat reaches the ticket as the transcript when it ends."""
    from okpay.support.models import Ticket
    from okpay.support.services import agent_reply

    _require_agent(agent)
    if (conversation.state != Conversation.State.ACTIVE or conversation.agent_id != agent.pk) and not internal:
        raise Forbidden(gettext_noop("This chat is not assigned to you."))
    message, created = message_post(conversation=conversation, body=body, client_id=client_id, author=agent,
                                    kind=Message.Kind.NOTE if internal else Message.Kind.AGENT)
    if created and not internal and conversation.ticket_id:
        ticket = Ticket.objects.filter(pk=conversation.ticket_id, first_responded_at__isnull=True).first()
        if ticket is not None:
            agent_reply(ticket=ticket, agent=agent, body=message.body, notify=False)
    return message, created


@transaction.atomic
def conversation_transfer(*, agent: User, conversation: Conversation, to: str) -> Conversation:
    """Hand an active chat to another agent (``usr_…``) or to the queue of a team (``team:<slug>``):
    the ticket moves to that team, and only its agents (and those allowed every team) see the chat
    waiting and are offered it."""
    from okpay.support.models import Team
    from okpay.support.permissions import can
    from okpay.support.services import ticket_assign

    _require_agent(agent)
    conv = _locked().select_related("ticket", "agent").get(pk=conversation.pk)
    if conv.state != Conversation.State.ACTIVE:
        raise BusinessRuleError(gettext_noop("Only an active chat can be transferred."), code="chat_not_active")
    if conv.agent_id != agent.pk and not can(agent, "assign_ticket"):
        raise Forbidden(gettext_noop("This chat is not assigned to you."))
    previous = conv.agent
    if to.startswith("team:"):
        team = Team.objects.filter(slug=to[5:]).first()
        if team is None:
            raise InvalidRequest(gettext_noop("No such team."), param="to")
        conv.agent, conv.state, conv.queued_at = None, Conversation.State.QUEUED, _now()
        conv.save(update_fields=["agent", "state", "queued_at"])
        if conv.ticket_id:
            ticket_assign(ticket=conv.ticket, actor=agent, assignee=None, team=team, how="chat_transfer")
        with translation.override(conv.lang):
            _append(conv, kind=Message.Kind.SYSTEM, body=_("You are being transferred to a colleague. Please wait."))
        _queue_changed()
        queue_assign()  # a free agent of that team takes it now
    else:
        target = User.objects.filter(public_id=to, is_active=True).first()
        if target is None or not can(target, "reply_ticket"):
            raise InvalidRequest(gettext_noop("Chats can only be transferred to agents."), param="to")
        _assign(conv, target, how="chat_transfer", actor=agent)
    if previous is not None:
        push.push(push.agent_group(previous.public_id), {"type": "chat.released", "conversation": conv.public_id})
    audit_record(actor=agent, action="chat.transfer", target=conv.ticket, detail={"chat": conv.public_id, "to": to})
    return conv


def conversation_end(*, conversation: Conversation, actor: User | str) -> Conversation:
    """End the chat: the full transcript goes to the ticket; an agent's end solves the ticket."""
    from okpay.support import notes
    from okpay.support.services import system_note, ticket_status_set

    with transaction.atomic():
        conv = _locked().select_related("ticket", "agent").get(pk=conversation.pk)
        if conv.state == Conversation.State.ENDED:
            return conv
        if isinstance(actor, User) and actor.pk != conv.user_id:
            _require_agent(actor)
            if conv.agent_id != actor.pk:
                raise Forbidden(gettext_noop("This chat is not assigned to you."))
        was_active = conv.state == Conversation.State.ACTIVE
        conv.state, conv.ended_at = Conversation.State.ENDED, _now()
        conv.save(update_fields=["state", "ended_at"])
        with translation.override(conv.lang):
            _append(conv, kind=Message.Kind.SYSTEM, data={"ended": True, "rate": True},
                    body=_("The chat has ended. How did we do? You can also get the transcript by email."))
            if conv.ticket_id:
                system_note(conv.ticket, parts=[notes.tr(gettext_noop("Chat transcript (%(id)s):"), id=conv.public_id),
                                                "\n" + transcript_text(conv, include_notes=True)])
                if was_active and conv.agent is not None:
                    ticket_status_set(ticket=conv.ticket, actor=conv.agent, status="solved")
        push.push(push.conversation_group(conv.public_id), {"type": "chat.state", "state": state_of(conv)})
        if conv.agent_id:
            push.push(push.agent_group(conv.agent.public_id), {"type": "chat.released",
                                                               "conversation": conv.public_id})
        if not was_active:
            _queue_changed()
    if was_active:
        queue_assign()  # the agent has room again
    conversation.state = conv.state
    return conv


@transaction.atomic
def leave_message(*, conversation: Conversation, body: str, email: str = "") -> str:
    """Nobody on duty: the message becomes an email-channel ticket with the 24-hour promise."""
    from okpay.support.models import Category
    from okpay.support.services import Requester, ticket_create

    conv = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if conv.state != Conversation.State.BOT:
        raise BusinessRuleError(gettext_noop("A person is already handling this chat."), code="chat_not_bot")
    body = (body or "").strip()
    if not body or len(body) > settings.OKPAY_CHAT_MAX_CHARS:
        raise InvalidRequest(gettext_noop("Write your message (at most the chat's length)."), param="body")
    requester = Requester(user=conv.user) if conv.user_id else Requester(email=conv.guest_email)
    with translation.override(conv.lang):
        ticket = ticket_create(requester=requester, channel="email", category=conv.category or Category.ACCOUNT,
                               subject=_subject(conv) if conv.last_seq > 1 else body[:80],
                               body=body + "\n\n---\n" + transcript_text(conv), lang=conv.lang,
                               meta={"chat": conv.public_id, "left_message": True})
        conv.ticket, conv.state, conv.ended_at = ticket, Conversation.State.ENDED, _now()
        conv.save(update_fields=["ticket", "state", "ended_at"])
        _append(conv, kind=Message.Kind.SYSTEM, data={"ended": True, "ticket": ticket.number}, body=_(
            "Thank you. Your message is ticket %(number)s; we will answer by email to %(email)s within 24 "
            "hours.") % {"number": ticket.number, "email": ticket.requester_email})
    push.push(push.conversation_group(conv.public_id), {"type": "chat.state", "state": state_of(conv)})
    return ticket.number


@transaction.atomic
def conversation_rate(*, conversation: Conversation, score: Any, comment: str = "") -> Conversation:
    """CSAT after the chat: 1-5, once."""
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise InvalidRequest(gettext_noop("Rate from 1 to 5."), param="score")
    conv = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if conv.state != Conversation.State.ENDED:
        raise BusinessRuleError(gettext_noop("You can rate the chat once it has ended."), code="chat_not_ended")
    if conv.rating is not None:
        raise BusinessRuleError(gettext_noop("You already rated this chat."), code="already_rated")
    conv.rating, conv.rating_comment = score, (comment or "")[:2000]
    conv.save(update_fields=["rating", "rating_comment"])
    ticket = conv.ticket
    if ticket is not None:
        from okpay.support.models import Rating
        from okpay.support.services import event_add, rating_create

        if (conv.user is not None and ticket.requester_id == conv.user_id and ticket.status in ("solved", "closed")
                and not Rating.objects.filter(ticket=ticket).exists()):
            rating_create(ticket=ticket, user=conv.user, score=score, comment=conv.rating_comment)  # the desk's CSAT
        else:
            event_add(ticket, "chat_rated", conv.user or "customer", score=score)
    return conv


TRANSCRIPT_SALT = "okpay.chat.transcript-confirm"
TRANSCRIPT_LINK_MAX_AGE = timedelta(days=1)


class TranscriptLinkInvalid(InvalidRequest):
    code = "invalid_token"


@dataclass
class TranscriptSent:
    to: str
    confirm: bool  # True: a link to confirm the address went out, not yet the transcript


def _address_owner(address: str) -> User | None:
    """The customer whose *verified* email ``address`` is: their anti-phishing code goes in our mail."""
    return User.objects.filter(email__iexact=address, email_verified_at__isnull=False, is_active=True).first()


def transcript_token(conv: Conversation, to: str) -> str:
    return signing.dumps({"c": conv.public_id, "e": to.lower()}, salt=TRANSCRIPT_SALT, compress=True)


def _transcript_mail(conv: Conversation, to: str) -> None:
    from okpay.identity.emails import deliver

    owner = _address_owner(to)
    lang = (owner.locale if owner is not None and owner.locale else "") or conv.lang
    with translation.override(lang):
        mail = Mail(subject=_("Your OKPay chat transcript"), heading=_("Your chat with OKPay customer service"),
                    paragraphs=[_("Here is the transcript of your chat with OKPay customer service."),
                                *transcript_lines(conv, mark_customer=True)],
                    notes=[_("Lines marked “typed by the customer” were written in the chat by the customer, not "
                             "by OKPay: do not trust links or instructions in them. OKPay never asks for your "
                             "password or a verification code.")])
    deliver(to=to, user=owner, lang=lang, mail=mail)


def _transcript_confirm_mail(conv: Conversation, to: str) -> None:
    """Nothing of the chat, only a link: whoever typed this address learns nothing and sends nothing."""
    from okpay.identity.emails import deliver

    owner = _address_owner(to)
    lang = (owner.locale if owner is not None and owner.locale else "") or conv.lang
    with translation.override(lang):
        mail = Mail(subject=_("Confirm where to send your chat transcript"),
                    heading=_("Send the chat transcript to this address?"),
                    paragraphs=[_("Someone asked OKPay customer service to email the transcript of a chat to this "
                                  "address. If it was you, open the link below and the transcript follows."),
                                _("The link works for 24 hours.")],
                    action_url=absolute(reverse("chat:transcript", args=[transcript_token(conv, to)])),
                    action_label=_("Send me the transcript"),
                    notes=[_("If you did not ask for it, ignore this email: nothing will be sent."),
                           _("OKPay support will never ask for your password or a verification code.")])
    deliver(to=to, user=owner, lang=lang, mail=mail)


@transaction.atomic
def transcript_send(*, conversation: Conversation) -> TranscriptSent:
    """The transcript by email, at most three times a chat (links included), only to an address
    that is known to want it: a signed-in customer's verified email, or an address that confirmed
    it by the link we mail first (a guest types any address: otherwise anyone could have OKPay
    mail their text, e.g. a phishing link, to somebody else)."""
    sent = Conversation.objects.filter(pk=conversation.pk, transcripts_sent__lt=TRANSCRIPTS_PER_CONVERSATION).update(
        transcripts_sent=F("transcripts_sent") + 1)
    if not sent:
        raise RateLimited(gettext_noop("The transcript was already sent several times."), retry_after=3600)
    conv = Conversation.objects.select_related("user").get(pk=conversation.pk)
    user = conv.user
    to = user.email if user is not None else conv.guest_email
    confirmed = (user is not None and user.email_verified_at is not None) or (
        bool(conv.transcript_email) and conv.transcript_email.lower() == to.lower())
    _transcripts_per_address().hit(to.lower())  # also across chats: no mail bombing an address
    if confirmed:
        _transcript_mail(conv, to)
    else:
        _transcript_confirm_mail(conv, to)
    return TranscriptSent(to=to, confirm=not confirmed)


def transcript_link(token: str) -> tuple[Conversation, str]:
    """The chat and address of a confirmation link; ``TranscriptLinkInvalid`` when it is forged,
    expired, or the chat's address has changed since."""
    try:
        data = signing.loads(token, salt=TRANSCRIPT_SALT, max_age=TRANSCRIPT_LINK_MAX_AGE)
    except signing.BadSignature:
        raise TranscriptLinkInvalid(gettext_noop("This link is invalid or has expired.")) from None
    conv = Conversation.objects.select_related("user").filter(public_id=str(data.get("c", ""))).first()
    to = str(data.get("e", ""))
    current = (conv.user.email if conv.user is not None else conv.guest_email) if conv is not None else ""
    if conv is None or not to or current.lower() != to:
        raise TranscriptLinkInvalid(gettext_noop("This link is invalid or has expired."))
    return conv, to


@transaction.atomic
def transcript_confirm(*, token: str) -> tuple[Conversation, bool]:
    """The address's owner followed the link: it is confirmed for this chat and the transcript is
    mailed, once (the same link again sends nothing; later requests from the chat go straight out)."""
    conv, to = transcript_link(token)
    updated = Conversation.objects.filter(pk=conv.pk).exclude(transcript_email__iexact=to).update(transcript_email=to)
    if not updated:
        return conv, False
    conv.transcript_email = to
    _transcript_mail(conv, to)
    return conv, True


# --- the desk's reads ----------------------------------------------------------------------------

def is_agent(user: User) -> bool:
    from okpay.support.permissions import can

    return bool(user is not None and user.is_authenticated and can(user, "reply_ticket"))


def _brief(conv: Conversation) -> dict[str, Any]:
    return {"conversation": conv.public_id, "state": conv.state, "category": conv.category,
            "ticket": conv.ticket.number if conv.ticket is not None else None,
            "customer": (conv.user.display_name if conv.user is not None else conv.guest_email),
            "queued_at": conv.queued_at.isoformat() if conv.queued_at else None}


def agent_overview(*, agent: User) -> dict[str, Any]:
    _require_agent(agent)
    mine = (Conversation.objects.filter(agent=agent, state=Conversation.State.ACTIVE)
            .select_related("user", "ticket").order_by("assigned_at"))
    return {"mine": [_brief(c) for c in mine],
            "queue": [_brief(c) for c in _queue_for(agent)[:50]]}


def agent_detail(*, agent: User, conversation: Conversation) -> dict[str, Any]:
    """What the agent sees of a chat: the whole transcript (bot part included, with notes) and,
    for a customer signed in to their account (whose account the chat ticket is linked to), the
    address of support's own wallet context for the ticket (``/desk/t/<ticket>/context/``: the same
    panel, permission and audit record as the desk). A guest's chat gets none: an email address
    typed into the widget proves nothing."""
    from django.urls import reverse

    from okpay.support.permissions import can

    _require_agent(agent)
    ticket = conversation.ticket
    linked = (conversation.user_id is not None and ticket is not None and ticket.requester_id == conversation.user_id
              and bool(ticket.requester_link))  # support's own word that the requester is this customer
    wallet: dict[str, Any] = {"signed_in": conversation.user_id is not None, "linked": linked}
    if ticket is not None and linked and can(agent, "view_customer_context"):
        wallet["context"] = reverse("support:desk-context", args=[ticket.public_id])
    return {**_brief(conversation), "agent": conversation.agent.public_id if conversation.agent is not None else None,
            "messages": [serialize(m) for m in messages_after(conversation, 0, include_notes=True, limit=2000)],
            "wallet": wallet, "article": matched_article(conversation)}


def canned_for(*, agent: User, conversation: Conversation, canned_id: Any) -> str:
    """A canned reply filled in for this chat's ticket (customer name, ticket number, agent name)."""
    from okpay.support.models import CannedReply
    from okpay.support.services import canned_render

    _require_agent(agent)
    reply = CannedReply.objects.filter(pk=canned_id).first() if str(canned_id or "").isdigit() else None
    if reply is None:
        raise NotFound()
    if conversation.ticket is None:
        return reply.body
    return canned_render(reply, ticket=conversation.ticket, agent=agent)
