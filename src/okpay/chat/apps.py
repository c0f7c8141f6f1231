from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "okpay.chat"
    label = "chat"
    verbose_name = "Live chat"
    default_auto_field = "django.db.models.BigAutoField"
