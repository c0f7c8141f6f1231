"""The SMS gateway interface. ``OKPAY_SMS_BACKEND`` names the class; the default is a sandbox
outbox (like the email one) readable at ``/dev/mail/sms/`` in debug. A real gateway implements
``send(to, body)`` and is called after the transaction commits."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from okpay.identity.models import OutboundSms


class BaseSmsBackend:
    transactional = False

    def send(self, *, to: str, body: str) -> None:
        raise NotImplementedError


class OutboxSmsBackend(BaseSmsBackend):
    """Stores the message (in the caller's transaction); nothing leaves the machine."""

    transactional = True

    def send(self, *, to: str, body: str) -> None:
        OutboundSms.objects.create(to=to, body=body)


def sms_backend() -> BaseSmsBackend:
    return import_string(settings.OKPAY_SMS_BACKEND)()


def sms_send(*, to: str, body: str) -> None:
    backend = sms_backend()
    if backend.transactional:
        backend.send(to=to, body=body)
    else:
        transaction.on_commit(lambda: backend.send(to=to, body=body))
