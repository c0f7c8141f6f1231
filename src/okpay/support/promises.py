"""Promises OKPay made and did not keep, made true: "customer service has been alerted".

A customer's pending payment, refund or refund request that passes its ``expected_by`` is flagged
by the payments sweep (``overdue_flagged_at``, a step in its timeline). This module's sweep
(``promises_sweep`` in ``core.worker.SWEEPS``) then opens a ticket about it in the payments queue,
or adds it to the customer's open ticket about that transaction (or to their open alert ticket):
the customer is the requester, the transaction is linked (its timeline shows in the desk's wallet
context) and the ticket has the SLA of its own channel, ``alert``. When the transaction finally
settles, the ticket gets a note, and is solved if nobody wrote in it. One :class:`PromiseAlert`
per transaction.

Both steps are idempotent and crash-safe: every row is claimed with
``select_for_update(skip_locked=True)`` and re-checked under the lock, in one transaction with the
ticket change; the unique ``transaction_id`` makes a second alert impossible.

The supervisor dashboard's overdue promises (``overdue_promises``) also count the first replies to
email tickets that are late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import formats, translation
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from okpay.identity.models import User
from okpay.support import clock
from okpay.support.models import (
    ACTIVE_STATUSES,
    Category,
    Channel,
    PromiseAlert,
    RequesterLink,
    Status,
    Team,
    Ticket,
    TicketMessage,
    TicketTransaction,
)

PAYMENTS_TEAM = "payments"
HUMAN_AUTHORS = (TicketMessage.AuthorKind.CUSTOMER, TicketMessage.AuthorKind.AGENT)


def _payments() -> Any:
    from okpay.payments import models

    return models


def payments_team() -> Team:
    team, _created = Team.objects.get_or_create(slug=PAYMENTS_TEAM, defaults={"name": "支付 Payments"})
    return team


def _pending_request_txn_ids(txn_pks: list[int]) -> set[int]:
    """Of these refund transactions, those that wait for the answer to a refund request."""
    from django.apps import apps

    if not txn_pks or not apps.is_installed("okpay.merchants"):
        return set()
    request_model = apps.get_model("merchants", "RefundRequest")
    return set(request_model.objects.filter(refund_txn_id__in=txn_pks, status="pending")
               .values_list("refund_txn_id", flat=True))


def kind_of(txn: Any, *, waiting_requests: set[int] | None = None) -> str:
    if txn.type != _payments().TxnType.REFUND:
        return PromiseAlert.Kind.PENDING
    waiting = waiting_requests if waiting_requests is not None else _pending_request_txn_ids([txn.pk])
    return PromiseAlert.Kind.REFUND_REQUEST if txn.pk in waiting else PromiseAlert.Kind.REFUND


def _when(moment: datetime) -> str:
    return formats.date_format(localtime(moment), "DATETIME_FORMAT")


def _money(txn: Any) -> str:
    from okpay.payments.money import format_money

    return format_money(txn.amount, txn.currency)


def _overdue_text(txn: Any, kind: str) -> str:
    """The ticket's message, in the customer's language (call inside ``translation.override``)."""
    values = {"type": txn.get_type_display(), "money": _money(txn), "id": txn.public_id,
              "due": _when(txn.expected_by)}
    first = {
        PromiseAlert.Kind.PENDING: _("Your %(type)s of %(money)s (%(id)s) was expected to complete by %(due)s "
                                     "and is still pending.") % values,
        PromiseAlert.Kind.REFUND: _("Your refund of %(money)s (%(id)s) was expected by %(due)s and has not "
                                    "arrived yet.") % values,
        PromiseAlert.Kind.REFUND_REQUEST: _("Your refund request of %(money)s (%(id)s) should have been answered by "
                                            "%(due)s and is still waiting.") % values,
    }[kind]
    return (first + "\n\n" + _("OKPay customer service was alerted automatically and is looking into it with the "
                               "bank, biller or merchant. We will write to you here; you do not need to do anything. "
                               "When the transaction completes, we note it in this ticket."))


def _settled_text(txn: Any) -> str:
    values = {"id": txn.public_id, "status": txn.get_status_display(), "when": _when(txn.updated_at)}
    return _("Update: transaction %(id)s is now \"%(status)s\" (%(when)s).") % values


def _system_message(ticket: Ticket, text: str) -> TicketMessage:
    from okpay.support.services import text_to_html

    return TicketMessage.objects.create(
        ticket=ticket, author=None, author_kind=TicketMessage.AuthorKind.SYSTEM,
        visibility=TicketMessage.Visibility.PUBLIC, channel=ticket.channel,
        body_html=text_to_html(text), body_text=text, created_at=clock.now())


def _ticket_for(customer: User, txn_id: str) -> Ticket | None:
    """The customer's open ticket to add the alert to: one about this transaction, else their open
    alert ticket (a customer with two late payments gets one ticket)."""
    mine = Ticket.objects.select_for_update().filter(requester=customer, status__in=ACTIVE_STATUSES)
    about = mine.filter(linked_transactions__transaction_id=txn_id).order_by("pk").first()
    return about or mine.filter(channel=Channel.ALERT).order_by("pk").first()


def _ticket_open(customer: User, txn: Any, kind: str, now: datetime) -> Ticket:
    from okpay.support.services import _next_number, event_add, sla_apply

    lang = customer.locale or settings.LANGUAGE_CODE
    with translation.override(lang):
        subject = {
            PromiseAlert.Kind.PENDING: _("Your %(type)s of %(money)s is late"),
            PromiseAlert.Kind.REFUND: _("Your refund of %(money)s is late"),
            PromiseAlert.Kind.REFUND_REQUEST: _("Your refund request of %(money)s is not answered yet"),
        }[kind] % {"type": txn.get_type_display(), "money": _money(txn)}
    ticket = Ticket(
        number=_next_number(now), requester=customer, requester_name=customer.display_name[:100],
        requester_email=customer.email, requester_phone=(customer.phone or "")[:32],
        requester_link=RequesterLink.SESSION, channel=Channel.ALERT, category=Category.PAYMENT, subject=subject[:200],
        priority="high", team=payments_team(), created_at=now, updated_at=now, meta={"lang": lang, "promise": kind},
    )
    sla_apply(ticket)
    ticket.save()
    event_add(ticket, "created", "system:promises", channel=Channel.ALERT, category=Category.PAYMENT,
              priority="high", transaction=txn.public_id)
    return ticket


def alert_open(txn: Any, *, now: datetime | None = None) -> PromiseAlert | None:
    """Alert customer service about one overdue transaction (locked by the caller). None when there
    is nothing to do: it settled meanwhile, or it already has its alert."""
    from okpay.support.services import event_add

    models = _payments()
    if txn.status != models.Status.PENDING or txn.expected_by is None:
        return None
    if PromiseAlert.objects.filter(transaction_id=txn.public_id).exists():
        return None
    now = now or clock.now()
    customer = txn.user
    kind = kind_of(txn)
    ticket = _ticket_for(customer, txn.public_id)
    if ticket is None:
        ticket = _ticket_open(customer, txn, kind, now)
    else:
        fields = ["updated_at"]
        if ticket.team_id is None:
            ticket.team = payments_team()
            fields.append("team")
        ticket.updated_at = now
        ticket.save(update_fields=fields)
    TicketTransaction.objects.get_or_create(ticket=ticket, transaction_id=txn.public_id,
                                            defaults={"added_at": now})
    with translation.override(customer.locale or settings.LANGUAGE_CODE):
        _system_message(ticket, _overdue_text(txn, kind))
    event_add(ticket, "promise_overdue", "system:promises", transaction=txn.public_id, promise=kind,
              due=txn.expected_by.isoformat())
    return PromiseAlert.objects.create(transaction_id=txn.public_id, kind=kind, ticket=ticket, customer=customer,
                                       due_at=txn.expected_by, opened_at=now)


def alerts_open_due(*, limit: int = 200) -> int:
    """Sweep step: every flagged overdue transaction without its alert gets one."""
    models = _payments()
    taken = PromiseAlert.objects.values("transaction_id")
    pks = list(models.Transaction.objects.filter(status=models.Status.PENDING, overdue_flagged_at__isnull=False)
               .exclude(public_id__in=taken).order_by("pk").values_list("pk", flat=True)[:limit])
    done = 0
    for pk in pks:
        with transaction.atomic():
            txn = (models.Transaction.objects.select_for_update(skip_locked=True, of=("self",))
                   .select_related("user").filter(pk=pk).first())
            if txn is not None and alert_open(txn) is not None:
                done += 1
    return done


def _nobody_wrote(ticket: Ticket) -> bool:
    return not ticket.messages.filter(author_kind__in=HUMAN_AUTHORS).exists()


def alert_settle(alert: PromiseAlert, txn: Any) -> bool:
    """The transaction of a (locked) alert settled: note it on the ticket; solve the ticket if nobody
    wrote in it and none of its alerts is still waiting."""
    from okpay.support.services import _status_set, event_add

    if alert.settled_at is not None or txn.status == _payments().Status.PENDING:
        return False
    now = clock.now()
    alert.settled_at, alert.outcome = now, txn.status
    alert.save(update_fields=["settled_at", "outcome"])
    ticket = Ticket.objects.select_for_update().get(pk=alert.ticket_id)
    customer = alert.customer
    with translation.override(customer.locale or settings.LANGUAGE_CODE):
        _system_message(ticket, _settled_text(txn))
    event_add(ticket, "promise_settled", "system:promises", transaction=txn.public_id, outcome=txn.status)
    waiting = PromiseAlert.objects.filter(ticket=ticket, settled_at__isnull=True).exists()
    if ticket.status in ACTIVE_STATUSES and not waiting and _nobody_wrote(ticket):
        _status_set(ticket, Status.SOLVED, "system:promises", survey=False)
    return True


def alerts_settle_due(*, limit: int = 200) -> int:
    """Sweep step: alerts whose transaction is no longer pending are settled (``alert_settle``)."""
    models = _payments()
    open_ids = PromiseAlert.objects.filter(settled_at__isnull=True).values("transaction_id")
    done_ids = list(models.Transaction.objects.filter(public_id__in=open_ids).exclude(status=models.Status.PENDING)
                    .values_list("public_id", flat=True)[:limit])
    done = 0
    for txn_id in done_ids:
        with transaction.atomic():
            alert = (PromiseAlert.objects.select_for_update(skip_locked=True)
                     .select_related("customer").filter(transaction_id=txn_id, settled_at__isnull=True).first())
            if alert is None:
                continue
            txn = models.Transaction.objects.get(public_id=txn_id)
            if alert_settle(alert, txn):
                done += 1
    return done


def promises_sweep() -> dict[str, int]:
    """The worker's periodic sweep (core.worker.SWEEPS)."""
    return {"opened": alerts_open_due(), "settled": alerts_settle_due()}


