"""A ticket's history in plain words, in the language of whoever reads it (issue 18).

``TicketEvent`` rows keep machine codes (``assigned``, ``sla_breached``, ``action_executed``) and
ids, which is right for the audit trail and wrong for an agent: the desk shows each event as a
sentence in the desk user's language, written here at render time (never stored translated), with
people's names instead of ``usr_…`` ids. A kind this module does not know yet still reads as words
("Other change"), so no raw code ever reaches the page; ``tests/support/test_desk_history.py``
renders every kind the code writes and checks that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from okpay.identity.models import User
from okpay.support.models import ActionRequest, Category, Channel, Priority, RequesterLink, Status, TicketEvent

# Words for the codes an event's detail carries. Phone words live here (support does not import
# hotline, which builds on it); the catalogues hold them once.
_DIRECTIONS = {"inbound": gettext_lazy("incoming"), "outbound": gettext_lazy("outgoing")}
_CALL_OUTCOMES = {"answered": gettext_lazy("answered"), "resolved": gettext_lazy("resolved on the call"),
                  "no_answer": gettext_lazy("no answer"), "busy": gettext_lazy("busy"),
                  "voicemail": gettext_lazy("left a voicemail"), "dropped": gettext_lazy("call dropped")}
_TARGETS = {"first_response": gettext_lazy("first response"), "next_response": gettext_lazy("next response"),
            "resolution": gettext_lazy("resolution")}
_HOW = {"reply": gettext_lazy("by answering"), "auto": gettext_lazy("by round robin"),
        "round_robin": gettext_lazy("by round robin"), "bulk": gettext_lazy("in a bulk change"),
        "chat_queue": gettext_lazy("from the chat queue"), "picked": gettext_lazy("by taking the chat"),
        "chat_transfer": gettext_lazy("by a chat transfer")}
_VIA = {"sms": gettext_lazy("by SMS"), "email": gettext_lazy("by email")}
_PROMISES = {"pending": gettext_lazy("a pending payment"), "refund": gettext_lazy("a refund"),
             "refund_request": gettext_lazy("a refund request")}


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    kind: str  # kept for data attributes and tests, never printed
    who: str
    text: str


def _choice(choices: Any, value: Any) -> str:
    """The label of ``value`` among a TextChoices' members, else a neutral word (never the code)."""
    for member in choices:
        if member.value == value:
            return str(member.label)
    return _("(unknown)") if value not in (None, "") else _("none")


def _when(value: Any) -> str:
    moment = parse_datetime(value) if isinstance(value, str) else value
    return date_format(localtime(moment), "m-d H:i") if isinstance(moment, datetime) else ""


def _action_label(kind: Any) -> str:
    from okpay.support.actions import KINDS

    spec = KINDS.get(str(kind))
    return _(spec.label) if spec else _("an account action")


