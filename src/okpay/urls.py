from django.contrib import admin
from django.urls import include, path

from okpay.api.api import api
from okpay.core import views as core_views
from okpay.web import views as web_views

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("metrics", web_views.metrics, name="metrics"),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("", include("okpay.identity.urls")),
    path("", include("okpay.helpcenter.urls")),
    path("", include("okpay.support.urls")),
    path("", include("okpay.chat.urls")),
    path("", include("okpay.hotline.urls")),
    path("", include("okpay.social.urls")),
    path("", include("okpay.payments.urls")),
    path("", include("okpay.merchants.urls")),
    path("", include("okpay.web.urls")),
]

handler404 = "okpay.web.views.not_found"
handler500 = "okpay.web.views.server_error"
