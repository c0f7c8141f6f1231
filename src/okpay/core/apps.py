from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "okpay.core"
    label = "core"
    verbose_name = _("OKPay core")

    def ready(self) -> None:
        from okpay.core import asyncdb, checks  # noqa: F401 - checks registers the deployment checks
        from okpay.core.labels import translate_labels

        asyncdb.install()  # connections used from async code go back to the pool (okpay.core.asyncdb)
        translate_labels()  # every model is loaded before any ready() runs
