"""Reads of the chat for pages."""

from __future__ import annotations

from typing import Any

from okpay.identity.models import User


def desk_page(agent: User, *, lang: str) -> dict[str, Any]:
    """What the desk chat page renders once: canned replies in the agent's language, the agents and
    teams a chat can be transferred to, and the agent's duty."""
    from okpay.support.models import AgentProfile, CannedReply, Team
    from okpay.support.permissions import can

    lang = "en" if lang.startswith("en") else "zh-hans"
    canned = list(CannedReply.objects.filter(lang=lang).order_by("title"))
    agents = [u for u in User.objects.filter(groups__name__in=["agent", "supervisor"], is_active=True)
              .exclude(pk=agent.pk).distinct().order_by("display_name") if can(u, "reply_ticket")]
    return {"canned": canned, "agents": agents, "teams": list(Team.objects.order_by("name")),
            "profile": AgentProfile.objects.filter(user=agent).first()}


def waiting_count(agent: User) -> int:
    """How many chats wait in the queues this agent takes (the general one and their team's)."""
    from okpay.chat.services import _queue_for

    return len(_queue_for(agent))
