from django import template

from okpay.helpcenter.rendering import fill

register = template.Library()


@register.filter
def filled(value: str) -> str:
    """A title or summary with its placeholders filled (the result is still auto-escaped)."""
    return fill(str(value), html=False)
