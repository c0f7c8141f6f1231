"""Wallet pages under ``/wallet/``: home, send money (with a confirmation screen), pay a bill,
top up, withdraw, the transaction list, detail with timeline, receipts, CSV export and notices.

Every money form carries a hidden idempotency key (a fresh one each time the form is shown) and
runs through ``okpay.core.idempotency.run_idempotently``: a double submit moves money once and
shows the same result. Views parse, call one service, render; service errors become form errors.
"""

from __future__ import annotations

import csv
import secrets
from collections.abc import Callable
from datetime import date, timedelta
from functools import wraps
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from okpay.core.errors import OkpayError
from okpay.core.idempotency import Deferred, run_idempotently
from okpay.core.replicas import replica_reads
from okpay.identity import services as identity
from okpay.payments import selectors, services
from okpay.payments.explain import event_text, explain, failure_text
from okpay.payments.hooks import followup, refund_offer
from okpay.payments.models import Notification, PendingReason, Status, Transaction, TxnType
from okpay.payments.money import format_money, parse_money

ERROR_TEXT = {
    "otp_required": gettext_lazy("This amount needs your two-factor code. Enter the code from your authenticator app."),
    "invalid_otp": gettext_lazy("The two-factor code is not valid, or it was already used."),
    "rate_limited": gettext_lazy("Too many attempts. Wait a few minutes and try again."),
}


def body_first(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Read the raw body before the form does: the idempotency fingerprint hashes it, and a
    multipart body can be read only once."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            request.body  # noqa: B018
        return view(request, *args, **kwargs)

    return wrapper


def _key() -> str:
    return secrets.token_urlsafe(18)


class MoneyForm(forms.Form):
    amount = forms.CharField(label=gettext_lazy("Amount (¥)"), max_length=16,
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off",
                                                           "placeholder": "0.00"}))
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=255)
    again = forms.CharField(widget=forms.HiddenInput, required=False, max_length=32)  # "pay again" of a failed one
    otp_code = forms.CharField(label=gettext_lazy("Two-factor code"), required=False, max_length=20,
                               widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}))

    def clean_amount(self) -> int:
        value = parse_money(self.cleaned_data["amount"])
        if value is None:
            raise forms.ValidationError(_("Enter an amount such as 10 or 10.50."))
        return value


class SendForm(MoneyForm):
    to = forms.CharField(label=gettext_lazy("To (email, phone number or wallet id)"), max_length=254,
                         widget=forms.TextInput(attrs={"autocomplete": "off"}))
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=140)
    field_order = ["to", "amount", "note", "otp_code", "idempotency_key", "again"]


