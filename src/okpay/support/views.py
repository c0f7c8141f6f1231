"""Pages of the service centre: the customer's "contact us" form and "我的工单" (/support/), and the
agent console (/desk/) with queues, the ticket beside the customer's wallet, actions and dashboards.
Views parse, authorise, call one service and render; htmx polls the lists and threads."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from okpay.core.errors import NotFound, OkpayError, RateLimited
from okpay.core.idempotency import form_once
from okpay.core.ratelimit import RateLimit
from okpay.core.replicas import replica_reads
from okpay.helpcenter import registry
from okpay.identity.auth import client_ip
from okpay.identity.models import User
from okpay.support import actions, emails, history, selectors, services, wallet
from okpay.support.models import (
    ActionRequest,
    AgentProfile,
    Attachment,
    CannedReply,
    Category,
    Channel,
    Feedback,
    Priority,
    Status,
    Ticket,
)
from okpay.support.permissions import (
    access_customer_attachment,
    access_customer_ticket,
    access_desk_attachment,
    access_desk_ticket,
    can,
)

# Forms anyone can send: limited per address (and per customer for tickets) so nobody floods the desk.
CALLBACKS_PER_IP = RateLimit("support-callback-ip", limit=5, window=3600)
FEEDBACK_PER_IP = RateLimit("support-feedback-ip", limit=20, window=3600)
TICKETS_PER_USER = RateLimit("support-ticket-user", limit=20, window=3600)


def _msg(exc: OkpayError) -> str:
    if isinstance(exc, RateLimited):
        return _("Too many requests. Please try again later or call the hotline.")
    return exc.localized()


def _lang() -> str:
    return "en" if (get_language() or "").startswith("en") else "zh-hans"


def _uploads(request: HttpRequest) -> list[Any]:
    return request.FILES.getlist("attachments")


def desk_required(perm: str = "view_desk"):  # type: ignore[no-untyped-def]
    def deco(view):  # type: ignore[no-untyped-def]
        @login_required
        @wraps(view)
        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not can(request.user, perm):  # type: ignore[arg-type]
                raise PermissionDenied
            try:
                return view(request, *args, **kwargs)
            except NotFound:
                raise Http404 from None
        return inner
    return deco


# --- customer side -------------------------------------------------------------------------------

def _transactions_for_form(user: User) -> list[Any]:
    return list(wallet.transactions_of(user, limit=20))


@login_required
def ticket_new(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    data: dict[str, Any] = {"category": request.GET.get("category", ""), "subject": "", "body": "",
                            "transaction_id": request.GET.get("transaction", "")}
    error, error_field = "", ""
    if request.method == "POST":
        data = {k: request.POST.get(k, "").strip() for k in ("category", "subject", "body", "transaction_id")}
        try:
            TICKETS_PER_USER.hit(str(user.pk))
            ticket = services.ticket_create(
                requester=services.Requester(user=user), channel=Channel.WEB, category=data["category"],
                subject=data["subject"], body=data["body"], transaction_id=data["transaction_id"] or None,
                attachments=_uploads(request), lang=_lang())
        except OkpayError as exc:
            error, error_field = _msg(exc), exc.param or ""
        else:
            return HttpResponseRedirect(reverse("support:ticket", args=[ticket.public_id]) + "?created=1")
    return render(request, "support/new.html", {
        "data": data, "error": error, "error_field": error_field, "categories": Category.choices,
        "transactions": _transactions_for_form(user), "suggestions": _suggest(data["subject"] or data["body"]),
    }, status=400 if error else 200)


def _suggest(text: str) -> list[Any]:
    if not text.strip():
        return []
    try:
        from okpay.helpcenter.selectors import suggest_articles
    except ImportError:
        return []
    return suggest_articles(text, _lang(), 3)


@require_GET
def suggest(request: HttpRequest) -> HttpResponse:
    """htmx: help articles that may already answer what the customer is typing (deflection)."""
    text = " ".join(request.GET.get(k, "") for k in ("subject", "body"))[:500]
    return render(request, "support/_suggestions.html", {"suggestions": _suggest(text)})


@login_required
def my_tickets(request: HttpRequest) -> HttpResponse:
    page = selectors.tickets_for_customer(request.user, limit=20, cursor=request.GET.get("cursor"))  # type: ignore[arg-type]
    return render(request, "support/my_tickets.html", {"page": page,
                                                       "nps_due": services.nps_due(request.user)})  # type: ignore[arg-type]


def _customer_ticket(request: HttpRequest, public_id: str) -> Any:
    try:
        return access_customer_ticket(request.user, public_id)  # type: ignore[arg-type]
    except NotFound:
        raise Http404 from None


@login_required
def ticket_page(request: HttpRequest, public_id: str, error: str = "", error_field: str = "") -> HttpResponse:
    ticket = _customer_ticket(request, public_id)
    linked = [link.transaction_id for link in ticket.linked_transactions.all()]
    rating = getattr(ticket, "rating", None) if hasattr(ticket, "rating") else None
    ctx = {"ticket": ticket, "messages_": selectors.public_messages(ticket), "error": error, "error_field": error_field,
           "transactions": list(wallet.transactions_by_ids(linked).values()), "rating": rating,
           "created": request.GET.get("created") == "1", "can_reply": ticket.status != Status.CLOSED,
           "can_rate": ticket.status in (Status.SOLVED, Status.CLOSED) and rating is None}
    if request.htmx and request.GET.get("part") == "thread":  # type: ignore[attr-defined]
        return render(request, "support/_customer_thread.html", ctx)
    return render(request, "support/ticket.html", ctx, status=400 if error else 200)


@login_required
@require_POST
def ticket_reply(request: HttpRequest, public_id: str) -> HttpResponse:
    ticket = _customer_ticket(request, public_id)
    try:
        message = services.customer_reply(ticket=ticket, user=request.user, body=request.POST.get("body", ""),  # type: ignore[arg-type]
                                          attachments=_uploads(request))
    except OkpayError as exc:
        return ticket_page(request, public_id, error=_msg(exc), error_field=exc.param or "")
    return HttpResponseRedirect(reverse("support:ticket", args=[message.ticket.public_id]))


@login_required
@require_POST
def ticket_close(request: HttpRequest, public_id: str) -> HttpResponse:
    ticket = _customer_ticket(request, public_id)
    try:
        services.customer_close(ticket=ticket, user=request.user)  # type: ignore[arg-type]
    except OkpayError as exc:
        return ticket_page(request, public_id, error=_msg(exc))
    return HttpResponseRedirect(reverse("support:ticket", args=[public_id]))


@login_required
@require_POST
def ticket_rate(request: HttpRequest, public_id: str) -> HttpResponse:
    ticket = _customer_ticket(request, public_id)
    try:
        score = int(request.POST.get("score", "0"))
        services.rating_create(ticket=ticket, user=request.user, score=score,  # type: ignore[arg-type]
                               comment=request.POST.get("comment", ""))
    except ValueError:
        return ticket_page(request, public_id, error=_("Give a score from 1 to 5."))
    except OkpayError as exc:
        return ticket_page(request, public_id, error=_msg(exc))
    return HttpResponseRedirect(reverse("support:ticket", args=[public_id]) + "#rating")


@login_required
def attachment_customer(request: HttpRequest, public_id: str, attachment_id: str) -> FileResponse:
    try:
        att = access_customer_attachment(request.user, public_id, attachment_id)  # type: ignore[arg-type]
    except NotFound:
        raise Http404 from None
    return _file(att)


def _file(att: Attachment) -> FileResponse:
    inline = att.content_type.startswith("image/") or att.content_type == "application/pdf"
    response = FileResponse(att.file.open("rb"), content_type=att.content_type, as_attachment=not inline,
                            filename=att.name)
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    return response


@login_required
@require_POST
def nps(request: HttpRequest) -> HttpResponse:
    raw = request.POST.get("score", "")
    try:
        services.nps_answer(user=request.user, score=int(raw) if raw.isdigit() else None,  # type: ignore[arg-type]
                            comment=request.POST.get("comment", ""))
    except OkpayError:
        pass  # answered already this quarter: nothing to do
    return HttpResponseRedirect(reverse("support:mine") + "?nps=thanks")


def feedback(request: HttpRequest) -> HttpResponse:
    error, error_field, sent = "", "", False
    data = {"kind": "idea", "body": "", "email": ""}
    if request.method == "POST":
        data = {k: request.POST.get(k, "").strip() for k in ("kind", "body", "email")}
        try:
            FEEDBACK_PER_IP.hit(client_ip(request) or "-")
            services.feedback_create(body=data["body"], kind=data["kind"], email=data["email"],
                                     user=request.user if request.user.is_authenticated else None,  # type: ignore[arg-type]
                                     page=request.POST.get("page", ""))
        except OkpayError as exc:
            error, error_field = _msg(exc), exc.param or ""
        else:
            sent = True
    return render(request, "support/feedback.html", {"data": data, "error": error, "error_field": error_field,
                                                     "sent": sent,
                                                     "kinds": Feedback.Kind.choices}, status=400 if error else 200)


def callback(request: HttpRequest) -> HttpResponse:
    error, error_field, ticket = "", "", None
    user = request.user if request.user.is_authenticated else None
    verified_phone = user.phone if user is not None and user.phone and user.phone_verified_at else ""  # type: ignore[union-attr]
    data = {"phone": verified_phone, "topic": "", "preferred_time": "asap"}
    if request.method == "POST":
        data = {k: request.POST.get(k, "").strip() for k in ("phone", "topic", "preferred_time")}
        try:
            if not request.user.is_authenticated:
                CALLBACKS_PER_IP.hit(client_ip(request) or "-")
            ticket = services.callback_request(
                phone=data["phone"], topic=data["topic"], preferred_time=data["preferred_time"], lang=_lang(),
                user=request.user if request.user.is_authenticated else None)  # type: ignore[arg-type]
        except OkpayError as exc:
            error, error_field = _msg(exc), exc.param or ""
    windows = [("asap", _("As soon as possible (within the hour)"))] + [
        (w, _("Today or the next day, %(start)s:00–%(end)s:00") % {"start": w[:2], "end": w[3:]})
        for w in services.CALLBACK_WINDOWS[1:]]
    hotline = next((c for c in registry.channels() if c.kind == "phone"), None)
    return render(request, "support/callback.html", {"data": data, "error": error, "error_field": error_field,
                                                     "ticket": ticket,
                                                     "categories": Category.choices, "windows": windows,
                                                     "hotline": hotline, "verified_phone": verified_phone},
                  status=400 if error else 200)


def prove(request: HttpRequest, token: str) -> HttpResponse:
    """The "prove it's you" link of an email ticket. GET shows the ticket's address and subject and
    a button (a GET changes nothing: mail scanners follow links); the POST links the ticket to the
    customer whose verified email is that address, never to a signed-in somebody else."""
    try:
        ticket = services.proof_ticket(token)
    except OkpayError as exc:
        return render(request, "support/prove.html", {"error": _msg(exc)}, status=400)
    user = request.user if request.user.is_authenticated else None
    ctx: dict[str, Any] = {"ticket": ticket, "signed_in_as": user.email if user is not None else ""}
    if request.method != "POST":
        ctx["other_account"] = user is not None and not services.proof_owns_address(ticket, user)  # type: ignore[arg-type]
        return render(request, "support/prove.html", ctx)
    try:
        services.requester_prove(token=token, user=user)  # type: ignore[arg-type]
    except OkpayError as exc:
        return render(request, "support/prove.html", {**ctx, "error": _msg(exc)}, status=exc.status)
    if user is not None:
        return HttpResponseRedirect(reverse("support:ticket", args=[ticket.public_id]))
    return render(request, "support/prove.html", {**ctx, "done": True})


# --- desk ---------------------------------------------------------------------------------------

QUEUE_LABELS = [("mine", gettext_lazy("Mine")), ("unassigned", gettext_lazy("Unassigned")),
                ("due_soon", gettext_lazy("Due soon")), ("breached", gettext_lazy("Breached")),
                ("complaints", gettext_lazy("Complaints")), ("waiting", gettext_lazy("Waiting on customer")),
                ("all_open", gettext_lazy("All open")), ("solved", gettext_lazy("Solved"))]


DESK_VIEW_KEY = "desk_view"


def _queue_ctx(request: HttpRequest, params: Any = None, *, counts: bool = True) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    params = request.GET if params is None else params
    queue = params.get("queue", "mine")
    if queue not in selectors.QUEUES:
        queue = "mine"
    channel, category, q = params.get("channel", ""), params.get("category", ""), params.get("q", "")
    tickets = selectors.desk_queue(user, queue, channel=channel, category=category, q=q)
    return {"queue": queue, "channel": channel, "category": category, "q": q,
            "queue_label": dict(QUEUE_LABELS).get(queue, ""),
            "rows": [(t, *selectors.sla_state(t)) for t in tickets],
            "counts": selectors.queue_counts(user) if counts else {},
            "queues": QUEUE_LABELS, "channels": Channel.choices, "categories": Category.choices,
            "statuses": Status.choices, "priorities": Priority.choices,
            "agents": _agents(), "now": timezone.now()}


def _agents() -> list[User]:
    return list(User.objects.filter(groups__name__in=["agent", "supervisor"], is_active=True).distinct()
                .order_by("display_name"))


@desk_required()
def desk_home(request: HttpRequest) -> HttpResponse:
    ctx = _queue_ctx(request)
    profile = AgentProfile.objects.filter(user=request.user).first()
    approver = can(request.user, "approve_action")  # type: ignore[arg-type]
    ctx.update(profile=profile, pending_actions=actions.pending_actions() if approver else [])
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "support/desk/_queue.html", ctx)
    # The ticket page lists the same view in its left pane (and its back link returns to it).
    request.session[DESK_VIEW_KEY] = request.GET.urlencode()[:500]
    ctx.update(_chat_links())
    return render(request, "support/desk/home.html", ctx)


def _chat_links() -> dict[str, str]:
    """The live-chat console and its waiting count, when the chat app is installed (support does not
    import chat; the navigation only links to it)."""
    try:
        return {"chat_url": reverse("chat:desk"), "chat_waiting_url": reverse("chat:desk-waiting")}
    except NoReverseMatch:
        return {}


@desk_required()
@require_POST
def desk_duty(request: HttpRequest) -> HttpResponse:
    capacity = request.POST.get("capacity", "")
    services.agent_duty_set(user=request.user, on_duty=request.POST.get("on_duty") == "1",  # type: ignore[arg-type]
                            capacity=int(capacity) if capacity.isdigit() else None)
    return HttpResponseRedirect(reverse("support:desk"))


@desk_required("reply_ticket")
@require_POST
def desk_bulk(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    ids = request.POST.getlist("ticket")
    tickets = [access_desk_ticket(user, i) for i in ids[:200]]
    assignee = None
    if request.POST.get("assignee") and request.POST["assignee"] != "-":
        assignee = User.objects.filter(public_id=request.POST["assignee"]).first()
    try:
        services.tickets_bulk_update(actor=user, tickets=tickets, status=request.POST.get("status") or None,
                                     priority=request.POST.get("priority") or None, assignee=assignee,
                                     unassign=request.POST.get("assignee") == "-",
                                     tag=request.POST.get("tag") or None)
    except OkpayError as exc:
        return HttpResponse(_msg(exc), status=exc.status, content_type="text/plain; charset=utf-8")
    return HttpResponseRedirect(reverse("support:desk") + "?" + request.POST.get("back", ""))


def conversation_lang(ticket: Ticket) -> str:
    """The language of the conversation (canned replies are offered in it): the one the ticket was
    opened in, else the one the customer wrote in, else their account's."""
    if ticket.meta.get("lang") in ("en", "zh-hans"):
        return str(ticket.meta["lang"])
    first = ticket.messages.filter(author_kind="customer").order_by("pk").first()
    text = (first.body_text if first else "") or ticket.subject
    if text.strip():
        return "zh-hans" if any("\u3400" <= ch <= "\u9fff" for ch in text) else "en"
    return "en" if ticket.requester and ticket.requester.locale == "en" else "zh-hans"


