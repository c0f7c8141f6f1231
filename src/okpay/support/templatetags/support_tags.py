from __future__ import annotations

from django import template

register = template.Library()

SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$"}


@register.filter
def support_money(amount: int | None, currency: str = "CNY") -> str:
    """Minor units to a display amount: 123456 CNY → ¥1,234.56."""
    if amount is None:
        return ""
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(int(amount)), 100)
    return f"{sign}{SYMBOLS.get(currency, currency + ' ')}{major:,}.{minor:02d}"


@register.filter
def support_hours(hours: float | None) -> str:
    """A duration in hours for people: "45 min", "2.5 h", "3.1 d"."""
    from django.utils.translation import gettext

    if hours is None:
        return "—"
    if hours < 1:
        return gettext("%(n)s min") % {"n": max(0, round(hours * 60))}
    if hours < 48:
        return gettext("%(n)s h") % {"n": f"{hours:.1f}"}
    return gettext("%(n)s d") % {"n": f"{hours / 24:.1f}"}


@register.filter
def action_title(action: object) -> str:
    """An approval in words: "Cancel the pending transaction ¥1,500.00", never its code."""
    from django.utils.translation import gettext

    from okpay.support.actions import KINDS

    kind = str(getattr(action, "kind", ""))
    spec = KINDS.get(kind)
    title = gettext(spec.label) if spec else kind.replace("_", " ")
    amount = getattr(action, "amount", None)
    if amount:
        title = f"{title} {support_money(amount, getattr(action, 'currency', '') or 'CNY')}"
    return title


@register.filter
def message_html(message: object) -> str:
    """A ticket message's body for the desk. A note OKPay wrote with translatable parts is shown in
    the reader's language (support/notes.py); everything else as it was stored (already cleaned)."""
    from django.utils.safestring import mark_safe

    from okpay.support import notes
    from okpay.support.services import text_to_html

    note = getattr(message, "note", None)
    if isinstance(note, dict) and note.get("parts") is not None:
        return mark_safe(text_to_html(notes.render(note["parts"])))  # noqa: S308  # nosec B308, B703 - text_to_html escapes
    return mark_safe(str(getattr(message, "body_html", "")))  # noqa: S308  # nosec B308, B703 - cleaned by nh3 when stored


@register.filter
def message_text(message: object) -> str:
    """The plain text of a message in the reader's language (its ``lang`` attribute is guessed from it)."""
    from okpay.support import notes

    note = getattr(message, "note", None)
    if isinstance(note, dict) and note.get("parts") is not None:
        return notes.render(note["parts"])
    return str(getattr(message, "body_text", ""))
