from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "okpay.payments"
    label = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        # identity imports no other app: payments plugs its hooks in (identity/services.py).
        from okpay.identity import services as identity
        from okpay.payments import hooks

        if hooks.claim_after_verification not in identity.EMAIL_VERIFIED_HOOKS:
            identity.EMAIL_VERIFIED_HOOKS.append(hooks.claim_after_verification)
        if hooks.wallet_id_for not in identity.WALLET_ID:
            identity.WALLET_ID.append(hooks.wallet_id_for)
        if hooks.close_check not in identity.CLOSE_CHECKS:
            identity.CLOSE_CHECKS.append(hooks.close_check)
