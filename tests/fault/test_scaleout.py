"""Scale-out as docs/deploy.md describes it: two ``okpay serve --no-worker`` processes and two
``okpay worker`` processes on one PostgreSQL database (through pgbouncer in transaction pooling
mode when it is installed) and one Redis (the machine's shared servers, a scratch database and this
test's own Redis database number). A customer on one web process
chats with an agent on the other, then a shorter bank run (processes killed, the database left
alone) keeps every money invariant of tests/fault/test_bank.py.

Runs in the suite's PostgreSQL run; ``OKPAY_SCALEOUT_SECONDS`` (default 15) sizes the bank run.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import pytest

from tests.chat.conftest import run
from tests.chat.test_multiprocess import Peer
from tests.fault import bank
from tests.fault.replication import Pooled, pgbouncer_available
from tests.fault.test_bank import REDIS_URL, on_postgres, redis_or_none, seed

pytestmark = [pytest.mark.slow, pytest.mark.fault]
logging.getLogger("httpx").setLevel(logging.WARNING)

SECONDS = float(os.environ.get("OKPAY_SCALEOUT_SECONDS", "15"))


def chat_across(customer_side: bank.Proc, agent_side: bank.Proc, cookies: dict[str, str]) -> dict[str, Any]:
    async def scenario() -> dict[str, Any]:
        desk = await Peer(agent_side, "/ws/agent/", cookies["agent"]).open()
        await desk.until("overview")
        customer = await Peer(customer_side, "/ws/chat/", cookies["customer"]).open()
        await customer.send(type="hello", lang="zh-hans")
        welcome = await customer.until("welcome")
        await customer.send(type="message", client_id="c1", body="我要找人工")
        await customer.until("ack", client_id="c1")
        assigned = await desk.until("assigned", timeout=30)
        await desk.send(type="open", conversation=welcome["conversation"])
        await desk.until("conversation")
        await desk.send(type="message", conversation=welcome["conversation"], client_id="g1", body="您好，我是客服")
        reply = await customer.until("message")
        while reply["message"]["kind"] != "agent":
            reply = await customer.until("message")
        await customer.send(type="message", client_id="c2", body="谢谢")
        seen = await desk.until("message")
        while seen["message"].get("client_id") != "c2":
            seen = await desk.until("message")
        await customer.ws.close()
        await desk.ws.close()
        return {"welcome": welcome, "assigned": assigned, "reply": reply, "seen": seen}

    return run(lambda: asyncio.wait_for(scenario(), 90))  # type: ignore[no-any-return]


def test_two_web_processes_and_two_workers_on_one_postgresql_and_redis() -> None:
    if not on_postgres():
        pytest.skip("runs in the suite's PostgreSQL run (OKPAY_DATABASE_URL=postgres://...)")
    redis_url = redis_or_none()
    if redis_url is None:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    chosen = seed()
    database: Any = bank.ScratchPostgres(os.environ["OKPAY_DATABASE_URL"], f"okpay_scaleout_{os.getpid()}")
    if pgbouncer_available():  # as docs/deploy.md runs it: pgbouncer in transaction pooling mode
        database = Pooled(database)
    cluster = bank.Cluster(database, web=2, workers=2, redis_url=redis_url)
    if isinstance(database, Pooled):
        cluster.env["OKPAY_DB_TRANSACTION_POOLING"] = "true"
    print(f"through pgbouncer: {isinstance(database, Pooled)}")
    try:
        setup = cluster.migrate_and_setup()
        cluster.start()
        a, b = cluster.webs
        talk = chat_across(a, b, setup["chat"])
        assert talk["assigned"]["conversation"] == talk["welcome"]["conversation"]
        assert talk["reply"]["message"]["body"] == "您好，我是客服"
        assert talk["seen"]["message"]["body"] == "谢谢"

        result = bank.bank_run(cluster, setup["customers"], seed=chosen, seconds=SECONDS, db_crashes=False)
        print(bank.summary(result))
        problems = bank.check(result)
        assert not problems, f"seed {chosen}: " + "\n".join(problems) + "\n" + bank.summary(result)
        kinds = {f"{op.kind}:{op.outcome}" for op in result.book.ops}
        assert {"transfer:ok", "bill:ok"} <= kinds, (chosen, kinds)
    except Exception as exc:
        if isinstance(exc, AssertionError):
            raise AssertionError(f"{exc}\n{cluster.logs()}") from exc
        raise AssertionError(f"scale-out run failed (seed {chosen}): {exc}\n{cluster.logs()}") from exc
    finally:
        cluster.close()