# --- what the customer's transaction page says ---------------------------------------------------

def followup_for(txn: Any) -> Any:
    """payments.hooks.FOLLOWUPS: the ticket customer service opened about this transaction, for its
    page (``Followup``), or None."""
    from okpay.payments.hooks import Followup

    alert = PromiseAlert.objects.select_related("ticket").filter(transaction_id=txn.public_id).first()
    if alert is None:
        return None
    ticket = alert.ticket
    return Followup(number=ticket.number, url=reverse("support:ticket", args=[ticket.public_id]),
                    answer_by=ticket.first_response_due if ticket.first_responded_at is None else None,
                    settled=alert.settled_at is not None, open=ticket.status in ACTIVE_STATUSES)


# --- the supervisor dashboard: every overdue promise, one list -----------------------------------

@dataclass(frozen=True)
class OverduePromise:
    kind: str            # pending | refund | refund_request | first_reply
    label: str           # the kind, translated
    reference: str       # txn_… or the ticket number
    customer: str
    due: datetime
    age_hours: float
    ticket_number: str = ""
    ticket_id: str = ""


KIND_LABELS = {
    PromiseAlert.Kind.PENDING: PromiseAlert.Kind.PENDING.label,
    PromiseAlert.Kind.REFUND: PromiseAlert.Kind.REFUND.label,
    PromiseAlert.Kind.REFUND_REQUEST: PromiseAlert.Kind.REFUND_REQUEST.label,
}


