"""The versioned HTTP API at ``/api/v1`` (see API.md). Routers are added here, one per domain."""

from __future__ import annotations

from ninja import NinjaAPI

from okpay import __version__
from okpay.api import errors, health
from okpay.api.auth import bearer
from okpay.api.parser import OkpayParser
from okpay.helpcenter.api import router as helpcenter_router
from okpay.identity.api import router as identity_router
from okpay.merchants.api import router as merchants_router
from okpay.payments.api import router as payments_router
from okpay.support.api import router as support_router

api = NinjaAPI(
    title="OKPay API",
    version=__version__,
    description=(
        "The HTTP API of OKPay, a self-hostable e-wallet and its customer-service centre. "
        "Amounts are integers in minor units; errors are `{\"error\": {code, message, param}}`, the "
        "message in the caller's language (`Accept-Language`, else the account's, else zh-Hans; "
        "`code` and `param` never change); every POST honours `Idempotency-Key`.\n\n"
        "**`Idempotency-Key` is required** (400 `invalid_request`, param `Idempotency-Key`, without one; "
        "nothing happens) on the POSTs that move or decide on money: `/topups`, `/withdrawals`, "
        "`/transfers`, `/bill-payments`, and for merchants `/refunds`, `/payment-intents/{id}/capture`, "
        "`/payment-intents/{id}/confirm`, `/payment-intents/{id}/cancel`, "
        "`/refund-requests/{id}/approve` and `/refund-requests/{id}/decline`.\n\n"
        "**Step-up**: a payment above the step-up amount (or a first one to a new payee) without "
        "`otp_code` answers `401 otp_required` with `param: \"otp_code\"` and `method`: `totp` "
        "(the authenticator app's code), `sms` or `email` (a code just sent to the verified phone or "
        "email, bound to this payment and its `Idempotency-Key`). Send the same request again with "
        "`otp_code` and the same key."
    ),
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
    auth=bearer,
    parser=OkpayParser(),
)
errors.install(api)
api.add_router("", health.router)
api.add_router("", identity_router)
api.add_router("", helpcenter_router)
api.add_router("", payments_router)
api.add_router("", merchants_router)
api.add_router("", support_router)
