from django.apps import AppConfig


class MerchantsConfig(AppConfig):
    name = "okpay.merchants"
    label = "merchants"
    verbose_name = "Merchants"
