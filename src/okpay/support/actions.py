"""Agent actions on a customer's account, taken from a ticket.

Each is a service that checks permissions, demands a reason, writes an audit record and leaves
an internal note on the ticket. An action on money above ``OKPAY_SUPPORT_FOUR_EYES_AMOUNT``, and
an unfreeze asked by someone who is not a supervisor, wait as an :class:`ActionRequest` until a
second person — a supervisor other than the requester — approves it (four-eyes). The amount is an
agent's day on one customer, not one action: the money actions the same agent asked for the same
customer since local midnight (waiting or done) count towards it, so splitting a large amount into
small actions does not escape the second person.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_noop

from okpay.audit.services import audit_record
from okpay.core.errors import Forbidden, InvalidRequest, NotFound, OkpayError
from okpay.identity import services as identity
from okpay.identity.models import User
from okpay.support import clock, notes, wallet
from okpay.support.models import ActionRequest, Ticket
from okpay.support.permissions import can, require
from okpay.support.services import Conflict, event_add, system_note

# The words of ActionRequest.State's labels, as message ids for notes (the model's are lazy).
STATE_WORDS = {"pending": gettext_noop("Waiting for approval"), "executed": gettext_noop("Done"),
               "rejected": gettext_noop("Rejected"), "failed": gettext_noop("Failed")}

OUTCOMES = {
    "sent": gettext_noop("email sent"), "unknown": gettext_noop("email sent"),
    "frozen": gettext_noop("account frozen"), "unfrozen": gettext_noop("account unfrozen"),
    "cancelled": gettext_noop("transaction cancelled"), "succeeded": gettext_noop("transaction completed"),
    "failed": gettext_noop("transaction declined"), "pending": gettext_noop("transaction still pending"),
    "refund_requested": gettext_noop("refund requested from the merchant"),
}


class ActionNotPending(Conflict):
    code = "action_not_pending"


@dataclass(frozen=True)
class ActionKind:
    label: str
    run: Callable[[ActionRequest, User, User], dict[str, Any]]  # (action, customer, executor) → result
    supervisor_only: bool = False
    needs_transaction: bool = False
    money: bool = False
    precheck: Callable[[Any], None] | None = None  # (transaction) → raises when the action cannot be asked


def _password_reset(action: ActionRequest, customer: User, executor: User) -> dict[str, Any]:
    # The customer gets the seed's reset link by email; the agent never sees or sets a password.
    return {"outcome": identity.password_reset_send(email=customer.email, ip=None, user_agent="okpay-desk")}


def _verification_resend(action: ActionRequest, customer: User, executor: User) -> dict[str, Any]:
    if customer.email_verified:
        raise Conflict(gettext_noop("The email address is already verified."))
    identity.email_verification_resend(user=customer)
    return {"outcome": "sent"}


def _freeze(action: ActionRequest, customer: User, executor: User) -> dict[str, Any]:
    if not identity.account_freeze(user=customer, via=f"support:{executor.public_id}"):
        raise Conflict(gettext_noop("The account is already frozen."))
    return {"outcome": "frozen"}


def _unfreeze(action: ActionRequest, customer: User, executor: User) -> dict[str, Any]:
    identity.account_unfreeze(user=customer, actor=executor, reason=action.reason)
    return {"outcome": "unfrozen"}


KINDS: dict[str, ActionKind] = {
    "password_reset_link": ActionKind(gettext_noop("Send a password-reset link"), _password_reset),
    "verification_resend": ActionKind(gettext_noop("Resend the verification email"), _verification_resend),
    "freeze": ActionKind(gettext_noop("Freeze the account"), _freeze),
    "unfreeze": ActionKind(gettext_noop("Unfreeze the account"), _unfreeze, supervisor_only=True),
}


def _payments_kinds() -> None:
    """The actions on transactions, through the payments services (registered when they exist)."""
    if not wallet.payments_ready():
        return
    try:
        from okpay.payments import services as payments
    except ImportError:
        return

    if hasattr(payments, "transaction_cancel"):
        def _cancel(action: ActionRequest, customer: User, executor: User) -> dict[str, Any]:
            txn = payments.transaction_cancel(user=customer, txn_id=action.params["transaction_id"], actor=executor)
            return {"outcome": txn.status}

        KINDS["transaction_cancel"] = ActionKind(gettext_noop("Cancel the pending transaction"), _cancel,
                                                 needs_transaction=True, money=True)
    if hasattr(payments, "risk_review_approve"):
        def _approve(action: ActionRequest, customer: User, executor: User) -> dict[str, Any]:
            txn = payments.risk_review_approve(txn_id=action.params["transaction_id"], actor=executor)
            return {"outcome": txn.status}

        def _decline(action: ActionRequest, customer: User, executor: User) -> dict[str, Any]:
            txn = payments.risk_review_decline(txn_id=action.params["transaction_id"], actor=executor,
                                               reason="declined_by_support")
            return {"outcome": txn.status}

        # payments lets only supervisors decide a risk review: an agent's request waits for one.
        KINDS["risk_review_approve"] = ActionKind(gettext_noop("Approve the risk review"), _approve,
                                                  supervisor_only=True, needs_transaction=True, money=True)
        KINDS["risk_review_decline"] = ActionKind(gettext_noop("Decline the risk review"), _decline,
                                                  supervisor_only=True, needs_transaction=True, money=True)

    if hasattr(payments, "bill_payment_retry"):
        def _retry(action: ActionRequest, customer: User, executor: User) -> dict[str, Any]:
            txn = payments.bill_payment_retry(user=customer, txn_id=action.params["transaction_id"], actor=executor)
            return {"outcome": txn.status, "transaction": txn.public_id}

        def _retry_once(txn: Any) -> None:
            # Single-use: a failed payment already paid again, or with a retry waiting for approval,
            # is not retried again (409 already_retried; payments enforces it too, with retry_of).
            from okpay.payments.errors import AlreadyRetried
            from okpay.payments.models import Transaction

            if Transaction.objects.filter(retry_of=txn).exists() or ActionRequest.objects.filter(
                    kind="bill_payment_retry", params__transaction_id=txn.public_id,
                    state=ActionRequest.State.PENDING).exists():
                raise AlreadyRetried(param="transaction_id")

        KINDS["bill_payment_retry"] = ActionKind(gettext_noop("Pay the failed bill again"), _retry,
                                                 needs_transaction=True, money=True, precheck=_retry_once)


_payments_kinds()


def _merchants_kinds() -> None:
    """A refund of a payment to a merchant, within the merchant's policy: the agent files the
    customer's refund request (window and amount checked by merchants; the merchant or its
    auto-approve limit decides)."""
    if not apps.is_installed("okpay.merchants"):
        return
    try:
        from okpay.merchants import services as merchants
    except ImportError:
        return
    if not hasattr(merchants, "refund_request_create"):
        return

    def _refund(action: ActionRequest, customer: User, executor: User) -> dict[str, Any]:
        request = merchants.refund_request_create(customer=customer, txn_id=action.params["transaction_id"],
                                                  reason=action.reason)
        return {"outcome": "refund_requested", "refund_request": request.public_id,
                "status": str(request.status)}

    KINDS["refund_request"] = ActionKind(gettext_noop("Start a refund of the merchant payment"), _refund,
                                         needs_transaction=True, money=True)


_merchants_kinds()


def available_kinds(ticket: Ticket) -> dict[str, ActionKind]:
    return KINDS


NOTE_STATE = gettext_noop("%(action)s · %(state)s — %(reason)s")


def _note(ticket: Ticket, parts: Any) -> None:
    """The desk's own note of what happened, kept as parts so each agent reads it in their language."""
    system_note(ticket, parts=parts)


