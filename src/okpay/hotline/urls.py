from django.urls import path

from okpay.hotline import views

app_name = "hotline"

urlpatterns = [
    path("hooks/phone/calls", views.cti_webhook, name="cti-webhook"),
    path("desk/t/<str:public_id>/calls/", views.desk_calls, name="desk-calls"),
    path("desk/t/<str:public_id>/caller/", views.desk_caller, name="desk-caller"),
    path("desk/calls/<str:call_id>/", views.call_pop, name="call-pop"),
    path("desk/calls/<str:call_id>/ticket/", views.call_ticket, name="call-ticket"),
]