class BillForm(MoneyForm):
    biller = forms.ChoiceField(label=gettext_lazy("Biller"))
    account_reference = forms.CharField(label=gettext_lazy("Account reference"), max_length=64,
                                        widget=forms.TextInput(attrs={"autocomplete": "off"}))
    field_order = ["biller", "account_reference", "amount", "otp_code", "idempotency_key", "again"]

    def __init__(self, *args: Any, billers: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        english = not (identity_language() or "zh").startswith("zh")
        self.billers = {b.code: b for b in billers}
        self.fields["biller"].choices = [(b.code, f"{b.name_en if english else b.name} · {b.get_category_display()}")
                                         for b in billers]
        self.fields["account_reference"].widget.attrs["aria-describedby"] = "reference-hint"

    def chosen_biller(self) -> Any:
        """The biller the form is for (what was sent, else the preselected first one): its format hint."""
        code = self["biller"].value()
        return self.billers.get(code) or next(iter(self.billers.values()), None)

    def hint_text(self) -> str:
        chosen = self.chosen_biller()
        return reference_hint(chosen) if chosen is not None else ""

    def reference_hints(self) -> str:
        """Each biller's expected reference as JSON, for the hint to follow the chosen biller (bill.js)."""
        import json

        return json.dumps({code: reference_hint(b) for code, b in self.billers.items()}, ensure_ascii=False)

    def clean(self) -> dict[str, Any]:
        """A reference that cannot be the chosen biller's is refused here, with the format it should have
        (the service checks again: the API has no form)."""
        from okpay.payments import billers as biller_rules

        data = super().clean() or {}
        biller = self.billers.get(data.get("biller", ""))
        reference = data.get("account_reference")
        if (biller is not None and reference is not None
                and not biller_rules.reference_valid(biller, biller_rules.normalize_reference(reference))):
            name = biller.name if identity_language().startswith("zh") else biller.name_en
            self.add_error("account_reference", _("This is not a valid %(label)s for %(biller)s: it looks like "
                                                  "%(example)s.") % {
                "label": _(biller.reference_label), "example": biller.reference_example, "biller": name})
        return data


def reference_hint(biller: Any) -> str:
    """The expected account reference of ``biller``, in words, with an example."""
    return _("Format: %(label)s, for example %(example)s.") % {"label": _(biller.reference_label),
                                                              "example": biller.reference_example}


def identity_language() -> str:
    from django.utils.translation import get_language

    return get_language() or "zh-hans"


def step_up_text(method: str, destination: str) -> str:
    """What a customer without an authenticator app is told when a payment needs its one-time code."""
    if method == "sms":
        return _("To confirm this payment, enter the 6-digit code we sent by SMS to %(to)s.") % {"to": destination}
    return _("To confirm this payment, enter the 6-digit code we sent by email to %(to)s.") % {"to": destination}


def code_field(form: forms.Form) -> None:
    """Name the code field for a one-time code sent by SMS or email (not an authenticator app's),
    and show it as needed."""
    form.fields["otp_code"].label = _("Confirmation code")
    form.fields["otp_code"].required = True
    form._bound_fields_cache.pop("otp_code", None)  # type: ignore[attr-defined]


def _error_text(exc: OkpayError) -> str:
    method = exc.extra.get("method") if exc.code == "otp_required" else None
    if method in ("sms", "email"):
        return step_up_text(method, getattr(exc, "destination", ""))
    if exc.code in ERROR_TEXT:
        return str(ERROR_TEXT[exc.code])
    return exc.localized()


def _fresh(form: forms.Form) -> forms.Form:
    """The same form for another try: a new idempotency key (the old one answered already) -
    except after a step-up refusal, whose code is bound to this key (and the key was released)."""
    if getattr(form, "keep_key", False):
        return form
    data = form.data.copy()
    data["idempotency_key"] = _key()
    form.data = data
    return form


def _run_money(request: HttpRequest, form: MoneyForm, work: Callable[[], Any],
               render_error: Callable[[int], HttpResponse],
               field_map: dict[str, str] | None = None) -> HttpResponse:
    """Run a money service once per idempotency key; success redirects to the transaction.

    A refusal's page (which reads limits and notices) is made only after the service's
    transaction has been rolled back (``Deferred``): nothing here goes on using a transaction that
    an error may have doomed, so the service runs without a savepoint (``recovers=False``)."""

    def view() -> HttpResponse:
        try:
            txn = work()
            services.pay_again_link(user=request.user, txn=txn, failed_id=form.cleaned_data.get("again"))  # type: ignore[arg-type]
        except OkpayError as exc:
            field = (field_map or {}).get(exc.param or "", exc.param)
            form.add_error(field if field in form.fields and field != "idempotency_key" else None, _error_text(exc))
            if exc.code in ("otp_required", "invalid_otp"):
                form.needs_otp = True  # type: ignore[attr-defined]
                form.keep_key = True  # type: ignore[attr-defined]
            status = exc.status
            after = getattr(exc, "after_rollback", None)
            code = exc.code
            sent = exc.extra.get("method") in ("sms", "email")

            def make() -> HttpResponse:
                # Made after the refused work was rolled back: the database may be read (and written) again.
                if after is not None:  # send the step-up code
                    from django.db import transaction

                    with transaction.atomic():
                        after()
                if sent or (code == "invalid_otp" and not identity.two_factor_enabled(request.user)):  # type: ignore[arg-type]
                    code_field(form)
                return render_error(status)

            return Deferred(status, make)
        return redirect(reverse("payments:detail", args=[txn.public_id]) + "?done=1")

    response = run_idempotently(request, scope=f"{request.user.public_id}:web",  # type: ignore[union-attr]
                                key=form.cleaned_data["idempotency_key"], view=view, recovers=False)
    if response.status_code == 409 and response.get("Content-Type", "").startswith("application/json"):
        form.add_error(None, _("This form was already sent. Check your transactions before trying again."))
        return render_error(409)
    return response


def _again(request: HttpRequest, initial: dict[str, Any], kind: str) -> Transaction | None:
    """"Pay again" (issue 17): the form prefilled from the customer's own failed payment named by
    ``?again=``, with a new idempotency key. Nothing is sent until the customer submits it."""
    failed = services.pay_again_of(request.user, request.GET.get("again"))  # type: ignore[arg-type]
    if failed is None or failed.type != kind:
        return None
    initial["again"] = failed.public_id
    initial["amount"] = f"{failed.amount // 100}.{failed.amount % 100:02d}"
    if kind == TxnType.TRANSFER:
        initial["to"] = failed.recipient_email or failed.counterparty_wallet_id
        initial["note"] = failed.note
    elif kind == TxnType.BILL_PAYMENT and failed.biller is not None:
        initial["biller"] = failed.biller.code
        initial["account_reference"] = failed.account_reference
    return failed


def pay_again_url(txn: Transaction) -> str:
    """Where a failed payment's "pay again" button leads ("" when it has none)."""
    targets = {TxnType.TRANSFER: "payments:send", TxnType.BILL_PAYMENT: "payments:pay-bill",
               TxnType.TOP_UP: "payments:top-up"}
    if txn.status not in (Status.FAILED, Status.CANCELLED) or txn.type not in (*targets, TxnType.PAYMENT):
        return ""
    if txn.type != TxnType.TOP_UP and txn.direction != "debit":
        return ""
    if txn.type == TxnType.PAYMENT:  # a checkout payment: its result page offers the new attempt
        intent = getattr(txn, "payment_intent", None)
        return reverse("merchants:checkout-done", args=[intent.public_id]) if intent is not None else ""
    return f"{reverse(targets[txn.type])}?again={txn.public_id}"  # type: ignore[index]


def _page(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    user = request.user
    base = {"section": context.get("section", ""), "limits": services.limits_for(user),  # type: ignore[arg-type]
            "unread": selectors.unread_count(user), "step_up_amount": format_money(_step_up_amount()),  # type: ignore[arg-type]
            "has_2fa": identity_two_factor_enabled(user)}  # no code field for people without 2FA
    return render(request, template, {**base, **context}, status=status)


def identity_two_factor_enabled(user: Any) -> bool:
    from okpay.identity.services import two_factor_enabled

    return bool(user.is_authenticated and two_factor_enabled(user))


def _step_up_amount() -> int:
    from django.conf import settings

    return int(settings.OKPAY_STEP_UP_AMOUNT)


def _step_up_prepare(request: HttpRequest, form: forms.Form, recipient: Any, amount: int) -> dict[str, str] | None:
    """The confirmation step of a transfer that needs a step-up: the one-time code is sent now
    (bound to this form's idempotency key), and the page says where it went."""
    from okpay.identity import stepup

    user = request.user
    payment = stepup.Payment(kind="transfer", amount=amount, currency="CNY", payee=recipient.to,
                             new_payee=services.payee_is_new(user, recipient))  # type: ignore[arg-type]
    try:
        found = stepup.prepare(user, payment, form.cleaned_data["idempotency_key"])  # type: ignore[arg-type]
    except OkpayError:
        found = None
    if found is None:
        return None
    method, destination = found
    if method != "totp":
        code_field(form)
        return {"method": method, "text": step_up_text(method, destination)}
    return {"method": method, "text": ""}


def _needs_otp(request: HttpRequest, amount: int | None) -> bool:
    return amount is not None and identity.step_up_required(request.user, amount)  # type: ignore[arg-type]


# --- home ----------------------------------------------------------------------------------------------

@never_cache
@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    balances = selectors.balances(user)  # type: ignore[arg-type]
    pending = list(Transaction.objects.filter(user=user, status=Status.PENDING).select_related("biller")
                   .order_by("-pk")[:5])
    chart = selectors.spending_by_category(user)  # type: ignore[arg-type]
    return _page(request, "payments/home.html", {
        "section": "home", "balances": balances, "recent": selectors.recent(user, 8),  # type: ignore[arg-type]
        "pending": pending, "chart": chart, "chart_total": sum(s.amount for s in chart),
        "wallet_id": services.wallet(user).public_id,  # type: ignore[arg-type]
    })


# --- send money -------------------------------------------------------------------------------------------

@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@body_first
def send(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "GET":
        initial = {"idempotency_key": _key(), "to": request.GET.get("to", "")[:254]}
        failed = _again(request, initial, TxnType.TRANSFER)
        return _page(request, "payments/send.html", {"section": "send", "form": SendForm(initial=initial),
                                                     "again_of": failed})
    form = SendForm(request.POST)
    stage = request.POST.get("stage", "details")

    def again(status: int) -> HttpResponse:
        return _page(request, "payments/send.html", {"section": "send", "form": _fresh(form)}, status=status)

    if not form.is_valid():
        return again(400)
    data = dict(form.cleaned_data)
    amount = data["amount"]
    try:
        recipient = services.recipient_preview(sender=user, to=data["to"])  # type: ignore[arg-type]
        services.amount_check(data["amount"], "CNY")
    except OkpayError as exc:
        form.add_error("to" if exc.param == "to" else None, _error_text(exc))
        return again(exc.status)
    if stage != "confirm":
        step_up = _step_up_prepare(request, form, recipient, data["amount"])
        return _page(request, "payments/send_confirm.html", {
            "section": "send", "form": form, "recipient": recipient, "amount": data["amount"],
            "needs_otp": step_up is not None, "step_up": step_up,
        })
    return _run_money(request, form, lambda: services.transfer_create(
        sender=user, to=data["to"], amount=data["amount"], note=data["note"],  # type: ignore[arg-type]
        otp_code=data["otp_code"] or None),
        lambda status: _page(request, "payments/send_confirm.html", {
            "section": "send", "form": _fresh(form), "recipient": recipient, "amount": amount,
            "needs_otp": _needs_otp(request, amount) or getattr(form, "needs_otp", False),
        }, status=status))


# --- bills, top-up, withdrawal ------------------------------------------------------------------------------

@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@body_first
def pay_bill(request: HttpRequest) -> HttpResponse:
    user = request.user
    billers = services.billers_active()
    context = {"section": "bills", "billers": billers}
    if request.method == "GET":
        initial = {"idempotency_key": _key(), "biller": request.GET.get("biller", "")}
        failed = _again(request, initial, TxnType.BILL_PAYMENT)
        return _page(request, "payments/pay_bill.html", {**context, "form": BillForm(initial=initial, billers=billers),
                                                         "again_of": failed})
    form = BillForm(request.POST, billers=billers)

    def again(status: int) -> HttpResponse:
        return _page(request, "payments/pay_bill.html", {**context, "form": _fresh(form),
                                                         "needs_otp": getattr(form, "needs_otp", False)}, status=status)

    if not form.is_valid():
        return again(400)
    data = dict(form.cleaned_data)
    return _run_money(request, form, lambda: services.bill_payment_create(
        user=user, biller=data["biller"], account_reference=data["account_reference"],  # type: ignore[arg-type]
        amount=data["amount"], otp_code=data["otp_code"] or None), again)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@body_first
def top_up(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "GET":
        initial: dict[str, Any] = {"idempotency_key": _key()}
        failed = _again(request, initial, TxnType.TOP_UP)
        return _page(request, "payments/top_up.html", {"section": "top_up", "form": MoneyForm(initial=initial),
                                                       "again_of": failed})
    form = MoneyForm(request.POST)

    def again(status: int) -> HttpResponse:
        return _page(request, "payments/top_up.html", {"section": "top_up", "form": _fresh(form)}, status=status)

    if not form.is_valid():
        return again(400)
    amount = form.cleaned_data["amount"]
    return _run_money(request, form, lambda: services.topup_create(user=user, amount=amount), again)  # type: ignore[arg-type]


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@body_first
def withdraw(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "GET":
        return _page(request, "payments/withdraw.html", {"section": "withdraw",
                                                         "form": MoneyForm(initial={"idempotency_key": _key()})})
    form = MoneyForm(request.POST)

    def again(status: int) -> HttpResponse:
        return _page(request, "payments/withdraw.html", {"section": "withdraw", "form": _fresh(form),
                                                         "needs_otp": getattr(form, "needs_otp", False)}, status=status)

    if not form.is_valid():
        return again(400)
    amount, otp_code = form.cleaned_data["amount"], form.cleaned_data["otp_code"] or None
    return _run_money(request, form, lambda: services.withdrawal_create(
        user=user, amount=amount, otp_code=otp_code), again)  # type: ignore[arg-type]


# --- history --------------------------------------------------------------------------------------------------

def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@never_cache
@login_required
@require_GET
@replica_reads
def transaction_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or None
    type_ = request.GET.get("type") or None
    since, until = _date(request.GET.get("from")), _date(request.GET.get("to"))
    try:
        page = selectors.transactions_for_user(request.user, status=status if status in Status.values else None,  # type: ignore[arg-type]
                                               type=type_ if type_ in TxnType.values else None, since=since,
                                               until=until, limit=20, cursor=request.GET.get("cursor") or None)
    except OkpayError:
        return redirect("payments:list")
    params = request.GET.copy()
    params.pop("cursor", None)
    today = timezone.localdate()
    return _page(request, "payments/list.html", {
        "section": "list", "page": page, "statuses": [(s.value, s.label) for s in Status if s != Status.CREATED],
        "types": TxnType.choices, "filters": {"status": status or "", "type": type_ or "",
                                               "from": since.isoformat() if since else "",
                                               "to": until.isoformat() if until else ""},
        "query": params.urlencode(), "export_from": (today - timedelta(days=30)).isoformat(),
        "export_to": today.isoformat(),
    })


@never_cache
@login_required
@require_GET
def detail(request: HttpRequest, txn_id: str) -> HttpResponse:
    try:
        txn = services.access_transaction(request.user, txn_id)  # type: ignore[arg-type]
    except OkpayError:
        return render(request, "payments/not_found.html", status=404)
    events = [(event, event_text(event.reason)) for event in selectors.timeline(txn)]
    return _page(request, "payments/detail.html", {
        "section": "list", "txn": txn, "events": events, "explanation": explain(txn),
        "failure": failure_text(txn) if txn.failure_reason else "", "done": request.GET.get("done") == "1",
        "overdue": txn.is_pending and txn.expected_by and txn.expected_by < timezone.now(),
        "contact_url": _contact_url(txn.public_id), "claim": txn.pending_reason == PendingReason.AWAITING_CLAIM,
        "refund_offer": refund_offer(txn), "followup": followup(txn), "pay_again_url": pay_again_url(txn),
        "retry_of": txn.retry_of, "retries": list(Transaction.objects.filter(retry_of=txn)),
    })


def _contact_url(txn_id: str) -> str:
    """A support ticket with the transaction filled in (the help centre's contact page without
    the support app)."""
    from django.urls import NoReverseMatch

    try:
        return f"{reverse('support:new')}?category=payment&transaction={txn_id}"
    except NoReverseMatch:
        from okpay.identity.views import contact_url

        return f"{contact_url()}?transaction={txn_id}"


@login_required
@require_POST
@body_first
def cancel(request: HttpRequest, txn_id: str) -> HttpResponse:
    from django.contrib import messages

    def view() -> HttpResponse:
        try:
            services.transaction_cancel(user=request.user, txn_id=txn_id)  # type: ignore[arg-type]
        except OkpayError as exc:
            messages.error(request, _error_text(exc))
            return redirect("payments:detail", txn_id=txn_id)
        messages.success(request, _("The payment is cancelled: the money is back in your wallet."))
        return redirect("payments:detail", txn_id=txn_id)

    key = request.POST.get("idempotency_key") or f"cancel:{txn_id}"
    return run_idempotently(request, scope=f"{request.user.public_id}:web", key=key, view=view)  # type: ignore[union-attr]


def _receipt_context(request: HttpRequest, txn_id: str) -> dict[str, Any] | None:
    try:
        txn = services.access_transaction(request.user, txn_id)  # type: ignore[arg-type]
    except OkpayError:
        return None
    sign = "-" if txn.direction == "debit" else "+"
    return {"txn": txn, "money": format_money(txn.amount, txn.currency, sign=sign), "user": request.user,
            "printed_at": timezone.now()}


@login_required
@require_GET
@replica_reads
def receipt(request: HttpRequest, txn_id: str) -> HttpResponse:
    context = _receipt_context(request, txn_id)
    if context is None:
        return render(request, "payments/not_found.html", status=404)
    return render(request, "payments/receipt.html", context)


@login_required
@require_GET
@replica_reads
def receipt_svg(request: HttpRequest, txn_id: str) -> HttpResponse:
    context = _receipt_context(request, txn_id)
    if context is None:
        return render(request, "payments/not_found.html", status=404)
    body = render_to_string("payments/receipt.svg", context, request=request)
    response = HttpResponse(body, content_type="image/svg+xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="okpay-receipt-{txn_id}.svg"'
    return response


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
@require_GET
@replica_reads
def export_csv(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    since = _date(request.GET.get("from")) or today - timedelta(days=30)
    until = _date(request.GET.get("to")) or today
    try:
        rows = selectors.transactions_for_export(request.user, since=since, until=until)  # type: ignore[arg-type]
    except OkpayError as exc:
        return HttpResponse(_error_text(exc), status=400, content_type="text/plain; charset=utf-8")
    writer = csv.writer(_Echo())
    header = ["id", "created_at", "type", "status", "direction", "amount", "currency", "amount_display",
              "counterparty", "note", "pending_reason", "failure_reason", "refunded_amount"]

    def lines() -> Any:
        yield "\ufeff"  # so spreadsheet programs read the Chinese names as UTF-8
        yield writer.writerow(header)
        for txn in rows:
            yield writer.writerow([
                txn.public_id, timezone.localtime(txn.created_at).isoformat(timespec="seconds"), txn.type, txn.status,
                txn.direction, txn.amount, txn.currency, format_money(txn.amount, txn.currency),
                _csv_safe(txn.counterparty_name), _csv_safe(txn.note), txn.pending_reason, txn.failure_reason,
                txn.refunded_amount])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="okpay-{since.isoformat()}-{until.isoformat()}.csv"'
    return response


def _csv_safe(value: str) -> str:
    """No formula injection when the file is opened in a spreadsheet."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@never_cache
@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    from okpay.payments.notify import title

    items = [(n, title(n.kind, n.transaction)) for n in selectors.notifications_for(request.user)]  # type: ignore[arg-type]
    response = _page(request, "payments/notifications.html", {"section": "notifications", "items": items})
    Notification.objects.filter(user=request.user, read_at__isnull=True).update(read_at=timezone.now())
    return response
