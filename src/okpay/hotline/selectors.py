"""Reads of the phone channel."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from okpay.hotline.models import Call
from okpay.identity.models import User
from okpay.support.models import ACTIVE_STATUSES, Ticket


def calls_of_ticket(ticket: Ticket) -> QuerySet[Call]:
    return Call.objects.filter(ticket=ticket).select_related("agent").order_by("-created_at", "-pk")


def open_tickets_for_caller(*, number: str, customer: User | None, limit: int = 5) -> list[Ticket]:
    """The caller's active tickets: the proved customer's, and the unlinked ones opened from this
    number. Without a proved customer, a linked ticket (someone's account) is never shown: the caller
    ID is only a claim."""
    match = Q(requester_phone=number, requester__isnull=True)
    if customer is not None:
        match |= Q(requester=customer) | Q(requester_phone=number)
    return list(Ticket.objects.filter(match, status__in=ACTIVE_STATUSES).order_by("-created_at")[:limit])