def _desk_ticket_ctx(request: HttpRequest, public_id: str) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    ticket = access_desk_ticket(user, public_id)
    others = services.presence_touch(ticket=ticket, user=user)
    linked = [link.transaction_id for link in ticket.linked_transactions.all()]
    lang = conversation_lang(ticket)
    return {"ticket": ticket, "messages_": selectors.all_messages(ticket),
            "history": history.history(selectors.ticket_events(ticket)),
            "requester_email": wallet.mask_email(ticket.requester_email) if ticket.requester_email else "",
            "requester_phone": wallet.mask_phone(ticket.requester_phone),
            "others": others, "linked": linked, "sla": selectors.sla_state(ticket),
            "canned": CannedReply.objects.filter(lang=lang) , "canned_other": CannedReply.objects.exclude(lang=lang),
            "statuses": Status.choices, "priorities": Priority.choices, "agents": _agents(),
            "action_kinds": [(k, _(v.label), v.needs_transaction) for k, v in actions.KINDS.items()],
            "action_labels": {k: _(v.label) for k, v in actions.KINDS.items()},
            "actions": ticket.actions.select_related("requested_by", "decided_by").order_by("-requested_at"),
            "can_approve": can(user, "approve_action"), "can_context": can(user, "view_customer_context"),
            "can_act": can(user, "act_on_account") and ticket.requester_id is not None,
            "categories": Category.choices, "unverified": ticket.meta.get("unverified", ""),
            "undeliverable": bool(ticket.requester_email) and emails.address_undeliverable(ticket.requester_email)}


