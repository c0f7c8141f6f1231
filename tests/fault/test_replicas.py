"""Read replicas against a real streaming standby (tests/fault/replication.py): the transaction
history is read from the replica, the balance (a money decision) from the primary; the client who
just wrote reads its own write; a replica too far behind or down is skipped.

Replay on the standby is paused (``pg_wal_replay_pause()``) so that its lag is real and known.
Two web processes share Redis (the read-your-writes pins): one tolerates 60 s of lag, the other 1 s.
"""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from tests.fault import bank
from tests.fault.replication import Replicated
from tests.fault.test_bank import REDIS_URL, on_postgres, redis_or_none

pytestmark = [pytest.mark.slow, pytest.mark.fault]
logging.getLogger("httpx").setLevel(logging.WARNING)


def history(web: bank.Proc, customer: dict[str, str]) -> list[str]:
    response = httpx.get(web.url + "/api/v1/transactions?limit=50", timeout=30,
                         headers={"Authorization": f"Bearer {customer['token']}"})
    assert response.status_code == 200, response.text
    return [row["note"] for row in response.json()["data"]]


def balance(web: bank.Proc, customer: dict[str, str]) -> int:
    response = httpx.get(web.url + "/api/v1/wallet/balances", timeout=30,
                         headers={"Authorization": f"Bearer {customer['token']}"})
    assert response.status_code == 200, response.text
    return int(response.json()["data"][0]["total"])


def transfer(web: bank.Proc, sender: dict[str, str], to: dict[str, str], note: str) -> None:
    response = httpx.post(web.url + "/api/v1/transfers", timeout=30,
                          json={"to": to["email"], "amount": 150, "currency": "CNY", "note": note},
                          headers={"Authorization": f"Bearer {sender['token']}", "Idempotency-Key": note})
    assert response.status_code == 201, response.text


def test_lagging_reads_go_to_the_replica_decisions_and_own_writes_to_the_primary() -> None:
    if not on_postgres():
        pytest.skip("runs in the suite's PostgreSQL run (OKPAY_DATABASE_URL=postgres://...)")
    if bank.postgres_bin() is None:
        pytest.skip("PostgreSQL's server binaries (/usr/lib/postgresql/*/bin/initdb) are not installed")
    redis_url = redis_or_none()
    if redis_url is None:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    ha = Replicated()

    class Database:
        url, can_crash = ha.primary.url, False

        @staticmethod
        def close() -> None:
            ha.close()

    cluster = bank.Cluster(Database(), web=0, workers=0, redis_url=redis_url)
    cluster.env.update({"OKPAY_DATABASE_REPLICA_URLS": ha.standby.url, "OKPAY_REPLICA_PIN_SECONDS": "300"})
    tolerant = bank.Proc("tolerant", {**cluster.env, "OKPAY_REPLICA_MAX_LAG_SECONDS": "60"}, cluster.home,
                         port=bank.free_port())
    strict = bank.Proc("strict", {**cluster.env, "OKPAY_REPLICA_MAX_LAG_SECONDS": "1"}, cluster.home,
                       port=bank.free_port())
    cluster.webs = [tolerant, strict]
    try:
        setup = cluster.migrate_and_setup()
        alice, bob = setup["customers"][:2]
        cluster.start()
        transfer(tolerant, alice, bob, "before-pause")
        bob_before = balance(tolerant, bob)
        # The standby has replayed everything, then stops replaying (it still receives and flushes
        # the WAL, so synchronous commits go on).
        want = ha.primary.sql("SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + 30
        while ha.standby.sql(f"SELECT pg_last_wal_replay_lsn() >= '{want}'") != "t":
            assert time.monotonic() < deadline, "the standby did not catch up"
            time.sleep(0.1)
        ha.standby.sql("SELECT pg_wal_replay_pause()")

        transfer(tolerant, alice, bob, "while-paused")
        # Alice wrote: she is pinned to the primary and sees her transfer at once, on either process.
        assert "while-paused" in history(tolerant, alice)
        assert "while-paused" in history(strict, alice)
        # Bob did not write: his history comes from the replica, which has not replayed it yet...
        assert "before-pause" in history(tolerant, bob)
        assert "while-paused" not in history(tolerant, bob)
        # ...but his balance is a money decision, read on the primary.
        assert balance(tolerant, bob) == bob_before + 150
        # Past 1 s of lag the strict process skips the replica.
        time.sleep(1.5)
        assert "while-paused" in history(strict, bob)
        assert "while-paused" not in history(tolerant, bob)
        assert ha.standby.sql("SELECT count(*) FROM payments_transaction WHERE note = 'while-paused'") == "0"

        # The replica is lost (its synchronous duty handed back first, as the operator would):
        # every read goes to the primary, no error.
        ha.primary.sql("ALTER SYSTEM SET synchronous_standby_names = ''")
        ha.primary.sql("SELECT pg_reload_conf()")
        ha.standby.lose()
        assert "while-paused" in history(tolerant, bob)
        assert "while-paused" in history(tolerant, bob)  # the second time from the "down" memory
        transfer(tolerant, bob, alice, "after-replica-lost")
        assert "after-replica-lost" in history(tolerant, bob)
    except Exception as exc:
        raise AssertionError(f"{exc}\n{cluster.logs()}") from exc
    finally:
        cluster.close()
