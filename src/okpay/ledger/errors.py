"""Typed refusals of the ledger. The ledger imports no other okpay app, so these stand alone;
the API maps them to HTTP by ``code`` (``okpay.api.errors``).

Every error has a stable ``code``, a ``message`` and, when it came from a batch, the ``index``
of the first transfer that failed (``None`` otherwise). :class:`LedgerBusy` is the only one
worth retrying: the database stayed contended (lock wait, deadlock, serialization failure)
through every retry the ledger made in its own transaction. (Inside a caller's transaction the
ledger does not retry; the transient database error itself reaches the caller.)
"""

from __future__ import annotations


class LedgerError(Exception):
    code = "ledger_error"
    default_message = "The ledger refused the request."

    def __init__(self, message: str | None = None, *, index: int | None = None, param: str | None = None) -> None:
        self.message = str(message or self.default_message)
        self.index = index
        self.param = param
        super().__init__(self.message)

    def at(self, index: int) -> LedgerError:
        """The same error, located at position ``index`` of a batch."""
        self.index = index
        return self

    def __str__(self) -> str:
        return self.message if self.index is None else f"transfer {self.index}: {self.message}"


class InvalidTransfer(LedgerError):
    code = "invalid_transfer"
    default_message = "The transfer is not valid."


class AccountNotFound(LedgerError):
    code = "account_not_found"
    default_message = "The account does not exist."


class PendingNotFound(LedgerError):
    code = "pending_not_found"
    default_message = "There is no pending transfer with this id."


class AccountFrozen(LedgerError):
    code = "account_frozen"
    default_message = "The account is frozen: money cannot leave it."


class CurrencyMismatch(LedgerError):
    code = "currency_mismatch"
    default_message = "The transfer's currency differs from an account's currency."


class InsufficientFunds(LedgerError):
    code = "insufficient_funds"
    default_message = "The account does not have enough available funds."


class ExceedsDebits(LedgerError):
    """A credit would take an account that keeps credits within debits past its debits."""

    code = "exceeds_debits"
    default_message = "The credit would exceed the account's debits."


class PendingAlreadyResolved(LedgerError):
    code = "pending_already_resolved"


class PendingAlreadyPosted(PendingAlreadyResolved):
    code = "pending_already_posted"
    default_message = "The pending transfer was already posted."


class PendingAlreadyVoided(PendingAlreadyResolved):
    code = "pending_already_voided"
    default_message = "The pending transfer was already voided."


class PendingAlreadyExpired(PendingAlreadyResolved):
    code = "pending_already_expired"
    default_message = "The pending transfer has expired."


class ExceedsPendingAmount(LedgerError):
    code = "exceeds_pending_amount"
    default_message = "The amount to post exceeds the pending amount."


class DuplicateTransferId(LedgerError):
    code = "duplicate_transfer_id"
    default_message = "A transfer with this id already exists with different fields."


class LedgerBusy(LedgerError):
    """Retryable: lock contention, a deadlock or a serialization failure."""

    code = "ledger_busy"
    default_message = "The ledger is busy. Try again."


__all__ = [
    "AccountFrozen", "AccountNotFound", "CurrencyMismatch", "DuplicateTransferId", "ExceedsDebits",
    "ExceedsPendingAmount", "InsufficientFunds", "InvalidTransfer", "LedgerBusy", "LedgerError",
    "PendingAlreadyExpired", "PendingAlreadyPosted", "PendingAlreadyResolved", "PendingAlreadyVoided",
    "PendingNotFound",
]
