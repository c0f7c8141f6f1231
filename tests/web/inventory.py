"""Every page of every role, for the browser checks of tests/web/test_pages_browser.py (phone
layout at 390 px, translation in both languages).

``world()`` loads the demo cast (``okpay demo``) and adds what makes each page show its real
content: transfers, a pending withdrawal, a failed bill, checkouts in every state, a refund
request, a pending approval. ``PAGES`` lists, per role, the pages (paths with ``{names}`` filled
from the world) that a person of that role opens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from io import StringIO

from django.core.management import call_command

ROLES = ("anonymous", "customer", "merchant", "agent", "supervisor")


@dataclass
class World:
    users: dict[str, object] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)


def world() -> World:
    """The demo cast and its money (the scenery is set up without step-up codes)."""
    from django.test import override_settings

    with override_settings(OKPAY_STEP_UP_AMOUNT=10**12, OKPAY_STEP_UP_NEW_PAYEE_AMOUNT=10**12):
        return _world()


def _world() -> World:
    from okpay.identity.models import User
    from okpay.merchants import services as merchants
    from okpay.merchants.models import Merchant
    from okpay.payments.models import Transaction
    from okpay.payments.services import (
        bill_payment_create,
        topup_create,
        transfer_create,
        wallet,
        withdrawal_create,
    )
    from okpay.support import actions
    from okpay.support.models import Ticket

    call_command("demo", stdout=StringIO())
    users = {email.split("@")[0]: User.objects.get(email=email) for email in (
        "alice@okpay.example", "bob@okpay.example", "shop@okpay.example",
        "agent@okpay.example", "supervisor@okpay.example")}
    alice, bob, agent = users["alice"], users["bob"], users["agent"]
    topup_create(user=alice, amount=500_000)
    sent = transfer_create(sender=alice, to="bob@okpay.example", amount=8_800, note="午饭 AA")
    withdrawal = withdrawal_create(user=alice, amount=150_000)  # held until the bank settles
    bill = bill_payment_create(user=alice, biller="state-grid-sh",
                               account_reference="1234567890", amount=12_345)
    merchant = Merchant.objects.get()
    pending = merchants.intent_create(merchant=merchant, amount=12_800, description="龙井茶礼盒 Longjing tea gift box",
                                      return_url="http://127.0.0.1:9/demo-shop/")
    paid = merchants.intent_create(merchant=merchant, amount=6_600, description="白瓷杯 White porcelain cup",
                                   return_url="http://127.0.0.1:9/demo-shop/")
    paid_txn = merchants.intent_confirm(intent_id=paid.public_id, customer=alice)
    cancelled = merchants.intent_create(merchant=merchant, amount=3_000, description="茶巾 Tea towel")
    merchants.intent_cancel(merchant=merchant, intent_id=cancelled.public_id)
    request = merchants.refund_request_create(customer=alice, txn_id=paid_txn.public_id, reason="杯子有裂纹",
                                              amount=1_000)
    ticket = Ticket.objects.filter(requester=alice).order_by("pk").first()
    bob_ticket = Ticket.objects.filter(requester=bob).order_by("pk").first()
    assert ticket and bob_ticket
    kinds = actions.available_kinds(ticket)
    if "transaction_cancel" in kinds:  # a money action above the four-eyes amount waits for a supervisor
        actions.action_request(ticket=ticket, agent=agent, kind="transaction_cancel",
                               reason="客户要求取消提现", transaction_id=withdrawal.public_id)
    from tests.conftest import run_worker_until_idle

    run_worker_until_idle()  # the sandbox biller refuses the reference: the bill fails
    failed = Transaction.objects.filter(pk=bill.pk).first()
    ids = {
        "sent": sent.public_id, "withdrawal": withdrawal.public_id, "bill": failed.public_id if failed else "",
        "paid_txn": paid_txn.public_id, "intent": pending.public_id, "paid": paid.public_id,
        "cancelled": cancelled.public_id, "request": request.public_id,
        "ticket": ticket.public_id, "bob_ticket": bob_ticket.public_id,
        "article": _article(), "category": _category(),
        "bob_wallet": wallet(users["bob"]).public_id, "merchant": merchant.public_id,  # type: ignore[arg-type]
    }
    return World(users=users, ids=ids)


def _article() -> str:
    from okpay.helpcenter.models import Article

    return Article.objects.filter(lang="zh-hans").order_by("pk").values_list("slug", flat=True).first() or "x"


def _category() -> str:
    from okpay.helpcenter.models import Article

    return Article.objects.order_by("pk").values_list("category", flat=True).first() or "account"


# Pages per role. Customers also open every anonymous page; staff pages need the second factor.
PAGES: dict[str, list[str]] = {
    "anonymous": [
        "/", "/help/", "/help/search/?q=转账", "/help/category/{category}/", "/help/{article}/", "/contact/",
        "/verify/", "/verify/?q=okpay-help.example", "/account/login/", "/account/register/",
        "/account/password-reset/", "/account/password-reset/sent/", "/demo-shop/",
        "/checkout/{intent}/", "/checkout/{cancelled}/",
        "/support/new/", "/support/feedback/", "/support/callback/", "/no-such-page/",
        "/store/{merchant}/", "/offline/zh-hans/", "/offline/en/",
    ],
    "customer": [
        "/wallet/", "/wallet/send/", "/wallet/bills/", "/wallet/top-up/", "/wallet/withdraw/",
        "/wallet/transactions/", "/wallet/transactions/?kind=transfer&status=completed",
        "/wallet/transactions/{sent}/", "/wallet/transactions/{withdrawal}/", "/wallet/transactions/{bill}/",
        "/wallet/transactions/{paid_txn}/", "/wallet/transactions/{sent}/receipt/",
        "/wallet/transactions/{paid_txn}/refund-request/", "/wallet/notifications/",
        "/account/security/", "/account/activity/", "/account/sessions/", "/account/password/",
        "/account/2fa/", "/account/profile/", "/account/anti-phishing/",
        "/account/freeze/", "/account/close/", "/account/social/",
        "/support/tickets/", "/support/tickets/{ticket}/", "/support/new/",
        "/checkout/{intent}/", "/checkout/{paid}/done/", "/demo-shop/orders/{paid}/",
        "/wallet/receive/", "/wallet/receive/?amount=20&note=AA", "/wallet/scan/", "/pay/{bob_wallet}/?amount=5",
        "/store/{merchant}/", "/", "/help/",
    ],
    "merchant": ["/merchant/", "/merchant/till/{intent}/", "/wallet/"],
    "agent": ["/desk/", "/desk/t/{ticket}/", "/desk/t/{bob_ticket}/", "/desk/chat/"],
    "supervisor": ["/desk/", "/desk/dashboard/", "/desk/t/{ticket}/"],
}


def pages(role: str, ids: dict[str, str]) -> list[tuple[str, str]]:
    """(the page's name, its path) for each page of ``role``."""
    return [(template, template.format(**ids)) for template in PAGES[role]]
