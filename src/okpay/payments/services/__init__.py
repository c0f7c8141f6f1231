"""Payments services: every change of a customer transaction goes through here.

Each function is one database transaction (``transaction.atomic()``, which nests inside the API's
idempotency transaction): it locks what it changes, moves the money in the ledger, moves the
transaction's status along ``models.STATUS_MOVES``, appends a :class:`TransactionEvent`, and
writes the in-app notices (which therefore exist only if the change commits; the worker turns
them into outbox emails, see ``notify``).

Modules: ``core`` (checks, limits, risk, status moves), ``funding`` (top-up, withdrawal, bills,
cancel), ``transfers`` (recipients, transfers, claims, risk review), ``sweeps`` (the worker).

Where the money sits (every ledger transfer carries the transaction id as ``reference``):

- top-up: sandbox ``funding`` → wallet, at once;
- withdrawal: hold wallet → ``payout``; the bank settles it (post) or refuses it (void);
- transfer: wallet → recipient's wallet at once; when it must wait (``risk_review``,
  ``awaiting_claim``) a hold wallet → ``suspense``, settled by posting the hold and paying the
  recipient from suspense in one linked batch;
- bill payment: hold wallet → the biller's account; the biller confirms (post) or rejects (void).

Cancel, decline, expiry and return void the hold, so the money is available again at once.
"""

from __future__ import annotations

from okpay.payments.services.core import (  # noqa: F401
    _PHONE,
    _WALLET,
    COUNTED,
    MAX_AMOUNT,
    OUTGOING,
    RECIPIENT_LOOKUPS,
    SANDBOX_BANK,
    SANDBOX_CARD,
    Limits,
    _credit_peer,
    _day_start,
    _event,
    _lock_user,
    _locked,
    _move,
    _new,
    _now,
    _post,
    _risk_reason,
    _void,
    access_transaction,
    actor_of,
    amount_check,
    biller_account,
    ledger_post,
    limits_check,
    limits_for,
    mask_email,
    mask_name,
    payer_lock,
    sender_check,
    transaction_insert,
    transaction_move,
    transaction_void,
    wallet,
)
from okpay.payments.services.funding import (  # noqa: F401
    bill_payment_create,
    bill_payment_retry,
    billers_active,
    topup_create,
    transaction_cancel,
    withdrawal_create,
)
from okpay.payments.services.sweeps import (  # noqa: F401
    SWEEP_STEPS,
    _bank_refuses,
    _seconds,
    claims_for_verified_users,
    complete_one,
    overdue_flag_due,
    overdue_flag_one,
    payments_sweep,
    return_unclaimed_one,
    review_expire_one,
    submit_one,
    sweep_step,
)
from okpay.payments.services.transfers import (  # noqa: F401
    Recipient,
    _settle_held_transfer,
    _supervisor_check,
    claim_one,
    recipient_preview,
    recipient_resolve,
    risk_review_approve,
    risk_review_decline,
    transfer_create,
    transfers_claim_for,
)
