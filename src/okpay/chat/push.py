"""Pushes to WebSocket groups, sent after the database transaction that caused them commits.

Group names: ``chat.c.<conversation>`` (the customer's connections and the agent's),
``chat.a.<agent>`` (one agent's desk connections), ``chat.agents`` (every desk: the queue).
"""

from __future__ import annotations

from typing import Any

from okpay.core import sockets

AGENTS = "chat.agents"


def conversation_group(public_id: str) -> str:
    return f"chat.c.{public_id}"


def agent_group(public_id: str) -> str:
    return f"chat.a.{public_id}"


def push(group: str, event: dict[str, Any]) -> None:
    """``event`` reaches ``group`` once the current transaction commits (at once outside one)."""
    sockets.push(group, event)
