"""Demo data of the support desk for ``okpay demo``: the agent and supervisor on duty, a few
tickets on several channels (one breached, one complaint, one solved and rated)."""

from __future__ import annotations

from django.db import transaction

from okpay.identity.models import User
from okpay.support import services
from okpay.support.models import AgentProfile, Team, Ticket


@transaction.atomic
def support_demo() -> list[str]:
    """Idempotent: does nothing once the demo customers have tickets."""
    alice = User.objects.filter(email="alice@okpay.example").first()
    bob = User.objects.filter(email="bob@okpay.example").first()
    agent = User.objects.filter(email="agent@okpay.example").first()
    supervisor = User.objects.filter(email="supervisor@okpay.example").first()
    if not (alice and bob and agent and supervisor):
        return ["demo cast missing: nothing to do"]
    team, _ = Team.objects.get_or_create(slug="frontline", defaults={"name": "一线客服 Front line"})
    for user in (agent, supervisor):
        AgentProfile.objects.update_or_create(user=user, defaults={"team": team, "on_duty": True})
    if Ticket.objects.filter(requester__in=[alice, bob]).exists():
        return ["tickets already there"]
    R = services.Requester
    services.ticket_create(requester=R(user=alice), channel="web", category="payment",
                           subject="付款一直显示待处理", body="昨天的付款到现在还是“待处理”，请帮我查一下。")
    services.ticket_create(requester=R(user=bob), channel="email", category="account",
                           subject="I did not get the verification email", body="Nothing in spam either.")
    services.ticket_create(requester=R(email="visitor@example.com", name="访客"), channel="email",
                           category="technical", subject="App 打不开", body="更新后 App 一打开就闪退。")
    services.ticket_create(requester=R(user=alice), channel="web", category="complaint",
                           subject="投诉：电话一直打不通", body="昨天打了三次客服热线都没人接。")
    services.callback_request(phone="+8613800138000", topic="security", preferred_time="今天 18:00 前", user=bob)
    solved = services.ticket_create(requester=R(user=alice), channel="chat", category="security",
                                    subject="如何开启双重验证", body="想给账户加一层保护。")
    services.agent_reply(ticket=solved, agent=agent, status="solved",
                         body="在“账户安全”中选择“启用双重验证”，用验证器 App 扫描二维码即可。")
    services.rating_create(ticket=solved, user=alice, score=5, comment="讲得很清楚")
    return ["6 tickets (one complaint, one urgent call-back, one solved and rated); agent and supervisor on duty"]
