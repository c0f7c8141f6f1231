"""The sandbox biller catalogue and account-reference checks.

Each biller says how its account reference looks (``reference_pattern``, checked before paying).
The sandbox billers then accept a reference when its last digit is the Luhn check digit of the
others (like a real utility's account-number check digit) and reject it otherwise: that is how a
customer (or a test) sees a rejected bill payment come back.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.utils.translation import gettext_noop

from okpay.payments.models import Biller

CATALOGUE: tuple[dict[str, object], ...] = (
    {"code": "state-grid-sh", "name": "国网上海电力", "name_en": "State Grid Shanghai Electric",
     "category": "electricity", "reference_label": gettext_noop("Customer number (10 digits)"),
     "reference_pattern": r"\d{10}", "reference_example": "1234567897"},
    {"code": "sh-water", "name": "上海城投水务", "name_en": "Shanghai Water",
     "category": "water", "reference_label": gettext_noop("Account number (8 digits)"),
     "reference_pattern": r"\d{8}", "reference_example": "12345674"},
    {"code": "sh-gas", "name": "上海燃气", "name_en": "Shanghai Gas",
     "category": "gas", "reference_label": gettext_noop("Gas account (2 letters + 8 digits)"),
     "reference_pattern": r"[A-Z]{2}\d{8}", "reference_example": "SG12345674"},
    {"code": "china-mobile", "name": "中国移动话费充值", "name_en": "China Mobile top-up",
     "category": "mobile", "reference_label": gettext_noop("Mobile number (11 digits, starts with 1)"),
     "reference_pattern": r"1[3-9]\d{9}", "reference_example": "13800138003", "min_amount": 1000,
     "max_amount": 50_000},
    {"code": "china-unicom", "name": "中国联通话费充值", "name_en": "China Unicom top-up",
     "category": "mobile", "reference_label": gettext_noop("Mobile number (11 digits, starts with 1)"),
     "reference_pattern": r"1[3-9]\d{9}", "reference_example": "13012345677", "min_amount": 1000,
     "max_amount": 50_000},
)


def luhn_ok(digits: str) -> bool:
    numbers = [int(ch) for ch in digits if ch.isdigit()]
    if len(numbers) < 2:
        return False
    total = 0
    for position, number in enumerate(reversed(numbers)):
        if position % 2 == 1:
            number *= 2
            if number > 9:
                number -= 9
        total += number
    return total % 10 == 0


def normalize_reference(reference: str) -> str:
    return re.sub(r"[\s-]", "", reference or "").upper()


def reference_valid(biller: Biller, reference: str) -> bool:
    return re.fullmatch(biller.reference_pattern, reference) is not None


def biller_accepts(biller: Biller, reference: str) -> bool:
    """What the sandbox biller answers for a well-formed reference."""
    return luhn_ok(reference)


def biller_refund_decision(biller: Biller, *, amount: int) -> str:
    """What the sandbox biller answers to a refund request of a confirmed bill payment: ``""`` to
    approve, or why it declines. Deterministic: a phone top-up was credited to the number at once
    and cannot be taken back (declined ``top_up_delivered``); a utility credits the overpayment back."""
    if biller.category == "mobile":
        return "top_up_delivered"
    return ""


@transaction.atomic
def billers_seed() -> int:
    """Create or update the sandbox catalogue (``okpay demo`` and the first migration call it)."""
    changed = 0
    for row in CATALOGUE:
        values = {k: v for k, v in row.items() if k != "code"}
        _, created = Biller.objects.update_or_create(code=row["code"], defaults=values)
        changed += int(created)
    return changed
