"""Merchants (API.md, "Merchants (secret key)"): payment intents, refunds, refund requests,
webhook endpoints — authenticated with a merchant secret key (``Authorization: Bearer sk_…``);
confirming an intent and asking for a refund use the customer's token."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Schema, Status
from pydantic import Field, StrictInt

from okpay.api.auth import OnceBearer
from okpay.api.router import OkpayRouter, key_required
from okpay.api.schemas import ERRORS
from okpay.core.errors import InvalidRequest
from okpay.core.idempotency import HEADER
from okpay.core.pagination import keyset_page
from okpay.merchants import services
from okpay.merchants.errors import PublishableKeyNotAllowed
from okpay.merchants.models import Merchant, Refund, RefundRequest, WebhookDelivery, WebhookEndpoint
from okpay.payments.api import TransactionOut, transaction_out

router = OkpayRouter(tags=["merchants"])


class MerchantKeyAuth(OnceBearer):
    """``Authorization: Bearer sk_…``: the merchant behind a live secret key. The merchant is the
    principal its idempotency keys belong to (``okpay.api.auth.caller_scope``)."""

    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> Merchant | None:
        merchant = services.merchant_for_secret_key(token)
        if merchant is None and services.merchant_for_publishable_key(token) is not None:
            raise PublishableKeyNotAllowed()  # a live key of the wrong kind: say so (403), not "who are you?"
        return merchant


class PublishableKeyAuth(OnceBearer):
    """``Authorization: Bearer pk_…``: safe to ship in a web page or an app. It opens only the public
    status of a payment intent whose client secret the caller also holds."""

    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> Merchant | None:
        return services.merchant_for_publishable_key(token)


merchant_key = MerchantKeyAuth()
publishable_key = PublishableKeyAuth()


class IntentIn(Schema):
    amount: StrictInt
    currency: str = "CNY"
    description: str = Field("", max_length=200)
    return_url: str = Field("", max_length=500)
    capture: Literal["automatic", "manual"] = "automatic"


class IntentOut(Schema):
    id: str
    object: str
    status: str
    amount: int
    currency: str
    description: str
    capture: str
    amount_received: int
    amount_refunded: int
    return_url: str | None
    checkout_url: str
    client_secret: str | None = None
    transaction: str | None
    cancellation_reason: str | None
    capture_before: str | None
    pay_again_of: str | None = Field(None, description="Made by the customer's \"pay again\" after this earlier "
                                                       "intent of yours was cancelled or expired.")
    created_at: str
    updated_at: str


class IntentPublicOut(Schema):
    """A payment intent as a publishable key sees it."""

    id: str
    object: str
    status: str
    amount: int
    currency: str
    description: str
    merchant: str
    checkout_url: str
    return_url: str | None
    cancellation_reason: str | None
    created_at: str


class IntentListOut(Schema):
    data: list[IntentOut]
    next_cursor: str | None


class ConfirmIn(Schema):
    otp_code: str | None = Field(None, max_length=20)


class CaptureIn(Schema):
    amount: StrictInt | None = None


class CancelIn(Schema):
    reason: str = Field("requested_by_merchant", max_length=40)


class RefundIn(Schema):
    payment_intent: str = Field(max_length=40)
    amount: StrictInt | None = None
    reason: str = Field("", max_length=200)


class RefundOut(Schema):
    id: str
    object: str
    payment_intent: str
    status: str
    amount: int
    currency: str
    reason: str
    failure_reason: str | None
    transaction: str | None
    created_at: str
    updated_at: str


class RefundRequestIn(Schema):
    amount: StrictInt | None = None
    reason: str = Field(max_length=500)


class RefundRequestOut(Schema):
    """``payment_intent`` is null for a bill payment's request (``biller`` names who decides); a bill
    request's ``refund_transaction`` is the customer's refund, pending ``awaiting_merchant`` until
    ``expected_by``, when the biller answers."""

    id: str
    object: str
    payment_intent: str | None
    status: str
    amount: int
    reason: str
    decline_reason: str | None
    refund: str | None
    created_at: str
    refund_status: str | None = None
    merchant: str = ""
    refund_window_days: int = 0
    refund_window_ends: datetime | None = None
    transaction: str | None = None
    refund_transaction: str | None = None
    biller: str | None = None
    expected_by: datetime | None = None


class RefundRequestListOut(Schema):
    data: list[RefundRequestOut]
    next_cursor: str | None


class DeclineIn(Schema):
    reason: str = Field("", max_length=500)


class EndpointIn(Schema):
    url: str = Field(max_length=500)
    events: list[str]


class EndpointOut(Schema):
    id: str
    url: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    created_at: datetime
    secret: str | None = None


class AttemptOut(Schema):
    at: datetime
    status_code: int | None
    error: str
    duration_ms: int
    succeeded: bool


class DeliveryOut(Schema):
    id: str
    event: str
    event_type: str
    endpoint: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    attempt_log: list[AttemptOut]


class DeliveryListOut(Schema):
    data: list[DeliveryOut]
    next_cursor: str | None


class ListQuery(Schema):
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = None


def _require_key(request: HttpRequest) -> None:
    """Money is moved or decided on: a retry must never do it twice (API.md, issue 17)."""
    if not request.headers.get(HEADER):
        raise InvalidRequest("Requests that move or decide on money need an Idempotency-Key header.", param=HEADER)


def _merchant(request: HttpRequest) -> Merchant:
    return request.auth  # type: ignore[return-value]


def request_out(req: RefundRequest) -> RefundRequestOut:
    data: dict[str, Any] = services.request_data(req)
    intent = req.intent
    if intent is None:  # a bill payment's request: the biller decides
        from django.conf import settings

        from okpay.merchants.bill_refunds import bill_window_ends

        bill, refund_txn = req.bill_txn, req.refund_txn
        assert bill is not None and refund_txn is not None
        return RefundRequestOut(**data, refund_status=refund_txn.status, merchant=bill.counterparty_name,
                                refund_window_days=settings.OKPAY_BILL_REFUND_WINDOW_DAYS,
                                refund_window_ends=bill_window_ends(bill), transaction=bill.public_id,
                                refund_transaction=refund_txn.public_id,
                                biller=bill.biller.code if bill.biller else None,
                                expected_by=req.decide_after if req.status == "pending" else None)
    return RefundRequestOut(**data, refund_status=req.refund.status if req.refund_id else None,
                            merchant=intent.merchant.name, refund_window_days=intent.merchant.refund_window_days,
                            refund_window_ends=services.refund_expected_by(intent),
                            transaction=intent.customer_txn.public_id if intent.customer_txn_id else None,
                            refund_transaction=req.refund_txn.public_id if req.refund_txn_id else
                            req.refund.customer_txn.public_id if req.refund_id and req.refund.customer_txn_id
                            else None,
                            expected_by=req.refund_txn.expected_by
                            if req.status == "pending" and req.refund_txn_id else None)


def endpoint_out(endpoint: WebhookEndpoint, *, secret: bool = False) -> EndpointOut:
    return EndpointOut(id=endpoint.public_id, url=endpoint.url, events=endpoint.events, enabled=endpoint.enabled,
                       disabled_reason=endpoint.disabled_reason or None, created_at=endpoint.created_at,
                       secret=endpoint.secret if secret else None)


def delivery_out(delivery: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(id=delivery.public_id, event=delivery.event.public_id, event_type=delivery.event.type,
                       endpoint=delivery.endpoint.public_id, status=delivery.status, attempts=delivery.attempts,
                       next_attempt_at=delivery.next_attempt_at,
                       attempt_log=[AttemptOut(at=a.at, status_code=a.status_code, error=a.error_code,
                                               duration_ms=a.duration_ms, succeeded=a.succeeded)
                                    for a in delivery.attempt_log.all()])


# --- payment intents -------------------------------------------------------------------------------

@router.post("/payment-intents", response={201: IntentOut, **ERRORS}, auth=merchant_key)
def intent_create(request: HttpRequest, body: IntentIn) -> Status:
    intent = services.intent_create(merchant=_merchant(request), amount=body.amount, currency=body.currency,
                                    description=body.description, return_url=body.return_url, capture=body.capture)
    return Status(201, services.intent_data(intent))


@router.get("/payment-intents", response={200: IntentListOut, **ERRORS}, auth=merchant_key)
def intent_list(request: HttpRequest, query: Query[ListQuery]) -> IntentListOut:
    page = keyset_page(services.payment_intents_for(_merchant(request)), limit=query.limit, cursor=query.cursor)
    return IntentListOut(data=[services.intent_data(i) for i in page.items], next_cursor=page.next_cursor)


@router.get("/payment-intents/{intent_id}", response={200: IntentOut, **ERRORS}, auth=merchant_key)
def intent_detail(request: HttpRequest, intent_id: str) -> dict[str, Any]:
    return services.intent_data(services.access_intent(_merchant(request), intent_id))


@router.get("/client/payment-intents/{intent_id}", response={200: IntentPublicOut, **ERRORS}, auth=publishable_key)
def intent_client_status(request: HttpRequest, intent_id: str,
                         client_secret: str = "") -> dict[str, Any]:  # nosec B107 - a query parameter's default
    """With a publishable key (``pk_…``) and the intent's ``client_secret``, from a browser or app:
    the intent's public status (no customer, no transactions). Anything else is ``404``."""
    return services.intent_public_data(services.intent_for_client(_merchant(request), intent_id, client_secret))


