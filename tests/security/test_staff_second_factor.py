"""Staff cannot skip the second factor (issue 16, item 2; ``okpay.identity.staff``).

A staff member (agent, supervisor, operator) signed in with a password alone gets nothing staff-only
through any door: Django's admin, every desk page (walked from the URL resolver), the desk's chat
console and the staff WebSockets. They are sent to prove the second factor, or to set one up first.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern

from okpay.identity.models import User
from okpay.identity.staff import STAFF_PATHS, STAFF_SOCKET_PATHS
from okpay.support import services as support
from okpay.support.models import Channel, Ticket, TicketMessage
from tests.factories import PASSWORD, sign_in, totp_code, user_create
from tests.security.test_url_access import RULES, routes, rule_of, url_for

VERIFY = "/account/2fa/verify/"
STAFF_RULES = {"agent", "supervisor", "admin"}


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Used codes and OTP attempt limits live in the cache, keyed by user id (ids repeat across tests)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def staff(db) -> dict[str, User]:  # type: ignore[no-untyped-def]
    return {role: user_create(f"{role}@example.com", role=role) for role in ("agent", "supervisor", "admin")}


def staff_routes() -> list[str]:
    return sorted(route for route in set(routes()) if rule_of(route) in STAFF_RULES)


def test_every_staff_page_lies_under_the_guarded_paths() -> None:
    """A new staff page outside /desk/ and /admin/ would escape the middleware: fail here instead."""
    outside = [route for route in staff_routes() if not ("/" + route).startswith(STAFF_PATHS)]
    assert outside == []
    assert "desk/chat/" in staff_routes() and "desk/" in staff_routes()


def test_every_staff_socket_lies_under_the_guarded_paths() -> None:
    from okpay.routing import websocket_urlpatterns

    # the customer's chat, the liveness ping and the customer's own wallet alerts (signed-in customers only)
    public = {"ws/ping/", "ws/chat/", "ws/wallet/"}
    paths = {str(p.pattern) for p in websocket_urlpatterns if isinstance(p, URLPattern)}
    staff_sockets = paths - public
    assert staff_sockets == {"ws/agent/", "ws/desk/calls/"}
    assert all(("/" + path).startswith(STAFF_SOCKET_PATHS) for path in staff_sockets)


@pytest.mark.parametrize("role", ["agent", "supervisor", "admin"])
def test_a_password_only_staff_session_opens_no_staff_page(staff: dict[str, User], role: str) -> None:
    client = sign_in(staff[role], verified=False)
    leaked = []
    for route in [*staff_routes(), "admin/", "admin/identity/user/", "admin/payments/transaction/"]:
        url = url_for(route) if not route.startswith("admin/") else "/" + route
        for answer in (client.get(url), client.post(url)):
            if answer.status_code != 302 or not answer["Location"].startswith(VERIFY):
                leaked.append(f"{url}: {answer.status_code} {answer.get('Location', '')}")
    assert leaked == []


def test_the_same_staff_session_opens_the_desk_once_verified(staff: dict[str, User]) -> None:
    client = sign_in(staff["supervisor"], verified=False)
    assert client.get("/desk/")["Location"] == f"{VERIFY}?next=%2Fdesk%2F"
    page = client.get(f"{VERIFY}?next=/desk/")
    assert page.status_code == 200 and 'data-testid="staff-2fa-verify"' in page.content.decode()
    wrong = client.post(f"{VERIFY}?next=/desk/", {"code": "000000"})
    assert wrong.status_code == 400 and client.get("/desk/").status_code == 302
    done = client.post(f"{VERIFY}?next=/desk/", {"code": totp_code(staff["supervisor"])})
    assert (done.status_code, done["Location"]) == (302, "/desk/")
    assert client.get("/desk/").status_code == 200
    assert client.get("/desk/chat/").status_code == 200
    assert client.get("/desk/dashboard/").status_code == 200
    assert client.get("/admin/").status_code == 200


def test_a_password_only_desk_post_changes_nothing(staff: dict[str, User], alice: User) -> None:
    ticket = support.ticket_create(requester=support.Requester(user=alice), channel=Channel.WEB, category="payment",
                                   subject="Refund?", body="Where is it?")
    client = sign_in(staff["agent"], verified=False)
    answer = client.post(f"/desk/t/{ticket.public_id}/reply/", {"body": "Hello", "status": "waiting"})
    assert answer.status_code == 302 and answer["Location"].startswith(VERIFY)
    assert list(TicketMessage.objects.filter(ticket=ticket).values_list("body_text", flat=True)) == ["Where is it?"]
    assert Ticket.objects.get(pk=ticket.pk).status == "new"
    htmx = client.post(f"/desk/t/{ticket.public_id}/status/", {"status": "on_hold"}, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 204 and htmx["HX-Redirect"] == f"{VERIFY}?next=%2Fdesk%2F"
    assert Ticket.objects.get(pk=ticket.pk).status == "new"


def test_django_admin_password_login_gives_no_staff_session(staff: dict[str, User], client: Client) -> None:
    """The attack of the issue: a password at /admin/login/ used to open the admin, the desk and
    approvals, even for a supervisor with a confirmed TOTP device."""
    supervisor = staff["supervisor"]
    answer = client.post("/admin/login/?next=/admin/", {"username": supervisor.email, "password": PASSWORD})
    assert (answer.status_code, answer["Location"]) == (302, "/account/login/?next=/admin/")
    assert "_auth_user_id" not in client.session
    for url in ("/admin/", "/desk/", "/desk/chat/", "/desk/dashboard/"):
        assert client.get(url).status_code == 302
    # OKPay's sign-in asks for the code before the session exists.
    step = client.post("/account/login/?next=/admin/", {"email": supervisor.email, "password": PASSWORD})
    assert step["Location"] == "/account/login/2fa/" and "_auth_user_id" not in client.session
    signed = client.post("/account/login/2fa/", {"code": totp_code(supervisor)})
    assert signed["Location"] == "/admin/"
    assert client.get("/desk/").status_code == 200


def test_the_admin_login_page_sends_people_to_okpays_sign_in(staff: dict[str, User], alice: User) -> None:
    assert Client().get("/admin/login/?next=/admin/")["Location"] == "/account/login/?next=/admin/"
    assert sign_in(alice).get("/admin/login/").status_code == 403
    verified = sign_in(staff["admin"])
    assert verified.get("/admin/login/?next=/admin/identity/user/")["Location"] == "/admin/identity/user/"
    assert verified.get("/admin/identity/user/").status_code == 200
    unverified = sign_in(staff["admin"], verified=False).get("/admin/login/")
    assert unverified["Location"].startswith(VERIFY)


def test_staff_without_a_device_set_one_up_before_the_desk_opens(db, client: Client) -> None:  # type: ignore[no-untyped-def]
    from django_otp.plugins.otp_totp.models import TOTPDevice

    agent = user_create("new-agent@example.com", role="agent", second_factor=False)
    signed = client.post("/account/login/?next=/desk/", {"email": agent.email, "password": PASSWORD})
    assert signed["Location"] == "/desk/"
    assert client.get("/desk/")["Location"] == f"{VERIFY}?next=%2Fdesk%2F"
    assert client.get(f"{VERIFY}?next=/desk/")["Location"] == "/account/2fa/"
    setup = client.get("/account/2fa/").content.decode()
    assert 'data-testid="staff-2fa-required"' in setup
    assert client.post("/account/2fa/", {"password": PASSWORD})["Location"] == "/account/2fa/setup/"
    assert client.get("/desk/").status_code == 302  # an unconfirmed device proves nothing
    codes = client.post("/account/2fa/setup/", {"code": totp_code(TOTPDevice.objects.get(user=agent))})
    assert codes.status_code == 200 and 'href="/desk/"' in codes.content.decode()
    assert client.get("/desk/").status_code == 200


def test_staff_cannot_turn_the_second_factor_off(staff: dict[str, User]) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    agent = staff["agent"]
    client = sign_in(agent)
    assert 'action="/account/2fa/disable/"' not in client.get("/account/2fa/").content.decode()
    client.post("/account/2fa/disable/", {"code": totp_code(agent)})
    assert TOTPDevice.objects.filter(user=agent, confirmed=True).count() == 1


def test_unpublished_help_previews_need_a_verified_staff_session(staff: dict[str, User]) -> None:
    from okpay.helpcenter.models import Article

    draft = Article.objects.create(lang="en", slug="draft-x", title="Draft", summary="s", body="b",
                                   body_html="<p>b</p>", category="account", is_published=False)
    url = f"/help/{draft.slug}/?preview=1&lang=en"
    assert sign_in(staff["agent"], verified=False).get(url).status_code == 404
    assert sign_in(staff["agent"]).get(url).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_staff_websockets_need_a_verified_session() -> None:
    from tests.chat.conftest import communicator, run
    from tests.factories import session_cookie

    agent = user_create("agent@example.com", role="agent")
    alice = user_create("alice@example.com")
    cookies = {"password only": session_cookie(agent, verified=False), "verified": session_cookie(agent),
               "customer": session_cookie(alice), "nobody": None}

    async def knock(path: str, cookie: str | None) -> tuple[bool, int | None]:
        comm = communicator(path, cookie=cookie)
        accepted, code = await comm.connect()
        await comm.disconnect()
        return accepted, code

    for path in ("/ws/agent/", "/ws/desk/calls/"):
        answers = {who: run(lambda path=path, cookie=cookie: knock(path, cookie)) for who, cookie in cookies.items()}
        assert answers == {"password only": (False, 4403), "verified": (True, None), "customer": (False, 4403),
                           "nobody": (False, 4403)}, path
    assert RULES["desk/chat/"] == "agent"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("locale", "lang"), [("zh-CN", "zh"), ("en-US", "en")])
def test_in_chromium_a_staff_member_proves_the_second_factor_then_the_desk_opens(  # type: ignore[no-untyped-def]
        browser, live_server, locale: str, lang: str) -> None:
    """The real pages, both languages, phone and desktop widths: a staff member without a device is
    asked to set one up; one with a password-only session types a code and lands on the desk."""
    from django.conf import settings as dj_settings
    from django.core.cache import cache
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.conftest import screenshot
    from tests.factories import session_cookie

    newcomer = user_create("new-agent@example.com", role="agent", second_factor=False)
    agent = user_create("agent@example.com", role="agent")
    for width, height in ((390, 844), (1280, 900)):
        for who in (newcomer, agent):
            context = browser.new_context(locale=locale, base_url=live_server.url,
                                          viewport={"width": width, "height": height})
            context.add_cookies([{"name": dj_settings.SESSION_COOKIE_NAME, "url": live_server.url,
                                  "value": session_cookie(who, verified=False)}])
            page = context.new_page()
            page.goto("/desk/")
            if who is newcomer:
                page.wait_for_url("**/account/2fa/")
                assert page.get_by_test_id("staff-2fa-required").is_visible()
                screenshot(page, f"staff-2fa-setup-required-{lang}-{width}")
            else:
                page.wait_for_url("**/account/2fa/verify/?next=%2Fdesk%2F")
                assert page.get_by_test_id("staff-2fa-verify").is_visible()
                screenshot(page, f"staff-2fa-verify-{lang}-{width}")
                cache.clear()  # the same code may come again at the next width (the test's own replay)
                TOTPDevice.objects.filter(user=agent).update(last_t=-1)
                page.locator("input[name=code]").fill(totp_code(agent))
                page.locator(".auth-card button[type=submit]").click()
                page.wait_for_url("**/desk/")
                assert page.locator("body").inner_text()
            context.close()
