from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "okpay.web"
    label = "web"
    verbose_name = "Website"
