"""Pushes to WebSocket groups, sent after the database transaction that caused them commits.

Group names: ``chat.c.<conversation>`` (the customer's connections and the agent's),
``chat.a.<agent>`` (one agent's desk connections), ``chat.agents`` (every desk: the queue).
"""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

AGENTS = "chat.agents"


def conversation_group(public_id: str) -> str:
    return f"chat.c.{public_id}"


def agent_group(public_id: str) -> str:
    return f"chat.a.{public_id}"


def _send(group: str, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(layer.group_send)(group, event)
    else:  # called synchronously from code running on an event loop: send from that loop
        task = loop.create_task(layer.group_send(group, event))
        _pending.add(task)
        task.add_done_callback(_pending.discard)


_pending: set[asyncio.Task[None]] = set()


def push(group: str, event: dict[str, Any]) -> None:
    """``event`` reaches ``group`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: _send(group, event))