@router.post("/payment-intents/{intent_id}/confirm", response={200: TransactionOut, **ERRORS})
@key_required
def intent_confirm(request: HttpRequest, intent_id: str, body: ConfirmIn | None = None) -> TransactionOut:
    """With the customer's token: pays the intent from their wallet. Confirming again answers the same payment."""
    _require_key(request)
    txn = services.intent_confirm(intent_id=intent_id, customer=request.auth,  # type: ignore[arg-type]
                                  otp_code=body.otp_code if body else None)
    return transaction_out(txn)


@router.post("/payment-intents/{intent_id}/capture", response={200: IntentOut, **ERRORS}, auth=merchant_key)
@key_required
def intent_capture(request: HttpRequest, intent_id: str, body: CaptureIn | None = None) -> dict[str, Any]:
    _require_key(request)
    intent = services.intent_capture(merchant=_merchant(request), intent_id=intent_id,
                                     amount=body.amount if body else None)
    return services.intent_data(intent)


@router.post("/payment-intents/{intent_id}/cancel", response={200: IntentOut, **ERRORS}, auth=merchant_key)
@key_required
def intent_cancel(request: HttpRequest, intent_id: str, body: CancelIn | None = None) -> dict[str, Any]:
    _require_key(request)
    intent = services.intent_cancel(merchant=_merchant(request), intent_id=intent_id,
                                    reason=body.reason if body else "requested_by_merchant")
    return services.intent_data(intent)


