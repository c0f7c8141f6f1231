"""The mailbox's deployment check (``okpay check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register

AUTHSERV_HINT = (
    "Have the MTA that receives support mail add Authentication-Results (SPF, DKIM, DMARC; e.g. "
    "OpenDMARC / rspamd with authserv_id mx.example.com) and remove any such header claiming its id "
    "from incoming mail, then set OKPAY_MAIL_AUTHSERV_ID to that authserv-id."
)


@register(Tags.security, deploy=True)
def mail_authserv_id_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Without ``OKPAY_MAIL_AUTHSERV_ID`` no Authentication-Results header counts (anyone can write
    one), so every inbound email's sender stays unverified (``okpay.mailbox.parse.authentication``)."""
    if settings.OKPAY_MAIL_AUTHSERV_ID:
        return []
    return [Warning("OKPAY_MAIL_AUTHSERV_ID is not set: no inbound email can prove its sender, so every email "
                    "ticket stays unverified (no wallet context, no account actions until the customer proves "
                    "the address).", hint=AUTHSERV_HINT, id="mailbox.W001")]