@desk_required()
def desk_ticket(request: HttpRequest, public_id: str, error: str = "", status: int = 0, *, error_field: str = "",
                error_form: str = "") -> HttpResponse:
    """Three panes: the agent's current view on the left, the conversation in the middle, the
    customer (ticket properties, other tickets, wallet) on the right; one pane at a time on a phone.
    After a form of it failed (``error``): the page again, no redirect, the error in a role=alert at
    that form (``error_form``: "action" is in the right pane) and the field it names (``error_field``)
    marked invalid and described by it, what was typed kept (issue 22: form errors are announced)."""
    ctx = _desk_ticket_ctx(request, public_id)
    if error:
        ctx.update(error_field=error_field, error_form=error_form, posted=request.POST)
    view = QueryDict(request.session.get(DESK_VIEW_KEY, ""))
    listed = _queue_ctx(request, view, counts=False)
    ctx.update(error=error, rows=listed["rows"], queue_label=listed["queue_label"], view_qs=view.urlencode(),
               other_tickets=selectors.other_tickets(ctx["ticket"]))
    services.ticket_view_record(ticket=ctx["ticket"], agent=request.user, what="ticket", ip=client_ip(request))  # type: ignore[arg-type]
    return render(request, "support/desk/ticket.html", ctx, status=status or (400 if error else 200))


