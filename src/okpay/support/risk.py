"""Risk reviews decided in the desk: the queue of transfers held for review (the transfer, why it
was held, the sender's context) and the supervisors' decisions on them.

- Nobody decides a review of their own transfer, nor one of a customer whose active ticket they
  handle (``payments.risk_review_conflict``; support adds the ticket rule through
  ``payments.hooks.RISK_REVIEW_CONFLICTS``, registered in ``SupportConfig.ready``).
- Approving a transfer above ``OKPAY_SUPPORT_FOUR_EYES_AMOUNT`` takes two supervisors: the first
  approval is a proposal (``RiskDecision`` pending); a different supervisor confirms it (it runs)
  or declines the transfer. Declining returns the money to the sender and runs at once.
Every step is audited and leaves a ``RiskDecision`` row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_noop

from okpay.audit.services import audit_record
from okpay.core.errors import Forbidden, NotFound, OkpayError
from okpay.identity.models import User
from okpay.support import clock, wallet
from okpay.support.models import ACTIVE_STATUSES, RiskDecision, Ticket
from okpay.support.permissions import require


def handles_ticket_of(actor: User, txn: Any) -> str | None:
    """``RISK_REVIEW_CONFLICTS``: the actor is assigned an active ticket of the sender or recipient."""
    people = [pk for pk in (txn.user_id, txn.counterparty_user_id) if pk]
    if Ticket.objects.filter(assignee=actor, requester_id__in=people, status__in=ACTIVE_STATUSES).exists():
        return gettext_noop("You handle a ticket of this customer: another supervisor must decide.")
    return None


@dataclass
class ReviewItem:
    txn: Any
    sender: User
    reason: str
    held_at: datetime
    balances: list[Any]
    level: str
    recent: list[Any]
    proposal: RiskDecision | None
    needs_two: bool


def _held(txn_id: str) -> Any:
    """The held transfer, locked: two supervisors deciding at once are taken one after the other."""
    from okpay.payments.models import PendingReason, Status, Transaction

    txn = (Transaction.objects.select_for_update(of=("self",)).select_related("user", "counterparty_user")
           .filter(public_id=txn_id, status=Status.PENDING, pending_reason=PendingReason.RISK_REVIEW).first())
    if txn is None:
        raise NotFound(gettext_noop("This transaction is not waiting for a review."))
    return txn


def risk_reviews_queue(*, limit: int = 50) -> list[ReviewItem]:
    """The transfers waiting for a risk review, oldest first, with what a supervisor needs to decide."""
    from okpay.payments.explain import EVENT_REASONS
    from okpay.payments.models import PendingReason, Status, Transaction

    txns = list(Transaction.objects.select_related("user", "counterparty_user")
                .filter(status=Status.PENDING, pending_reason=PendingReason.RISK_REVIEW)
                .order_by("created_at", "pk")[:limit])
    proposals = {d.transaction_id: d for d in RiskDecision.objects.select_related("proposed_by")
                 .filter(transaction_id__in=[t.public_id for t in txns], state=RiskDecision.State.PENDING)}
    return [ReviewItem(txn=t, sender=t.user, reason=str(EVENT_REASONS.get(t.review_reason, t.review_reason)),
                       held_at=t.created_at,
                       balances=wallet.balances_of(t.user), level=wallet.verification_level(t.user),
                       recent=[r for r in wallet.transactions_of(t.user, limit=6) if r.pk != t.pk][:5],
                       proposal=proposals.get(t.public_id),
                       needs_two=t.amount > settings.OKPAY_SUPPORT_FOUR_EYES_AMOUNT)
            for t in txns]


def _run(decision: RiskDecision, actor: User) -> RiskDecision:
    from okpay.payments import services as payments

    try:
        with transaction.atomic():
            if decision.approve:
                txn = payments.risk_review_approve(txn_id=decision.transaction_id, actor=actor)
            else:
                txn = payments.risk_review_decline(txn_id=decision.transaction_id, actor=actor,
                                                   reason="declined_by_support")
    except OkpayError as exc:
        decision.state = RiskDecision.State.FAILED
        decision.result = {"error": exc.code, "message": exc.message}
    else:
        decision.state = RiskDecision.State.EXECUTED
        decision.result = {"outcome": txn.status}
    return decision


@transaction.atomic
def risk_review_decide(*, supervisor: User, txn_id: str, approve: bool, note: str = "") -> RiskDecision:
    """A supervisor approves or declines a held transfer from the desk's queue (see the module)."""
    require(supervisor, "approve_action")
    from okpay.payments import services as payments

    txn = _held(txn_id)
    conflict = payments.risk_review_conflict(supervisor, txn)
    if conflict:
        raise Forbidden(conflict)
    now = clock.now()
    note = (note or "").strip()[:500]
    proposal = (RiskDecision.objects.select_for_update()
                .filter(transaction_id=txn.public_id, state=RiskDecision.State.PENDING).first())
    if proposal is not None:
        if proposal.proposed_by_id == supervisor.pk:
            raise Forbidden(gettext_noop("Someone else must confirm your own proposal."))
        if approve:  # the second pair of eyes: the proposal runs now
            proposal.decided_by, proposal.decided_at = supervisor, now
            decision = _run(proposal, supervisor)
            decision.save(update_fields=["state", "result", "decided_by", "decided_at"])
            audit_record(actor=supervisor, action="support.risk_review.confirm", target=txn,
                         detail={"decision": decision.public_id, "proposed_by": proposal.proposed_by.public_id,
                                 "state": decision.state, "result": decision.result})
            return decision
        proposal.state, proposal.decided_by, proposal.decided_at = RiskDecision.State.REJECTED, supervisor, now
        proposal.result = {"note": note}
        proposal.save(update_fields=["state", "result", "decided_by", "decided_at"])
    decision = RiskDecision.objects.create(transaction_id=txn.public_id, approve=approve, amount=txn.amount,
                                           currency=txn.currency, note=note, proposed_by=supervisor,
                                           proposed_at=now)
    if approve and txn.amount > settings.OKPAY_SUPPORT_FOUR_EYES_AMOUNT:
        audit_record(actor=supervisor, action="support.risk_review.propose", target=txn,
                     detail={"decision": decision.public_id, "amount": txn.amount, "note": note})
        return decision
    decision = _run(decision, supervisor)
    decision.save(update_fields=["state", "result"])
    audit_record(actor=supervisor, action="support.risk_review." + ("approve" if approve else "decline"),
                 target=txn, detail={"decision": decision.public_id, "state": decision.state,
                                     "result": decision.result, "note": note})
    return decision
