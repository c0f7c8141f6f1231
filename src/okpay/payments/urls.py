from django.urls import path

from okpay.payments import views

app_name = "payments"

urlpatterns = [
    path("wallet/", views.home, name="home"),
    path("wallet/send/", views.send, name="send"),
    path("wallet/bills/", views.pay_bill, name="pay-bill"),
    path("wallet/top-up/", views.top_up, name="top-up"),
    path("wallet/withdraw/", views.withdraw, name="withdraw"),
    path("wallet/transactions/", views.transaction_list, name="list"),
    path("wallet/transactions/export.csv", views.export_csv, name="export"),
    path("wallet/transactions/<str:txn_id>/", views.detail, name="detail"),
    path("wallet/transactions/<str:txn_id>/cancel/", views.cancel, name="cancel"),
    path("wallet/transactions/<str:txn_id>/receipt/", views.receipt, name="receipt"),
    path("wallet/transactions/<str:txn_id>/receipt.svg", views.receipt_svg, name="receipt-svg"),
    path("wallet/notifications/", views.notifications, name="notifications"),
]

# QR codes (issue 22): the receive code, "pay this person", the scan page.
from okpay.payments import qr_views  # noqa: E402

urlpatterns += [
    path("wallet/receive/", qr_views.receive, name="receive"),
    path("wallet/receive/qr.png", qr_views.receive_png, name="receive-png"),
    path("wallet/scan/", qr_views.scan, name="scan"),
    path("pay/<str:wallet_id>/", qr_views.pay_to, name="pay-to"),
]

# Money-arrived alerts (issue 22): Web Push subscriptions.
from okpay.payments import push_views  # noqa: E402

urlpatterns += [
    path("wallet/push/key", push_views.push_key, name="push-key"),
    path("wallet/push/subscribe", push_views.push_subscribe, name="push-subscribe"),
    path("wallet/push/unsubscribe", push_views.push_unsubscribe, name="push-unsubscribe"),
]
