"""Pages: the hosted checkout, the demo shop, the customer's refund request, the merchant dashboard.
Views parse, authorise, call one service, render."""

from __future__ import annotations

import csv
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from okpay.core.errors import InvalidRequest, NotFound, OkpayError
from okpay.core.idempotency import Deferred, form_once, run_idempotently
from okpay.core.replicas import replica_reads
from okpay.identity import services as identity
from okpay.identity.models import User
from okpay.ledger.selectors import balances_for_owner
from okpay.merchants import services
from okpay.merchants.bill_refunds import bill_refundable, bill_window_ends
from okpay.merchants.emails import decline_reason_text
from okpay.merchants.models import (
    EVENT_TYPES,
    ApiKey,
    IntentStatus,
    Merchant,
    PaymentIntent,
    Refund,
    WebhookDelivery,
    WebhookEndpoint,
)
from okpay.payments.models import TxnType
from okpay.payments.money import format_money
from okpay.payments.services import access_transaction

DEMO_SHOP_EMAIL = "shop@okpay.example"
DEMO_PRODUCTS = {
    "tea": ("西湖龙井 250 g", 8800),
    "mug": ("青瓷茶杯", 12800),
}


def money_key() -> str:
    """A fresh idempotency key for a money form, minted when the form is rendered."""
    import secrets

    return secrets.token_urlsafe(18)


def _error_text(exc: OkpayError) -> str:
    return exc.localized() if getattr(exc, "message", None) else _("Something went wrong.")


# --- hosted checkout -------------------------------------------------------------------------------

@never_cache
@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest, intent_id: str) -> HttpResponse:
    """The hosted checkout: the merchant, amount and description from the first screen, also before
    sign-in (the sign-in form is part of the page and comes back here), a way back to the merchant."""
    try:
        intent = services.intent_for_checkout(intent_id)
    except NotFound as exc:
        raise Http404 from exc
    user = request.user
    if not user.is_authenticated:
        if request.method == "POST":
            return redirect(f"{reverse('identity:login')}?next={request.path}")
        if intent.status != IntentStatus.REQUIRES_CONFIRMATION and intent.customer_id is not None:
            return redirect(f"{reverse('identity:login')}?next={request.path}")
        if intent.status != IntentStatus.REQUIRES_CONFIRMATION:
            return render(request, "merchants/checkout_done.html", {"intent": intent})
        return render(request, "merchants/checkout.html", {"intent": intent, "signed_out": True})
    if intent.customer_id is not None and intent.customer_id != user.pk:
        raise Http404
    if intent.status != IntentStatus.REQUIRES_CONFIRMATION:
        return redirect("merchants:checkout-done", intent_id=intent.public_id)
    needs_otp = identity.step_up_required(user, intent.amount)
    if request.method == "GET":
        return _checkout_page(request, intent, user, needs_otp=needs_otp, key=money_key())
    request.body  # noqa: B018 - read before the form data: the idempotency fingerprint hashes it
    key = request.POST.get("idempotency_key", "").strip()
    if not key:  # a page from before the key: a fresh form, nothing charged
        return _checkout_page(request, intent, user, needs_otp=needs_otp, key=money_key(), status=400,
                              error=_("This form has expired. Check the amount and pay again."))

    def view() -> HttpResponse:
        try:
            services.intent_confirm(intent_id=intent.public_id, customer=user,
                                    otp_code=request.POST.get("otp_code", "").strip() or None)
        except OkpayError as exc:
            refused = exc
            return Deferred(exc.status, lambda: _checkout_refused(request, intent, user, refused, key, needs_otp))
        return redirect("merchants:checkout-done", intent_id=intent.public_id)

    response = run_idempotently(request, scope=f"{user.public_id}:web", key=key, view=view, recovers=False)
    if response.status_code == 409 and response.get("Content-Type", "").startswith("application/json"):
        return redirect("merchants:checkout-done", intent_id=intent.public_id) if _paid(intent) else \
            _checkout_page(request, intent, user, needs_otp=needs_otp, key=money_key(), status=409,
                           error=_("This form was already sent. Check your transactions before trying again."))
    return response


def _paid(intent: PaymentIntent) -> bool:
    intent.refresh_from_db()
    return intent.status != IntentStatus.REQUIRES_CONFIRMATION


