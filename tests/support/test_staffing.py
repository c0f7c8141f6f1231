"""Erlang C and the staffing plan (okpay.support.staffing, pure functions).

Published worked example checked here — Call Centre Helper, "Erlang C Formula – Made Simple With an
Easy Worked Example" (https://www.callcentrehelper.com/erlang-c-formula-example-121281.htm): 100
calls in 30 minutes, average handle time 180 s, target 80 % answered within 20 s, maximum occupancy
85 %, shrinkage 30 %. Its published results: traffic intensity 10 Erlangs; 14 agents needed; with
14 agents the probability that a call waits is 17.4 %, the service level 88.9 %, the average speed of
answer 7.8 s and occupancy 71.4 %; 20 agents to roster after 30 % shrinkage. (The same figures are
the expected values of the pyworkforce library's test suite, tests/test_erlang.py.)

The Westbay Engineering step-by-step Erlang C page (360 calls per half hour, 4-minute calls, 55
agents, 15 s target) is checked for its traffic intensity (48 Erlangs) and occupancy (87.3 %); its
probabilities are checked against the textbook factorial formula computed exactly with fractions.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from fractions import Fraction

import pytest

from okpay.support import staffing


def _erlang_c_exact(a: int, n: int) -> float:
    """The textbook form, A^N/N! · N/(N−A) over Σ A^k/k! + that, exactly (no floats)."""
    top = Fraction(a ** n, math.factorial(n)) * Fraction(n, n - a)
    return float(top / (sum(Fraction(a ** k, math.factorial(k)) for k in range(n)) + top))


def test_call_centre_helper_worked_example():
    a = staffing.traffic(100 * 2, 180)                      # 100 calls per half hour = 200 per hour
    assert a == pytest.approx(10.0)
    n = staffing.agents_for_service_level(a, aht=180, target=20, level=0.80, max_occupancy=0.85)
    assert n == 14
    assert staffing.erlang_c(a, 14) == pytest.approx(0.174, abs=0.0005)
    assert staffing.service_level(a, 14, aht=180, target=20) == pytest.approx(0.889, abs=0.001)
    assert staffing.average_speed_of_answer(a, 14, aht=180) == pytest.approx(7.8, abs=0.05)
    assert a / 14 == pytest.approx(0.714, abs=0.0005)
    assert math.ceil(14 / (1 - 0.30)) == 20
    # 13 agents miss the target: the answer is the fewest agents that keep it.
    assert staffing.service_level(a, 13, aht=180, target=20) < 0.80


def test_westbay_example_against_the_exact_formula():
    a = staffing.traffic(360 * 2, 240)
    assert a == pytest.approx(48.0)
    assert a / 55 == pytest.approx(0.873, abs=0.0005)
    pw = staffing.erlang_c(a, 55)
    assert pw == pytest.approx(_erlang_c_exact(48, 55), rel=1e-12)
    assert staffing.service_level(a, 55, aht=240, target=15) == pytest.approx(
        1 - _erlang_c_exact(48, 55) * math.exp(-7 * 15 / 240), rel=1e-12)


@pytest.mark.parametrize(("a", "n"), [(1, 2), (2, 3), (7, 9), (30, 33), (100, 110)])
def test_erlang_c_equals_the_factorial_form(a, n):
    assert staffing.erlang_c(a, n) == pytest.approx(_erlang_c_exact(a, n), rel=1e-12)


def test_large_traffic_does_not_overflow():
    # 5,000 Erlangs: A^N / N! overflows a float long before; the Erlang B recursion does not.
    n = staffing.agents_for_service_level(5000.0, aht=240, target=20, level=0.8)
    assert 5000 < n < 5200
    pw = staffing.erlang_c(5000.0, n)
    assert 0 < pw < 1
    assert staffing.service_level(5000.0, n, aht=240, target=20) >= 0.8
    assert staffing.service_level(5000.0, n - 1, aht=240, target=20) < 0.8


def test_edges():
    assert staffing.erlang_c(0, 3) == 0.0
    assert staffing.erlang_c(5, 5) == 1.0                   # unstable: everyone waits
    assert staffing.service_level(5, 4, aht=60, target=20) == 0.0
    assert staffing.average_speed_of_answer(5, 5, aht=60) == math.inf
    assert staffing.agents_for_service_level(0, aht=60, target=20, level=0.8) == 0
    with pytest.raises(ValueError):
        staffing.agents_for_service_level(1, aht=60, target=20, level=1.0)
    with pytest.raises(ValueError):
        staffing.erlang_c(-1, 3)


def test_chat_concurrency_divides_the_load():
    assert staffing.traffic(60, 300, concurrency=2) == pytest.approx(2.5)


def test_email_backlog_carries_work_across_hours():
    # 240 emails between 9:00 and 10:00, nothing else; 6 minutes each = 24 agent-hours of work.
    day = [0.0] * 24
    day[9] = 240
    # One agent clears them within 24 h of arrival (24 h of work), Erlang C would ask for ~26.
    assert staffing.backlog_agents(day, aht=360, target_hours=24) == 1
    assert staffing.backlog_oldest(day, agents=1, aht=360) == 24
    # A 4-hour promise needs 6 agents (4 h × 6 = 24 agent-hours).
    assert staffing.backlog_agents(day, aht=360, target_hours=4) == 6
    # Too few agents: the backlog grows from day to day and the promise breaks.
    flat = [30.0] * 24                                        # 3 agent-hours of work per hour
    assert not staffing.backlog_keeps(flat, agents=2, aht=360, target_hours=24)
    assert staffing.backlog_agents(flat, aht=360, target_hours=24) == 3


def test_forecast_weights_the_same_weekday_twice():
    day = date(2026, 12, 8)                                   # a Tuesday
    history = {(day - timedelta(days=7), 10): 30, (day - timedelta(days=1), 10): 6}
    f = staffing.forecast_hourly(history, day=day, days=7)
    # weights: six days ×1 + the Tuesday ×2 = 8
    assert f[10] == pytest.approx((30 * 2 + 6) / 8)
    assert f[3] == 0


def test_plan_channel_rosters_with_shrinkage():
    phone = staffing.Promise("phone", aht=180, target=20)
    forecast = [0.0] * 24
    forecast[10] = 200
    plan = staffing.plan_channel(phone, forecast, level=0.8, max_occupancy=0.85, shrinkage=0.3)
    assert plan[10].agents == 14 and plan[10].scheduled == 20
    assert plan[10].level == pytest.approx(0.8884, abs=0.0005)
    assert plan[3].agents == 0 and plan[3].level is None


def _simulate_queue(*, per_hour: float, aht: float, agents: int, target: float, hours: int, seed: int) -> float:
    """Share answered within ``target`` in an M/M/N first-come-first-served queue, by simulation
    (Poisson arrivals, exponential handle times, ``agents`` always on duty)."""
    import heapq
    import random

    rng = random.Random(seed)
    free_at = [0.0] * agents                 # when each agent is next free (a min-heap)
    t, answered, within = 0.0, 0, 0
    end = hours * 3600.0
    while True:
        t += rng.expovariate(per_hour / 3600)
        if t >= end:
            break
        start = max(t, heapq.heappop(free_at))
        heapq.heappush(free_at, start + rng.expovariate(1 / aht))
        answered += 1
        within += start - t <= target
    return within / answered


def test_erlang_c_staffing_holds_in_a_simulated_queue_and_half_of_it_breaks():
    # The morning peak of the dashboard's defaults: 300 phone calls an hour, 5 minutes each.
    a = staffing.traffic(300, 300)
    n = staffing.agents_for_service_level(a, aht=300, target=20, level=0.8)
    predicted = staffing.service_level(a, n, aht=300, target=20)
    simulated = _simulate_queue(per_hour=300, aht=300, agents=n, target=20, hours=400, seed=7)
    assert predicted >= 0.8
    assert simulated == pytest.approx(predicted, abs=0.03)
    # Half the agents cannot even carry the load: the queue grows and almost nobody is answered in time.
    assert _simulate_queue(per_hour=300, aht=300, agents=n // 2, target=20, hours=8, seed=7) < 0.1
