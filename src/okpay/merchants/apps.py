from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MerchantsConfig(AppConfig):
    name = "okpay.merchants"
    label = "merchants"
    verbose_name = _("Merchants")

    def ready(self) -> None:
        # payments imports no app above it: merchants plugs its refund offer into the transaction page.
        from okpay.merchants import hooks
        from okpay.payments import hooks as payments_hooks

        if hooks.refund_offer not in payments_hooks.REFUND_OFFERS:
            payments_hooks.REFUND_OFFERS.append(hooks.refund_offer)

        from okpay.identity import services as identity
        from okpay.merchants import applications

        # `okpay users create --role merchant` makes the business profile too
        if applications.merchant_profile_for_role not in identity.ROLE_HOOKS:
            identity.ROLE_HOOKS.append(applications.merchant_profile_for_role)