def _checkout_refused(request: HttpRequest, intent: PaymentIntent, user: User, exc: OkpayError, key: str,
                      needs_otp: bool) -> HttpResponse:
    """The checkout page again after a refusal (made after the payment's work was rolled back). A
    step-up refusal sends its code now and keeps the form's key: the code is bound to it."""
    from django.db import transaction

    from okpay.payments.views import _error_text

    step_up = exc.code in ("otp_required", "invalid_otp")
    after = getattr(exc, "after_rollback", None)
    if after is not None:
        with transaction.atomic():
            after()
    method = exc.extra.get("method", "") if step_up else ""
    return _checkout_page(request, intent, user, needs_otp=needs_otp or step_up, key=key if step_up else money_key(),
                          status=exc.status, error=_error_text(exc),
                          code_label=_("Confirmation code") if method in ("sms", "email") else "")


def _checkout_page(request: HttpRequest, intent: PaymentIntent, user: User, *, needs_otp: bool, key: str,
                   status: int = 200, error: str = "", code_label: str = "") -> HttpResponse:
    balance = next((b for b in balances_for_owner(user) if b.currency == intent.currency), None)
    available = balance.available if balance else 0
    return render(request, "merchants/checkout.html", {
        "intent": intent, "needs_otp": needs_otp and (code_label or identity.two_factor_enabled(user)),
        "error": error, "idempotency_key": key, "code_label": code_label,
        "available": available, "short": available < intent.amount}, status=status)


@never_cache
@require_GET
def checkout_done(request: HttpRequest, intent_id: str) -> HttpResponse:
    """Paid, authorised, cancelled or expired: what happened, and the way back to the merchant.
    A payment someone made is shown to that person only; a cancelled unpaid one to whoever has the link."""
    try:
        intent = services.intent_for_checkout(intent_id)
    except NotFound as exc:
        raise Http404 from exc
    if intent.customer_id is not None:
        if not request.user.is_authenticated:
            return redirect(f"{reverse('identity:login')}?next={request.path}")
        if intent.customer_id != request.user.pk:
            raise Http404
    if intent.status == IntentStatus.REQUIRES_CONFIRMATION:
        return redirect("merchants:checkout", intent_id=intent.public_id)
    return _done_page(request, intent)


def _done_page(request: HttpRequest, intent: PaymentIntent, *, status: int = 200, error: str = "") -> HttpResponse:
    """The result page; a cancelled or expired payment of the signed-in customer offers "pay again"
    (a form with a key minted now), one already paid again links to the new one."""
    again = getattr(intent, "paid_again", None) if intent.customer_id == request.user.pk else None
    offer = services.pay_again_offered(intent, request.user)
    return render(request, "merchants/checkout_done.html", {
        "intent": intent, "pay_again": offer, "again_key": money_key() if offer else "",
        "paid_again": again, "error": error}, status=status)


@never_cache
@login_required
@require_POST
def checkout_again(request: HttpRequest, intent_id: str) -> HttpResponse:
    """"Pay again" after a cancelled or expired checkout payment (issue 17): one new payment intent per
    click and per failed payment (the form's key, and the service answers the one already made), then
    its own checkout page, where the customer confirms as for any payment."""
    user: User = request.user  # type: ignore[assignment]
    try:
        old = services.intent_for_checkout(intent_id)
    except NotFound as exc:
        raise Http404 from exc
    if old.customer_id != user.pk:
        raise Http404
    request.body  # noqa: B018 - read before the form data: the idempotency fingerprint hashes it
    key = request.POST.get("idempotency_key", "").strip()
    if not key:
        return _done_page(request, old, status=400, error=_("This form has expired. Check the amount and pay again."))

    def view() -> HttpResponse:
        try:
            made = services.intent_pay_again(customer=user, intent_id=old.public_id)
        except OkpayError as exc:
            refused = exc
            return Deferred(exc.status, lambda: _done_page(request, old, status=refused.status,
                                                           error=_error_text(refused)))
        return redirect("merchants:checkout", intent_id=made.public_id)

    response = run_idempotently(request, scope=f"{user.public_id}:web", key=key, view=view, recovers=False)
    if response.status_code == 409 and response.get("Content-Type", "").startswith("application/json"):
        made = PaymentIntent.objects.filter(again_of=old).first()  # the first click is still running: its result
        if made is not None:
            return redirect("merchants:checkout", intent_id=made.public_id)
        return _done_page(request, old, status=409,
                          error=_("This form was already sent. Check your transactions before trying again."))
    return response


# --- the demo shop ---------------------------------------------------------------------------------------

def _demo_merchant() -> Merchant:
    merchant = Merchant.objects.filter(user__email=DEMO_SHOP_EMAIL).first()
    if merchant is None:
        raise Http404
    return merchant


