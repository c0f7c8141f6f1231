from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "okpay.core"
    label = "core"
    verbose_name = "OKPay core"

    def ready(self) -> None:
        from okpay.core import checks  # noqa: F401 - registers the deployment checks
