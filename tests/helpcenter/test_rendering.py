from __future__ import annotations

from django.test import override_settings

from okpay.helpcenter.rendering import article_html, render_markdown


def test_markdown_is_sanitised() -> None:
    html = render_markdown("**hi** <script>alert(1)</script> <img src=x onerror=alert(1)> "
                           "[x](javascript:alert(1)) [ok](/help/top-up/)\n\n| a | b |\n| - | - |\n| 1 | 2 |")
    assert "<strong>hi</strong>" in html and "<table>" in html
    assert "<script" not in html and "onerror" not in html and "<img" not in html and "javascript:" not in html
    assert '<a href="/help/top-up/" rel="noopener noreferrer nofollow">ok</a>' in html


@override_settings(OKPAY_SUPPORT_EMAIL="a&b@okpay.example")
def test_placeholders_are_filled_escaped() -> None:
    html = str(article_html(render_markdown("write to {{support_email}} or {{ hotline }}; {{unknown}}")))
    assert "a&amp;b@okpay.example" in html and "+86 400-800-6578" in html and "{{unknown}}" in html