@require_GET
def shop_home(request: HttpRequest) -> HttpResponse:
    merchant = _demo_merchant()
    products = [{"code": code, "name": name, "price": price} for code, (name, price) in DEMO_PRODUCTS.items()]
    return render(request, "merchants/shop.html", {"merchant": merchant, "products": products})


@require_POST
def shop_buy(request: HttpRequest) -> HttpResponse:
    """The shop's server creates a payment intent (as a merchant's server would, with its key)."""
    merchant = _demo_merchant()
    product = DEMO_PRODUCTS.get(request.POST.get("product", ""))
    if product is None:
        raise Http404
    intent = services.intent_create(merchant=merchant, amount=product[1], description=product[0])
    intent.return_url = request.build_absolute_uri(reverse("merchants:shop-order", args=[intent.public_id]))
    intent.save(update_fields=["return_url"])
    return redirect("merchants:checkout", intent_id=intent.public_id)


@require_GET
def shop_order(request: HttpRequest, intent_id: str) -> HttpResponse:
    merchant = _demo_merchant()
    intent = PaymentIntent.objects.filter(merchant=merchant, public_id=intent_id).first()
    if intent is None:
        raise Http404
    # The page reads the payment's status from the browser with the shop's publishable key (order-status.js).
    key = ApiKey.objects.filter(merchant=merchant, kind="publishable", revoked_at__isnull=True).first()
    return render(request, "merchants/shop_order.html", {"merchant": merchant, "intent": intent,
                                                         "publishable_key": key.hint if key else ""})


# --- a customer's refund request --------------------------------------------------------------------------

