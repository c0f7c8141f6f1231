from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    return {
        "OKPAY_DEBUG": settings.DEBUG,
        "SUPPORT_EMAIL": settings.OKPAY_SUPPORT_EMAIL,
        "HOTLINE": settings.OKPAY_HOTLINE,
        "HOTLINE_HOURS": settings.OKPAY_HOTLINE_HOURS,
    }
