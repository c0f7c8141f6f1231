"""QR codes for merchants (issue 22 item 2).

- The **store code**: a printable static QR of ``/store/<merchant id>/``. A customer who scans it
  types the amount; the page creates a payment intent for it (once per form, by its idempotency
  key) and sends the customer to the ordinary hosted checkout, which confirms, checks limits and
  asks for the step-up code like any other payment (``okpay.merchants.views.checkout``).
- The **till code**: a dynamic QR of one payment intent's checkout, for an amount the merchant
  entered at the till; the page follows the intent until it is paid.
"""

from __future__ import annotations

import secrets

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from okpay.core import qr
from okpay.core.errors import NotFound, OkpayError
from okpay.core.idempotency import run_idempotently
from okpay.merchants import services
from okpay.merchants.models import Merchant
from okpay.merchants.views import _dashboard_error, _error_text, _merchant
from okpay.payments.money import parse_money

NOTE_MAX = 100


def store_link(request: HttpRequest, merchant: Merchant) -> str:
    return request.build_absolute_uri(reverse("merchants:store", args=[merchant.public_id]))


def checkout_link(request: HttpRequest, intent_id: str) -> str:
    return request.build_absolute_uri(reverse("merchants:checkout", args=[intent_id]))


# --- the customer's side of the store code -----------------------------------------------------------

@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def store(request: HttpRequest, merchant_id: str) -> HttpResponse:
    if request.method == "POST":
        request.body  # noqa: B018 - read before the form: the idempotency fingerprint hashes it
    merchant = Merchant.objects.filter(public_id=merchant_id).first() if len(merchant_id) <= 40 else None
    if merchant is None:
        raise Http404
    context = {"merchant": merchant, "idempotency_key": secrets.token_urlsafe(18), "error": "",
               "amount": request.POST.get("amount", "")[:16], "note": request.POST.get("note", "")[:NOTE_MAX]}
    if request.method == "GET":
        return render(request, "merchants/store.html", context)
    amount = parse_money(request.POST.get("amount", ""))
    note = request.POST.get("note", "").strip()
    if amount is None or len(note) > NOTE_MAX:
        context["error"] = (_("Enter an amount such as 10 or 10.50.") if amount is None
                            else _("The note is at most 100 characters."))
        return render(request, "merchants/store.html", context, status=400)

    def view() -> HttpResponse:
        intent = services.intent_create(merchant=merchant, amount=amount,
                                        description=note or _("In-store payment"))
        return redirect("merchants:checkout", intent_id=intent.public_id)

    try:
        return run_idempotently(request, scope=f"{request.user.public_id}:store",  # type: ignore[union-attr]
                                key=request.POST.get("idempotency_key", ""), view=view)
    except OkpayError as exc:
        context["error"] = _error_text(exc)
        return render(request, "merchants/store.html", context, status=exc.status)


# --- the merchant's side ------------------------------------------------------------------------------

@never_cache
@login_required
@require_GET
def store_code(request: HttpRequest, fmt: str) -> HttpResponse:
    """The store code: SVG (shown on the dashboard), PNG or PDF to print."""
    merchant = _merchant(request)
    link = store_link(request, merchant)
    if fmt == "svg":
        return HttpResponse(str(qr.svg_inline(link, scale=6, title=merchant.name)), content_type="image/svg+xml")
    if fmt == "png":
        body, content_type = qr.png(link, scale=16), "image/png"
    elif fmt == "pdf":
        body, content_type = qr.pdf(link, scale=16), "application/pdf"
    else:
        raise Http404
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="okpay-store-code-{merchant.public_id}.{fmt}"'
    return response


@never_cache
@login_required
@require_POST
def till_new(request: HttpRequest) -> HttpResponse:
    """A dynamic code for one payment: the merchant types the amount at the till."""
    merchant = _merchant(request)
    amount = parse_money(request.POST.get("amount", ""))
    if amount is None:  # the dashboard again, the error at the amount (issue 22: form errors are announced)
        from django.utils.translation import gettext_noop

        from okpay.core.errors import InvalidRequest

        error = InvalidRequest(gettext_noop("Enter an amount such as 10 or 10.50."), param="amount")
        return _dashboard_error(request, merchant, error, form="till", fields={"amount": "till:amount"})
    intent = services.intent_create(merchant=merchant, amount=amount,
                                    description=request.POST.get("description", "").strip()[:200] or _("At the till"))
    return redirect("merchants:till", intent_id=intent.public_id)


@never_cache
@login_required
@require_GET
def till(request: HttpRequest, intent_id: str) -> HttpResponse:
    merchant = _merchant(request)
    try:
        intent = services.access_intent(merchant, intent_id)
    except NotFound as exc:
        raise Http404 from exc
    link = checkout_link(request, intent.public_id)
    return render(request, "merchants/till.html", {
        "merchant": merchant, "intent": intent, "link": link,
        "code": qr.svg_inline(link, scale=6, title=_("Payment code")),
        "open": intent.status == "requires_confirmation"})