@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def refund_request_new(request: HttpRequest, txn_id: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    try:
        txn = access_transaction(user, txn_id)
    except NotFound as exc:
        raise Http404 from exc
    intent = services.intent_for_customer_txn(txn)
    if intent is None and txn.type != TxnType.BILL_PAYMENT:
        raise Http404
    error, error_field = "", ""
    if request.method == "POST":
        try:
            amount = _parse_amount(request.POST.get("amount", ""))
            services.refund_request_create(customer=user, txn_id=txn.public_id,
                                           reason=request.POST.get("reason", ""), amount=amount)
        except OkpayError as exc:
            error, error_field = _error_text(exc), exc.param or ""
        else:
            return redirect("merchants:refund-request-new", txn_id=txn.public_id)
    requests = services.refund_requests_for_txn(user, txn)
    for req in requests:
        req.decline_text = decline_reason_text(req)  # type: ignore[attr-defined]
    support_url = f"{reverse('support:new')}?category=payment&transaction={txn.public_id}"
    context: dict[str, Any] = {"txn": txn, "intent": intent, "requests": requests, "error": error,
                               "error_field": error_field, "support_url": support_url, "currency": txn.currency}
    if intent is not None:
        window_ends = services.refund_expected_by(intent)
        context.update(who=intent.merchant.name, merchant=intent.merchant, paid=intent.amount_received,
                       window_days=intent.merchant.refund_window_days, window_ends=window_ends,
                       refundable=services.refundable_left(intent),
                       window_open=window_ends is not None and timezone.now() <= window_ends)
    else:  # a bill payment: the biller decides
        window_ends = bill_window_ends(txn)
        pending = sum(r.amount for r in requests if r.status == "pending")
        context.update(who=txn.counterparty_name, biller=txn.biller, paid=txn.amount,
                       window_days=settings.OKPAY_BILL_REFUND_WINDOW_DAYS, window_ends=window_ends,
                       refundable=txn.amount - txn.refunded_amount - pending if bill_refundable(txn) else 0,
                       window_open=window_ends is not None and timezone.now() <= window_ends,
                       answer_minutes=max(1, settings.OKPAY_BILL_REFUND_DECIDE_SECONDS // 60))
    return render(request, "merchants/refund_request.html", context, status=422 if error else 200)


def _parse_amount(raw: str) -> int | None:
    from decimal import Decimal, InvalidOperation

    from okpay.core.errors import InvalidRequest

    raw = raw.strip().replace(",", "").replace("¥", "")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise InvalidRequest(param="amount") from exc
    cents = value * 100
    if cents != cents.to_integral_value() or cents <= 0:
        raise InvalidRequest(param="amount")
    return int(cents)


# --- the merchant dashboard ---------------------------------------------------------------------------------

def _merchant(request: HttpRequest) -> Merchant:
    merchant = Merchant.objects.filter(user_id=request.user.pk).select_related("user").first()
    if merchant is None:
        raise Http404
    return merchant


def daily_sales(merchant: Merchant, days: int = 14) -> list[tuple[Any, int, int]]:
    since = timezone.now() - timedelta(days=days - 1)
    rows = (PaymentIntent.objects.filter(merchant=merchant, status=IntentStatus.SUCCEEDED, succeeded_at__gte=since)
            .annotate(day=TruncDate("succeeded_at")).values("day")
            .annotate(total=Sum("amount_received"), count=Count("id")).order_by("day"))
    by_day = {r["day"]: (int(r["total"] or 0), r["count"]) for r in rows}
    today = timezone.localdate()
    return [(d, *by_day.get(d, (0, 0))) for d in (today - timedelta(days=i) for i in range(days - 1, -1, -1))]


@never_cache
@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    if request.user.groups.filter(name="merchant").exists() and not Merchant.objects.filter(  # type: ignore[union-attr]
            user_id=request.user.pk).exists():
        return redirect("merchants:apply")  # a merchant account without its profile: never a 404
    return render(request, "merchants/dashboard.html", _dashboard_context(request, _merchant(request)))


def _dashboard_context(request: HttpRequest, merchant: Merchant) -> dict[str, Any]:
    new_key = request.session.pop("merchants_new_key", None)
    new_secret = request.session.pop("merchants_new_secret", None)
    intents = list(services.payment_intents_for(merchant).order_by("-id")[:20])
    now = timezone.now()
    for intent in intents:  # the refund button of each payment: what is left, and until when
        intent.refund_left = max(0, intent.amount_received - intent.amount_refunded)  # type: ignore[attr-defined]
        intent.refund_left_value = f"{intent.refund_left // 100}.{intent.refund_left % 100:02d}"  # type: ignore[attr-defined]
        intent.refund_until = services.refund_expected_by(intent)  # type: ignore[attr-defined]
        intent.refund_open = bool(intent.refund_left and intent.refund_until  # type: ignore[attr-defined]
                                  and intent.refund_until > now)  # type: ignore[attr-defined]
    return {
        "merchant": merchant,
        "balances": balances_for_owner(merchant.user),
        "has_sales": any(total for _day, total, _n in daily_sales(merchant)),
        "intents": intents,
        "refunds": Refund.objects.filter(intent__merchant=merchant).select_related("intent").order_by("-id")[:20],
        "requests": services.refund_requests_for(merchant).order_by("-id")[:20],
        "keys": ApiKey.objects.filter(merchant=merchant),
        "endpoints": WebhookEndpoint.objects.filter(merchant=merchant),
        "deliveries": (WebhookDelivery.objects.filter(endpoint__merchant=merchant).select_related("event", "endpoint")
                       .prefetch_related("attempt_log").order_by("-id")[:20]),
        "event_types": EVENT_TYPES, "new_key": new_key, "new_secret": new_secret,
    }


def _dashboard_error(request: HttpRequest, merchant: Merchant, exc: OkpayError, *, form: str,
                     fields: dict[str, str], intent_id: str = "") -> HttpResponse:
    """The dashboard re-rendered (400, no redirect) after ``form`` was sent with bad input: its error
    in a role=alert next to it, the field the error names (``fields``: param -> the field's key for
    ``{% error_attrs %}``) marked invalid and described by it, and what was typed kept (issue 22:
    form errors are announced). A redirect with a message would lose the tie to the field."""
    context = _dashboard_context(request, merchant)
    context.update(error=_error_text(exc), error_form=form, error_field=fields.get(exc.param or "", ""),
                   error_intent=intent_id, posted=request.POST, posted_events=request.POST.getlist("events"))
    return render(request, "merchants/dashboard.html", context, status=400)


@never_cache
@login_required
@require_GET
def sales_svg(request: HttpRequest) -> HttpResponse:
    """Daily sales of the last 14 days as a server-side SVG bar chart."""
    merchant = _merchant(request)
    days = daily_sales(merchant)
    peak = max((total for _, total, _ in days), default=0) or 1
    width, height, pad, bar = 560, 180, 24, 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + 40}" role="img" '
             f'aria-label="{_("Daily sales")}" font-family="sans-serif" font-size="10">']
    for i, (day, total, count) in enumerate(days):
        h = round(total / peak * (height - pad))
        x = 10 + i * (bar + 9)
        parts.append(f'<rect x="{x}" y="{height - h}" width="{bar}" height="{h}" fill="#0b6e4f">'
                     f'<title>{day.isoformat()}: {format_money(total)} ({count})</title></rect>')
        parts.append(f'<text x="{x + bar / 2}" y="{height + 14}" text-anchor="middle">{day:%m-%d}</text>')
        if total:
            parts.append(f'<text x="{x + bar / 2}" y="{height - h - 4}" text-anchor="middle">{total // 100}</text>')
    parts.append("</svg>")
    return HttpResponse("".join(parts), content_type="image/svg+xml")


@never_cache
@login_required
@require_GET
@replica_reads
def export_csv(request: HttpRequest) -> HttpResponse:
    merchant = _merchant(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="okpay-payments.csv"'
    writer = csv.writer(response)
    writer.writerow(["id", "created_at", "status", "amount", "amount_received", "amount_refunded", "currency",
                     "description", "transaction"])
    for intent in services.payment_intents_for(merchant).order_by("-id").iterator(chunk_size=500):
        writer.writerow([intent.public_id, intent.created_at.isoformat(), intent.status, intent.amount,
                         intent.amount_received, intent.amount_refunded, intent.currency,
                         _csv_safe(intent.description),
                         intent.merchant_txn.public_id if intent.merchant_txn_id else ""])
    return response


def _csv_safe(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@login_required
@require_POST
def request_decide(request: HttpRequest, request_id: str, decision: str) -> HttpResponse:
    merchant = _merchant(request)
    if decision not in ("approve", "decline"):
        raise Http404

    def view() -> HttpResponse:
        try:
            with transaction.atomic():
                if decision == "approve":
                    services.refund_request_approve(merchant=merchant, request_id=request_id)
                else:
                    services.refund_request_decline(merchant=merchant, request_id=request_id,
                                                    reason=request.POST.get("reason", ""))
        except OkpayError as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("Refund request approved; the refund was sent.") if decision == "approve"
                             else _("Refund request declined."))
        return redirect("merchants:dashboard")

    return _once(request, view)


@login_required
@require_POST
def refund_new(request: HttpRequest) -> HttpResponse:
    merchant = _merchant(request)

    def view() -> HttpResponse:  # (the form is read inside: form_once hashes the raw body first)
        intent_id = request.POST.get("payment_intent", "")
        try:
            try:  # the form's amount is required (the API's "empty for all" is not the form's)
                amount = _parse_amount(request.POST.get("amount", ""))
            except OkpayError:
                amount = None
            if amount is None:
                raise InvalidRequest(gettext_noop("Enter the amount to refund, such as 12.50."), param="amount")
            with transaction.atomic():
                services.refund_create(merchant=merchant, intent_id=intent_id, amount=amount,
                                       reason=request.POST.get("reason", ""))
        except OkpayError as exc:  # (a 400 is not stored: the form's next key, or this one, may try again)
            return _dashboard_error(request, merchant, exc, form="refund", intent_id=intent_id, fields={
                "amount": f"refund-amount-{intent_id}", "reason": f"refund-reason-{intent_id}"})
        messages.success(request, _("Refund created."))
        return redirect("merchants:dashboard")

    return _once(request, view)


@login_required
@require_POST
def intent_decide(request: HttpRequest, intent_id: str, decision: str) -> HttpResponse:
    """Capture (all, or a smaller amount) or cancel a payment held for capture."""
    merchant = _merchant(request)
    if decision not in ("capture", "cancel"):
        raise Http404

    def view() -> HttpResponse:
        try:
            with transaction.atomic():
                if decision == "capture":
                    raw = request.POST.get("amount", "").strip()
                    services.intent_capture(merchant=merchant, intent_id=intent_id,
                                            amount=_parse_amount(raw) if raw else None)
                else:
                    services.intent_cancel(merchant=merchant, intent_id=intent_id, reason="requested_by_merchant")
        except OkpayError as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("Payment captured.") if decision == "capture" else _("Payment cancelled."))
        return redirect("merchants:dashboard")

    return _once(request, view)


def _once(request: HttpRequest, view: Any) -> HttpResponse:
    """One effect per click on the dashboard (``core.idempotency.form_once``)."""

    def missing() -> HttpResponse:
        messages.error(request, _("This form has expired. Check the amount and pay again."))
        return redirect("merchants:dashboard")

    def replayed(response: HttpResponse) -> HttpResponse:
        messages.info(request, _("This form was already sent; this is its result."))
        return response

    return form_once(request, scope=f"{request.user.public_id}:merchant", view=view,  # type: ignore[union-attr]
                     missing=missing, replayed=replayed)


@login_required
@require_POST
def policy_update(request: HttpRequest) -> HttpResponse:
    merchant = _merchant(request)
    try:
        days_raw = request.POST.get("refund_window_days", "").strip()
        if not days_raw.isdigit():
            raise InvalidRequest(gettext_noop("The refund window is a number of days from 0 to 3650."),
                                 param="refund_window_days")
        limit_raw = request.POST.get("auto_approve_up_to", "").replace("¥", "").strip()
        try:
            limit = 0 if limit_raw in ("0", "0.0", "0.00") else _parse_amount(limit_raw)
        except OkpayError as exc:
            raise InvalidRequest(gettext_noop("Enter the automatic approval limit in yuan, such as 50.00, or leave "
                                              "it empty for never."), param="auto_approve_up_to") from exc
        services.merchant_policy_update(merchant=merchant, refund_window_days=int(days_raw), auto_approve_up_to=limit)
    except OkpayError as exc:
        return _dashboard_error(request, merchant, exc, form="policy", fields={
            "refund_window_days": "policy:refund_window_days", "auto_approve_up_to": "policy:auto_approve_up_to"})
    messages.success(request, _("Refund policy saved."))
    return redirect("merchants:dashboard")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest) -> HttpResponse:
    """A signed-in customer applies to become a merchant; the page shows the application's state."""
    from okpay.merchants import applications

    user: User = request.user  # type: ignore[assignment]
    if Merchant.objects.filter(user=user).exists():
        return redirect("merchants:dashboard")
    fields = ("business_name", "contact_name", "contact_email", "contact_phone", "website", "refund_policy")
    values = {f: request.POST.get(f, "") for f in fields} if request.method == "POST" else {
        "contact_name": user.display_name, "contact_email": user.email, "contact_phone": user.phone or ""}
    error, param, status = "", "", 200
    if request.method == "POST":
        try:
            applications.merchant_application_create(user=user, **values)
            return redirect("merchants:apply")
        except OkpayError as exc:
            error, param, status = _error_text(exc), exc.param or "", exc.status
    return render(request, "merchants/apply.html", {
        "application": applications.application_for(user), "values": values, "error": error, "param": param,
        "verified": user.email_verified_at is not None}, status=status)