def _execute(action: ActionRequest, executor: User) -> ActionRequest:
    kind = KINDS[action.kind]
    customer = action.ticket.requester
    assert customer is not None
    try:
        with transaction.atomic():
            result = kind.run(action, customer, executor)
    except OkpayError as exc:
        action.state = ActionRequest.State.FAILED
        action.result = {"error": exc.code, "message": exc.message}
    else:
        action.state = ActionRequest.State.EXECUTED
        action.result = result
    action.save(update_fields=["state", "result", "decided_by", "decided_at"])
    event_add(action.ticket, f"action_{action.state}", executor, action=action.public_id, action_kind=action.kind,
              result=action.result)
    audit_record(actor=executor, action=f"support.action.{action.kind}", target=action.ticket,
                 detail={"action": action.public_id, "state": action.state, "reason": action.reason,
                         "requested_by": action.requested_by.public_id, "params": action.params,
                         "result": action.result})
    outcome = action.result.get("message") or OUTCOMES.get(action.result.get("outcome", ""), "")
    _note(action.ticket, notes.tr(gettext_noop("%(action)s · %(state)s: %(outcome)s — %(reason)s"),
                                  action=notes.tr(kind.label), state=notes.tr(STATE_WORDS.get(action.state, "")),
                                  outcome=notes.tr(str(outcome)) if outcome else "", reason=action.reason))
    return action


