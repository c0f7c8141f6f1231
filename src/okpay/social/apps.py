from django.apps import AppConfig


class SocialConfig(AppConfig):
    name = "okpay.social"
    label = "social"
    verbose_name = "Social media"
    default_auto_field = "django.db.models.BigAutoField"
