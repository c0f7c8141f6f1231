from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "okpay.ledger"
    label = "ledger"
    verbose_name = "Ledger"
