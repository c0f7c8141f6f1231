"""Typed refusals of payments; the API turns them into API.md's codes, pages into sentences."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from okpay.core.errors import BusinessRuleError, Conflict, Forbidden, InvalidRequest
from okpay.ledger import errors as ledger_errors


class InsufficientFunds(BusinessRuleError):
    code = "insufficient_funds"
    default_message = gettext_noop("Your available balance is not enough for this payment.")


class LimitExceeded(BusinessRuleError):
    code = "limit_exceeded"
    default_message = gettext_noop("This payment is over your limit.")


class RecipientNotFound(BusinessRuleError):
    code = "recipient_not_found"
    default_message = gettext_noop("No OKPay customer has this phone number or wallet id.")


class AccountFrozen(Forbidden):
    code = "account_frozen"
    default_message = gettext_noop("Your account is frozen: no money can leave your wallet. Contact customer service.")


class EmailNotVerified(Forbidden):
    code = "email_not_verified"
    default_message = gettext_noop("Verify your email address before sending money.")


class NotCancellable(Conflict):
    code = "not_cancellable"
    default_message = gettext_noop("This transaction can no longer be cancelled.")


class NotRetryable(Conflict):
    code = "not_retryable"
    default_message = gettext_noop("Only a failed bill payment can be paid again.")


class AlreadyRetried(Conflict):
    code = "already_retried"
    default_message = gettext_noop("This failed bill payment was already paid again.")


class RiskReviewConflict(Forbidden):
    code = "conflict_of_interest"
    default_message = gettext_noop("You cannot decide a risk review of your own transfer.")


class InvalidPayment(InvalidRequest):
    code = "invalid_request"


def from_ledger(exc: ledger_errors.LedgerError) -> Exception:
    """The customer-facing error for a ledger refusal (others are bugs or contention)."""
    if isinstance(exc, ledger_errors.InsufficientFunds):
        return InsufficientFunds(param="amount")
    if isinstance(exc, ledger_errors.AccountFrozen):
        return AccountFrozen()
    if isinstance(exc, ledger_errors.LedgerBusy):
        return Conflict(gettext_noop("The service is busy. Try again in a moment."))
    return exc
