from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "okpay.core"
    label = "core"
    verbose_name = _("OKPay core")

    def ready(self) -> None:
        from okpay.core import checks  # noqa: F401 - registers the deployment checks
        from okpay.core.labels import translate_labels

        translate_labels()  # every model is loaded before any ready() runs
