"""The worker delivers the email outbox over real SMTP, retries, and runs periodic sweeps once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.mail import EmailMultiAlternatives, send_mail
from django.db import transaction
from django.utils import timezone

from okpay.core import worker
from okpay.core.models import IdempotencyRecord, PeriodicJob
from okpay.identity.models import OutboundEmail
from tests.conftest import run_worker_until_idle

pytestmark = pytest.mark.django_db(transaction=True)


def test_mail_is_stored_when_no_smtp_is_configured(settings) -> None:
    settings.OKPAY_EMAIL_URL = ""
    send_mail("你好", "正文", None, ["alice@example.com"])
    email = OutboundEmail.objects.get()
    assert email.status == OutboundEmail.Status.STORED
    assert email.to == ["alice@example.com"]
    assert email.subject == "你好"


def test_mail_in_a_rolled_back_transaction_is_never_sent(smtp_server) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        send_mail("Ghost", "never", None, ["alice@example.com"])
        raise RuntimeError("rolled back")
    run_worker_until_idle()
    assert not OutboundEmail.objects.exists()
    assert smtp_server.messages == []


def test_the_worker_delivers_over_smtp_with_text_and_html(smtp_server) -> None:
    message = EmailMultiAlternatives("账户通知", "纯文本部分", "OKPay <no-reply@okpay.example>", ["bob@example.com"])
    message.attach_alternative("<p>HTML 部分</p>", "text/html")
    message.send()
    assert OutboundEmail.objects.get().status == OutboundEmail.Status.QUEUED
    run_worker_until_idle()
    email = OutboundEmail.objects.get()
    assert email.status == OutboundEmail.Status.SENT
    assert email.attempts == 1
    [received] = smtp_server.messages
    assert received["Subject"] == "账户通知"
    assert received["To"] == "bob@example.com"
    assert received.get_body(("plain",)).get_content().strip() == "纯文本部分"
    assert "HTML 部分" in received.get_body(("html",)).get_content()


def test_a_temporary_smtp_failure_is_retried_with_backoff(smtp_server) -> None:
    smtp_server.handler.refuse = 1
    send_mail("Retry me", "body", None, ["bob@example.com"])
    run_worker_until_idle()
    email = OutboundEmail.objects.get()
    assert email.status == OutboundEmail.Status.QUEUED
    assert email.attempts == 1
    assert "451" in email.last_error
    assert email.next_attempt_at > timezone.now()
    assert smtp_server.messages == []
    # Pretend the backoff has passed: make the deferred task and the row due now.
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.update(run_after=timezone.now() - timedelta(seconds=1))
    OutboundEmail.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    run_worker_until_idle()
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT
    assert email.attempts == 2
    assert len(smtp_server.messages) == 1


def test_delivering_twice_sends_once(smtp_server) -> None:
    from okpay.identity.mail import outbound_email_deliver

    send_mail("Once", "body", None, ["bob@example.com"])
    email = OutboundEmail.objects.get()
    assert outbound_email_deliver(email_id=email.pk) == "sent"
    assert outbound_email_deliver(email_id=email.pk) == "sent"
    run_worker_until_idle()
    assert len(smtp_server.messages) == 1


def test_an_unreachable_server_is_recorded_not_raised(settings) -> None:
    from tests.smtp import free_port

    settings.OKPAY_EMAIL_URL = "smtp://127.0.0.1:1"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    send_mail("Down", "body", None, ["bob@example.com"])
    run_worker_until_idle()
    email = OutboundEmail.objects.get()
    assert email.status == OutboundEmail.Status.QUEUED
    assert "ConnectionRefusedError" in email.last_error


def test_sweeps_run_when_due_and_only_once_per_interval() -> None:
    now = timezone.now()
    IdempotencyRecord.objects.create(scope="usr_x", key="old", fingerprint="f", method="POST", path="/",
                                     lease_token="t", created_at=now - timedelta(days=3),
                                     expires_at=now - timedelta(days=1))
    assert worker.run_due_sweeps() == len(worker.sweeps())
    assert not IdempotencyRecord.objects.exists()
    job = PeriodicJob.objects.get(name="okpay.core.idempotency.prune_expired")
    assert job.runs == 1
    assert job.next_run_at > now
    assert worker.run_due_sweeps() == 0  # nothing is due again yet
    assert PeriodicJob.objects.get(pk=job.pk).runs == 1


def test_a_failing_sweep_is_logged_and_does_not_stop_the_others(settings, caplog) -> None:
    settings.OKPAY_EXTRA_SWEEPS = {"tests.core.test_worker_and_outbox.broken_sweep": 60}
    ran = worker.run_due_sweeps()
    assert ran == len(worker.sweeps())
    broken = PeriodicJob.objects.get(name="tests.core.test_worker_and_outbox.broken_sweep")
    assert "sweep exploded" in broken.last_error
    assert PeriodicJob.objects.get(name="okpay.core.idempotency.prune_expired").runs == 1


def broken_sweep() -> None:
    raise ValueError("sweep exploded")


def test_an_email_whose_task_was_lost_is_sent_by_the_sweep(smtp_server) -> None:
    from django_tasks_db.models import DBTaskResult

    from okpay.identity.mail import requeue_stuck

    send_mail("Lost task", "body", None, ["bob@example.com"])
    DBTaskResult.objects.all().delete()  # a crash between the commit and the task's run
    assert requeue_stuck() == 0  # not overdue yet: its task may still come
    OutboundEmail.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=11))
    assert requeue_stuck() == 1
    run_worker_until_idle()
    assert OutboundEmail.objects.get().status == OutboundEmail.Status.SENT
    assert len(smtp_server.messages) == 1
