from django.apps import AppConfig


class HotlineConfig(AppConfig):
    name = "okpay.hotline"
    label = "hotline"
    verbose_name = "Phone hotline"
    default_auto_field = "django.db.models.BigAutoField"
