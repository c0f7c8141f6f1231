from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailboxConfig(AppConfig):
    name = "okpay.mailbox"
    label = "mailbox"
    verbose_name = _("Support mailbox (inbound email)")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from okpay.mailbox import checks  # noqa: F401 - registers the deployment check