@desk_required()
def desk_ticket_live(request: HttpRequest, public_id: str) -> HttpResponse:
    """htmx polling: the thread, the events and who else has the ticket open."""
    return render(request, "support/desk/_live.html", _desk_ticket_ctx(request, public_id))


@desk_required("view_customer_context")
def desk_context(request: HttpRequest, public_id: str) -> HttpResponse:
    """The customer's wallet beside the ticket; every look is in the audit log."""
    user: User = request.user  # type: ignore[assignment]
    ticket = access_desk_ticket(user, public_id)
    customer = ticket.requester
    ctx: dict[str, Any] = {"ticket": ticket, "customer": customer}
    if customer is not None:
        services.ticket_view_record(ticket=ticket, agent=user, what="customer_context", ip=client_ip(request))
        linked_ids = [link.transaction_id for link in ticket.linked_transactions.order_by("added_at", "pk")]
        linked = set(linked_ids)
        ctx.update(
            timelines=[(t, steps) for t, steps in wallet.linked_timelines(linked_ids) if t.user_id == customer.pk],
            email=wallet.mask_email(customer.email), phone=wallet.mask_phone(customer.phone or ""),
            level=wallet.verification_level(customer), balances=wallet.balances_of(customer),
            transactions=wallet.transactions_of(customer, limit=10), linked=linked,
            events=wallet.security_events_of(customer, limit=8),
        )
    return render(request, "support/desk/_context.html", ctx)


