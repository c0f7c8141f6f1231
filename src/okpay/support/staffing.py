"""Staffing the promise: arrival forecast, Erlang C and the email backlog model (pure functions).

Nothing here touches the database or Django; ``selectors.staffing_plan`` feeds it counts and the
settings. Times are in seconds unless a name says otherwise; traffic is in Erlangs (arrivals per
second × average handle time in seconds: the number of agents that would be busy all the time).

Erlang C (the M/M/N queue) is the standard model for contacts answered live — phone and chat —
where the promise is an answer within seconds or minutes, comparable to the handle time:

- ``erlang_c(A, N)`` — the probability that a contact waits at all (all N agents busy);
- ``service_level(A, N, aht, target)`` = 1 − P(wait) · e^(−(N−A)·target/aht): the share answered
  within ``target``;
- ``agents_for_service_level`` — the fewest agents that reach the service level (and keep
  occupancy A/N at or under ``max_occupancy``).

``erlang_c`` is computed through the Erlang B recursion B(0)=1, B(n) = A·B(n−1) / (n + A·B(n−1)),
then C = N·B / (N − A·(1 − B)): every step is a ratio in [0, 1], so it neither overflows nor loses
precision at thousands of agents, where A^N / N! in the textbook form overflows a float (N ≈ 170).

Email is not staffed with Erlang C. Its promise (an answer within 24 h) is hundreds of times the
handle time, so Erlang C says that any N just above A meets it — true only in a steady state within
one interval, while email's real constraint is that work carries over from hour to hour: the morning
peak can be answered in the afternoon. ``backlog_agents`` therefore plays the forecast through a
first-in-first-out backlog and finds the fewest agents per hour (flat over the day) whose capacity
clears every email before it is ``target`` old, also across midnight (the day is played twice).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

MAX_AGENTS = 100_000


def erlang_b(traffic: float, agents: int) -> float:
    """Blocking probability of ``agents`` servers offered ``traffic`` Erlangs (no queue)."""
    if traffic < 0 or agents < 0:
        raise ValueError("traffic and agents must not be negative")
    b = 1.0
    for n in range(1, agents + 1):
        b = traffic * b / (n + traffic * b)
    return b


def erlang_c(traffic: float, agents: int) -> float:
    """Probability that an arriving contact waits (all agents busy); 1.0 if the queue is unstable."""
    if traffic < 0 or agents < 0:
        raise ValueError("traffic and agents must not be negative")
    if traffic == 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    b = erlang_b(traffic, agents)
    return agents * b / (agents - traffic * (1 - b))


def service_level(traffic: float, agents: int, *, aht: float, target: float) -> float:
    """Share of contacts answered within ``target`` seconds (handle time ``aht`` seconds)."""
    if traffic == 0:
        return 1.0
    if agents <= traffic:
        return 0.0
    return 1.0 - erlang_c(traffic, agents) * math.exp(-(agents - traffic) * target / aht)


def average_speed_of_answer(traffic: float, agents: int, *, aht: float) -> float:
    """Mean wait in seconds (infinite if the queue is unstable)."""
    if traffic == 0:
        return 0.0
    if agents <= traffic:
        return math.inf
    return erlang_c(traffic, agents) * aht / (agents - traffic)


def agents_for_service_level(traffic: float, *, aht: float, target: float, level: float,
                             max_occupancy: float = 1.0) -> int:
    """The fewest agents answering ``level`` (0–1) of contacts within ``target`` seconds."""
    if not 0 < level < 1:
        raise ValueError("level must be between 0 and 1")
    if not 0 < max_occupancy <= 1:
        raise ValueError("max_occupancy must be in (0, 1]")
    if traffic <= 0:
        return 0
    n = max(1, math.floor(traffic) + 1, math.ceil(traffic / max_occupancy))
    while service_level(traffic, n, aht=aht, target=target) < level:
        n += 1
        if n > MAX_AGENTS:
            raise ValueError("traffic too large to staff")
    return n


def traffic(contacts_per_hour: float, aht: float, *, concurrency: int = 1) -> float:
    """Offered load in Erlangs; an agent who holds ``concurrency`` chats at once counts as that many."""
    return contacts_per_hour * aht / 3600 / max(1, concurrency)


def backlog_agents(arrivals: Sequence[float], *, aht: float, target_hours: int, occupancy: float = 1.0) -> int:
    """The fewest agents (the same each hour) who answer every email of ``arrivals`` (per hour, the
    day repeating) within ``target_hours``, first in first out, working ``occupancy`` of each hour."""
    total = sum(arrivals)
    if total <= 0:
        return 0
    n = max(1, math.ceil(total * aht / (3600 * occupancy * len(arrivals))))
    while not backlog_keeps(arrivals, agents=n, aht=aht, target_hours=target_hours, occupancy=occupancy):
        n += 1
        if n > MAX_AGENTS:
            raise ValueError("traffic too large to staff")
    return n


def backlog_oldest(arrivals: Sequence[float], *, agents: int, aht: float, occupancy: float = 1.0) -> int:
    """Hours the oldest email waits (arrival hour to the end of the hour it is answered in) when the
    day's ``arrivals`` repeat and ``agents`` work each hour; a large number if the backlog grows."""
    per_hour = agents * 3600 * occupancy / aht
    queue: list[list[float]] = []          # [arrival hour, emails left]
    oldest = 0
    hours = len(arrivals)
    for h in range(hours * 3):             # day 1 builds the carry-over, days 2 and 3 are measured
        if arrivals[h % hours] > 0:
            queue.append([h, float(arrivals[h % hours])])
        capacity = per_hour
        while queue and capacity > 1e-9:
            take = min(capacity, queue[0][1])
            queue[0][1] -= take
            capacity -= take
            if queue[0][1] <= 1e-9:
                if h >= hours:
                    oldest = max(oldest, h + 1 - int(queue[0][0]))
                queue.pop(0)
    if queue:
        oldest = max(oldest, hours * 3 - int(queue[0][0]))
    return oldest


