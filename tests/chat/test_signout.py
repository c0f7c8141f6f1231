"""Signing out everywhere (identity) closes the user's open chat sockets — the customer's widget
and the agent's desk — with the close code 4401; other users' sockets and the session kept
("sign out all *other* sessions") stay open."""

from __future__ import annotations

import pytest

from okpay.core.sockets import SIGNED_OUT
from okpay.identity import services as identity
from okpay.identity.models import User, UserSession
from tests.chat.conftest import communicator, receive_until, run
from tests.factories import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def tracked_session(user: User) -> tuple[str, str]:
    """A signed-in browser session that identity lists (and can revoke): (cookie, public id)."""
    client = sign_in(user)
    client.get("/")  # the session middleware registers it
    key = client.cookies["sessionid"].value
    return key, UserSession.objects.get(session_key=key).public_id


async def closed_with(comm, timeout: float = 5) -> int | None:  # type: ignore[no-untyped-def]
    """The close code once the server closes the socket (other frames are skipped)."""
    while True:
        out = await comm.receive_output(timeout=timeout)
        if out["type"] == "websocket.close":
            return out.get("code")


def test_sign_out_everywhere_closes_customer_and_agent_sockets(alice, bob, agent) -> None:  # type: ignore[no-untyped-def]
    alice_phone, _ = tracked_session(alice)
    alice_laptop, laptop_id = tracked_session(alice)
    bob_cookie, _ = tracked_session(bob)
    agent_cookie, _ = tracked_session(agent)

    async def scenario():  # type: ignore[no-untyped-def]
        from asgiref.sync import sync_to_async

        phone, laptop = communicator(cookie=alice_phone), communicator(cookie=alice_laptop)
        other, desk = communicator(cookie=bob_cookie), communicator("/ws/agent/", cookie=agent_cookie)
        for comm in (phone, laptop, other, desk):
            ok, _ = await comm.connect()
            assert ok
        for comm in (phone, laptop, other):
            await comm.send_json_to({"type": "hello"})
            await receive_until(comm, "welcome")
        await receive_until(desk, "overview")
        # Alice, on her laptop, signs out every other session: the phone's socket closes.
        await sync_to_async(identity.sessions_revoke_others)(user=alice, current_session=laptop_id)
        phone_code = await closed_with(phone)
        await laptop.send_json_to({"type": "ping"})
        laptop_alive = await receive_until(laptop, "pong")
        # An operator signs the agent out everywhere: the desk's socket closes too.
        await sync_to_async(identity.sessions_terminate_by_operator)(email=agent.email, actor="ops")
        desk_code = await closed_with(desk)
        await other.send_json_to({"type": "ping"})
        bob_alive = await receive_until(other, "pong")
        for comm in (laptop, other):
            await comm.disconnect()
        return phone_code, laptop_alive, desk_code, bob_alive

    phone_code, laptop_alive, desk_code, bob_alive = run(scenario)
    assert phone_code == SIGNED_OUT == 4401
    assert desk_code == SIGNED_OUT
    assert laptop_alive == {"type": "pong"} and bob_alive == {"type": "pong"}


def test_revoking_one_session_closes_only_its_socket(alice) -> None:  # type: ignore[no-untyped-def]
    first, first_id = tracked_session(alice)
    second, _ = tracked_session(alice)

    async def scenario():  # type: ignore[no-untyped-def]
        from asgiref.sync import sync_to_async

        a, b = communicator(cookie=first), communicator(cookie=second)
        for comm in (a, b):
            await comm.connect()
        await sync_to_async(identity.session_revoke)(user=alice, session_id=first_id)
        code = await closed_with(a)
        await b.send_json_to({"type": "ping"})
        alive = await receive_until(b, "pong")
        await b.disconnect()
        return code, alive

    code, alive = run(scenario)
    assert code == SIGNED_OUT and alive == {"type": "pong"}