def _money_today(*, agent: User, customer: User, now: Any) -> int:
    """What ``agent`` already moved (or asked to) on ``customer``'s money today, local time. The
    customer's row is locked first: two of the agent's requests on that customer count one by one."""
    list(User.objects.select_for_update().filter(pk=customer.pk).values_list("pk", flat=True))
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    done = (ActionRequest.objects.filter(requested_by=agent, ticket__requester=customer, amount__isnull=False,
                                         requested_at__gte=midnight,
                                         state__in=(ActionRequest.State.PENDING, ActionRequest.State.EXECUTED))
            .aggregate(total=Sum("amount")))
    return int(done["total"] or 0)


@transaction.atomic
def action_request(*, ticket: Ticket, agent: User, kind: str, reason: str,
                   transaction_id: str | None = None) -> ActionRequest:
    """Ask for an action on the ticket's customer. Runs at once unless it needs a second person."""
    require(agent, "act_on_account")
    if kind not in KINDS:
        raise InvalidRequest(gettext_noop("Unknown action."), param="kind")
    spec = KINDS[kind]
    reason = (reason or "").strip()
    if not reason:
        raise InvalidRequest(gettext_noop("Give a reason for this action."), param="reason")
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("requester").get(pk=ticket.pk)
    customer = ticket.requester
    if customer is None:
        raise InvalidRequest(gettext_noop("This ticket is not from an OKPay customer."), param="ticket")
    params: dict[str, Any] = {}
    amount = None
    currency = ""
    if spec.needs_transaction:
        txn = wallet.transaction_of(customer, transaction_id or "")
        if txn is None:
            raise NotFound(gettext_noop("No such transaction of this customer."), param="transaction_id")
        if spec.precheck is not None:
            spec.precheck(txn)
        params["transaction_id"] = txn.public_id
        amount, currency = txn.amount, txn.currency
    now = clock.now()
    over_limit = False
    if spec.money and amount is not None:
        over_limit = amount + _money_today(agent=agent, customer=customer, now=now) > \
            settings.OKPAY_SUPPORT_FOUR_EYES_AMOUNT
    action = ActionRequest.objects.create(ticket=ticket, kind=kind, params=params, amount=amount, currency=currency,
                                          reason=reason[:2000], requested_by=agent, requested_at=now)
    needs_second = over_limit or (spec.supervisor_only and not can(agent, "approve_action"))
    event_add(ticket, "action_requested", agent, action=action.public_id, action_kind=kind, amount=amount,
              needs_approval=needs_second)
    audit_record(actor=agent, action="support.action_requested", target=ticket,
                 detail={"action": action.public_id, "kind": kind, "reason": action.reason, "params": params,
                         "amount": amount, "needs_approval": needs_second})
    if needs_second:
        _note(ticket, notes.tr(NOTE_STATE, action=notes.tr(spec.label),
                               state=notes.tr(gettext_noop("waiting for a supervisor to approve")),
                               reason=action.reason))
        return action
    return _execute(action, agent)


@transaction.atomic
def action_decide(*, action: ActionRequest, supervisor: User, approve: bool, note: str = "") -> ActionRequest:
    """The second person: a supervisor who did not ask approves (it runs now) or rejects."""
    require(supervisor, "approve_action")
    action = (ActionRequest.objects.select_for_update(of=("self",)).select_related("ticket", "requested_by")
              .get(pk=action.pk))
    if action.requested_by_id == supervisor.pk:
        raise Forbidden(gettext_noop("Someone else must approve your own request."))
    if action.state != ActionRequest.State.PENDING:
        raise ActionNotPending(gettext_noop("This request has already been decided."))
    action.decided_by = supervisor
    action.decided_at = clock.now()
    if not approve:
        action.state = ActionRequest.State.REJECTED
        action.result = {"note": (note or "").strip()[:500]}
        action.save(update_fields=["state", "result", "decided_by", "decided_at"])
        event_add(action.ticket, "action_rejected", supervisor, action=action.public_id, action_kind=action.kind)
        audit_record(actor=supervisor, action="support.action_rejected", target=action.ticket,
                     detail={"action": action.public_id, "kind": action.kind, "note": action.result["note"]})
        _note(action.ticket, notes.tr(NOTE_STATE, action=notes.tr(KINDS[action.kind].label),
                                      state=notes.tr(gettext_noop("rejected by a supervisor")),
                                      reason=action.result["note"]))
        return action
    return _execute(action, supervisor)


def pending_actions() -> list[ActionRequest]:
    return list(ActionRequest.objects.filter(state=ActionRequest.State.PENDING)
                .select_related("ticket", "requested_by").order_by("requested_at"))
