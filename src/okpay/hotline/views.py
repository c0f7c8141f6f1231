"""The phone channel's edges: the call log panel on a desk ticket, "open a ticket for this call"
from the screen-pop, and the phone system's webhook ``POST /hooks/phone/calls``."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from okpay.api.errors import envelope
from okpay.core import signing
from okpay.core.errors import InvalidRequest, NotFound, OkpayError
from okpay.hotline import selectors, services
from okpay.hotline.models import Call, Direction, Outcome
from okpay.identity.models import User
from okpay.support import wallet
from okpay.support.models import Category
from okpay.support.permissions import access_desk_ticket
from okpay.support.views import desk_required


def _panel(request: HttpRequest, ticket: Any, *, error: str = "", data: dict[str, str] | None = None,
           status: int = 200, caller_error: str = "", caller_sent: str = "", error_field: str = "") -> HttpResponse:
    """The calls panel (htmx swaps all of it). After a failed form: its error in a role=alert and the
    field it names (``error_field``; "code" for the caller's code) aria-invalid, described by it."""
    claim = services.caller_claim(ticket)
    return render(request, "hotline/_calls.html", {
        "claim": claim is not None, "caller_error": caller_error, "caller_sent": caller_sent,
        "error_field": error_field,
        "claim_phone": wallet.mask_phone(claim.phone or "") if claim else "",
        "claim_email": wallet.mask_email(claim.email) if claim else "",
        "ticket": ticket, "calls": selectors.calls_of_ticket(ticket)[:50], "error": error,
        "data": data or {"direction": Direction.OUTBOUND, "number": ticket.requester_phone, "outcome": "answered"},
        "directions": Direction.choices,
        "outcomes": [(value, label) for value, label in Outcome.choices if value in services.AGENT_OUTCOMES],
    }, status=status)


@desk_required()
def desk_calls(request: HttpRequest, public_id: str) -> HttpResponse:
    """The calls of a ticket, and the form to log one (GET: the panel; POST: log, then the panel)."""
    user: User = request.user  # type: ignore[assignment]
    ticket = access_desk_ticket(user, public_id)
    if request.method != "POST":
        return _panel(request, ticket)
    data = {k: request.POST.get(k, "").strip() for k in ("direction", "number", "duration_seconds", "outcome", "notes")}
    try:
        services.call_log(ticket=ticket, agent=user, direction=data["direction"], number=data["number"],
                          duration_seconds=data["duration_seconds"] or "0", outcome=data["outcome"],
                          notes=data["notes"])
    except OkpayError as exc:  # (the phone number's check names it "phone": the form's field is "number")
        field = "number" if exc.param == "phone" else exc.param or ""
        if not request.headers.get("HX-Request"):
            return _panel(request, ticket, error=_(exc.message), data=data, status=400, error_field=field)
        return _panel(request, ticket, error=_(exc.message), data=data, error_field=field)
    if request.headers.get("HX-Request"):
        return _panel(request, ticket)
    return HttpResponseRedirect(reverse("support:desk-ticket", args=[public_id]) + "#calls")


@desk_required("reply_ticket")
@require_POST
def desk_caller(request: HttpRequest, public_id: str) -> HttpResponse:
    """Prove a caller whose caller ID matches a customer's verified phone: ``op=send`` (``via`` sms
    or email) sends the customer a one-time code; ``op=verify`` checks the code the caller read out."""
    user: User = request.user  # type: ignore[assignment]
    ticket = access_desk_ticket(user, public_id)
    op = request.POST.get("op", "")
    try:
        if op == "send":
            check = services.caller_code_send(ticket=ticket, agent=user, via=request.POST.get("via", ""))
            sent = str(check.get_via_display())
        elif op == "verify":
            ticket = services.caller_code_verify(ticket=ticket, agent=user, code=request.POST.get("code", ""))
            if not request.headers.get("HX-Request"):
                return HttpResponseRedirect(reverse("support:desk-ticket", args=[public_id]))
            response = _panel(request, ticket)
            response["HX-Refresh"] = "true"  # the wallet context and actions open now
            return response
        else:
            raise InvalidRequest(gettext_noop("Unknown operation."), param="op")
    except OkpayError as exc:
        status = 200 if request.headers.get("HX-Request") else exc.status
        return _panel(request, ticket, caller_error=_(exc.message), status=status, error_field=exc.param or "")
    return _panel(request, ticket, caller_sent=sent)


@desk_required()
def call_pop(request: HttpRequest, call_id: str) -> HttpResponse:
    """The screen-pop's content (the desk script fetches it when the phone system reports a call)."""
    call = Call.objects.filter(public_id=call_id).select_related("customer", "ticket").first()
    if call is None:
        raise Http404
    tickets = selectors.open_tickets_for_caller(number=call.number, customer=call.customer)
    claimed = call.customer is None and services.claimed_customer(call.number) is not None
    return render(request, "hotline/_pop.html", {"call": call, "tickets": tickets, "categories": Category.choices,
                                                 "claimed": claimed})


@desk_required("reply_ticket")
@require_POST
def call_ticket(request: HttpRequest, call_id: str) -> HttpResponse:
    call = Call.objects.filter(public_id=call_id).first()
    if call is None:
        raise Http404
    topic = request.POST.get("topic") or Category.ACCOUNT
    try:
        ticket = services.call_ticket_create(call=call, agent=request.user, topic=topic)  # type: ignore[arg-type]
    except NotFound:
        raise Http404 from None
    return HttpResponseRedirect(reverse("support:desk-ticket", args=[ticket.public_id]))


@csrf_exempt
def cti_webhook(request: HttpRequest) -> HttpResponse:
    """``POST /hooks/phone/calls``: ``{"call_id", "event", "from", "agent"?, "duration_seconds"?}``
    signed with ``OKPAY_CTI_SECRET`` (header ``OKPay-Signature: t=…,v1=…``)."""
    if request.method != "POST":
        return envelope(405, "method_not_allowed", "Use POST.")
    body = request.body
    if not signing.verify(settings.OKPAY_CTI_SECRET, body, request.headers.get(signing.HEADER, ""),
                          tolerance=settings.OKPAY_CTI_TOLERANCE_SECONDS):
        return envelope(403, "forbidden", "The signature is missing, wrong or too old.")
    try:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise InvalidRequest("Send a JSON object.")
        call, popped = services.cti_call_report(
            call_id=str(data.get("call_id") or ""), event=str(data.get("event") or ""),
            number=str(data.get("from") or ""), agent=str(data.get("agent") or ""),
            duration_seconds=data.get("duration_seconds") or 0)
    except ValueError:
        return envelope(400, "invalid_request", "The body is not JSON.")
    except OkpayError as exc:
        return envelope(exc.status, exc.code, exc.message, exc.param)
    return JsonResponse({"call": call.public_id, "popped": popped, "verified_customer": call.customer_id is not None,
                         "claimed_customer": call.customer_id is None and
                         services.claimed_customer(call.number) is not None,
                         "ticket": call.ticket.public_id if call.ticket else None})