def backlog_keeps(arrivals: Sequence[float], *, agents: int, aht: float, target_hours: int,
                  occupancy: float = 1.0) -> bool:
    return backlog_oldest(arrivals, agents=agents, aht=aht, occupancy=occupancy) <= target_hours


def forecast_hourly(history: Mapping[tuple[date, int], int], *, day: date, days: int = 28) -> list[float]:
    """Contacts per hour of ``day`` from the ``days`` before it: the mean per hour of day, where the
    same weekday counts twice (weekly patterns matter, recent weeks smooth the noise). ``history``
    maps (local date, hour 0–23) to contacts; missing keys are zero-contact hours."""
    sums = [0.0] * 24
    weight = 0.0
    for back in range(1, days + 1):
        d = date.fromordinal(day.toordinal() - back)
        w = 2.0 if d.weekday() == day.weekday() else 1.0
        weight += w
        for h in range(24):
            sums[h] += w * history.get((d, h), 0)
    return [s / weight for s in sums] if weight else sums


@dataclass(frozen=True)
class Promise:
    """How one channel is staffed: handle time, the answer target and how it is modelled."""
    channel: str
    aht: float                    # seconds an agent spends per contact
    target: float                 # seconds (Erlang C) or hours (backlog) within which to answer
    model: str = "erlang_c"       # "erlang_c" or "backlog"
    concurrency: int = 1          # chats one agent holds at once


@dataclass(frozen=True)
class HourPlan:
    hour: int
    contacts: float
    agents: int                   # on the channel, before shrinkage
    scheduled: int                # agents to roster (agents / (1 − shrinkage))
    level: float | None           # expected share within target (Erlang C channels)
    asa: float | None             # expected mean wait, seconds (Erlang C channels)


def plan_channel(promise: Promise, forecast: Sequence[float], *, level: float, max_occupancy: float,
                 shrinkage: float) -> list[HourPlan]:
    """Agents per hour of the forecast for one channel."""
    out: list[HourPlan] = []
    flat = 0
    if promise.model == "backlog":
        flat = backlog_agents(forecast, aht=promise.aht, target_hours=int(promise.target), occupancy=max_occupancy)
    for hour, contacts in enumerate(forecast):
        if promise.model == "backlog":
            n, sl, asa = flat, None, None
        else:
            a = traffic(contacts, promise.aht, concurrency=promise.concurrency)
            aht = promise.aht / max(1, promise.concurrency)
            n = agents_for_service_level(a, aht=aht, target=promise.target, level=level,
                                         max_occupancy=max_occupancy) if a > 0 else 0
            sl = service_level(a, n, aht=aht, target=promise.target) if n else None
            asa = average_speed_of_answer(a, n, aht=aht) if n else None
        out.append(HourPlan(hour=hour, contacts=contacts, agents=n, scheduled=math.ceil(n / (1 - shrinkage)),
                            level=sl, asa=asa))
    return out
