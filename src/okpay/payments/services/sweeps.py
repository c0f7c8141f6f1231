"""What the worker does (``payments_sweep`` in core.worker.SWEEPS): the sandbox bank and billers answer,
unclaimed transfers return, reviews expire, overdue ones are flagged, notices are emailed."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from okpay.identity.models import User
from okpay.ledger.services import PostPending
from okpay.payments import billers as biller_rules
from okpay.payments import notify
from okpay.payments.models import (
    PendingReason,
    Status,
    Transaction,
)
from okpay.payments.services.core import (
    _locked,
    _move,
    _now,
    _post,
    _void,
)
from okpay.payments.services.transfers import transfers_claim_for

# --- what the sandbox bank and billers do (called by the sweeps, one row per transaction) ------------

def _bank_refuses(txn: Transaction) -> bool:
    digest = hashlib.sha256(txn.public_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < settings.OKPAY_WITHDRAWAL_FAILURE_PERCENT


def submit_one(txn: Transaction, *, actor: str) -> bool:
    """Hand a pending withdrawal or bill payment to the bank/biller: from now on it cannot be cancelled."""
    if txn.status != Status.PENDING or txn.submitted_at is not None or txn.pending_reason not in (
            PendingReason.AWAITING_BANK, PendingReason.AWAITING_BILLER):
        return False
    txn.submitted_at = _now()
    _move(txn, Status.PENDING, actor=actor, reason="submitted", pending_reason=txn.pending_reason,
          expected_by=txn.expected_by, fields=("submitted_at",))
    return True


def complete_one(txn: Transaction, *, actor: str) -> bool:
    """The bank settles or refuses a submitted withdrawal; the biller confirms or rejects a bill."""
    if txn.status != Status.PENDING or txn.submitted_at is None:
        return False
    hold = txn.hold_transfer
    assert hold is not None
    if txn.pending_reason == PendingReason.AWAITING_BANK:
        refused = _bank_refuses(txn)
        failure = "bank_refused"
    elif txn.pending_reason == PendingReason.AWAITING_BILLER:
        refused = not biller_rules.biller_accepts(txn.biller, txn.account_reference)  # type: ignore[arg-type]
        failure = "reference_rejected"
    else:
        return False
    if refused:
        _void(txn, Status.FAILED, actor=actor, reason=failure, failure_reason=failure)
        notify.send(txn, "failed")
    else:
        (posted,) = _post([PostPending(hold.public_id, id=f"{txn.public_id}-post", actor=actor)])
        txn.settle_transfer = posted
        _move(txn, Status.SUCCEEDED, actor=actor, reason="settled" if failure == "bank_refused" else "confirmed",
              fields=("settle_transfer",))
        notify.send(txn, "settled")
    return True


def return_unclaimed_one(txn: Transaction, *, actor: str) -> bool:
    if not (txn.status == Status.PENDING and txn.pending_reason == PendingReason.AWAITING_CLAIM):
        return False
    _void(txn, Status.CANCELLED, actor=actor, reason="returned_unclaimed")
    notify.send(txn, "returned")
    return True


def review_expire_one(txn: Transaction, *, actor: str) -> bool:
    if not (txn.status == Status.PENDING and txn.pending_reason == PendingReason.RISK_REVIEW):
        return False
    _void(txn, Status.CANCELLED, actor=actor, reason="review_expired")
    notify.send(txn, "cancelled")
    return True


def overdue_flag_one(txn: Transaction, *, actor: str) -> bool:
    if txn.status != Status.PENDING or txn.overdue_flagged_at is not None:
        return False
    txn.overdue_flagged_at = _now()
    _move(txn, Status.PENDING, actor=actor, reason="overdue_flagged_for_support", pending_reason=txn.pending_reason,
          expected_by=txn.expected_by, fields=("overdue_flagged_at",))
    return True


def _seconds(value: int) -> timedelta:
    return timedelta(seconds=value)


SWEEP_STEPS = {
    # name: (queryset of due rows at ``now``, handler)
    "withdrawal_submit": (lambda now: Q(pending_reason=PendingReason.AWAITING_BANK, submitted_at__isnull=True,
                                        created_at__lte=now - _seconds(settings.OKPAY_WITHDRAWAL_SUBMIT_SECONDS)),
                          submit_one),
    "withdrawal_settle": (lambda now: Q(pending_reason=PendingReason.AWAITING_BANK, submitted_at__isnull=False,
                                        submitted_at__lte=now - _seconds(settings.OKPAY_WITHDRAWAL_SETTLE_SECONDS)),
                          complete_one),
    "bill_submit": (lambda now: Q(pending_reason=PendingReason.AWAITING_BILLER, submitted_at__isnull=True,
                                  created_at__lte=now - _seconds(settings.OKPAY_BILL_SUBMIT_SECONDS)),
                    submit_one),
    "bill_confirm": (lambda now: Q(pending_reason=PendingReason.AWAITING_BILLER, submitted_at__isnull=False,
                                   submitted_at__lte=now - _seconds(settings.OKPAY_BILL_CONFIRM_SECONDS)),
                     complete_one),
    "claim_return": (lambda now: Q(pending_reason=PendingReason.AWAITING_CLAIM, expected_by__lte=now),
                     return_unclaimed_one),
    "review_expire": (lambda now: Q(pending_reason=PendingReason.RISK_REVIEW, expected_by__lte=now),
                      review_expire_one),
}


def sweep_step(name: str, *, now: datetime | None = None, limit: int = 500) -> int:
    """Process due rows of one step, one transaction per row, each row claimed with
    ``select_for_update(skip_locked=True)``: safe on any number of workers, and idempotent
    (a handler re-checks the row's state after locking it)."""
    condition, handler = SWEEP_STEPS[name]
    done = 0
    seen: set[int] = set()
    while done < limit:
        moment = now or _now()
        with transaction.atomic():
            txn = (Transaction.objects.select_for_update(skip_locked=True, of=("self",))
                   .select_related("user", "hold_transfer", "biller")
                   .filter(condition(moment), status=Status.PENDING).exclude(pk__in=seen).order_by("pk").first())
            if txn is None:
                break
            seen.add(txn.pk)
            if handler(txn, actor=f"system:{name}"):
                done += 1
    return done


def overdue_flag_due(*, now: datetime | None = None, limit: int = 500) -> int:
    moment = now or _now()
    done = 0
    ids = list(Transaction.objects.filter(status=Status.PENDING, expected_by__lt=moment,
                                          overdue_flagged_at__isnull=True)
               .exclude(pending_reason__in=(PendingReason.AWAITING_CLAIM, PendingReason.RISK_REVIEW))
               .order_by("pk").values_list("pk", flat=True)[:limit])
    for pk in ids:
        with transaction.atomic():
            txn = _locked(pk, skip_locked=True)
            if txn is not None and overdue_flag_one(txn, actor="system:overdue"):
                done += 1
    return done


def claims_for_verified_users(*, limit: int = 200) -> int:
    """Safety net for the verification hook: pay waiting transfers whose recipient has verified."""
    emails = set(Transaction.objects.filter(status=Status.PENDING, pending_reason=PendingReason.AWAITING_CLAIM)
                 .values_list("recipient_email", flat=True)[:limit])
    claimed = 0
    for user in User.objects.filter(email__in=emails, email_verified_at__isnull=False, is_active=True):
        claimed += transfers_claim_for(user)
    return claimed


def payments_sweep() -> dict[str, int]:
    """The worker's periodic sweep (core.worker.SWEEPS)."""
    counts = {name: sweep_step(name) for name in SWEEP_STEPS}
    counts["claims"] = claims_for_verified_users()
    counts["overdue"] = overdue_flag_due()
    counts["emails"] = notify.emails_send_due()
    return counts
