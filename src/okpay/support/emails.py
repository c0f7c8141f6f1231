"""Emails of the desk: acknowledgement with the ticket number and promised first-response time,
reply notifications, complaint alerts and SLA escalations to supervisors. They go to the outbox
in the transaction that causes them (identity's OutboxBackend)."""

from __future__ import annotations

from email.utils import make_msgid, parseaddr

from django.conf import settings
from django.urls import reverse
from django.utils import formats, translation
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from okpay.identity.emails import Mail, absolute, deliver
from okpay.identity.models import User
from okpay.support import clock
from okpay.support.models import EmailMessageId, Ticket, UndeliverableAddress


def _lang(ticket: Ticket, user: User | None) -> str:
    if user is not None and user.locale:
        return user.locale
    return str(ticket.meta.get("lang") or settings.LANGUAGE_CODE)


def mail_domain() -> str:
    """The domain of our Message-IDs: the support address's."""
    return parseaddr(settings.OKPAY_SUPPORT_EMAIL)[1].rpartition("@")[2] or "okpay.example"


def ticket_tag(number: str) -> str:
    return f"[{number}]"


def _tagged(subject: str, number: str) -> str:
    """``[OK-YYYY-NNNNNN]`` in the subject, so that a reply finds its ticket even without headers."""
    if ticket_tag(number) in subject:
        return subject
    if number in subject:
        return subject.replace(number, ticket_tag(number), 1)
    return f"{subject} {ticket_tag(number)}"


def address_undeliverable(address: str) -> bool:
    return UndeliverableAddress.objects.filter(address=address.strip().lower()).exists()


def _thread_headers(ticket: Ticket, to: str, automatic: str) -> dict[str, str]:
    """Message-ID (recorded on the ticket), In-Reply-To / References to the ticket's thread,
    Reply-To our support address, X-Loop, and Auto-Submitted on automatic mail (RFC 3834)."""
    message_id = make_msgid(idstring=ticket.number, domain=mail_domain())
    ids = list(ticket.email_ids.order_by("created_at", "pk").values_list("message_id", "direction"))
    headers = {"Message-ID": message_id, "Reply-To": settings.OKPAY_SUPPORT_EMAIL,
               "X-Loop": parseaddr(settings.OKPAY_SUPPORT_EMAIL)[1], "X-OKPay-Ticket": ticket.number}
    if ids:
        refs = [i for i, _d in ids]
        refs = refs[:1] + refs[-9:] if len(refs) > 10 else refs
        inbound = [i for i, d in ids if d == EmailMessageId.Direction.IN]
        headers["In-Reply-To"] = inbound[-1] if inbound else refs[-1]
        headers["References"] = " ".join(refs)
    if automatic:
        headers["Auto-Submitted"] = automatic
    EmailMessageId.objects.create(message_id=message_id[:255], ticket=ticket, direction=EmailMessageId.Direction.OUT,
                                  address=to.lower()[:254], created_at=clock.now())
    return headers


def _deliver(*, to: str, user: User | None, lang: str, mail: Mail, ticket: Ticket | None = None,
             automatic: str = "") -> None:
    """Render and queue one mail. With ``ticket`` it is a mail to the ticket's requester: threaded
    (``_thread_headers``), tagged with the ticket number, and not sent to an address that bounced."""
    if ticket is not None and address_undeliverable(to):
        return
    headers: dict[str, str] = {}
    if ticket is not None:
        headers = _thread_headers(ticket, to, automatic)
    with translation.override(lang):
        subject_mail = Mail(subject=_tagged(mail.subject, ticket.number) if ticket is not None else mail.subject,
                            heading=mail.heading, paragraphs=mail.paragraphs, action_url=mail.action_url,
                            action_label=mail.action_label, notes=mail.notes)
    # identity's one layout: the code of the account the address belongs to (none for a stranger)
    deliver(to=to, lang=lang, mail=subject_mail, user=user, headers=headers)


def _recipient(ticket: Ticket) -> tuple[str, User | None]:
    if ticket.requester_id is not None:
        return ticket.requester.email, ticket.requester
    return ticket.requester_email, None


def _ticket_url(ticket: Ticket) -> str:
    return absolute(reverse("support:ticket", args=[ticket.public_id]))


def _when(moment: object) -> str:
    return formats.date_format(localtime(moment), "DATETIME_FORMAT")  # type: ignore[arg-type]