@login_required
@require_POST
def key_create(request: HttpRequest) -> HttpResponse:
    merchant = _merchant(request)
    raw, _key = services.api_key_create(merchant=merchant, name=request.POST.get("name", "")[:60])
    request.session["merchants_new_key"] = raw  # shown once, on the next page only
    return redirect("merchants:dashboard")


@login_required
@require_POST
def key_revoke(request: HttpRequest, key_id: str) -> HttpResponse:
    try:
        services.api_key_revoke(merchant=_merchant(request), key_id=key_id)
    except NotFound as exc:
        raise Http404 from exc
    return redirect("merchants:dashboard")


@login_required
@require_POST
def endpoint_create(request: HttpRequest) -> HttpResponse:
    merchant = _merchant(request)
    try:
        endpoint = services.webhook_endpoint_create(merchant=merchant, url=request.POST.get("url", "").strip(),
                                                    events=request.POST.getlist("events"))
    except OkpayError as exc:
        return _dashboard_error(request, merchant, exc, form="endpoint", fields={"url": "endpoint:url"})
    request.session["merchants_new_secret"] = endpoint.secret
    return redirect("merchants:dashboard")


@login_required
@require_POST
def endpoint_action(request: HttpRequest, endpoint_id: str, action: str) -> HttpResponse:
    merchant = _merchant(request)
    try:
        if action in ("enable", "disable"):
            services.webhook_endpoint_enable(merchant=merchant, endpoint_id=endpoint_id, enabled=action == "enable")
        elif action == "rotate":
            endpoint = services.webhook_endpoint_rotate_secret(merchant=merchant, endpoint_id=endpoint_id)
            request.session["merchants_new_secret"] = endpoint.secret
        else:
            raise Http404
    except NotFound as exc:
        raise Http404 from exc
    return redirect("merchants:dashboard")


@login_required
@require_POST
def delivery_resend(request: HttpRequest, delivery_id: str) -> HttpResponse:
    try:
        services.webhook_delivery_resend(merchant=_merchant(request), delivery_id=delivery_id)
    except NotFound as exc:
        raise Http404 from exc
    messages.success(request, _("The event will be sent again."))
    return redirect("merchants:dashboard")
