"""The reference deployment of docs/deploy.md on one machine, and the database machine lost.

Three "database machines" as separate PostgreSQL servers (own data directory and port): a primary,
a synchronous standby (``synchronous_standby_names = 'standby'``, ``synchronous_commit = on``) and
an asynchronous read replica; pgbouncer in ``pool_mode = transaction`` on the primary's and the
standby's machine. Two ``okpay serve`` processes and a worker reach the database through libpq's
multi-host URL over the two pgbouncers (``target_session_attrs=read-write``), the replica through
``OKPAY_DATABASE_REPLICA_URLS``, Redis for chat and the cache. A customer on one web process chats
with an agent on the other; then 16 clients move money with idempotency keys while the primary's
machine is lost mid-load (SIGKILL of PostgreSQL and of its pgbouncer) and the standby is promoted
(``pg_ctl promote``, pgbouncer's ``RECONNECT``), the replica re-pointed at it. Afterwards the bank
checks of tests/fault/test_bank.py hold: every acknowledged transfer present exactly once (the
recovery point: nothing acknowledged is lost), money conserved, no negative balance, ``okpay
ledger check`` passes. The takeover time and the replicas' lag are printed.

Runs in the suite's PostgreSQL run; ``OKPAY_FAULT_SECONDS`` (default 20 here) sizes the bank run,
the primary is lost at a third of it; the seed is printed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import statistics
import threading
import time
from collections import Counter

import psycopg
import pytest

from tests.fault import bank
from tests.fault.replication import Pgbouncer, Replicated, pgbouncer_available
from tests.fault.test_bank import REDIS_URL, on_postgres, redis_or_none, seed
from tests.fault.test_scaleout import chat_across

pytestmark = [pytest.mark.slow, pytest.mark.fault]
logging.getLogger("httpx").setLevel(logging.WARNING)

SECONDS = float(os.environ.get("OKPAY_FAULT_SECONDS", "20"))


class HaDatabase:
    """The bank cluster's database: the multi-host URL over the pgbouncers (never crashed by the
    generic fault thread; :class:`Takeover` loses the primary's machine instead)."""

    can_crash = False

    def __init__(self, ha: Replicated, bouncers: list[Pgbouncer]) -> None:
        self.ha, self.bouncers = ha, bouncers
        self.url = ha.multi_host_url([b.port for b in bouncers])

    def close(self) -> None:
        for bouncer in self.bouncers:
            bouncer.close()
        self.ha.close()


class Takeover(threading.Thread):
    """After ``after`` seconds: the primary's machine is gone (PostgreSQL and its pgbouncer
    SIGKILLed); the failover manager promotes the standby at once, tells the standby's pgbouncer
    to reconnect (its cached "read-only" startup answer is stale after a promotion), and points the
    replica at the new primary."""

    def __init__(self, db: HaDatabase, after: float) -> None:
        super().__init__(daemon=True, name="takeover")
        self.db, self.after = db, after
        self.stop_event = threading.Event()
        self.done: Counter[str] = Counter()
        self.error: BaseException | None = None
        self.lost_at = self.promoted_at = 0.0

    def run(self) -> None:
        try:
            if self.stop_event.wait(self.after):
                return
            self.lost_at = time.monotonic()
            self.db.ha.primary.lose()
            self.db.bouncers[0].close()
            self.done["primary_lost"] += 1
            self.db.ha.standby.promote()
            self.db.bouncers[1].admin("RECONNECT")
            self.promoted_at = time.monotonic()
            self.done["standby_promoted"] += 1
            self.db.ha.follow_new_primary()
        except BaseException as exc:  # reported by the test
            self.error = exc


