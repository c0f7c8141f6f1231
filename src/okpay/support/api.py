"""``/api/v1/support/tickets|callbacks|feedback|nps`` (API.md, "Support"): the customer's own tickets,
replies and rating, call-back requests. Internal notes never leave the desk."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Query, Schema, Status
from pydantic import Field, StrictInt

from okpay.api.router import OkpayRouter
from okpay.api.schemas import ERRORS
from okpay.support import selectors, services
from okpay.support.models import Feedback, Rating, Ticket, TicketMessage
from okpay.support.permissions import access_customer_ticket
from okpay.support.views import TICKETS_PER_USER

router = OkpayRouter(tags=["support"])


class AttachmentOut(Schema):
    id: str
    name: str
    content_type: str
    size: int


class MessageOut(Schema):
    id: str
    author: str  # customer | agent | system
    author_name: str | None
    body: str
    body_html: str
    created_at: datetime
    attachments: list[AttachmentOut]


class RatingOut(Schema):
    score: int
    comment: str
    created_at: datetime


class TicketOut(Schema):
    id: str
    number: str
    status: str
    category: str
    channel: str
    priority: str
    subject: str
    transaction_ids: list[str]
    first_response_due: datetime | None
    resolution_due: datetime | None
    follow_up_of: str | None
    created_at: datetime
    updated_at: datetime
    rating: RatingOut | None


class TicketDetailOut(TicketOut):
    messages: list[MessageOut]


class TicketListOut(Schema):
    data: list[TicketOut]
    next_cursor: str | None


class TicketIn(Schema):
    category: str = Field(max_length=12)
    subject: str = Field(max_length=200)
    body: str = Field(max_length=20_000)
    transaction_id: str | None = Field(default=None, max_length=32)


class MessageIn(Schema):
    body: str = Field(max_length=20_000)


class RatingIn(Schema):
    score: StrictInt = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000)


class CallbackIn(Schema):
    phone: str = Field(max_length=32)
    topic: str = Field(max_length=200)
    preferred_time: str | None = Field(default=None, max_length=100)


class FeedbackIn(Schema):
    body: str = Field(max_length=5000)
    kind: str = Feedback.Kind.IDEA


class FeedbackOut(Schema):
    id: int
    kind: str
    created_at: datetime


class NpsIn(Schema):
    score: StrictInt | None = Field(default=None, ge=0, le=10)
    comment: str = Field(default="", max_length=2000)


class NpsDueOut(Schema):
    due: bool


class ListQuery(Schema):
    limit: int | None = None
    cursor: str | None = None


def _rating(ticket: Ticket) -> RatingOut | None:
    try:
        r: Rating = ticket.rating
    except Rating.DoesNotExist:
        return None
    return RatingOut(score=r.score, comment=r.comment, created_at=r.created_at)


def ticket_out(ticket: Ticket) -> dict:  # type: ignore[type-arg]
    return {
        "id": ticket.public_id, "number": ticket.number, "status": ticket.status, "category": ticket.category,
        "channel": ticket.channel, "priority": ticket.priority, "subject": ticket.subject,
        "transaction_ids": [link.transaction_id for link in ticket.linked_transactions.all()],
        "first_response_due": ticket.first_response_due, "resolution_due": ticket.resolution_due,
        "follow_up_of": ticket.follow_up_of.public_id if ticket.follow_up_of_id else None,
        "created_at": ticket.created_at, "updated_at": ticket.updated_at, "rating": _rating(ticket),
    }


def message_out(m: TicketMessage) -> MessageOut:
    return MessageOut(
        id=m.public_id, author=m.author_kind, body=m.body_text, body_html=m.body_html, created_at=m.created_at,
        author_name=m.author.display_name if m.author and m.author_kind != "customer" else None,
        attachments=[AttachmentOut(id=a.public_id, name=a.name, content_type=a.content_type, size=a.size)
                     for a in m.attachments.all()])


@router.post("/support/tickets", response={201: TicketOut, **ERRORS}, summary="Open a ticket")
def ticket_create(request: HttpRequest, body: TicketIn) -> Status:
    TICKETS_PER_USER.hit(str(request.auth.pk))  # type: ignore[attr-defined]
    lang = getattr(request.auth, "locale", "") or ""
    ticket = services.ticket_create(
        requester=services.Requester(user=request.auth), channel="api", category=body.category,  # type: ignore[arg-type]
        subject=body.subject, body=body.body, transaction_id=body.transaction_id, lang=lang)
    return Status(201, ticket_out(ticket))


@router.get("/support/tickets", response={200: TicketListOut, **ERRORS}, summary="My tickets")
def ticket_list(request: HttpRequest, query: Query[ListQuery]) -> TicketListOut:
    page = selectors.tickets_for_customer(request.auth, limit=query.limit, cursor=query.cursor)  # type: ignore[arg-type]
    return TicketListOut(data=[TicketOut(**ticket_out(t)) for t in page.items], next_cursor=page.next_cursor)


@router.get("/support/tickets/{ticket_id}", response={200: TicketDetailOut, **ERRORS}, summary="One of my tickets")
def ticket_detail(request: HttpRequest, ticket_id: str) -> TicketDetailOut:
    ticket = access_customer_ticket(request.auth, ticket_id)  # type: ignore[arg-type]
    return TicketDetailOut(**ticket_out(ticket), messages=[message_out(m) for m in selectors.public_messages(ticket)])


@router.post("/support/tickets/{ticket_id}/messages", response={201: MessageOut, **ERRORS},
             summary="Reply on my ticket (a closed one gets a follow-up ticket)")
def ticket_reply(request: HttpRequest, ticket_id: str, body: MessageIn) -> Status:
    ticket = access_customer_ticket(request.auth, ticket_id)  # type: ignore[arg-type]
    message = services.customer_reply(ticket=ticket, user=request.auth, body=body.body, channel="api")  # type: ignore[arg-type]
    return Status(201, message_out(message))


@router.post("/support/tickets/{ticket_id}/close", response={200: TicketOut, **ERRORS}, summary="Close my ticket")
def ticket_close(request: HttpRequest, ticket_id: str) -> TicketOut:
    ticket = access_customer_ticket(request.auth, ticket_id)  # type: ignore[arg-type]
    return TicketOut(**ticket_out(services.customer_close(ticket=ticket, user=request.auth)))  # type: ignore[arg-type]


@router.post("/support/tickets/{ticket_id}/rating", response={201: RatingOut, **ERRORS},
             summary="Rate a solved ticket (once)")
def ticket_rate(request: HttpRequest, ticket_id: str, body: RatingIn) -> Status:
    ticket = access_customer_ticket(request.auth, ticket_id)  # type: ignore[arg-type]
    r = services.rating_create(ticket=ticket, user=request.auth, score=body.score, comment=body.comment)  # type: ignore[arg-type]
    return Status(201, RatingOut(score=r.score, comment=r.comment, created_at=r.created_at))


@router.post("/support/callbacks", response={201: TicketOut, **ERRORS}, summary="Ask for a call back (urgent)")
def callback(request: HttpRequest, body: CallbackIn) -> Status:
    TICKETS_PER_USER.hit(str(request.auth.pk))  # type: ignore[attr-defined]
    ticket = services.callback_request(phone=body.phone, topic=body.topic, preferred_time=body.preferred_time or "",
                                       user=request.auth, lang=getattr(request.auth, "locale", ""))  # type: ignore[arg-type]
    return Status(201, ticket_out(ticket))


@router.post("/support/feedback", response={201: FeedbackOut, **ERRORS}, summary="Feedback without a ticket")
def feedback(request: HttpRequest, body: FeedbackIn) -> Status:
    f = services.feedback_create(body=body.body, kind=body.kind, user=request.auth)  # type: ignore[arg-type]
    return Status(201, FeedbackOut(id=f.pk, kind=f.kind, created_at=f.created_at))


@router.get("/support/nps", response={200: NpsDueOut, **ERRORS}, summary="Is the NPS question due?")
def nps_due(request: HttpRequest) -> NpsDueOut:
    return NpsDueOut(due=services.nps_due(request.auth))  # type: ignore[arg-type]


@router.post("/support/nps", response={201: NpsDueOut, **ERRORS}, summary="Answer (or dismiss) the NPS question")
def nps_answer(request: HttpRequest, body: NpsIn) -> Status:
    services.nps_answer(user=request.auth, score=body.score, comment=body.comment)  # type: ignore[arg-type]
    return Status(201, NpsDueOut(due=False))
