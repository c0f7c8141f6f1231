"""A full email round trip, outbound threading headers, `okpay ingest-email`, and the email SLA
(issue 9, items 1, 2 and 6)."""

from __future__ import annotations

import io
import os
import smtplib
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command

from okpay.core.worker import run_once
from okpay.mailbox.models import InboundEmail
from okpay.support import services as s
from okpay.support.models import Ticket
from tests.factories import sign_in
from tests.mailbox.conftest import SUPPORT, mail, passed

ROOT = Path(__file__).resolve().parents[2]


def test_round_trip_mail_in_desk_reply_out_and_the_answer_joins(smtpd, smtp_server, our_mta, alice, agent):
    alice.anti_phishing_code = "蓝色海豚"
    alice.save(update_fields=["anti_phishing_code"])
    first = mail("Alice <alice@example.com>", "Withdrawal pending", "My withdrawal is still pending.",
                 Authentication_Results=passed())  # our MTA's DMARC pass: linked to alice
    smtpd.send(first)
    t = Ticket.objects.get()
    desk = sign_in(agent)
    assert desk.post(f"/desk/t/{t.public_id}/reply/", {"body": "We are checking it with the bank.",
                                                       "status": "waiting"}).status_code == 302
    run_once()
    ack, reply = smtp_server.messages
    for out in (ack, reply):
        assert out["To"] == "alice@example.com" and f"[{t.number}]" in out["Subject"]
        assert out["Reply-To"] == SUPPORT and out["Message-ID"]
        assert "蓝色海豚" in out.get_body(preferencelist=("plain",)).get_content()  # the anti-phishing code
    assert ack["Auto-Submitted"] == "auto-replied" and reply["Auto-Submitted"] is None
    assert ack["In-Reply-To"] == first["Message-ID"] and reply["In-Reply-To"] == first["Message-ID"]
    assert reply["References"].split() == [first["Message-ID"], str(ack["Message-ID"]).strip()]
    assert "We are checking it with the bank." in reply.get_body(preferencelist=("plain",)).get_content()
    # alice answers the reply from her mail program: it joins the same ticket and reopens it
    answer = mail("alice@example.com", f"Re: {reply['Subject']}", "Thanks, the reference is W-1.\n\n> old",
                  In_Reply_To=str(reply["Message-ID"]).strip(),
                  References=f"{reply['References']} {str(reply['Message-ID']).strip()}",
                  Authentication_Results=passed())
    smtpd.send(answer)
    t.refresh_from_db()
    assert Ticket.objects.count() == 1 and t.status == "open"
    assert list(t.messages.filter(visibility="public").values_list("author_kind", "body_text").order_by("pk")) == [
        ("customer", "My withdrawal is still pending."), ("agent", "We are checking it with the bank."),
        ("customer", "Thanks, the reference is W-1.")]
    assert InboundEmail.objects.filter(outcome="joined", ticket=t).count() == 1


def test_ingest_email_reads_one_message_from_stdin(db, monkeypatch, capsys):
    raw = mail("pipe@example.org", "Via the MTA pipe", "hello from postfix").as_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    call_command("ingest-email")
    t = Ticket.objects.get()
    assert (t.channel, t.requester_email, t.subject) == ("email", "pipe@example.org", "Via the MTA pipe")
    assert capsys.readouterr().out.strip() == f"250 2.0.0 OK created {t.number}"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    call_command("ingest-email")  # delivered twice by the MTA: stored once
    assert Ticket.objects.count() == 1 and "duplicate" in capsys.readouterr().out


def test_ingest_email_refuses_bad_input_with_a_message_and_non_zero_exit(db, tmp_path, monkeypatch, capsys):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(OKPAY_HOME=str(tmp_path), PYTHONPATH=f"{ROOT / 'src'}{os.pathsep}{ROOT}")
    done = subprocess.run([sys.executable, "-m", "okpay", "ingest-email"], input=b"this is not an email\n",
                          env=env, capture_output=True, timeout=60, check=False)
    assert done.returncode == 65, done.stderr
    assert done.stderr.decode().strip() == "okpay ingest-email: 550 5.6.0 Not an email message: no valid From: header"
    for bad in (b"", b"Subject: no sender\r\n\r\nbody\r\n"):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(bad)))
        with pytest.raises(SystemExit) as exit_:
            call_command("ingest-email")
        assert exit_.value.code == 65 and "550 5.6.0 Not an email message" in capsys.readouterr().err
    assert Ticket.objects.count() == 0


@pytest.mark.parametrize(("priority", "hours"), [("normal", 24), ("urgent", 1)])
def test_email_tickets_follow_the_email_sla_policy(db, fake_clock, priority, hours):
    t = s.ticket_create(requester=s.requester_for(email="sla@example.org"), channel="email", category="account",
                        subject="SLA", body="when will you answer?", priority=priority)
    assert (t.sla_policy.channel, t.sla_policy.priority) == ("email", priority)
    assert t.first_response_due == fake_clock.now + timedelta(hours=hours)
    s.ticket_create(requester=s.Requester(email="x@example.org"), channel="email", category="account",
                    subject="x", body="y", priority=priority)
    fake_clock.advance(hours=hours, minutes=1)
    assert s.sla_sweep()["breached"] == 2
    t.refresh_from_db()
    assert t.first_response_breached


def test_okpay_smtpd_command_listens_and_refuses_strangers(tmp_path):
    """The command itself, as an operator starts it: it says where it listens, announces SIZE and
    refuses recipients that are not support addresses (no message is stored, so no database)."""
    from tests.smtp import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(OKPAY_HOME=str(tmp_path), PYTHONPATH=f"{ROOT / 'src'}{os.pathsep}{ROOT}",
               OKPAY_MAIL_ADDRESSES=SUPPORT, OKPAY_MAIL_MAX_BYTES="123456")
    proc = subprocess.Popen([sys.executable, "-m", "okpay", "smtpd", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert line.strip() == f"okpay smtpd: listening on 127.0.0.1:{port} for {SUPPORT}"
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo()
            assert client.esmtp_features["size"] == "123456"
            client.mail("someone@example.org")
            assert client.rcpt("ceo@okpay.example")[0] == 550
            assert client.rcpt(SUPPORT)[0] == 250
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0
