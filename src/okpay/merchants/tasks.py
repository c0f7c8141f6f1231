"""Background work of merchants: a webhook delivery is sent as soon as its change commits (the
task row is written in the same transaction); retries are picked up by ``merchant_sweep``."""

from __future__ import annotations

from django_tasks import task


@task()
def deliver_webhook(delivery_pk: int) -> bool | None:
    from okpay.merchants.services import webhook_deliver_now

    return webhook_deliver_now(delivery_pk)
