"""Several OS processes file tickets while others run the auto-assign and SLA sweeps: every ticket
gets its own number in one gap-free sequence, and assignment respects each agent's capacity."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

from okpay.support.models import AgentProfile, Ticket, TicketEvent
from tests.factories import user_create

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
PROCS, EACH = 4, 15


def child_env() -> dict[str, str]:
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    if db["ENGINE"].endswith("sqlite3"):
        env["OKPAY_DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        auth = quote(db["USER"] or "postgres") + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
        env["OKPAY_DATABASE_URL"] = (f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
                                     f"{db['NAME']}")
        env["OKPAY_DB_POOL_MIN"] = "1"
        env["OKPAY_DB_POOL_MAX"] = "2"
    env.update({"OKPAY_TESTING": "true", "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])})
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.support.support_worker", *args], cwd=ROOT,
                            env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_numbers_stay_unique_and_gap_free_and_capacity_holds() -> None:
    customers = [user_create(f"c{i}@example.com") for i in range(PROCS)]
    agents = [user_create(f"agent{i}@example.com", role="agent") for i in range(3)]
    for agent, capacity in zip(agents, (10, 20, 100), strict=True):
        AgentProfile.objects.create(user=agent, on_duty=True, capacity=capacity)
    procs = [spawn("create", str(EACH), str(c.pk)) for c in customers] + [spawn("sweeper", "6")]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    from okpay.support.services import tickets_auto_assign

    tickets_auto_assign()  # what the sweeper had no time left for (slow machines)
    numbers = [n for out in outputs[:PROCS] for n in out]
    year = Ticket.objects.first().created_at.year
    assert sorted(numbers) == [f"OK-{year}-{i:06d}" for i in range(1, PROCS * EACH + 1)]
    assert Ticket.objects.count() == PROCS * EACH
    # every ticket handed out at most once by the sweep, and nobody above capacity
    per_ticket = Counter(TicketEvent.objects.filter(kind="assigned").values_list("ticket_id", flat=True))
    assert max(per_ticket.values(), default=0) <= 1
    load = Counter(Ticket.objects.filter(assignee__isnull=False).values_list("assignee_id", flat=True))
    for agent, capacity in zip(agents, (10, 20, 100), strict=True):
        assert load[agent.pk] <= capacity
    assert sum(load.values()) == PROCS * EACH  # 130 places for 60 tickets: all assigned in the end
