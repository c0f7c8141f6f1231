"""The email outbox: every message OKPay sends is a row written in the sender's transaction.

``EMAIL_BACKEND`` is :class:`OutboxBackend`, so anything that calls Django's mail API (our
services, Django's own password machinery) writes to :class:`OutboundEmail` and enqueues
:func:`deliver_email` in the same transaction. The worker delivers it over SMTP
(``OKPAY_EMAIL_URL``) and retries with exponential backoff; without SMTP the message stays
``stored`` and is readable at ``/dev/mail`` in debug.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from okpay.identity.models import OutboundEmail

logger = logging.getLogger("okpay.mail")

MAX_ATTEMPTS = 12  # ≈ 2 days of backoff
_BACKOFF_CAP = timedelta(hours=6)


def smtp_configured() -> bool:
    return bool(getattr(settings, "OKPAY_EMAIL_URL", ""))


class OutboxBackend(BaseEmailBackend):
    """Stores messages in the outbox (within the current transaction) instead of sending them."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        count = 0
        with transaction.atomic():
            for message in email_messages:
                recipients = message.recipients()
                if not recipients:
                    continue
                html = ""
                if isinstance(message, EmailMultiAlternatives):
                    html = next((content for content, mime in message.alternatives if mime == "text/html"), "")
                row = OutboundEmail.objects.create(
                    from_email=message.from_email or settings.DEFAULT_FROM_EMAIL,
                    to=list(recipients),
                    subject=str(message.subject)[:998],
                    body_text=str(message.body),
                    body_html=str(html),
                    message=message.message().as_bytes(linesep="\r\n"),
                    status=OutboundEmail.Status.QUEUED if smtp_configured() else OutboundEmail.Status.STORED,
                )
                if smtp_configured():
                    deliver_email.enqueue(row.pk)
                count += 1
        return count


def _smtp_connection() -> SmtpBackend:
    return SmtpBackend(
        host=settings.EMAIL_HOST, port=settings.EMAIL_PORT, username=settings.EMAIL_HOST_USER,
        password=settings.EMAIL_HOST_PASSWORD, use_tls=settings.EMAIL_USE_TLS, use_ssl=settings.EMAIL_USE_SSL,
        timeout=settings.EMAIL_TIMEOUT, fail_silently=False,
    )


def outbound_email_deliver(*, email_id: int) -> str:
    """Send one queued message once; on failure schedule the next attempt. Safe to run twice."""
    with transaction.atomic():
        row = OutboundEmail.objects.select_for_update().filter(pk=email_id).first()
        if row is None or row.status != OutboundEmail.Status.QUEUED:
            return row.status if row else "missing"
        if row.next_attempt_at and row.next_attempt_at > timezone.now():
            return "not_due"
        row.attempts += 1
        # Claim it for this attempt so that a concurrent run does not send it too.
        row.next_attempt_at = timezone.now() + timedelta(minutes=5)
        row.save(update_fields=["attempts", "next_attempt_at"])
    error = ""
    try:
        backend = _smtp_connection()
        backend.open()
        try:
            backend.connection.sendmail(row.from_email, row.to, bytes(row.message))  # type: ignore[union-attr]
        finally:
            backend.close()
    except (smtplib.SMTPException, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    now = timezone.now()
    if not error:
        OutboundEmail.objects.filter(pk=row.pk).update(status=OutboundEmail.Status.SENT, sent_at=now,
                                                        next_attempt_at=None, last_error="")
        return "sent"
    if row.attempts >= MAX_ATTEMPTS:
        OutboundEmail.objects.filter(pk=row.pk).update(status=OutboundEmail.Status.FAILED, last_error=error)
        logger.error("email delivery gave up", extra={"email_id": row.pk, "error": error})
        return "failed"
    delay = min(timedelta(seconds=30 * 2 ** (row.attempts - 1)), _BACKOFF_CAP)
    with transaction.atomic():
        OutboundEmail.objects.filter(pk=row.pk).update(next_attempt_at=now + delay, last_error=error)
        deliver_email.using(run_after=now + delay).enqueue(row.pk)
    logger.warning("email delivery failed; will retry", extra={"email_id": row.pk, "error": error})
    return "retry"


@task(queue_name="email")
def deliver_email(email_id: int) -> str:
    return outbound_email_deliver(email_id=email_id)


def requeue_stuck() -> int:
    """Sweep: a queued message whose attempt is long overdue lost its task (e.g. a crash); enqueue again."""
    if not smtp_configured():
        return 0
    from okpay.core.worker import requeue_lost

    cutoff = timezone.now() - timedelta(minutes=10)
    return requeue_lost(OutboundEmail.objects.filter(status=OutboundEmail.Status.QUEUED, next_attempt_at__lt=cutoff),
                        deliver_email)
