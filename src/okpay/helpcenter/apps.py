from django.apps import AppConfig


class HelpcenterConfig(AppConfig):
    name = "okpay.helpcenter"
    label = "helpcenter"
    verbose_name = "Help centre"
    default_auto_field = "django.db.models.BigAutoField"
