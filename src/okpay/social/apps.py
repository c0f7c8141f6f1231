from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SocialConfig(AppConfig):
    name = "okpay.social"
    label = "social"
    verbose_name = _("Social media")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from okpay.social import checks  # noqa: F401 - registers the deployment check
