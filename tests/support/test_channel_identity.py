"""Channel identity (issue 9, item 5): a requester is linked to a customer only through a
verified address, the agent sees how, and an unlinked one sees no wallet data until they prove
who they are (signed link by email, or signing in)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from okpay.audit.models import AuditRecord
from okpay.core.errors import Forbidden
from okpay.identity.models import OutboundEmail
from okpay.support import actions
from okpay.support import services as s
from okpay.support.models import Ticket, TicketEvent
from tests.factories import sign_in, user_create


def email_ticket(requester: s.Requester, **kw: object) -> Ticket:
    return s.ticket_create(requester=requester, channel="email", category="payment", subject="钱没到账",
                           body="请帮我查一下", **kw)  # type: ignore[arg-type]


def test_requester_for_links_only_verified_addresses(alice, db):
    unverified = user_create("carol@example.com", verified=False, phone="+8613800138000")
    alice.phone, alice.phone_verified_at = "+8613900139000", timezone.now()
    alice.save(update_fields=["phone", "phone_verified_at"])

    r = s.requester_for(email="Alice@Example.com", name="Alice")
    assert (r.user, r.link, r.how, r.email) == (alice, "verified_email", "verified_email", "alice@example.com")
    r = s.requester_for(phone="+86 139 0013 9000")
    assert (r.user, r.how) == (alice, "verified_phone")
    # an address on an account that never proved it: unlinked
    assert s.requester_for(email="carol@example.com").user is None
    assert s.requester_for(phone="+8613800138000").user is None
    assert unverified.email == "carol@example.com"
    # unknown address, social handle: unlinked
    assert s.requester_for(email="nobody@example.org").how == ""
    assert s.requester_for(handle="telegram:42").user is None
    # the channel's own proof failed (e.g. DMARC): never linked, even for a verified address
    r = s.requester_for(email="alice@example.com", unverified="authentication_failed")
    assert (r.user, r.how, r.unverified) == (None, "", "authentication_failed")


def test_ticket_stores_how_the_requester_was_linked(alice, fake_clock):
    linked = email_ticket(s.requester_for(email="alice@example.com"))
    assert (linked.requester, linked.requester_link) == (alice, "verified_email")
    assert TicketEvent.objects.get(ticket=linked, kind="created").detail["link"] == "verified_email"
    web = s.ticket_create(requester=s.Requester(user=alice), channel="web", category="account", subject="x", body="y")
    assert web.requester_link == "session"
    forged = email_ticket(s.requester_for(email="alice@example.com", unverified="authentication_failed"))
    assert (forged.requester, forged.requester_link, forged.meta["unverified"]) == (None, "", "authentication_failed")


def test_unlinked_ticket_shows_no_wallet_and_allows_no_action(alice, agent, fake_clock):
    t = email_ticket(s.requester_for(email="alice@example.com", unverified="authentication_failed"))
    c = sign_in(agent)
    page = c.get(f"/desk/t/{t.public_id}/").content.decode()
    assert 'data-requester-link=""' in page and 'data-unverified="authentication_failed"' in page
    assert f"/desk/t/{t.public_id}/prove/" in page and 'id="actions"' not in page
    ctx = c.get(f"/desk/t/{t.public_id}/context/").content.decode()
    assert "data-balance" not in ctx and alice.public_id not in ctx
    assert not AuditRecord.objects.filter(action="support.view.customer_context").exists()
    before = AuditRecord.objects.count()
    with pytest.raises(s.InvalidRequest):
        actions.action_request(ticket=t, agent=agent, kind="freeze", reason="customer asked")
    assert AuditRecord.objects.count() == before and Ticket.objects.get(pk=t.pk).requester is None


def test_linked_ticket_shows_how_it_was_linked(alice, agent, fake_clock):
    t = email_ticket(s.requester_for(email="alice@example.com"))
    c = sign_in(agent)
    page = c.get(f"/desk/t/{t.public_id}/").content.decode()
    assert 'data-requester-link="verified_email"' in page and 'id="actions"' in page
    assert f"/desk/t/{t.public_id}/prove/" not in page
    assert alice.public_id in c.get(f"/desk/t/{t.public_id}/context/").content.decode()


def _proof_link(email: str) -> str:
    mail = OutboundEmail.objects.filter(to=[email]).order_by("-pk").first()
    assert mail is not None
    match = re.search(r"/support/prove/[^/\s\"]+/", mail.body_text)
    assert match, mail.body_text
    return match.group(0)


def test_prove_by_email_links_to_the_verified_owner(alice, agent, fake_clock):
    t = email_ticket(s.requester_for(email="alice@example.com", unverified="authentication_failed"))
    c = sign_in(agent)
    assert c.post(f"/desk/t/{t.public_id}/prove/").status_code == 302
    link = _proof_link("alice@example.com")
    assert Ticket.objects.get(pk=t.pk).requester is None
    anon = Client()
    assert anon.get(link).status_code == 200  # a GET (a mail scanner) changes nothing
    assert Ticket.objects.get(pk=t.pk).requester is None
    r = anon.post(link)
    assert r.status_code == 200 and "data-proved" in r.content.decode()
    t.refresh_from_db()
    assert (t.requester, t.requester_link) == (alice, "proved_by_email")
    event = TicketEvent.objects.get(ticket=t, kind="requester_linked")
    assert event.detail == {"customer": alice.public_id, "link": "proved_by_email"}
    assert list(AuditRecord.objects.filter(action="support.requester_linked").values_list("actor", flat=True)) \
        == [alice.public_id]
    assert AuditRecord.objects.filter(action="support.requester_proof_sent").count() == 1
    # the same link again: nothing changes
    assert anon.post(link).status_code == 200
    assert TicketEvent.objects.filter(ticket=t, kind="requester_linked").count() == 1


def test_prove_links_nobody_when_the_address_is_nobodys(alice, bob, agent, fake_clock):
    # Before issue 16 (item 7) a signed-in alice linked this ticket to herself: the link proves
    # she reads alice.other@…, not that the ticket is hers. Now only the verified owner links.
    t = email_ticket(s.Requester(email="alice.other@example.org", name="Alice"))
    s.requester_proof_send(ticket=t, agent=agent)
    link = _proof_link("alice.other@example.org")
    r = Client().post(link)
    assert r.status_code == 400 and "没有任何 OKPay 账户验证过这个邮箱地址" in r.content.decode()
    c = Client()
    c.force_login(alice)
    assert c.post(link).status_code == 403
    c.force_login(bob)
    assert c.post(link).status_code == 403
    assert Ticket.objects.get(pk=t.pk).requester is None
    assert not TicketEvent.objects.filter(ticket=t, kind="requester_linked").exists()


def test_forged_or_stale_proof_links_are_refused(alice, agent, fake_clock):
    t = email_ticket(s.Requester(email="someone@example.org"))
    token = s.proof_token(t)
    for bad in (token[:-2] + "xx", "abc"):
        r = Client().post(f"/support/prove/{bad}/")
        assert r.status_code == 400
    # the ticket's address changed after the mail went out: the link no longer works
    Ticket.objects.filter(pk=t.pk).update(requester_email="other@example.org")
    c = Client()
    c.force_login(alice)
    assert c.post(f"/support/prove/{token}/").status_code == 400
    assert Ticket.objects.get(pk=t.pk).requester is None
    # linked tickets get no proof mail
    linked = email_ticket(s.requester_for(email="alice@example.com"))
    with pytest.raises(s.Conflict):
        s.requester_proof_send(ticket=linked, agent=agent)


def test_channel_replies_join_only_the_requesters_own_ticket(alice, bob, fake_clock):
    linked = email_ticket(s.requester_for(email="alice@example.com"))
    msg = s.customer_reply(ticket=linked, requester=s.requester_for(email="alice@example.com"), body="补充")
    assert (msg.ticket, msg.author) == (linked, alice)
    # somebody else, or alice's address failing authentication, never joins alice's linked ticket
    for who in (s.requester_for(email="bob@example.com"),
                s.requester_for(email="alice@example.com", unverified="authentication_failed"),
                s.Requester(email="stranger@example.org")):
        with pytest.raises(s.TicketNotFound):
            s.customer_reply(ticket=linked, requester=who, body="let me in")
    assert linked.messages.count() == 2
    # an unlinked ticket takes replies from its own address only, and stays unlinked
    loose = email_ticket(s.Requester(email="visitor@example.org"))
    msg = s.customer_reply(ticket=loose, requester=s.Requester(email="Visitor@example.org"), body="more")
    assert msg.author is None and Ticket.objects.get(pk=loose.pk).requester is None
    with pytest.raises(s.TicketNotFound):
        s.customer_reply(ticket=loose, requester=s.requester_for(email="bob@example.com"), body="x")


def test_agents_correct_the_category(alice, agent, mallory, fake_clock):
    t = email_ticket(s.requester_for(email="alice@example.com"))
    s.ticket_category_set(ticket=t, actor=agent, category="security")
    assert Ticket.objects.get(pk=t.pk).category == "security"
    assert TicketEvent.objects.get(ticket=t, kind="category").detail == {"old": "payment", "new": "security"}
    with pytest.raises(s.InvalidRequest):
        s.ticket_category_set(ticket=t, actor=agent, category="nonsense")
    with pytest.raises(Forbidden):
        s.ticket_category_set(ticket=t, actor=mallory, category="account")
    assert Ticket.objects.get(pk=t.pk).category == "security"