def _desk_post(request: HttpRequest, public_id: str, work: Any) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    ticket = access_desk_ticket(user, public_id)
    try:
        work(user, ticket)
    except OkpayError as exc:
        return desk_ticket(request, public_id, error=_msg(exc), error_field=exc.param or "")
    return HttpResponseRedirect(reverse("support:desk-ticket", args=[public_id]))


@desk_required("reply_ticket")
@require_POST
def desk_reply(request: HttpRequest, public_id: str) -> HttpResponse:
    canned = CannedReply.objects.filter(pk=request.POST.get("canned") or 0).first() \
        if (request.POST.get("canned") or "").isdigit() else None
    return _desk_post(request, public_id, lambda user, ticket: services.agent_reply(
        ticket=ticket, agent=user, body=request.POST.get("body", ""), internal=request.POST.get("internal") == "1",
        attachments=_uploads(request), status=request.POST.get("status") or None, canned=canned))


@desk_required("reply_ticket")
@require_POST
def desk_category(request: HttpRequest, public_id: str) -> HttpResponse:
    return _desk_post(request, public_id, lambda user, ticket: services.ticket_category_set(
        ticket=ticket, actor=user, category=request.POST.get("category", "")))


@desk_required("reply_ticket")
@require_POST
def desk_prove(request: HttpRequest, public_id: str) -> HttpResponse:
    return _desk_post(request, public_id, lambda user, ticket: services.requester_proof_send(
        ticket=ticket, agent=user))


