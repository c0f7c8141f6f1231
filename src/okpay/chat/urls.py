from django.urls import path

from okpay.chat import views

app_name = "chat"

urlpatterns = [
    path("desk/chat/", views.desk_chat, name="desk"),
    path("desk/chat/waiting/", views.desk_waiting, name="desk-waiting"),
    path("chat/transcript/<str:token>/", views.transcript_confirm, name="transcript"),
]
