from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from tests.smtp import free_port
from tests.support.conftest import fake_clock  # noqa: F401  (the desk's clock, for the SLA test)

SUPPORT = "support@okpay.example"
AUTHSERV = "mx.okpay.example"  # the authserv-id of "our" MTA in tests that configure one


def passed(domain: str = "example.com") -> str:
    """The Authentication-Results our MTA writes for mail from ``domain`` that passed DMARC."""
    return (f"{AUTHSERV}; spf=pass smtp.mailfrom={domain}; dkim=pass header.d={domain}; "
            f"dmarc=pass header.from={domain}")


@pytest.fixture
def our_mta(settings):  # type: ignore[no-untyped-def]
    """``OKPAY_MAIL_AUTHSERV_ID`` configured: mail that passed our MTA's checks proves its sender."""
    settings.OKPAY_MAIL_AUTHSERV_ID = AUTHSERV
    return AUTHSERV


@pytest.fixture(autouse=True)
def _mail_settings(settings):  # type: ignore[no-untyped-def]
    settings.OKPAY_SUPPORT_EMAIL = SUPPORT
    settings.OKPAY_MAIL_ADDRESSES = [SUPPORT, "help@okpay.example"]
    settings.OKPAY_MAIL_SENDER_LIMIT = 1000  # the rate-limit test lowers it for a sender of its own
    settings.OKPAY_MAIL_AUTHSERV_ID = ""


class Smtpd:
    """``okpay smtpd`` on a free port, in this process (its Django work runs in its own thread)."""

    def __init__(self) -> None:
        from okpay.mailbox.smtpd import controller

        self.port = free_port()
        self.controller = controller("127.0.0.1", self.port)

    def send(self, msg: EmailMessage | bytes, *, sender: str = "", to: str = SUPPORT) -> dict[str, tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as client:
            if isinstance(msg, bytes):
                return client.sendmail(sender or "someone@example.org", [to], msg)
            return client.send_message(msg, from_addr=sender or None, to_addrs=[to])


@pytest.fixture
def smtpd(transactional_db) -> Iterator[Smtpd]:  # type: ignore[no-untyped-def]
    server = Smtpd()
    server.controller.start()
    yield server
    server.controller.stop()


def mail(sender: str, subject: str, body: str = "", *, html: str = "", to: str = SUPPORT,
         **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.org")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    if body:
        msg.set_content(body)
    if html:
        if body:
            msg.add_alternative(html, subtype="html")
        else:
            msg.set_content(html, subtype="html")
    return msg
