"""Who may do what on the desk: roles are Django groups holding ``support.*`` permissions
(see :mod:`okpay.support.setup`); these checks are what services call."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_noop

from okpay.core.errors import Forbidden, NotFound
from okpay.identity.models import User
from okpay.support.models import AgentProfile, Attachment, Ticket, TicketMessage


def can(user: User | None, perm: str) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active and user.has_perm(f"support.{perm}"))


def require(user: User | None, perm: str) -> None:
    if not can(user, perm):
        raise Forbidden(gettext_noop("You are not allowed to do this."))


def _profile(user: User) -> AgentProfile | None:
    return AgentProfile.objects.filter(user=user).select_related("team").first()


def desk_tickets(user: User) -> QuerySet[Ticket]:
    """The tickets an agent may see: their team's, the unrouted ones and their own; everything for
    supervisors (or agents allowed every team)."""
    require(user, "view_desk")
    qs = Ticket.objects.all()
    if can(user, "view_all_teams"):
        return qs
    profile = _profile(user)
    if profile is not None and profile.all_teams:
        return qs
    team_id = profile.team_id if profile else None
    visible = Q(team__isnull=True) | Q(assignee=user)
    if team_id is not None:
        visible |= Q(team_id=team_id)
    return qs.filter(visible)


def access_desk_ticket(user: User, public_id: str, *, for_update: bool = False) -> Ticket:
    qs = desk_tickets(user)
    if for_update:
        qs = qs.select_for_update()
    ticket = qs.filter(public_id=public_id).first()
    if ticket is None:
        raise NotFound(gettext_noop("No such ticket."))
    return ticket


def access_customer_ticket(user: User, public_id: str, *, for_update: bool = False) -> Ticket:
    """The customer's own ticket; someone else's is "not found"."""
    qs = Ticket.objects.filter(requester=user, public_id=public_id)
    if for_update:
        qs = qs.select_for_update()
    ticket = qs.first()
    if ticket is None or not user.is_authenticated:
        raise NotFound(gettext_noop("No such ticket."))
    return ticket


def access_customer_attachment(user: User, ticket_id: str, attachment_id: str) -> Attachment:
    """A file on a public message of the customer's own ticket; anything else is "not found"."""
    ticket = access_customer_ticket(user, ticket_id)
    att = Attachment.objects.filter(public_id=attachment_id, message__ticket=ticket,
                                    message__visibility=TicketMessage.Visibility.PUBLIC).first()
    if att is None:
        raise NotFound(gettext_noop("No such file."))
    return att


def access_desk_attachment(user: User, attachment_id: str) -> Attachment:
    """A file on a ticket the agent may see (internal notes included); anything else is "not found"."""
    att = Attachment.objects.filter(public_id=attachment_id).select_related("message__ticket").first()
    if att is None:
        raise NotFound(gettext_noop("No such file."))
    access_desk_ticket(user, att.message.ticket.public_id)
    return att
