from django.urls import path

from okpay.web import pwa, views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("sw.js", pwa.service_worker, name="service-worker"),
    path("manifest.webmanifest", pwa.manifest, name="manifest"),
    path("offline/<str:lang>/", pwa.offline, name="offline"),
    path("favicon.ico", pwa.favicon, name="favicon"),
    path("dev/mail/", views.dev_mail_list, name="dev-mail"),
    path("dev/mail/<int:pk>/", views.dev_mail_detail, name="dev-mail-detail"),
]
