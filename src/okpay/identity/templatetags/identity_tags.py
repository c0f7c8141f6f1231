from django import template

from okpay.identity.services import device_label

register = template.Library()


@register.filter
def device(user_agent: str) -> str:
    return device_label(user_agent or "")
