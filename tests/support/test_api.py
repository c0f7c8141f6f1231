"""The Support part of API.md: tickets, messages, rating, callbacks (+ feedback and NPS)."""

from __future__ import annotations

from okpay.payments import services as payments
from okpay.support.models import Ticket


def test_ticket_lifecycle_over_the_api(alice, agent, api_client, fake_clock):
    from okpay.support import services as s

    payments.topup_create(user=alice, amount=10_000)
    txn = payments.withdrawal_create(user=alice, amount=5_000)
    c = api_client(alice)
    r = c.post("/api/v1/support/tickets", {"category": "payment", "subject": "提现待处理", "body": "提现一直待处理",
                                           "transaction_id": txn.public_id}, content_type="application/json")
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["number"] == "OK-2026-000001" and data["status"] == "new" and data["channel"] == "api"
    assert data["transaction_ids"] == [txn.public_id] and data["first_response_due"] is not None
    tid = data["id"]
    listing = c.get("/api/v1/support/tickets").json()
    assert [t["id"] for t in listing["data"]] == [tid] and listing["next_cursor"] is None
    ticket = Ticket.objects.get(public_id=tid)
    s.agent_reply(ticket=ticket, agent=agent, body="已为您查询", status="solved")
    r = c.post(f"/api/v1/support/tickets/{tid}/rating", {"score": 5, "comment": "好"}, content_type="application/json")
    assert r.status_code == 201 and r.json()["score"] == 5
    again = c.post(f"/api/v1/support/tickets/{tid}/rating", {"score": 4}, content_type="application/json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_rated"
    r = c.post(f"/api/v1/support/tickets/{tid}/messages", {"body": "谢谢"}, content_type="application/json")
    assert r.status_code == 201 and r.json()["author"] == "customer"
    detail = c.get(f"/api/v1/support/tickets/{tid}").json()
    assert detail["status"] == "open" and [m["author"] for m in detail["messages"]] == ["customer", "agent", "customer"]
    assert detail["rating"]["score"] == 5


def test_refusals_use_the_error_envelope(alice, bob, api_client, fake_clock):
    c = api_client(alice)
    bad = c.post("/api/v1/support/tickets", {"category": "nonsense", "subject": "x", "body": "y"},
                 content_type="application/json")
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "category"
    foreign = c.post("/api/v1/support/tickets", {"category": "payment", "subject": "x", "body": "y",
                                                 "transaction_id": "txn_notmine"}, content_type="application/json")
    assert foreign.status_code == 400 and foreign.json()["error"]["param"] == "transaction_id"
    assert c.post("/api/v1/support/tickets/tkt_nope/rating", {"score": 5},
                  content_type="application/json").status_code == 404
    score = c.post("/api/v1/support/tickets/tkt_nope/rating", {"score": 9}, content_type="application/json")
    assert score.status_code == 400
    assert api_client(None).get("/api/v1/support/tickets").status_code == 401
    assert Ticket.objects.count() == 0


def test_callback_creates_an_urgent_phone_ticket(alice, api_client, fake_clock):
    r = api_client(alice).post("/api/v1/support/callbacks", {"phone": "+86 138 0013 8000", "topic": "security",
                                                            "preferred_time": "18:00 前"},
                               content_type="application/json")
    assert r.status_code == 201
    data = r.json()
    assert (data["channel"], data["priority"], data["category"]) == ("phone", "urgent", "security")


def test_idempotent_ticket_creation(alice, api_client, fake_clock):
    c = api_client(alice)
    body = {"category": "technical", "subject": "App 闪退", "body": "打开就闪退"}
    one = c.post("/api/v1/support/tickets", body, content_type="application/json", headers={"Idempotency-Key": "k1"})
    two = c.post("/api/v1/support/tickets", body, content_type="application/json", headers={"Idempotency-Key": "k1"})
    assert one.status_code == two.status_code == 201 and one.json()["id"] == two.json()["id"]
    assert Ticket.objects.count() == 1


def test_feedback_and_nps(alice, api_client, fake_clock):
    c = api_client(alice)
    assert c.post("/api/v1/support/feedback", {"body": "很好用", "kind": "praise"},
                  content_type="application/json").status_code == 201
    assert c.get("/api/v1/support/nps").json() == {"due": False}
    assert c.post("/api/v1/support/nps", {"score": 9}, content_type="application/json").status_code == 201
    assert c.post("/api/v1/support/nps", {"score": 9}, content_type="application/json").status_code == 409


def test_openapi_describes_support(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/support/tickets", "/api/v1/support/tickets/{ticket_id}",
                 "/api/v1/support/tickets/{ticket_id}/messages", "/api/v1/support/tickets/{ticket_id}/rating",
                 "/api/v1/support/callbacks"):
        assert path in paths


def test_ticket_list_costs_the_same_queries_for_1_and_20_tickets(alice, agent, api_client, fake_clock):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from okpay.support import services as s
    from tests.support.helpers import web_ticket

    c = api_client(alice)

    def cost() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert c.get("/api/v1/support/tickets").status_code == 200
        return len(ctx.captured_queries)

    first = web_ticket(alice)
    s.agent_reply(ticket=first, agent=agent, body="ok", status="solved")
    s.rating_create(ticket=first, user=alice, score=4)
    cost()  # the first call of a token also records its use
    one = cost()
    for _ in range(19):
        web_ticket(alice)
    assert cost() == one
