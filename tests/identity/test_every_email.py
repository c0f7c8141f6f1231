"""Every email OKPay sends, walked once with a rendered example, in both languages: each shows the
recipient account's anti-phishing code in its text and HTML parts (issue 17, item 7).

``test_the_walk_covers_every_email`` fails when a new email appears in one of the email modules
without an example here. Beyond this walk, every test's outbox is checked the same way
(``tests.outbox_check``, the tests' ``EMAIL_BACKEND``)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.html import strip_tags

from okpay.chat import services as chat
from okpay.identity import emails as identity_emails
from okpay.identity.models import OutboundEmail, User
from okpay.merchants import emails as merchant_emails
from okpay.merchants import services as merchants
from okpay.payments import notify
from okpay.payments.services import topup_create, transfer_create
from okpay.support import emails as support_emails
from okpay.support.services import Requester, ticket_create
from tests.factories import anti_phishing_code_for
from tests.web.test_pages_browser import untranslated

pytestmark = pytest.mark.django_db

HELPERS = {"absolute", "mail_user", "deliver", "account_for_address", "phone_code_text", "Mail",
           "mail_domain", "ticket_tag", "address_undeliverable", "decline_reason_text"}


def _public_functions(module: object) -> set[str]:
    return {name for name, fn in inspect.getmembers(module, inspect.isfunction)
            if not name.startswith("_") and fn.__module__ == module.__name__ and name not in HELPERS}  # type: ignore[attr-defined]


def _cast(lang: str) -> dict[str, User]:
    from tests.factories import user_create

    cast = {"alice": user_create("alice@example.com", name="Alice", locale=lang),
            "shop": user_create("shop@example.com", name="Shop", role="merchant", locale=lang),
            "agent": user_create("agent@example.com", name="Agent", role="agent", locale=lang),
            "supervisor": user_create("supervisor@example.com", name="Supervisor", role="supervisor", locale=lang)}
    topup_create(user=cast["alice"], amount=100_000)
    return cast


def _ticket(cast: dict[str, User]):  # type: ignore[no-untyped-def]
    ticket = ticket_create(requester=Requester(user=cast["alice"]), channel="web", category="payment",
                           subject="付款待处理", body="怎么办？", acknowledge=False)
    ticket.assignee = cast["agent"]
    ticket.save(update_fields=["assignee"])
    return ticket


def _refund_request(cast: dict[str, User]):  # type: ignore[no-untyped-def]
    merchant = merchants.merchant_create(user=cast["shop"], name="茶叶小店", refund_window_days=30)
    intent = merchants.intent_create(merchant=merchant, amount=10_000, description="龙井")
    txn = merchants.intent_confirm(intent_id=intent.public_id, customer=cast["alice"])
    request = merchants.refund_request_create(customer=cast["alice"], txn_id=txn.public_id, reason="不想要了",
                                              amount=2_000)
    OutboundEmail.objects.all().delete()
    return merchant, request


def _notice(kind: str) -> Callable[[dict[str, User]], str]:
    def send(cast: dict[str, User]) -> str:
        txn = transfer_create(sender=cast["alice"], to="bob-not-registered@example.com", amount=1_000)
        OutboundEmail.objects.all().delete()
        notify.send(txn, kind)
        notify.emails_send_due()
        return "alice@example.com"
    return send


def _decided(cast: dict[str, User]) -> str:
    merchant, request = _refund_request(cast)
    merchants.refund_request_decline(merchant=merchant, request_id=request.public_id, reason="已拆封")
    return "alice@example.com"


def _created(cast: dict[str, User]) -> str:
    _merchant, request = _refund_request(cast)
    merchant_emails.request_created(request)
    return "shop@example.com"


def _endpoint_disabled(cast: dict[str, User]) -> str:
    merchant = merchants.merchant_create(user=cast["shop"], name="茶叶小店")
    merchant_emails.endpoint_disabled(merchant, url="https://shop.example/hooks", failures=20)
    return "shop@example.com"


def _application(decide: str) -> Callable[[dict[str, User]], str]:
    def send(cast: dict[str, User]) -> str:
        from okpay.merchants import applications

        application = applications.merchant_application_create(
            user=cast["alice"], business_name="阿里茶庄", contact_name="Alice", contact_email="tea@example.com",
            website="https://tea.example.com", refund_policy="七天无理由退货，未拆封的茶叶可以退款。")
        if decide == "approve":
            applications.merchant_application_approve(application_id=application.public_id, actor="cli:test")
        else:
            applications.merchant_application_reject(application_id=application.public_id, actor="cli:test",
                                                     reason="网站无法访问")
        return "alice@example.com"
    return send


def _transcript(cast: dict[str, User]) -> str:
    conv = chat.conversation_open(user=cast["alice"], lang=cast["alice"].locale).conversation
    chat.message_post(conversation=conv, body="我的付款呢？", client_id="c1", author=cast["alice"])
    return chat.transcript_send(conversation=conv).to


def _identity(call: Callable[[User], None], to: str = "alice@example.com") -> Callable[[dict[str, User]], str]:
    def send(cast: dict[str, User]) -> str:
        call(cast["alice"])
        return to
    return send


def _support(call: Callable[..., None], to: str = "alice@example.com") -> Callable[[dict[str, User]], str]:
    def send(cast: dict[str, User]) -> str:
        call(_ticket(cast))
        return to
    return send


def _proof(cast: dict[str, User]) -> str:
    ticket = ticket_create(requester=Requester(email="alice@example.com"), channel="email", category="payment",
                           subject="付款待处理", body="怎么办？", acknowledge=False, lang=cast["alice"].locale)
    support_emails.requester_proof(ticket, "token")
    return "alice@example.com"


EXAMPLES: dict[str, Callable[[dict[str, User]], str]] = {
    "identity.verify_email": _identity(lambda u: identity_emails.verify_email(u, "t0ken")),
    "identity.register_attempt": _identity(identity_emails.register_attempt),
    "identity.password_reset": _identity(lambda u: identity_emails.password_reset(u, "t0ken", ip="203.0.113.9")),
    "identity.password_changed": _identity(lambda u: identity_emails.password_changed(u, "t0ken", ip="203.0.113.9")),
    "identity.new_device_alert": _identity(lambda u: identity_emails.new_device_alert(u, "t0ken", ip="203.0.113.9",
                                                                                      device="Firefox · Linux")),
    "identity.two_factor_changed": _identity(lambda u: identity_emails.two_factor_changed(u, enabled=True,
                                                                                          freeze_token="t0ken")),
    "identity.two_factor_changed (off)": _identity(lambda u: identity_emails.two_factor_changed(u, enabled=False,
                                                                                                freeze_token="t")),
    "identity.account_frozen": _identity(identity_emails.account_frozen),
    "identity.email_change_verify": _identity(lambda u: identity_emails.email_change_verify(u, "new@example.com", "t"),
                                              to="new@example.com"),
    "identity.email_changed_notice": _identity(
        lambda u: identity_emails.email_changed_notice(u, old_email="old@example.com", freeze_token="t"),
        to="old@example.com"),
    "identity.account_closed": _identity(identity_emails.account_closed),
    "identity.step_up_code": _identity(lambda u: identity_emails.step_up_code(u, "123456")),
    "support.acknowledgement": _support(support_emails.acknowledgement),
    "support.agent_replied": _support(lambda t: support_emails.agent_replied(t, "已为您处理。")),
    "support.supervisors_alert": _support(lambda t: support_emails.supervisors_alert(t, reason="A complaint was filed"),
                                          to="supervisor@example.com"),
    "support.assignee_warning": _support(lambda t: support_emails.assignee_warning(t, timezone.now()
                                                                                   + timedelta(minutes=30)),
                                         to="agent@example.com"),
    "support.csat_survey": _support(support_emails.csat_survey),
    "support.requester_proof": _proof,
    **{f"payments.notify.{kind}": _notice(kind) for kind in notify.KINDS},
    "merchants.request_created": _created,
    "merchants.request_decided": _decided,
    "merchants.endpoint_disabled": _endpoint_disabled,
    "merchants.application_approved": _application("approve"),
    "merchants.application_rejected": _application("reject"),
    "chat.transcript_send": _transcript,
}


def test_the_walk_covers_every_email() -> None:
    walked = {name.split(" ")[0] for name in EXAMPLES}
    every = ({f"identity.{n}" for n in _public_functions(identity_emails)}
             | {f"support.{n}" for n in _public_functions(support_emails)}
             | {f"merchants.{n}" for n in _public_functions(merchant_emails)}
             | {f"payments.notify.{kind}" for kind in notify.KINDS} | {"chat.transcript_send"})
    assert every - walked == set(), "an email without an example in EXAMPLES"
    assert walked - every == set()


# What the examples typed (names, subjects, reasons): shown as typed in either language.
TYPED = sorted({"付款待处理", "怎么办？", "已为您处理。", "茶叶小店", "龙井", "不想要了", "已拆封", "阿里茶庄",
                "七天无理由退货，未拆封的茶叶可以退款。", "网站无法访问", "我的付款呢？", "Firefox · Linux",
                "A complaint was filed", "Supervisor", "Agent", "Alice", "Shop"}, key=len, reverse=True)


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_email_shows_the_anti_phishing_code(name: str, lang: str, settings) -> None:  # type: ignore[no-untyped-def]
    settings.OKPAY_RISK_VELOCITY_PER_HOUR = 1000
    cast = _cast(lang)
    OutboundEmail.objects.all().delete()
    to = EXAMPLES[name](cast)
    mails = [m for m in OutboundEmail.objects.order_by("pk") if to in m.to]
    assert mails, f"{name} sent nothing to {to}"
    owner = "shop@example.com" if to == "shop@example.com" else next(
        (f"{role}@example.com" for role in ("agent", "supervisor") if to == f"{role}@example.com"), "alice@example.com")
    code = anti_phishing_code_for(owner)
    assert cast[owner.split("@")[0]].anti_phishing_code == code
    for mail in mails:
        assert code in mail.body_text, mail.body_text
        assert code in mail.body_html
        assert f'<html lang="{"zh-Hans" if lang == "zh-hans" else "en"}">' in mail.body_html
        anti = "防钓鱼码" if lang == "zh-hans" else "anti-phishing code"
        assert anti in mail.body_text
        # No half-translated email (issue 18, item 6): subject, text and the HTML part's visible text
        # are all in the recipient's language, apart from what people typed (TYPED).
        visible = strip_tags(mail.body_html.split("</style>")[-1])
        for part, text in (("subject", mail.subject), ("text", mail.body_text), ("html", visible)):
            left = untranslated(lang, text, [*TYPED, code])
            assert not left, f"{name} ({lang}) {part}: {left}"


def test_an_invitation_to_an_address_without_an_account_has_no_code(settings) -> None:  # type: ignore[no-untyped-def]
    cast = _cast("zh-hans")
    OutboundEmail.objects.all().delete()
    transfer_create(sender=cast["alice"], to="newcomer@example.com", amount=1_000)
    (invite,) = [m for m in OutboundEmail.objects.all() if "newcomer@example.com" in m.to]
    assert cast["alice"].anti_phishing_code not in invite.body_text
    assert "防钓鱼码" not in invite.body_text
