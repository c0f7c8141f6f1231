"""What payments plugs into identity (identity imports no other app; see its services module), and
what other apps plug into payments (``REFUND_OFFERS``: payments imports no app above it)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError
from django.utils.translation import gettext_noop

from okpay.core.errors import OkpayError
from okpay.identity.models import User
from okpay.ledger.errors import LedgerError

logger = logging.getLogger("okpay.payments")


@dataclass(frozen=True)
class RefundOffer:
    """What the transaction page shows about getting money back (filled by the app that decides:
    merchants, for payments to merchants and bill payments)."""

    url: str             # the page where the customer asks, and sees their requests
    who: str             # the merchant's or biller's name
    policy: str          # the policy in plain words (translated)
    open: bool           # a request can be made now (window open, something left to refund)
    requests: int = 0    # the customer's requests so far


# Callables ``(txn) -> RefundOffer | None``, appended by other apps in their AppConfig.ready
# (payments imports none of them); the first answer that is not None is shown.
REFUND_OFFERS: list[Callable[[Any], RefundOffer | None]] = []


# Callables ``(actor, txn) -> str | None``: why ``actor`` may not decide ``txn``'s risk review (a
# gettext_noop message), appended by support (a supervisor handling a ticket of that customer).
RISK_REVIEW_CONFLICTS: list[Callable[[User, Any], str | None]] = []


def refund_offer(txn: Any) -> RefundOffer | None:
    for offer in REFUND_OFFERS:
        found = offer(txn)
        if found is not None:
            return found
    return None


@dataclass(frozen=True)
class Followup:
    """What customer service does about a late transaction (filled by support): the ticket it opened."""

    number: str
    url: str
    answer_by: Any = None  # when an agent answers at the latest (None: already answered)
    settled: bool = False  # the transaction completed since; the ticket has a note about it
    open: bool = True      # the ticket is still open


# Callables ``(txn) -> Followup | None``, appended by support in its AppConfig.ready.
FOLLOWUPS: list[Callable[[Any], Followup | None]] = []


def followup(txn: Any) -> Followup | None:
    for find in FOLLOWUPS:
        found = find(txn)
        if found is not None:
            return found
    return None


def claim_after_verification(user: User) -> None:
    """EMAIL_VERIFIED_HOOKS: pay the transfers that waited for this email address. It runs after
    the verification committed; if the claim fails now (a busy database), the payments sweep
    claims them a few seconds later, so the customer's verification page is not broken by it."""
    from okpay.payments.services import transfers_claim_for

    try:
        transfers_claim_for(user)
    except (OkpayError, LedgerError, DatabaseError):
        logger.warning("claim after email verification failed; the sweep will retry", exc_info=True,
                       extra={"user": user.public_id})


def wallet_id_for(user: User) -> str | None:
    """WALLET_ID: the customer's CNY wallet id (the ledger account's public id)."""
    from okpay.payments.services import wallet

    return wallet(user, "CNY").public_id


def close_check(user: User) -> str | None:
    """CLOSE_CHECKS: no closing with money in the wallet or a payment still pending."""
    from okpay.ledger.selectors import balances_for_owner
    from okpay.payments.models import Status, Transaction

    if any(balance.total or balance.held for balance in balances_for_owner(user)):
        return gettext_noop("Withdraw or send the money in your wallet first.")
    if Transaction.objects.filter(user=user, status=Status.PENDING).exists():
        return gettext_noop("Wait until your pending payments finish, or cancel them.")
    return None
