"""Background work of the social channel: sending replies through the platforms' APIs."""

from __future__ import annotations

from django_tasks import task


@task()
def deliver_outbound(outbound_id: int) -> str:
    from okpay.social.services import outbound_deliver

    return outbound_deliver(outbound_id=outbound_id)