# --- refunds and refund requests ---------------------------------------------------------------------

@router.post("/refunds", response={201: RefundOut, **ERRORS}, auth=merchant_key)
@key_required
def refund_create(request: HttpRequest, body: RefundIn) -> Status:
    _require_key(request)
    refund = services.refund_create(merchant=_merchant(request), intent_id=body.payment_intent, amount=body.amount,
                                    reason=body.reason)
    return Status(201, services.refund_data(refund))


@router.get("/refunds/{refund_id}", response={200: RefundOut, **ERRORS}, auth=merchant_key)
def refund_detail(request: HttpRequest, refund_id: str) -> dict[str, Any]:
    refund = (Refund.objects.select_related("intent", "merchant_txn")
              .filter(intent__merchant=_merchant(request), public_id=refund_id).first())
    if refund is None:
        from okpay.core.errors import NotFound

        raise NotFound()
    return services.refund_data(refund)


@router.post("/transactions/{txn_id}/refund-requests", response={201: RefundRequestOut, **ERRORS})
def refund_request_create(request: HttpRequest, txn_id: str, body: RefundRequestIn) -> Status:
    req = services.refund_request_create(customer=request.auth, txn_id=txn_id, reason=body.reason,  # type: ignore[arg-type]
                                         amount=body.amount)
    return Status(201, request_out(req))


@router.get("/transactions/{txn_id}/refund-requests", response={200: RefundRequestListOut, **ERRORS})
def refund_requests_of_txn(request: HttpRequest, txn_id: str) -> RefundRequestListOut:
    from okpay.payments.services import access_transaction

    txn = access_transaction(request.auth, txn_id)  # type: ignore[arg-type]
    return RefundRequestListOut(data=[request_out(r) for r in services.refund_requests_for_txn(request.auth, txn)],  # type: ignore[arg-type]
                                next_cursor=None)


