from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "okpay.core"
    label = "core"
    verbose_name = "OKPay core"

    def ready(self) -> None:
        from okpay.core import asyncdb, checks  # noqa: F401 - checks registers the deployment checks

        asyncdb.install()  # connections used from async code go back to the pool (okpay.core.asyncdb)
