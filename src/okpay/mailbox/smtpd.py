"""``okpay smtpd``: an SMTP server (aiosmtpd) that takes mail for the support addresses.

It answers in the SMTP conversation itself: ``550`` for a recipient that is not ours, ``552``
for a message over ``OKPAY_MAIL_MAX_BYTES`` (announced with ``SIZE`` in EHLO, so most clients
learn it before sending) or over the attachment limits, ``451`` when a sender exceeds the rate
limit or on a temporary failure (the sending server tries again), ``250`` once the message is
stored. The Django work runs in one worker thread, one message at a time.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import DatabaseError, close_old_connections

from okpay.mailbox.services import MailRefused, accepts, inbound_email_receive
from okpay.support.emails import mail_domain

logger = logging.getLogger("okpay.mailbox")


def _receive(content: bytes, rcpt_tos: list[str]) -> str:
    close_old_connections()
    try:
        return inbound_email_receive(content, rcpt_tos=rcpt_tos).smtp
    except MailRefused as exc:
        return exc.smtp
    except DatabaseError:
        logger.exception("inbound mail: database error")
        return "451 4.3.0 Temporary failure, try again later"
    finally:
        close_old_connections()


class SupportMailHandler:
    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="okpay-smtpd")

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if not accepts(address):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, _receive, content, list(envelope.rcpt_tos))


def controller(host: str | None = None, port: int | None = None) -> Controller:
    """The SMTP server (not yet started): ``.start()`` runs it in a thread, ``.stop()`` ends it."""
    # aiosmtpd logs every command (with the addresses) at INFO: keep our JSON logs to what matters
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    return Controller(SupportMailHandler(), hostname=host or settings.OKPAY_SMTPD_HOST,
                      port=port or settings.OKPAY_SMTPD_PORT, data_size_limit=settings.OKPAY_MAIL_MAX_BYTES,
                      server_hostname=mail_domain(), ident="OKPay support mail")