def overdue_promises(*, now: datetime | None = None, limit: int = 200) -> list[OverduePromise]:
    """Every promise that is late right now, the oldest first: pending transactions, refunds and
    refund requests past their ``expected_by``, and email tickets without their first reply past
    its due time."""
    from django.utils.translation import gettext

    models = _payments()
    now = now or clock.now()
    rows: list[OverduePromise] = []
    late = list(models.Transaction.objects.filter(status=models.Status.PENDING, expected_by__lt=now)
                .exclude(pending_reason__in=(models.PendingReason.AWAITING_CLAIM, models.PendingReason.RISK_REVIEW))
                .select_related("user").order_by("expected_by")[:limit])
    waiting = _pending_request_txn_ids([t.pk for t in late if t.type == models.TxnType.REFUND])
    alerts = {a.transaction_id: a.ticket for a in PromiseAlert.objects.select_related("ticket")
              .filter(transaction_id__in=[t.public_id for t in late])}
    for txn in late:
        kind = kind_of(txn, waiting_requests=waiting)
        ticket = alerts.get(txn.public_id)
        rows.append(OverduePromise(kind=kind, label=gettext(KIND_LABELS[kind]), reference=txn.public_id,
                                   customer=txn.user.display_name, due=txn.expected_by,
                                   age_hours=(now - txn.expected_by).total_seconds() / 3600,
                                   ticket_number=ticket.number if ticket else "",
                                   ticket_id=ticket.public_id if ticket else ""))
    first_replies = (Ticket.objects.filter(Q(channel=Channel.EMAIL), status__in=ACTIVE_STATUSES,
                                           first_responded_at__isnull=True, first_response_due__lt=now)
                     .order_by("first_response_due")[:limit])
    for ticket in first_replies:
        assert ticket.first_response_due is not None
        rows.append(OverduePromise(kind="first_reply", label=gettext("First reply to an email"),
                                   reference=ticket.number, customer=ticket.requester_name or ticket.requester_email,
                                   due=ticket.first_response_due,
                                   age_hours=(now - ticket.first_response_due).total_seconds() / 3600,
                                   ticket_number=ticket.number, ticket_id=ticket.public_id))
    rows.sort(key=lambda r: r.due)
    return rows[:limit]
