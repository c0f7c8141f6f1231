from __future__ import annotations

from okpay.identity.models import User
from okpay.support.models import Ticket
from okpay.support.services import Requester, ticket_create


def web_ticket(user: User, *, category: str = "payment", subject: str = "我的付款一直待处理",
               body: str = "付款显示待处理，怎么办？", **kwargs: object) -> Ticket:
    return ticket_create(requester=Requester(user=user), channel=kwargs.pop("channel", "web"),  # type: ignore[arg-type]
                         category=category, subject=subject, body=body, **kwargs)  # type: ignore[arg-type]
