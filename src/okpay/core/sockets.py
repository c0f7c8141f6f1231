"""Pushes to WebSocket groups (Channels), sent once the database transaction that caused them
commits, and the per-user group every signed-in socket joins.

Any app may push here without knowing who listens: identity tells ``user.<public_id>`` that
sessions ended, and the chat's sockets of those sessions close (DESIGN: identity imports no
chat; the consumers join the group).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

SIGNED_OUT = 4401  # the close code of a socket whose session ended (revoked, expired, signed out)


def user_group(public_id: str) -> str:
    return f"user.{public_id}"


def session_tag(session_key: str | None) -> str:
    """What a session is called in a push: a hash (session keys are bearer secrets; pushes travel
    through Redis)."""
    return hashlib.sha256((session_key or "").encode()).hexdigest()[:32]


_pending: set[asyncio.Task[None]] = set()


def send_now(group: str, event: dict[str, Any]) -> None:
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


def push(group: str, event: dict[str, Any]) -> None:
    """``event`` reaches ``group`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: send_now(group, event))


def sessions_ended(*, user_public_id: str, session_keys: Iterable[str]) -> None:
    """The sockets opened under these sessions of the user close (``SIGNED_OUT``) after commit."""
    tags = sorted({session_tag(key) for key in session_keys if key})
    if tags:
        push(user_group(user_public_id), {"type": "session.ended", "sessions": tags})
