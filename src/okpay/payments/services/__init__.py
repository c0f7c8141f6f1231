"""Payments services: every change of a customer transaction goes through here.

Each function is one database transaction (``okpay.core.db.service_atomic``: it nests inside the
API's idempotency transaction, without a savepoint since that one is rolled back whole on any
error): it locks what it changes, moves the money in the ledger, moves the transaction's status
along ``models.STATUS_MOVES``, appends a :class:`TransactionEvent`, and writes the in-app notices
(which therefore exist only if the change commits; the worker turns them into outbox emails, see
``notify``).

Limits: a payment out of a wallet is counted on the customer's :class:`PayerUsage` row by
``limits_take`` (which also refuses a frozen payer) before any money moves, and created at the
time it returns; a payment that stops counting gives its amount back (``usage_give_back``, done by
``transaction_void`` and ``transaction_move``), in the transaction of that change.

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
    Usage,
    _credit_peer,
    _event,
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
    counts_toward_limits,
    ledger_post,
    limits_for,
    limits_take,
    local_day,
    mask_email,
    mask_name,
    pay_again_link,
    pay_again_of,
    sender_check,
    step_up,
    transaction_insert,
    transaction_move,
    transaction_void,
    usage_give_back,
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
    payee_is_new,
    recipient_preview,
    recipient_resolve,
    risk_review_approve,
    risk_review_conflict,
    risk_review_decline,
    transfer_create,
    transfers_claim_for,
)