class LagSampler(threading.Thread):
    """Twice a second: each standby's replay lag as the current primary sees it
    (``pg_stat_replication.replay_lag``; no row while a standby is disconnected)."""

    def __init__(self, ha: Replicated) -> None:
        super().__init__(daemon=True, name="lag")
        self.ha = ha
        self.stop_event = threading.Event()
        self.samples: dict[str, list[float]] = {}

    def run(self) -> None:
        while not self.stop_event.wait(0.5):
            for node in (self.ha.primary, self.ha.standby):
                with contextlib.suppress(psycopg.Error):
                    with psycopg.connect(node.url.replace("postgres://", "postgresql://"), connect_timeout=1,
                                         autocommit=True) as conn:
                        if conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:  # type: ignore[index]
                            continue
                        for name, lag in conn.execute(
                                "SELECT application_name, COALESCE(EXTRACT(EPOCH FROM replay_lag), 0) "
                                "FROM pg_stat_replication"):
                            self.samples.setdefault(name, []).append(float(lag))
                    break


def lag_summary(samples: dict[str, list[float]]) -> dict[str, str]:
    return {name: f"median {statistics.median(values) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms "
                  f"({len(values)} samples)" for name, values in samples.items() if values}


def test_primary_machine_lost_standby_takes_over_every_acknowledged_transfer_kept() -> None:
    if not on_postgres():
        pytest.skip("runs in the suite's PostgreSQL run (OKPAY_DATABASE_URL=postgres://...)")
    if bank.postgres_bin() is None or not pgbouncer_available():
        pytest.skip("needs PostgreSQL's server binaries and pgbouncer (.ci/run installs them)")
    redis_url = redis_or_none()
    if redis_url is None:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    chosen = seed()
    ha = Replicated(replica=True)
    database = HaDatabase(ha, [Pgbouncer(ha.primary.port), Pgbouncer(ha.standby.port)])
    cluster = bank.Cluster(database, web=2, workers=1, redis_url=redis_url)
    assert ha.replica is not None
    cluster.env.update({"OKPAY_DB_TRANSACTION_POOLING": "true", "OKPAY_DATABASE_REPLICA_URLS": ha.replica.url})
    takeover = Takeover(database, after=SECONDS / 3)
    lag = LagSampler(ha)
    try:
        started = time.monotonic()
        setup = cluster.migrate_and_setup()
        cluster.start()
        print(f"replicated cluster, pgbouncers, migrate, setup and start: {time.monotonic() - started:.1f} s")
        a, b = cluster.webs
        talk = chat_across(a, b, setup["chat"])
        assert talk["reply"]["message"]["body"] == "您好，我是客服"
        assert talk["seen"]["message"]["body"] == "谢谢"

        lag.start()
        result = bank.bank_run(cluster, setup["customers"], seed=chosen, seconds=SECONDS, db_crashes=False,
                               fault=takeover)
        lag.stop_event.set()
        lag.join(timeout=10)
        print(bank.summary(result))
        problems = bank.check(result, allow_unavailable=True)
        assert not problems, f"seed {chosen}: " + "\n".join(problems) + "\n" + bank.summary(result)
        assert dict(takeover.done) == {"primary_lost": 1, "standby_promoted": 1}, takeover.done
        # Service is back when a money request sent after the loss is acknowledged.
        after = sorted(op.answered_at for op in result.book.ops
                       if op.outcome == "ok" and op.kind != "cancel" and op.sent_at > takeover.lost_at)
        assert after, "no transfer was acknowledged after the takeover"
        acknowledged = sum(1 for op in result.book.ops if op.outcome == "ok" and op.kind != "cancel")
        print(f"takeover (seed {chosen}): primary lost -> standby promoted "
              f"{takeover.promoted_at - takeover.lost_at:.2f} s, -> first acknowledged money request "
              f"{after[0] - takeover.lost_at:.2f} s; recovery point: all {acknowledged} acknowledged money "
              f"requests present exactly once; replay lag {lag_summary(lag.samples)}")
        # The async replica followed the new primary and holds every transaction too.
        new_primary, replica = ha.standby, ha.replica
        count = "SELECT count(*) FROM payments_transaction"
        deadline = time.monotonic() + 60
        while replica.sql(count) != new_primary.sql(count) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert replica.sql(count) == new_primary.sql(count)
    except Exception as exc:
        if isinstance(exc, AssertionError):
            raise AssertionError(f"{exc}\n{cluster.logs()}") from exc
        raise AssertionError(f"failover run failed (seed {chosen}): {exc}\n{cluster.logs()}") from exc
    finally:
        lag.stop_event.set()
        cluster.close()
