"""Proof links bind the right person (issue 16, item 7): the "prove it's you" link links a ticket
only to the customer whose verified email is the ticket's address, and its page says which
address and subject it is about before anyone confirms."""

from __future__ import annotations

from django.test import Client

from okpay.audit.models import AuditRecord
from okpay.support import services as s
from okpay.support.models import Ticket, TicketEvent


def forged_ticket() -> Ticket:
    """Mail in alice's name that nobody proved (e.g. no Authentication-Results of our MTA)."""
    return s.ticket_create(requester=s.requester_for(email="alice@example.com", unverified="authentication_missing"),
                           channel="email", category="payment", subject="请把我的余额转走", body="…")


def test_a_signed_in_customer_cannot_take_someone_elses_proof_link(alice, mallory, agent, fake_clock):
    t = forged_ticket()
    s.requester_proof_send(ticket=t, agent=agent)
    link = f"/support/prove/{s.proof_token(t)}/"
    thief = Client()
    thief.force_login(mallory)
    page = thief.get(link)
    html = page.content.decode()
    assert page.status_code == 200 and "alice@example.com" in html and "请把我的余额转走" in html
    assert "data-other-account" in html and "data-proof-confirm" not in html  # nothing to confirm for mallory
    r = thief.post(link)
    assert r.status_code == 403 and "只有以该地址为已验证邮箱的 OKPay 账户" in r.content.decode()
    t.refresh_from_db()
    assert (t.requester, t.requester_link) == (None, "")
    assert not TicketEvent.objects.filter(ticket=t, kind="requester_linked").exists()
    assert not AuditRecord.objects.filter(action="support.requester_linked").exists()
    # the owner, signed in: the page shows the address and subject, then links to her
    owner = Client()
    owner.force_login(alice)
    html = owner.get(link).content.decode()
    assert "data-proof-email" in html and "alice@example.com" in html and "请把我的余额转走" in html
    assert "data-other-account" not in html and "data-proof-confirm" in html
    r = owner.post(link)
    assert r.status_code == 302 and r["Location"] == f"/support/tickets/{t.public_id}/"
    t.refresh_from_db()
    assert (t.requester, t.requester_link) == (alice, "proved_by_email")
    # mallory again, too late: linked to alice, stays so
    assert thief.post(link).status_code == 403 and Ticket.objects.get(pk=t.pk).requester == alice


def test_the_proof_page_shows_address_and_subject_before_confirming(alice, agent, fake_clock):
    t = forged_ticket()
    html = Client().get(f"/support/prove/{s.proof_token(t)}/").content.decode()
    assert t.number in html and "alice@example.com" in html and "请把我的余额转走" in html
    assert Ticket.objects.get(pk=t.pk).requester is None
