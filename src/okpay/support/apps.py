from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupportConfig(AppConfig):
    name = "okpay.support"
    label = "support"
    verbose_name = _("Support desk")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from okpay.support import setup

        # Roles (groups + permissions), default SLA policies and the seed's canned replies exist
        # after every migrate, and again after a test flush (which also sends post_migrate).
        post_migrate.connect(setup.on_post_migrate, dispatch_uid="okpay.support.setup")

        from okpay.payments import hooks as payments_hooks
        from okpay.support import promises

        # the transaction page links the ticket customer service opened about a late transaction
        if promises.followup_for not in payments_hooks.FOLLOWUPS:
            payments_hooks.FOLLOWUPS.append(promises.followup_for)
        from okpay.support.risk import handles_ticket_of

        # A supervisor does not decide the risk review of a customer whose ticket they handle.
        if handles_ticket_of not in payments_hooks.RISK_REVIEW_CONFLICTS:
            payments_hooks.RISK_REVIEW_CONFLICTS.append(handles_ticket_of)