@router.get("/refund-requests", response={200: RefundRequestListOut, **ERRORS}, auth=merchant_key)
def refund_request_list(request: HttpRequest, query: Query[ListQuery],
                        status: Literal["pending", "approved", "declined"] | None = None) -> RefundRequestListOut:
    page = keyset_page(services.refund_requests_for(_merchant(request), status=status), limit=query.limit,
                       cursor=query.cursor)
    return RefundRequestListOut(data=[request_out(r) for r in page.items], next_cursor=page.next_cursor)


@router.post("/refund-requests/{request_id}/approve", response={200: RefundRequestOut, **ERRORS}, auth=merchant_key)
@key_required
def refund_request_approve(request: HttpRequest, request_id: str) -> RefundRequestOut:
    _require_key(request)
    return request_out(services.refund_request_approve(merchant=_merchant(request), request_id=request_id))


@router.post("/refund-requests/{request_id}/decline", response={200: RefundRequestOut, **ERRORS}, auth=merchant_key)
@key_required
def refund_request_decline(request: HttpRequest, request_id: str, body: DeclineIn | None = None) -> RefundRequestOut:
    _require_key(request)
    return request_out(services.refund_request_decline(merchant=_merchant(request), request_id=request_id,
                                                       reason=body.reason if body else ""))


# --- webhook endpoints --------------------------------------------------------------------------------

@router.post("/webhook-endpoints", response={201: EndpointOut, **ERRORS}, auth=merchant_key)
def endpoint_create(request: HttpRequest, body: EndpointIn) -> Status:
    endpoint = services.webhook_endpoint_create(merchant=_merchant(request), url=body.url, events=body.events)
    return Status(201, endpoint_out(endpoint, secret=True))


@router.get("/webhook-endpoints", response={200: list[EndpointOut], **ERRORS}, auth=merchant_key)
def endpoint_list(request: HttpRequest) -> list[EndpointOut]:
    return [endpoint_out(e) for e in WebhookEndpoint.objects.filter(merchant=_merchant(request))]


@router.post("/webhook-endpoints/{endpoint_id}/rotate-secret", response={200: EndpointOut, **ERRORS},
             auth=merchant_key)
def endpoint_rotate(request: HttpRequest, endpoint_id: str) -> EndpointOut:
    endpoint = services.webhook_endpoint_rotate_secret(merchant=_merchant(request), endpoint_id=endpoint_id)
    return endpoint_out(endpoint, secret=True)


@router.post("/webhook-endpoints/{endpoint_id}/enable", response={200: EndpointOut, **ERRORS}, auth=merchant_key)
def endpoint_enable(request: HttpRequest, endpoint_id: str) -> EndpointOut:
    """Enable again (after fixing an endpoint that was disabled for failing); resend what it missed."""
    return endpoint_out(services.webhook_endpoint_enable(merchant=_merchant(request), endpoint_id=endpoint_id,
                                                         enabled=True))


@router.post("/webhook-endpoints/{endpoint_id}/disable", response={200: EndpointOut, **ERRORS}, auth=merchant_key)
def endpoint_disable(request: HttpRequest, endpoint_id: str) -> EndpointOut:
    return endpoint_out(services.webhook_endpoint_enable(merchant=_merchant(request), endpoint_id=endpoint_id,
                                                         enabled=False))


@router.get("/webhook-deliveries", response={200: DeliveryListOut, **ERRORS}, auth=merchant_key)
def delivery_list(request: HttpRequest, query: Query[ListQuery]) -> DeliveryListOut:
    qs = (WebhookDelivery.objects.filter(endpoint__merchant=_merchant(request))
          .select_related("event", "endpoint").prefetch_related("attempt_log"))
    page = keyset_page(qs, limit=query.limit, cursor=query.cursor)
    return DeliveryListOut(data=[delivery_out(d) for d in page.items], next_cursor=page.next_cursor)


@router.post("/webhook-deliveries/{delivery_id}/resend", response={201: DeliveryOut, **ERRORS}, auth=merchant_key)
def delivery_resend(request: HttpRequest, delivery_id: str) -> Status:
    delivery = services.webhook_delivery_resend(merchant=_merchant(request), delivery_id=delivery_id)
    return Status(201, delivery_out(delivery))
