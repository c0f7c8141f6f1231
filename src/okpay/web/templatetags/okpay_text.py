"""Punctuation that follows the language: ``{% colon %}`` after a label is "：" in Chinese, ": " in English."""

from __future__ import annotations

from django import template
from django.utils.translation import get_language

register = template.Library()


def chinese() -> bool:
    return (get_language() or "").lower().startswith("zh")


@register.simple_tag
def colon() -> str:
    return "：" if chinese() else ": "


@register.filter
def content_lang(text: object) -> str:
    """The language of what someone wrote (for a ``lang`` attribute): Chinese if it has Han characters."""
    return "zh-Hans" if any("\u3400" <= ch <= "\u9fff" for ch in str(text or "")) else "en"
