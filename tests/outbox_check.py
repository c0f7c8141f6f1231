"""Every email OKPay sends, checked as it is written to the outbox (the tests' ``EMAIL_BACKEND``).

An email to an address that belongs to an account must show that account's anti-phishing code, in
the text part and in the HTML part. The fixed cast all have a code (``tests.factories.user_create``),
so a message that forgets it fails the test that caused it, wherever it was sent from."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.mail import EmailMessage, EmailMultiAlternatives

from okpay.identity.mail import OutboxBackend

VIOLATIONS: list[str] = []


def missing_code(message: EmailMessage) -> list[str]:
    """What is wrong with ``message`` (nothing: an empty list)."""
    from okpay.identity.models import User

    problems = []
    html = ""
    if isinstance(message, EmailMultiAlternatives):
        html = next((str(content) for content, mime in message.alternatives if mime == "text/html"), "")
    for address in message.recipients():
        user = User.objects.filter(email__iexact=address).first()
        if user is None or not user.anti_phishing_code:
            continue
        code = user.anti_phishing_code
        if code not in str(message.body):
            problems.append(f"{message.subject!r} to {address}: no anti-phishing code in the text part")
        if not html:
            problems.append(f"{message.subject!r} to {address}: no HTML part")
        elif code not in html:
            problems.append(f"{message.subject!r} to {address}: no anti-phishing code in the HTML part")
    return problems


class CheckingOutboxBackend(OutboxBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            VIOLATIONS.extend(missing_code(message))
        return super().send_messages(email_messages)
