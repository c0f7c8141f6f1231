"""Small helpers for the identity tests: TOTP codes, the outbox, links in emails."""

from __future__ import annotations

import re
import time

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from okpay.audit.models import AuditRecord
from okpay.identity import services
from okpay.identity.models import OutboundEmail, SecurityEvent, User


class Clock:
    """The time TOTP verification sees (tests move it on by 30 s steps instead of sleeping)."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now

    def tick(self, steps: int = 1) -> None:
        self.now += 30 * steps


def totp_code(device: TOTPDevice, now: float | None = None) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = now if now is not None else time.time()
    return f"{totp.token():06d}"


def enable_2fa(user: User, clock: Clock | None = None) -> tuple[TOTPDevice, list[str]]:
    device = services.totp_setup_start(user=user)
    codes = services.totp_setup_confirm(user=user, code=totp_code(device, clock.now if clock else None))
    device.refresh_from_db()
    if clock:
        clock.tick()
    return device, codes


def mails_to(address: str) -> list[OutboundEmail]:
    return [m for m in OutboundEmail.objects.order_by("pk") if address in m.to]


def link_in(mail: OutboundEmail, pattern: str) -> str:
    match = re.search(r"https?://[^\s\"<>]*" + pattern + r"[^\s\"<>]*", mail.body_text)
    assert match, f"no link matching {pattern!r} in:\n{mail.body_text}"
    return match.group(0)


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def token_of(url: str) -> str:
    return path_of(url).rstrip("/").rsplit("/", 1)[-1]


def kinds(user: User) -> list[str]:
    return list(SecurityEvent.objects.filter(user=user).order_by("pk").values_list("kind", flat=True))


def audited(action: str) -> int:
    return AuditRecord.objects.filter(action=action).count()