def acknowledgement(ticket: Ticket) -> None:
    to, user = _recipient(ticket)
    if not to:
        return
    lang = _lang(ticket, user)
    with translation.override(lang):
        # An unlinked requester's address is unproven (a guest typed it into the chat, a From: our MTA
        # did not confirm): their words are not echoed to it, or anyone could have OKPay mail a
        # "subject" of theirs (a phishing link) to somebody else (issue 16, items 3 and 6).
        paragraphs = [
            _("We have received your request \"%(subject)s\". Your ticket number is %(number)s; please "
              "quote it whenever you contact us.") % {"subject": ticket.subject, "number": ticket.number}
            if user is not None else
            _("We have received your request. Your ticket number is %(number)s; please quote it whenever you "
              "contact us.") % {"number": ticket.number},
        ]
        policy = ticket.sla_policy
        if policy is not None and policy.first_response_minutes >= 60 and policy.first_response_minutes % 60 == 0:
            paragraphs.append(_("You will usually get an answer within %(hours)s hours.")
                              % {"hours": policy.first_response_minutes // 60})
        if ticket.first_response_due:
            due = _when(ticket.first_response_due)
            paragraphs.append(_("An agent will answer by %(due)s at the latest.") % {"due": due})
        if ticket.channel == "email":
            paragraphs.append(_("To add something, reply to this email and keep %(tag)s in the subject.")
                              % {"tag": ticket_tag(ticket.number)})
        mail = Mail(
            subject=_("We received your request %(number)s") % {"number": ticket.number},
            heading=_("Your ticket %(number)s") % {"number": ticket.number},
            paragraphs=paragraphs,
            action_url=_ticket_url(ticket) if user else "",
            action_label=_("See my ticket") if user else "",
            notes=[_("OKPay support will never ask for your password or a verification code.")],
        )
    _deliver(to=to, user=user, lang=lang, mail=mail, ticket=ticket, automatic="auto-replied")


def agent_replied(ticket: Ticket, body_text: str) -> None:
    to, user = _recipient(ticket)
    if not to:
        return
    lang = _lang(ticket, user)
    with translation.override(lang):
        mail = Mail(
            subject=_("New reply on your ticket %(number)s") % {"number": ticket.number},
            heading=ticket.subject,
            paragraphs=[body_text[:4000]],
            action_url=_ticket_url(ticket) if user else "",
            action_label=_("Reply or rate the answer") if user else "",
            notes=[_("You can answer this email or reply on the ticket page.")],
        )
    _deliver(to=to, user=user, lang=lang, mail=mail, ticket=ticket)


def supervisors_alert(ticket: Ticket, *, reason: str) -> None:
    """Tell every supervisor: a complaint arrived or an SLA was breached (``reason``, translated)."""
    supervisors = User.objects.filter(groups__name="supervisor", is_active=True).distinct()
    for supervisor in supervisors:
        lang = supervisor.locale or settings.LANGUAGE_CODE
        with translation.override(lang):
            mail = Mail(
                subject=f"{ticket.number} · {_(reason)}",
                heading=ticket.subject,
                paragraphs=[_(reason), _("Priority: %(priority)s") % {"priority": ticket.get_priority_display()}],
                action_url=absolute(reverse("support:desk-ticket", args=[ticket.public_id])),
                action_label=_("Open in the desk"),
            )
        _deliver(to=supervisor.email, user=supervisor, lang=lang, mail=mail)


def assignee_warning(ticket: Ticket, due: object) -> None:
    """The assigned agent hears that a target of their ticket is about to be missed."""
    agent = ticket.assignee
    if agent is None:
        return
    lang = agent.locale or settings.LANGUAGE_CODE
    with translation.override(lang):
        mail = Mail(
            subject=f"{ticket.number} · {_('due soon')}",
            heading=ticket.subject,
            paragraphs=[_("Answer by %(due)s to keep the service-level promise.") % {"due": _when(due)}],
            action_url=absolute(reverse("support:desk-ticket", args=[ticket.public_id])),
            action_label=_("Open in the desk"),
        )
    _deliver(to=agent.email, user=agent, lang=lang, mail=mail)


def csat_survey(ticket: Ticket) -> None:
    """After a ticket is solved: how satisfied was the customer (1–5)? Only customers with an
    account, who can rate on the ticket page."""
    if ticket.requester_id is None:
        return
    user = ticket.requester
    lang = _lang(ticket, user)
    with translation.override(lang):
        mail = Mail(
            subject=_("How did we do on %(number)s?") % {"number": ticket.number},
            heading=ticket.subject,
            paragraphs=[_("Your ticket is solved. Please tell us how satisfied you are with our answer, from 1 "
                          "to 5; it takes ten seconds."),
                        _("Not solved after all? Just reply on the ticket within 7 days and it opens again.")],
            action_url=_ticket_url(ticket) + "#rating",
            action_label=_("Rate the answer"),
        )
    _deliver(to=user.email, user=user, lang=lang, mail=mail, ticket=ticket, automatic="auto-generated")


def requester_proof(ticket: Ticket, token: str) -> None:
    """"Is this you?": a signed link to the ticket's address; following it links the ticket to
    the customer account (see ``services.requester_prove``)."""
    to = ticket.requester_email
    if not to:
        return
    lang = _lang(ticket, None)
    with translation.override(lang):
        mail = Mail(
            subject=_("Confirm that ticket %(number)s is yours") % {"number": ticket.number},
            heading=_("Is this you?"),
            paragraphs=[_("You wrote to OKPay customer service (ticket %(number)s, \"%(subject)s\"). Before an "
                          "agent looks at your wallet, please confirm that you are the account holder: open the "
                          "link below and, if asked, sign in to OKPay.")
                        % {"number": ticket.number, "subject": ticket.subject},
                        _("The link works for 3 days.")],
            action_url=absolute(reverse("support:prove", args=[token])),
            action_label=_("Yes, this is my ticket"),
            notes=[_("If you did not write to us, ignore this email; nothing will change."),
                   _("OKPay support will never ask for your password or a verification code.")],
        )
    _deliver(to=to, user=None, lang=lang, mail=mail, ticket=ticket, automatic="auto-generated")