@desk_required("reply_ticket")
@require_POST
def desk_deliverable(request: HttpRequest, public_id: str) -> HttpResponse:
    return _desk_post(request, public_id, lambda user, ticket: services.undeliverable_clear(
        ticket=ticket, actor=user))


@desk_required("reply_ticket")
@require_POST
def desk_status(request: HttpRequest, public_id: str) -> HttpResponse:
    return _desk_post(request, public_id, lambda user, ticket: services.ticket_status_set(
        ticket=ticket, actor=user, status=request.POST.get("status", "")))


@desk_required("assign_ticket")
@require_POST
def desk_assign(request: HttpRequest, public_id: str) -> HttpResponse:
    def work(user: User, ticket: Any) -> None:
        target = request.POST.get("assignee", "")
        if target == "auto":
            if services.ticket_assign_round_robin(ticket=ticket, actor=user) is None:
                raise services.Conflict(_("No agent on duty has free capacity."))
            return
        assignee = User.objects.filter(public_id=target).first() if target and target != "-" else None
        services.ticket_assign(ticket=ticket, actor=user, assignee=assignee)
        if request.POST.get("priority"):
            services.ticket_priority_set(ticket=ticket, actor=user, priority=request.POST["priority"])
    return _desk_post(request, public_id, work)


@desk_required("reply_ticket")
@require_POST
def desk_tags(request: HttpRequest, public_id: str) -> HttpResponse:
    return _desk_post(request, public_id, lambda user, ticket: services.ticket_tags_set(
        ticket=ticket, actor=user, tags=request.POST.get("tags", "").replace("，", ",").split(",")))


