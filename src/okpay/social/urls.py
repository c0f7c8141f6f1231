from django.urls import path

from okpay.social import views

app_name = "social"

urlpatterns = [
    path("hooks/telegram", views.telegram_webhook, name="telegram"),
    path("hooks/wechat", views.wechat_webhook, name="wechat"),
    path("hooks/social/<slug:platform>", views.generic_webhook, name="generic"),
    path("account/social/", views.account_social, name="account"),
]
