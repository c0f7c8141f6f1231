"""Article Markdown → safe HTML (markdown, then nh3), and the channel placeholders in it.

Articles may write ``{{ support_email }}``, ``{{ hotline }}``, ``{{ hotline_hours }}``,
``{{ web_domain }}``, ``{{ site_url }}`` and the figures of :data:`registry._FIGURES` (limits,
claim days ...): they are filled from the registry and settings when the page is shown, so an
article never goes stale when an operator changes a channel or a limit.
"""

from __future__ import annotations

import re

import markdown
import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "b", "i", "code", "pre",
    "blockquote", "a", "table", "thead", "tbody", "tr", "th", "td", "kbd", "abbr",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"align"}, "td": {"align"}}
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def render_markdown(source: str) -> str:
    html = markdown.markdown(source, extensions=["extra", "sane_lists"], output_format="html")
    return nh3.clean(
        html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer nofollow", strip_comments=True,
    )


def placeholders() -> dict[str, str]:
    from okpay.helpcenter import registry

    return registry.placeholder_values()


def fill(source: str, *, html: bool) -> str:
    values = placeholders()

    def replace(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if value is None:
            return match.group(0)
        return escape(value) if html else value

    return _PLACEHOLDER.sub(replace, source)


def article_html(body_html: str) -> SafeString:
    """The stored (already sanitised) HTML with placeholders filled by escaped values."""
    return mark_safe(fill(body_html, html=True))  # noqa: S308 - nh3-cleaned HTML, escaped values  # nosec B308, B703
