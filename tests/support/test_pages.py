"""Customer pages (/support/) and the agent console (/desk/), rendered through the test client."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from okpay.audit.models import AuditRecord
from okpay.payments import services as payments
from okpay.support import services as s
from okpay.support.models import CannedReply, Feedback, Rating, Ticket
from tests.factories import sign_in
from tests.support.helpers import web_ticket


def login(user) -> Client:  # type: ignore[no-untyped-def]
    return sign_in(user)


def test_customer_files_replies_closes_and_rates(alice, fake_clock):
    payments.topup_create(user=alice, amount=10_000)
    txn = payments.withdrawal_create(user=alice, amount=3_000)
    c = login(alice)
    form = c.get("/support/new/")
    assert form.status_code == 200 and txn.public_id in form.content.decode()
    r = c.post("/support/new/", {"category": "payment", "subject": "提现待处理", "body": "请帮我看看",
                                 "transaction_id": txn.public_id,
                                 "attachments": SimpleUploadedFile("a.png", b"\x89PNG\r\n\x1a\n0000")})
    assert r.status_code == 302
    t = Ticket.objects.get()
    page = c.get(r["Location"]).content.decode()
    assert t.number in page and "请帮我看看" in page and "a.png" in page
    att = t.messages.get().attachments.get()
    assert c.get(f"/support/tickets/{t.public_id}/files/{att.public_id}").status_code == 200
    assert t.number in c.get("/support/tickets/").content.decode()
    assert c.post(f"/support/tickets/{t.public_id}/reply/", {"body": "补充说明"}).status_code == 302
    assert c.post(f"/support/tickets/{t.public_id}/close/").status_code == 302
    assert c.post(f"/support/tickets/{t.public_id}/rate/", {"score": "5", "comment": "好"}).status_code == 302
    assert Rating.objects.get().score == 5
    assert "5" in c.get(f"/support/tickets/{t.public_id}/").content.decode()


def test_form_errors_keep_the_input(alice, fake_clock):
    r = login(alice).post("/support/new/", {"category": "", "subject": "主题", "body": "内容"})
    assert r.status_code == 400 and "主题" in r.content.decode()
    assert Ticket.objects.count() == 0


def test_pages_need_a_login_and_hide_others(alice, bob, fake_clock):
    t = web_ticket(alice)
    assert Client().get("/support/tickets/").status_code == 302
    assert login(bob).get(f"/support/tickets/{t.public_id}/").status_code == 404
    assert login(bob).post(f"/support/tickets/{t.public_id}/close/").status_code == 404
    t.refresh_from_db()
    assert t.status == "new"


def test_suggestions_come_from_the_help_centre(db, client):
    r = client.get("/support/suggest/", {"subject": "忘记密码"})
    assert r.status_code == 200


def test_feedback_and_callback_without_login(db, client, fake_clock):
    assert client.post("/support/feedback/", {"kind": "idea", "body": "希望有深色模式"}).status_code == 200
    assert Feedback.objects.get().user is None
    r = client.post("/support/callback/", {"phone": "13800138000", "topic": "account"})
    assert r.status_code == 200 and Ticket.objects.get().priority == "urgent"


def test_desk_queue_ticket_context_reply_and_audit(alice, agent, fake_clock):
    payments.topup_create(user=alice, amount=10_000)
    t = web_ticket(alice)
    c = login(agent)
    home = c.get("/desk/?queue=unassigned")
    assert home.status_code == 200 and t.number in home.content.decode()
    assert t.number in c.get("/desk/?queue=all_open&q=" + t.number, headers={"HX-Request": "true"}).content.decode()
    page = c.get(f"/desk/t/{t.public_id}/")
    assert page.status_code == 200 and "付款显示待处理" in page.content.decode()
    ctx = c.get(f"/desk/t/{t.public_id}/context/").content.decode()
    assert "al***@example.com" in ctx and "alice@example.com" not in ctx and "¥100.00" in ctx
    assert AuditRecord.objects.filter(action="support.view.customer_context", actor=agent.public_id,
                                      target_id=t.public_id).count() == 1
    canned = CannedReply.objects.get(key="pending-transaction", lang="zh-hans")
    fill = c.get(f"/desk/t/{t.public_id}/canned/{canned.pk}/").content.decode()
    assert "Alice您好" in fill
    r = c.post(f"/desk/t/{t.public_id}/reply/", {"body": "您好，已查询", "canned": canned.pk, "status": "waiting"})
    assert r.status_code == 302
    t.refresh_from_db()
    assert t.status == "waiting" and t.first_responded_at is not None
    assert "您好，已查询" in c.get(f"/desk/t/{t.public_id}/live/").content.decode()


def test_desk_refuses_customers(alice, fake_clock):
    t = web_ticket(alice)
    c = login(alice)
    for url in ("/desk/", f"/desk/t/{t.public_id}/", f"/desk/t/{t.public_id}/context/", "/desk/dashboard/"):
        assert c.get(url).status_code == 403
    assert c.post(f"/desk/t/{t.public_id}/reply/", {"body": "x"}).status_code == 403
    assert t.messages.count() == 1


def test_collision_warning_on_the_page(alice, agent, supervisor, fake_clock):
    t = web_ticket(alice)
    login(supervisor).get(f"/desk/t/{t.public_id}/")
    live = login(agent).get(f"/desk/t/{t.public_id}/live/").content.decode()
    assert "Supervisor" in live and "collision" in live


def test_bulk_action_from_the_queue(alice, agent, fake_clock):
    t1, t2 = web_ticket(alice), web_ticket(alice)
    r = login(agent).post("/desk/bulk/", {"ticket": [t1.public_id, t2.public_id], "priority": "high",
                                          "assignee": agent.public_id})
    assert r.status_code == 302
    assert list(Ticket.objects.order_by("pk").values_list("priority", "assignee")) == [("high", agent.pk)] * 2


def test_dashboard_and_csv(alice, agent, supervisor, fake_clock):
    t = web_ticket(alice)
    fake_clock.advance(hours=2)
    s.agent_reply(ticket=t, agent=agent, body="ok", status="solved")
    s.rating_create(ticket=t, user=alice, score=5)
    c = login(supervisor)
    day = fake_clock.now.date().isoformat()
    page = c.get(f"/desk/dashboard/?since={day}&until={day}")
    html = page.content.decode()
    assert page.status_code == 200 and "<svg" in html and 'id="kpi-csat">5.00' in html
    assert 'id="kpi-first-median">2.0 小时' in html
    rows = list(csv.reader(io.StringIO(c.get(f"/desk/dashboard.csv?since={day}&until={day}").content.decode()
                                       .lstrip("\ufeff"))))
    assert ["period", "tickets", "1"] in rows and ["csat", "average", "5.0"] in rows
    assert ["first_response_hours", "median", "2.0"] in rows


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_pages_render_in_both_languages(alice, agent, lang, fake_clock):
    t = web_ticket(alice)
    for user, url in ((alice, "/support/new/"), (alice, f"/support/tickets/{t.public_id}/"), (agent, "/desk/"),
                      (agent, f"/desk/t/{t.public_id}/")):
        c = login(user)
        c.cookies["django_language"] = lang
        assert c.get(url).status_code == 200


def test_supervisors_search_the_audit_log_agents_do_not(alice, agent, supervisor, fake_clock):
    t = web_ticket(alice)
    s.ticket_view_record(ticket=t, agent=agent, what="customer_context")
    found = login(supervisor).get("/admin/audit/auditrecord/", {"q": t.public_id})
    assert found.status_code == 200 and "support.view.customer_context" in found.content.decode()
    assert login(agent).get("/admin/audit/auditrecord/").status_code == 403


def test_nps_question_on_my_tickets_once_a_quarter(alice, agent, fake_clock):
    from okpay.support.models import NpsResponse

    t = web_ticket(alice)
    s.agent_reply(ticket=t, agent=agent, body="ok", status="solved")
    c = login(alice)
    assert 'name="score" value="10"' in c.get("/support/tickets/").content.decode()
    assert c.post("/support/nps/", {"score": "10"}).status_code == 302
    assert NpsResponse.objects.get().score == 10
    assert 'value="10"' not in c.get("/support/tickets/").content.decode()


def test_demo_data_is_idempotent(db):
    from okpay.support.demo import support_demo
    from tests.factories import user_create

    assert support_demo() == ["demo cast missing: nothing to do"]
    for email, role in (("alice@okpay.example", "customer"), ("bob@okpay.example", "customer"),
                        ("agent@okpay.example", "agent"), ("supervisor@okpay.example", "supervisor")):
        user_create(email, role=role)
    assert support_demo()[0].startswith("6 tickets")
    assert support_demo() == ["tickets already there"]
    assert Ticket.objects.count() == 6 and Rating.objects.count() == 1


def test_anonymous_callbacks_are_rate_limited(db, fake_clock):
    from django.core.cache import cache

    cache.clear()
    c = Client(REMOTE_ADDR="203.0.113.9")
    for i in range(5):
        assert c.post("/support/callback/", {"phone": f"1380013800{i}", "topic": "account"}).status_code == 200
    refused = c.post("/support/callback/", {"phone": "13800138009", "topic": "account"})
    assert refused.status_code == 400 and Ticket.objects.count() == 5
    cache.clear()


def test_agent_links_a_transaction_of_the_customer_only(alice, bob, agent, fake_clock):
    mine = payments.topup_create(user=alice, amount=1_000)
    theirs = payments.topup_create(user=bob, amount=1_000)
    t = web_ticket(alice)
    c = login(agent)
    assert "关联到此工单" in c.get(f"/desk/t/{t.public_id}/context/").content.decode()
    assert c.post(f"/desk/t/{t.public_id}/link/", {"transaction_id": mine.public_id}).status_code == 302
    assert c.post(f"/desk/t/{t.public_id}/link/", {"transaction_id": theirs.public_id}).status_code == 400
    assert list(t.linked_transactions.values_list("transaction_id", flat=True)) == [mine.public_id]


def test_canned_replies_follow_the_conversation_and_leave_no_gap(alice, agent):
    from okpay.support import services as support
    from okpay.support.models import CannedReply
    from okpay.support.views import conversation_lang
    from tests.factories import sign_in

    english = support.ticket_create(requester=support.Requester(user=alice), channel="web", category="payment",
                                    subject="My payment is stuck", body="It shows pending since yesterday.")
    assert conversation_lang(english) == "en"  # alice reads Chinese, but this conversation is in English
    page = sign_in(agent).get(f"/desk/t/{english.public_id}/").content.decode()
    assert 'lang="en">' in page.split('class="canned-bar"')[1].split("</details>")[0]
    reply = CannedReply.objects.create(key="gap-test", lang="en", title="Gap",
                                       body="Hello {customer_name},\nTransaction {transaction_id} is pending.")
    Ticket.objects.filter(pk=english.pk).update(requester_name="")
    english.refresh_from_db()
    text = support.canned_render(reply, ticket=english, agent=agent)
    assert text == "Hello,\nTransaction is pending."


# --- form errors are announced (issue 22): the desk ticket forms answer on the form ---------------------

def _tag(html: str, field_id: str) -> str:
    import re

    return re.search(rf'<(?:input|textarea|select)[^>]*\bid="{field_id}"[^>]*>', html).group(0)  # type: ignore[union-attr]


def test_desk_reply_sent_empty_marks_the_reply_invalid_and_sends_nothing(alice, agent, fake_clock):
    t = web_ticket(alice)
    c = login(agent)
    before = t.messages.count()
    answer = c.post(f"/desk/t/{t.public_id}/reply/", {"body": "  ", "status": "solved"})
    html = answer.content.decode()
    tag = _tag(html, "reply-body")
    assert answer.status_code == 400 and 'aria-invalid="true" aria-describedby="form-error"' in tag
    assert 'role="alert" id="form-error">' in html
    t.refresh_from_db()
    assert t.messages.count() == before and t.status != "solved"


def test_desk_action_without_a_reason_says_so_at_the_reason_and_keeps_the_choice(alice, agent, fake_clock):
    import re

    from okpay.support.models import ActionRequest

    t = web_ticket(alice)
    c = login(agent)
    page = c.get(f"/desk/t/{t.public_id}/").content.decode()
    form = page[page.index(f'action="/desk/t/{t.public_id}/action/"'):]
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    answer = c.post(f"/desk/t/{t.public_id}/action/", {"idempotency_key": key, "kind": "freeze", "reason": ""})
    html = answer.content.decode()
    assert answer.status_code == 400
    assert 'aria-invalid="true" aria-describedby="action-error"' in _tag(html, "action-reason")
    assert re.search(r'role="alert" id="action-error">[^<]+<', html) and 'value="freeze" selected' in html
    assert not ActionRequest.objects.exists()
    # Corrected with the page's fresh key, the action is requested once.
    form = html[html.index(f'action="/desk/t/{t.public_id}/action/"'):]
    fresh = re.search(r'name="idempotency_key" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    assert fresh != key
    done = c.post(f"/desk/t/{t.public_id}/action/", {"idempotency_key": fresh, "kind": "freeze", "reason": "客户要求"})
    assert done.status_code == 302 and ActionRequest.objects.count() == 1
