from django.urls import path

from okpay.web import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("dev/mail/", views.dev_mail_list, name="dev-mail"),
    path("dev/mail/<int:pk>/", views.dev_mail_detail, name="dev-mail-detail"),
]
