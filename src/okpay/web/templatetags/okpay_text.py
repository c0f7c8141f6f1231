"""Punctuation that follows the language: ``{% colon %}`` after a label is "：" in Chinese, ": " in English."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
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


@register.filter
def with_error(field: Any) -> Any:
    """A form field that has errors, rendered ``aria-invalid`` and described by its error (the
    ``<id>-error`` paragraph of identity/_field.html), so that a screen reader reads the error with
    the field. Fields without errors render as they are."""
    if not getattr(field, "errors", None):
        return field
    described = str(field.field.widget.attrs.get("aria-describedby", "")).split()
    error_id = f"{field.auto_id}-error"
    return field.as_widget(attrs={"aria-invalid": "true",
                                  "aria-describedby": " ".join([error_id, *(d for d in described if d != error_id)])})


@register.simple_tag(takes_context=True)
def error_attrs(context: Any, name: str, error_id: str = "form-error") -> str:
    """For a hand-written form whose view passes ``error`` and ``error_field`` (the ``param`` of the
    error): the attributes that mark field ``name`` invalid and describe it by the page's error
    message (``id="form-error"``, role=alert). Empty for the other fields."""
    if context.get("error") and context.get("error_field") == name:
        return format_html(' aria-invalid="true" aria-describedby="{}"', error_id)
    return ""
