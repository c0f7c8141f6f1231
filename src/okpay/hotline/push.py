"""Screen-pops to agents' desks over WebSockets: the group mechanism of :mod:`okpay.chat.push`
(sent after the transaction commits) with groups of our own, ``hotline.a.<agent>``."""

from __future__ import annotations

from typing import Any

from okpay.chat import push as chat_push


def agent_group(public_id: str) -> str:
    return f"hotline.a.{public_id}"


def screen_pop(agent_public_id: str, payload: dict[str, Any]) -> None:
    chat_push.push(agent_group(agent_public_id), {"type": "hotline.call", "call": payload})
