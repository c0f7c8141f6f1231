from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HotlineConfig(AppConfig):
    name = "okpay.hotline"
    label = "hotline"
    verbose_name = _("Phone hotline")
    default_auto_field = "django.db.models.BigAutoField"