@desk_required("reply_ticket")
@require_POST
def desk_link(request: HttpRequest, public_id: str) -> HttpResponse:
    return _desk_post(request, public_id, lambda user, ticket: services.ticket_link_transaction(
        ticket=ticket, actor=user, transaction_id=request.POST.get("transaction_id", "")))


@desk_required("act_on_account")
@require_POST
def desk_action(request: HttpRequest, public_id: str) -> HttpResponse:
    """Every agent action (freeze, cancel, bill retry, refund, risk decision, password-reset link): one
    effect per click (``core.idempotency.form_once``), the second submit shows the first result."""
    request.body  # noqa: B018 - read before the form data (the idempotency fingerprint)

    def view() -> HttpResponse:
        user: User = request.user  # type: ignore[assignment]
        ticket = access_desk_ticket(user, public_id)
        try:
            with transaction.atomic():
                actions.action_request(ticket=ticket, agent=user, kind=request.POST.get("kind", ""),
                                       reason=request.POST.get("reason", ""),
                                       transaction_id=request.POST.get("transaction_id") or None)
        except OkpayError as exc:  # the refusal's own status: 409 for a bill already paid again
            return desk_ticket(request, public_id, error=_msg(exc), status=exc.status, error_field=exc.param or "",
                               error_form="action")
        return HttpResponseRedirect(reverse("support:desk-ticket", args=[public_id]))

    return _desk_once(request, public_id, view)


@desk_required("approve_action")
@require_POST
def desk_action_decide(request: HttpRequest, action_id: str) -> HttpResponse:
    request.body  # noqa: B018 - read before the form data (the idempotency fingerprint)
    user: User = request.user  # type: ignore[assignment]
    action = ActionRequest.objects.filter(public_id=action_id).select_related("ticket").first()
    if action is None:
        raise Http404
    ticket = access_desk_ticket(user, action.ticket.public_id)

    def view() -> HttpResponse:
        try:
            with transaction.atomic():
                actions.action_decide(action=action, supervisor=user,
                                      approve=request.POST.get("decision") == "approve",
                                      note=request.POST.get("note", ""))
        except OkpayError as exc:
            return desk_ticket(request, ticket.public_id, error=_msg(exc))
        return HttpResponseRedirect(reverse("support:desk-ticket", args=[ticket.public_id]))

    return _desk_once(request, ticket.public_id, view)


def _desk_once(request: HttpRequest, public_id: str, view: Any) -> HttpResponse:
    def missing() -> HttpResponse:
        return desk_ticket(request, public_id, error=_("This form has expired. Open the ticket again and retry."))

    return form_once(request, scope=f"{request.user.public_id}:desk", view=view, missing=missing)  # type: ignore[union-attr]


@desk_required("approve_action")
def desk_risk_reviews(request: HttpRequest, error: str = "", status: int = 200) -> HttpResponse:
    """The queue of transfers held for risk review: the transfer, why, the sender's context."""
    from okpay.support import risk

    done = {"executed": _("Decision carried out."),
            "pending": _("Proposal recorded: a second supervisor must confirm the approval.")}
    return render(request, "support/desk/risk_reviews.html", {
        "items": risk.risk_reviews_queue(), "error": error,
        "done": "" if error else done.get(request.GET.get("done", ""), ""),
        "four_eyes_amount": settings.OKPAY_SUPPORT_FOUR_EYES_AMOUNT,
    }, status=status)


