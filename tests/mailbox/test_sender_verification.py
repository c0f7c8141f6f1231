"""Inbound email fails closed (issue 16, item 3): only the topmost Authentication-Results of our
own MTA (``OKPAY_MAIL_AUTHSERV_ID``) can prove a sender; without it, or without a pass for the
From: domain, the sender is a stranger: the ticket is kept but unlinked (no wallet, no account
action), and it never joins a customer's ticket as that customer."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks

from okpay.audit.models import AuditRecord
from okpay.identity.models import OutboundEmail
from okpay.mailbox import parse
from okpay.mailbox.models import InboundEmail
from okpay.mailbox.services import inbound_email_receive
from okpay.support import actions
from okpay.support import services as s
from okpay.support.models import Ticket, TicketMessage
from tests.factories import sign_in
from tests.mailbox.conftest import AUTHSERV, mail, passed


def receive(msg, *top: str) -> Ticket:  # type: ignore[no-untyped-def]
    """Deliver ``msg``, with ``top`` Authentication-Results headers put on top of it (as an MTA does)."""
    raw = b"".join(f"Authentication-Results: {value}\n".encode() for value in top) + bytes(msg)
    got = inbound_email_receive(raw)
    assert got.ticket is not None
    return got.ticket


def alices_web_ticket(alice) -> Ticket:  # type: ignore[no-untyped-def]
    return s.ticket_create(requester=s.Requester(user=alice), channel="web", category="payment",
                           subject="提现没到账", body="我的提现三天了还没到")


def test_mail_in_alices_name_without_our_mtas_pass_never_becomes_alice(transactional_db, alice, agent):
    """The attack of the issue, with the default empty OKPAY_MAIL_AUTHSERV_ID."""
    own = alices_web_ticket(alice)
    bare = receive(mail("Alice <alice@example.com>", "Please unfreeze my account", "It's me, really"))
    forged = receive(mail("alice@example.com", "Change my phone", "new phone +86 139 0000 0000",
                          Authentication_Results="evil.example; spf=pass; dkim=pass; dmarc=pass"))
    joined = receive(mail("alice@example.com", f"Re: [{own.number}] 提现没到账", "Please send it to card 6222 0000"))
    for t in (bare, forged, joined):
        t.refresh_from_db()
        assert (t.requester, t.requester_link, t.requester_email) == (None, "", "alice@example.com")
        assert t.meta["unverified"] == "authentication_missing"
    assert joined != own  # the forger's text did not join alice's ticket ...
    assert list(own.messages.values_list("author", "body_text")) == [(alice.pk, "我的提现三天了还没到")]
    assert not TicketMessage.objects.filter(author=alice).exclude(ticket=own).exists()  # ... nor as alice
    assert list(InboundEmail.objects.values_list("authentication", flat=True)) == ["none"] * 3
    # alice's mailbox: acknowledgements (her web ticket's, the 3 forged ones') echo none of the forger's words
    acks = OutboundEmail.objects.filter(to=["alice@example.com"])
    assert acks.count() == 4 and not [m for m in acks if "card 6222" in m.body_text or "unfreeze" in m.body_text]
    # the desk: a warning, no wallet, no account action
    desk = sign_in(agent)
    page = desk.get(f"/desk/t/{forged.public_id}/").content.decode()
    assert 'data-requester-link=""' in page and 'data-unverified="authentication_missing"' in page
    assert 'id="actions"' not in page and f"/desk/t/{forged.public_id}/prove/" in page
    context = desk.get(f"/desk/t/{forged.public_id}/context/").content.decode()
    assert alice.public_id not in context and "data-balance" not in context
    with pytest.raises(s.InvalidRequest):
        actions.action_request(ticket=forged, agent=agent, kind="freeze", reason="the customer asked")
    assert not AuditRecord.objects.filter(action="support.view.customer_context").exists()


def test_only_the_topmost_header_of_our_mta_counts(transactional_db, our_mta, alice):
    own = alices_web_ticket(alice)
    # our MTA found nothing for example.com (the attacker's own SPF passed); the forged header below it
    # claims our authserv-id and a DMARC pass
    forged = receive(mail("alice@example.com", f"Re: [{own.number}]", "wire it to me",
                          Authentication_Results=f"{AUTHSERV}; dmarc=pass header.from=example.com"),
                     f"{AUTHSERV}; spf=pass smtp.mailfrom=evil.example; dkim=none; dmarc=none")
    assert (forged.requester, forged.meta["unverified"]) == (None, "authentication_missing") and forged != own
    failed = receive(mail("alice@example.com", "x", "y"), f"{AUTHSERV}; spf=fail smtp.mailfrom=example.com; "
                     "dkim=fail header.d=example.com; dmarc=fail header.from=example.com")
    assert (failed.requester, failed.meta["unverified"]) == (None, "authentication_failed")
    assert own.messages.count() == 1
    # the genuine article: our MTA says DMARC passed for example.com — linked, and joins her ticket as her
    genuine = receive(mail("Alice <alice@example.com>", "A new question", "hello"), passed())
    assert (genuine.requester, genuine.requester_link, genuine.meta.get("unverified")) == (
        alice, "verified_email", None)
    reply = receive(mail("alice@example.com", f"Re: [{own.number}]", "any news?"), passed())
    assert reply == own and own.messages.order_by("pk").last().author == alice


@pytest.mark.parametrize(("headers", "verdict"), [
    ([], "none"),
    ([passed()], "pass"),
    ([f"{AUTHSERV} 1; dmarc=pass (p=reject) header.from=example.com"], "pass"),
    ([f"{AUTHSERV.upper()}; dkim=pass header.d=example.com; dmarc=none"], "pass"),  # aligned DKIM
    ([f"{AUTHSERV}; dkim=pass header.i=@example.com"], "pass"),
    ([f"{AUTHSERV}; dkim=pass header.d=com"], "none"),  # strict alignment (DMARC's pass covers relaxed)
    ([f"{AUTHSERV}; spf=pass smtp.mailfrom=bounce.example.com"], "none"),
    ([f"{AUTHSERV}; spf=pass smtp.mailfrom=bounces@example.com"], "pass"),
    ([f"{AUTHSERV}; spf=pass smtp.mailfrom=evil.example; dkim=pass header.d=evil.example"], "none"),
    ([f"{AUTHSERV}; dmarc=pass header.from=evil.example"], "none"),
    ([f"{AUTHSERV}; spf=fail smtp.mailfrom=example.com; dmarc=pass header.from=example.com"], "pass"),
    ([f"{AUTHSERV}; spf=pass smtp.mailfrom=example.com; dkim=fail header.d=example.com"], "fail"),
    ([f"{AUTHSERV}; none"], "none"),
    (["evil.example; dmarc=pass header.from=example.com"], "none"),
    ([f"{AUTHSERV}.evil.example; dmarc=pass"], "none"),
    # the topmost of ours decides, whatever follows it
    ([f"{AUTHSERV}; dmarc=none", passed()], "none"),
    (["relay.okpay.example; dmarc=fail", passed(), f"{AUTHSERV}; dmarc=fail"], "pass"),
])
def test_authentication_verdict(headers, verdict):  # type: ignore[no-untyped-def]
    msg = mail("alice@example.com", "x", "y")
    for value in headers:
        msg["Authentication-Results"] = value
    assert parse.authentication(msg, AUTHSERV, "alice@example.com") == verdict
    assert parse.authentication(msg, "", "alice@example.com") == "none"  # no id configured: nothing counts


def test_deploy_check_warns_when_the_authserv_id_is_unset(settings):  # type: ignore[no-untyped-def]
    settings.OKPAY_MAIL_AUTHSERV_ID = ""
    found = [m for m in run_checks(include_deployment_checks=True) if m.id == "mailbox.W001"]
    assert len(found) == 1 and "OKPAY_MAIL_AUTHSERV_ID is not set" in found[0].msg
    settings.OKPAY_MAIL_AUTHSERV_ID = AUTHSERV
    assert not [m for m in run_checks(include_deployment_checks=True) if m.id == "mailbox.W001"]
