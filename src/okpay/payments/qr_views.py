"""QR codes for customers (issue 22 item 2): the receive code (收款码) on the wallet, the "pay this
person" page it opens, and the scan page.

A receive code is a QR of an ordinary OKPay link, ``/pay/<wallet id>/`` with an optional amount and
note. It moves no money by itself: the page it opens shows the payee's masked name and posts to the
send form's first step, so the payment goes through the same confirmation screen, limits, step-up
and idempotency key as any transfer (``okpay.payments.views.send``). The amount in a code is the
payee's suggestion, fixed on the page; the payer still confirms it.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from okpay.core import qr
from okpay.core.errors import OkpayError
from okpay.payments import services
from okpay.payments.errors import RecipientNotFound
from okpay.payments.money import parse_money
from okpay.payments.views import _error_text, _key, _page

NOTE_MAX = 140


def _amount_and_note(request: HttpRequest) -> tuple[int | None, str, str]:
    """The optional fixed amount and note of a code, and an error text for nonsense."""
    raw_amount = request.GET.get("amount", "").strip()
    note = request.GET.get("note", "").strip()[:NOTE_MAX + 1]
    amount = parse_money(raw_amount) if raw_amount else None
    if raw_amount and amount is None:
        return None, note[:NOTE_MAX], _("Enter an amount such as 10 or 10.50.")
    if len(note) > NOTE_MAX:
        return amount, note[:NOTE_MAX], _("A note is at most 140 characters.")
    return amount, note, ""


def plain(amount: int) -> str:
    """``1250`` → ``"12.50"``: the amount as the form and the link write it."""
    return f"{amount // 100}.{amount % 100:02d}"


def receive_link(request: HttpRequest, wallet_id: str, amount: int | None, note: str) -> str:
    query = {}
    if amount:
        query["amount"] = plain(amount)
    if note:
        query["note"] = note
    url = request.build_absolute_uri(reverse("payments:pay-to", args=[wallet_id]))
    return f"{url}?{urlencode(query)}" if query else url


@never_cache
@login_required
@require_GET
def receive(request: HttpRequest) -> HttpResponse:
    wallet_id = services.wallet(request.user).public_id  # type: ignore[arg-type]
    amount, note, error = _amount_and_note(request)
    if error:
        amount, note = None, ""
    link = receive_link(request, wallet_id, amount, note)
    query = urlencode({k: v for k, v in (("amount", request.GET.get("amount", "")), ("note", note)) if v and not error})
    return _page(request, "payments/receive.html", {
        "section": "receive", "link": link, "amount": amount, "note": note, "error": error,
        "code": qr.svg_inline(link, scale=6, title=_("Receive code")),
        "png_url": reverse("payments:receive-png") + (f"?{query}" if query else ""),
        "raw_amount": request.GET.get("amount", "") if not error else "",
    }, status=400 if error else 200)


@never_cache
@login_required
@require_GET
def receive_png(request: HttpRequest) -> HttpResponse:
    wallet_id = services.wallet(request.user).public_id  # type: ignore[arg-type]
    amount, note, error = _amount_and_note(request)
    if error:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(qr.png(receive_link(request, wallet_id, amount, note)), content_type="image/png")
    response["Content-Disposition"] = f'attachment; filename="okpay-receive-{wallet_id}.png"'
    return response


@never_cache
@login_required
@require_GET
def pay_to(request: HttpRequest, wallet_id: str) -> HttpResponse:
    """"Pay this person": the payee's masked name before anything else, then the send form's
    confirmation step."""
    amount, note, error = _amount_and_note(request)
    try:
        recipient = services.recipient_preview(sender=request.user, to=wallet_id)  # type: ignore[arg-type]
        if recipient.kind != "wallet":
            raise RecipientNotFound(param="to")
    except OkpayError as exc:
        return _page(request, "payments/pay_to.html", {"section": "send", "problem": _error_text(exc)},
                     status=exc.status)
    return _page(request, "payments/pay_to.html", {
        "section": "send", "recipient": recipient, "amount": amount, "note": note, "error": error,
        "idempotency_key": _key(), "amount_text": plain(amount) if amount else "",
    }, status=400 if error else 200)


@never_cache
@login_required
@require_GET
def scan(request: HttpRequest) -> HttpResponse:
    response = _page(request, "payments/scan.html", {"section": "scan"})
    # The one page that may use the camera (everywhere else: camera=()).
    response["Permissions-Policy"] = "camera=(self), microphone=(), geolocation=(), payment=()"
    return response