def _sentence(e: TicketEvent, names: Mapping[str, str]) -> str:
    d, k = e.detail or {}, e.kind
    if k == "created":
        return _("Ticket created (%(channel)s, %(category)s, priority %(priority)s)") % {
            "channel": _choice(Channel, d.get("channel")), "category": _choice(Category, d.get("category")),
            "priority": _choice(Priority, d.get("priority"))}
    if k == "complaint_rule":
        return _("Marked as a complaint: priority raised to %(priority)s") % {
            "priority": _choice(Priority, d.get("priority"))}
    if k == "follow_up_created":
        return _("The customer wrote again after the ticket was closed: follow-up %(number)s opened") % {
            "number": d.get("follow_up", "")}
    if k == "reopened":
        return _("Reopened")
    if k == "status":
        return _("Status changed from %(old)s to %(new)s") % {
            "old": _choice(Status, d.get("old")), "new": _choice(Status, d.get("new"))}
    if k == "message":
        if d.get("visibility") == "internal":
            return _("Internal note added")
        return _("Reply sent with a canned reply") if d.get("canned") else _("Message added")
    if k == "requester_linked":
        return _("Linked to the customer's account (%(how)s)") % {"how": _choice(RequesterLink, d.get("link"))}
    if k == "requester_proof_sent":
        return _("“Prove it’s you” email sent")
    if k == "email_bounced":
        return _("Mail to the requester bounced")
    if k == "email_deliverable":
        return _("The requester's address was marked as working again")
    if k == "category":
        return _("Category changed from %(old)s to %(new)s") % {
            "old": _choice(Category, d.get("old")), "new": _choice(Category, d.get("new"))}
    if k in ("rated", "chat_rated"):
        return (_("The customer rated the chat %(score)s of 5") if k == "chat_rated"
                else _("The customer rated the answer %(score)s of 5")) % {"score": d.get("score", "?")}
    if k == "priority":
        words = {"old": _choice(Priority, d.get("old")), "new": _choice(Priority, d.get("new"))}
        if d.get("why") == "escalation":
            return _("Priority raised from %(old)s to %(new)s because a promise was missed") % words
        return _("Priority changed from %(old)s to %(new)s") % words
    if k == "assigned":
        if not d.get("assignee"):
            return _("Assignee removed")
        return (_("Assigned to %(agent)s %(how)s") % {
            "agent": names.get(d["assignee"], _("an agent")), "how": _HOW.get(str(d.get("how")), "")}).strip()
    if k == "team":
        return _("Moved to the team %(team)s") % {"team": d.get("team", "")}
    if k == "tags":
        return _("Tags set to %(tags)s") % {"tags": ", ".join(d.get("new") or []) or _("none")}
    if k == "transaction_linked":
        return _("Transaction %(id)s linked") % {"id": d.get("transaction", "")}
    if k == "sla_breached":
        targets = [str(_TARGETS.get(t, _("a target"))) for t in d.get("targets") or []]
        return _("Promise missed: %(targets)s") % {"targets": ", ".join(targets) or _("a target")}
    if k == "sla_warning":
        return _("Promise due soon (by %(when)s)") % {"when": _when(d.get("due"))}
    if k == "action_requested":
        action = {"action": _action_label(d.get("action_kind"))}
        if d.get("needs_approval"):
            return _("Asked for “%(action)s”: waiting for a supervisor") % action
        return _("Asked for “%(action)s”") % action
    if k.startswith("action_"):
        return _("“%(action)s”: %(state)s") % {"action": _action_label(d.get("action_kind")),
                                               "state": _choice(ActionRequest.State, k.removeprefix("action_"))}
    if k == "call_logged":
        minutes = max(1, round((d.get("duration") or 0) / 60)) if d.get("duration") else 0
        words = {"direction": _DIRECTIONS.get(str(d.get("direction")), ""),
                 "outcome": _CALL_OUTCOMES.get(str(d.get("outcome")), ""), "minutes": minutes}
        if minutes:
            return _("Phone call logged: %(direction)s, %(outcome)s, %(minutes)s min") % words
        return _("Phone call logged: %(direction)s, %(outcome)s") % words
    if k == "call_linked":
        return _("Phone call attached to this ticket")
    if k == "caller_code_sent":
        return _("One-time code sent to the caller %(via)s") % {"via": _VIA.get(str(d.get("via")), "")}
    if k == "caller_verified":
        return _("The caller proved who they are with the one-time code")
    if k == "promise_overdue":
        return _("OKPay noticed %(what)s past its promised time (%(id)s)") % {
            "what": _PROMISES.get(str(d.get("promise")), _("a transaction")), "id": d.get("transaction", "")}
    if k == "promise_settled":
        return _("Transaction %(id)s is settled") % {"id": d.get("transaction", "")}
    return _("Other change")


def actor_name(actor: str, names: Mapping[str, str]) -> str:
    if actor in names:
        return names[actor]
    if actor.startswith("usr_"):
        return _("a former staff member")
    if actor in ("requester", "customer"):
        return _("The customer")
    return _("OKPay")  # system, system:promises, the worker


def history(events: Iterable[TicketEvent]) -> list[HistoryLine]:
    """Each event as a sentence in the active language, with who did it by name."""
    rows = list(events)
    ids = {e.actor for e in rows if e.actor.startswith("usr_")}
    ids |= {str(e.detail.get("assignee")) for e in rows if e.kind == "assigned" and (e.detail or {}).get("assignee")}
    names = dict(User.objects.filter(public_id__in=ids).values_list("public_id", "display_name"))
    names = {k: v or _("an agent") for k, v in names.items()}
    return [HistoryLine(at=e.at, kind=e.kind, who=actor_name(e.actor, names), text=_sentence(e, names)) for e in rows]