@desk_required("approve_action")
@require_POST
def desk_risk_review_decide(request: HttpRequest, txn_id: str) -> HttpResponse:
    from okpay.support import risk

    user: User = request.user  # type: ignore[assignment]
    try:
        decision = risk.risk_review_decide(supervisor=user, txn_id=txn_id,
                                           approve=request.POST.get("decision") == "approve",
                                           note=request.POST.get("note", ""))
    except OkpayError as exc:
        return desk_risk_reviews(request, error=_msg(exc), status=exc.status)
    if decision.state == decision.State.FAILED:
        return desk_risk_reviews(request, error=_(decision.result.get("message", "")), status=409)
    return HttpResponseRedirect(reverse("support:desk-risk-reviews") + f"?done={decision.state}")


@desk_required("reply_ticket")
def desk_canned(request: HttpRequest, public_id: str, pk: int) -> HttpResponse:
    """htmx: the canned reply with its variables filled in, into the reply box."""
    ticket = access_desk_ticket(request.user, public_id)  # type: ignore[arg-type]
    reply = CannedReply.objects.filter(pk=pk).first()
    if reply is None:
        raise Http404
    text = services.canned_render(reply, ticket=ticket, agent=request.user)  # type: ignore[arg-type]
    return render(request, "support/desk/_reply_box.html", {"ticket": ticket, "text": text, "chosen": reply,
                                                            "statuses": Status.choices})


@desk_required()
def desk_attachment(request: HttpRequest, attachment_id: str) -> FileResponse:
    try:
        att = access_desk_attachment(request.user, attachment_id)  # type: ignore[arg-type]
    except NotFound:
        raise Http404 from None
    return _file(att)


def _period(request: HttpRequest) -> tuple[date, date]:
    today = timezone.localdate()
    try:
        until = date.fromisoformat(request.GET.get("until", "")) if request.GET.get("until") else today
        since = date.fromisoformat(request.GET.get("since", "")) if request.GET.get("since") else \
            until - timedelta(days=29)
    except ValueError:
        since, until = today - timedelta(days=29), today
    if since > until:
        since, until = until, since
    if (until - since).days > 366:
        since = until - timedelta(days=366)
    return since, until


@desk_required("view_dashboard")
@replica_reads
def dashboard(request: HttpRequest) -> HttpResponse:
    from okpay.support import charts

    since, until = _period(request)
    d = selectors.dashboard(since=since, until=until)
    return render(request, "support/desk/dashboard.html", {
        "d": d, "since": since, "until": until,
        "chart_created": charts.bars([(day.strftime("%m-%d"), n) for day, n in d.created_by_day],
                                     title=_("New tickets per day")),
        "chart_channel": charts.hbars(d.open_by_channel, title=_("Open tickets by channel")),
        "chart_new_channel": charts.hbars(d.created_by_channel, title=_("New tickets by channel")),
        "chart_category": charts.hbars(d.open_by_category, title=_("Open tickets by category")),
        "chart_csat": charts.line([(day.strftime("%m-%d"), avg) for day, avg, _n in d.csat_by_day],
                                  title=_("CSAT trend (1–5)"), y_max=5),
        "chart_nps": charts.line([(week.strftime("%m-%d"), score) for week, score, _n in d.nps_by_week],
                                 title=_("NPS by week (−100 to 100)"), y_max=100, y_min=-100),
        "chart_sla": charts.sla_bars(d.first_response, d.resolution,
                                     labels=(_("First response"), _("Resolution")),
                                     title=_("Median and p90 against the SLA target")),
    })


@desk_required("view_dashboard")
@replica_reads
def dashboard_csv(request: HttpRequest) -> HttpResponse:
    since, until = _period(request)
    d = selectors.dashboard(since=since, until=until)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="okpay-support-{since}-{until}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    for row in selectors.dashboard_rows(d):
        writer.writerow(["'" + c if isinstance(c, str) and c[:1] in "=+-@" else c for c in row])
    return response
