from django.urls import path

from okpay.merchants import views

app_name = "merchants"

urlpatterns = [
    path("checkout/<str:intent_id>/", views.checkout, name="checkout"),
    path("checkout/<str:intent_id>/done/", views.checkout_done, name="checkout-done"),
    path("checkout/<str:intent_id>/again/", views.checkout_again, name="checkout-again"),
    path("demo-shop/", views.shop_home, name="shop"),
    path("demo-shop/buy/", views.shop_buy, name="shop-buy"),
    path("demo-shop/orders/<str:intent_id>/", views.shop_order, name="shop-order"),
    path("wallet/transactions/<str:txn_id>/refund-request/", views.refund_request_new, name="refund-request-new"),
    path("merchant/", views.dashboard, name="dashboard"),
    path("merchant/apply/", views.apply, name="apply"),
    path("merchant/export.csv", views.export_csv, name="export"),
    path("merchant/sales.svg", views.sales_svg, name="sales-svg"),
    path("merchant/refund-requests/<str:request_id>/<str:decision>/", views.request_decide, name="request-decide"),
    path("merchant/refunds/", views.refund_new, name="refund-new"),
    path("merchant/payments/<str:intent_id>/<str:decision>/", views.intent_decide, name="intent-decide"),
    path("merchant/policy/", views.policy_update, name="policy"),
    path("merchant/keys/", views.key_create, name="key-create"),
    path("merchant/keys/<str:key_id>/revoke/", views.key_revoke, name="key-revoke"),
    path("merchant/webhooks/", views.endpoint_create, name="endpoint-create"),
    path("merchant/webhooks/<str:endpoint_id>/<str:action>/", views.endpoint_action, name="endpoint-action"),
    path("merchant/webhooks/deliveries/<str:delivery_id>/resend/", views.delivery_resend, name="delivery-resend"),
]

# QR codes (issue 22): the printable store code and the till's one-payment code.
from okpay.merchants import qr_views  # noqa: E402

urlpatterns += [
    path("store/<str:merchant_id>/", qr_views.store, name="store"),
    path("merchant/store-code.<str:fmt>", qr_views.store_code, name="store-code"),
    path("merchant/till/", qr_views.till_new, name="till-new"),
    path("merchant/till/<str:intent_id>/", qr_views.till, name="till"),
]
