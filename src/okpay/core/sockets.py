"""Pushes to WebSocket groups (Channels), sent once the database transaction that caused them
commits, and the per-user group every signed-in socket joins.

Any app may push here without knowing who listens: identity tells ``user.<public_id>`` that
sessions ended, and the chat's sockets of those sessions close (DESIGN: identity imports no
chat; the consumers join the group).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

logger = logging.getLogger("okpay.core.sockets")

SIGNED_OUT = 4401  # the close code of a socket whose session ended (revoked, expired, signed out)


def user_group(public_id: str) -> str:
    return f"user.{public_id}"


def session_tag(session_key: str | None) -> str:
    """What a session is called in a push: a hash (session keys are bearer secrets; pushes travel
    through Redis)."""
    return hashlib.sha256((session_key or "").encode()).hexdigest()[:32]


_pending: set[asyncio.Task[None]] = set()
_sender: tuple[int, asyncio.AbstractEventLoop] | None = None
_sender_lock = threading.Lock()


def _sender_loop() -> asyncio.AbstractEventLoop:
    """This process's sending loop: one daemon thread running an event loop, started on first use
    (and again in a forked child, which does not inherit the thread)."""
    global _sender
    with _sender_lock:
        if _sender is None or _sender[0] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="okpay-socket-sender", daemon=True).start()
            _sender = (os.getpid(), loop)
        return _sender[1]


def _sent(future: Any) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("socket push failed", exc_info=future.exception())


def send_now(group: str, event: dict[str, Any]) -> None:
    """Send ``event`` to ``group``. From a request thread with a shared layer (Redis), the send is
    handed to this process's sending loop and the request does not wait for it (decision 0003: the
    blocking ``async_to_sync`` made a new event loop, thread and Redis connection per push, a
    quarter of a transfer's time); a push is a live hint that the page refreshes anyway, so one
    lost when the process stops is no harm. The in-memory layer (one process, tests) lives in one
    loop, so there it is sent in place, as before."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        if isinstance(layer, InMemoryChannelLayer):
            async_to_sync(layer.group_send)(group, event)
        else:
            asyncio.run_coroutine_threadsafe(layer.group_send(group, event), _sender_loop()).add_done_callback(_sent)
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
