from django.urls import path

from okpay.chat import views

app_name = "chat"

urlpatterns = [
    path("desk/chat/", views.desk_chat, name="desk"),
]
