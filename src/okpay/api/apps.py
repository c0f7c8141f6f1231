from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "okpay.api"
    label = "api"
    verbose_name = "API"
