"""The desk's history and OKPay's own notes in the desk user's language (issue 18): every event kind
the code writes reads as a sentence with no raw code (``assigned``, ``sla_breached``,
``action_executed``); a note the desk wrote (an action's outcome) follows the reader's language, not
the language the server happened to write it in; the ticket page is three panes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import translation

from okpay.payments import services as payments
from okpay.support import actions, history, notes
from okpay.support import services as s
from okpay.support.models import TicketEvent, TicketMessage
from tests.factories import sign_in
from tests.support.helpers import web_ticket

SRC = Path(__file__).resolve().parents[2] / "src" / "okpay"
HAN = re.compile(r"[\u3400-\u9fff]")


def kinds_written() -> set[str]:
    """Every event kind the code writes: ``event_add(ticket, "kind", ...)`` anywhere, and the
    ``action_<state>`` kinds."""
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        found |= set(re.findall(r"event_add\(\s*[\w.]+,\s*\"([a-z_]+)\"", path.read_text(encoding="utf-8")))
        found |= set(re.findall(r"\"reopened\" if .*? else \"([a-z_]+)\"", path.read_text(encoding="utf-8")))
    found |= {"action_executed", "action_failed", "action_rejected", "action_pending"}
    return found


DETAILS = {  # what each kind carries, as the services write it
    "created": {"channel": "email", "category": "payment", "priority": "high"},
    "complaint_rule": {"priority": "high"}, "follow_up_created": {"follow_up": "OK-2026-000002"},
    "status": {"old": "open", "new": "solved"}, "message": {"visibility": "internal", "message": "msg_x"},
    "requester_linked": {"customer": "usr_x", "link": "verified_email"},
    "category": {"old": "account", "new": "payment"}, "rated": {"score": 4}, "chat_rated": {"score": 5},
    "priority": {"old": "normal", "new": "high", "why": "escalation"},
    "assigned": {"assignee": "usr_nobody", "how": "round_robin"}, "team": {"team": "payments"},
    "tags": {"old": [], "new": ["vip"]}, "transaction_linked": {"transaction": "txn_9Zq4Rt"},
    "sla_breached": {"targets": ["first_response", "resolution"]}, "sla_warning": {"due": "2026-11-23T02:00:00+00:00"},
    "action_requested": {"action": "act_x", "action_kind": "freeze", "needs_approval": True},
    "action_executed": {"action": "act_x", "action_kind": "transaction_cancel"},
    "action_failed": {"action": "act_x", "action_kind": "unknown_kind"},
    "call_logged": {"call": "call_x", "direction": "outbound", "outcome": "answered", "duration": 125},
    "caller_code_sent": {"via": "sms"}, "promise_overdue": {"transaction": "txn_9Zq4Rt", "promise": "refund"},
    "promise_settled": {"transaction": "txn_9Zq4Rt", "outcome": "succeeded"},
}


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_every_kind_the_code_writes_reads_as_words(alice, agent, fake_clock, lang):
    ticket = web_ticket(alice)
    kinds = kinds_written()
    assert {"assigned", "status", "sla_breached", "call_logged", "chat_rated", "promise_overdue"} <= kinds
    events = [TicketEvent(ticket=ticket, kind=k, actor=agent.public_id, at=fake_clock.now, detail=DETAILS.get(k, {}))
              for k in sorted(kinds)]
    with translation.override(lang):
        lines = history.history(events)
        unknown = str(translation.gettext("Other change"))
    for line in lines:
        assert line.text and line.text != unknown, line.kind  # every kind written has its own sentence
        # no code (``sla_breached``, ``ticket.assigned``): plain words like "created" may stay
        assert not re.search(r"\b[a-z]+(?:_[a-z]+)+\b|\b[a-z]+\.[a-z_]+\b|=", line.text), line
        assert line.who == agent.display_name
        if lang == "zh-hans":
            assert HAN.search(line.text), line
        else:
            assert not HAN.search(line.text), line
    with translation.override(lang):  # a kind added later still reads as words, never its code
        later = history.history([TicketEvent(ticket=ticket, kind="brand_new_thing", actor="system", at=fake_clock.now)])
    assert later[0].text == unknown and "brand_new_thing" not in later[0].text


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_the_rendered_history_has_no_raw_code(alice, agent, supervisor, fake_clock, lang):
    payments.topup_create(user=alice, amount=50_000)
    txn = payments.withdrawal_create(user=alice, amount=20_000)
    ticket = web_ticket(alice)
    s.ticket_assign(ticket=ticket, actor=supervisor, assignee=agent)
    s.ticket_priority_set(ticket=ticket, actor=agent, priority="high")
    s.ticket_tags_set(ticket=ticket, actor=agent, tags=["vip"])
    s.ticket_category_set(ticket=ticket, actor=agent, category="account")
    s.ticket_link_transaction(ticket=ticket, actor=agent, transaction_id=txn.public_id)
    s.agent_reply(ticket=ticket, agent=agent, body="内部：先查银行", internal=True)
    actions.action_request(ticket=ticket, agent=agent, kind="transaction_cancel", reason="客户要求取消",
                           transaction_id=txn.public_id)
    s.agent_reply(ticket=ticket, agent=agent, body="已为您取消。", status="solved")
    kinds = set(ticket.events.values_list("kind", flat=True))
    assert {"assigned", "priority", "tags", "category", "transaction_linked", "message", "action_executed",
            "status"} <= kinds
    c = sign_in(agent)
    c.cookies["django_language"] = lang
    html = c.get(f"/desk/t/{ticket.public_id}/").content.decode()
    shown = re.search(r'<ol class="plain desk-history">(.*?)</ol>', html, re.S)
    assert shown is not None
    text = re.sub(r"<[^>]+>", " ", shown.group(1))  # what the agent reads (data attributes aside)
    codes = {k for k in kinds if "_" in k} | {f"ticket.{k}" for k in kinds}
    assert {"transaction_linked", "action_executed", "ticket.assigned"} <= codes
    for code in codes:
        assert code not in text, (code, text)
    assert not re.search(r"\b[a-z]+(?:_[a-z]+)+\b|\w=\w", text), text  # nor any other code or key=value
    assert "usr_" not in text and agent.display_name in text
    assert ("分配给" in text) if lang == "zh-hans" else ("Assigned to" in text)


def test_okpay_notes_follow_the_reader_s_language(alice, agent, fake_clock):
    payments.topup_create(user=alice, amount=50_000)
    txn = payments.withdrawal_create(user=alice, amount=20_000)
    ticket = web_ticket(alice)
    actions.action_request(ticket=ticket, agent=agent, kind="transaction_cancel", reason="客户要求取消",
                           transaction_id=txn.public_id)
    note = ticket.messages.get(author_kind=TicketMessage.AuthorKind.SYSTEM)
    assert note.visibility == "internal" and note.note["parts"]
    assert "取消待处理的交易" in note.body_text  # stored in the site's language for search and exports
    pages = {}
    for lang in ("zh-hans", "en"):
        c = sign_in(agent)
        c.cookies["django_language"] = lang
        pages[lang] = c.get(f"/desk/t/{ticket.public_id}/live/").content.decode()
    assert "取消待处理的交易" in pages["zh-hans"] and "客户要求取消" in pages["zh-hans"]
    en = re.search(rf'id="{note.public_id}".*?</li>', pages["en"], re.S)
    assert en is not None
    assert "Cancel the pending transaction · Done: transaction cancelled — 客户要求取消" in en.group(0)
    assert "取消待处理的交易" not in en.group(0)  # the reason stays as the agent typed it, the rest is English


def test_notes_render_parts_and_survive_bad_shapes():
    with translation.override("en"):
        assert notes.render([notes.tr("Chat transcript (%(id)s):", id="chat_1"), "\nhi"]) == \
            "Chat transcript (chat_1):\nhi"
        assert notes.render({"unexpected": 1}) == "" and notes.render(None) == ""
    with translation.override("zh-hans"):
        assert HAN.search(notes.render(notes.tr("Inline images dropped: %(n)s", n="2")))


def test_ticket_page_is_three_panes_with_the_view_and_the_customer(alice, agent, fake_clock):
    first = web_ticket(alice, subject="第一张工单")
    second = web_ticket(alice, subject="第二张工单")
    c = sign_in(agent)
    assert c.get("/desk/?queue=all_open").status_code == 200  # the view the agent works in is remembered
    html = c.get(f"/desk/t/{second.public_id}/").content.decode()
    for pane in ('id="pane-queue"', 'id="pane-conversation"', 'id="pane-customer"', "data-pane-show"):
        assert pane in html
    queue = html[html.index('id="pane-queue"'):html.index('id="pane-conversation"')]
    assert first.number in queue and second.number in queue and 'aria-current="page"' in queue
    assert "/desk/?queue=all_open" in html  # the back link returns to the same view
    customer = html[html.index('id="pane-customer"'):]
    assert first.number in customer  # the customer's other tickets
    assert 'name="idempotency_key"' in customer  # the account action form keeps its once key
