"""The desk's clock: one function the SLA tests replace with a fake clock."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()
