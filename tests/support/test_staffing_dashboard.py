"""The staffing forecast on the supervisor dashboard: arrival history from real tickets, agents per
hour and channel (okpay.support.forecast, support/desk/_staffing.html)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from okpay.support import forecast
from okpay.support.models import Ticket
from tests.factories import sign_in
from tests.support.helpers import web_ticket


def _at(ticket: Ticket, moment: datetime) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(created_at=moment)


@pytest.fixture
def history(alice, fake_clock):
    """Tomorrow is Tuesday 2026-11-24. Two phone calls on Tuesday 11-17 at 10:xx Beijing time
    (02:xx UTC), one chat on Sunday 11-22 at 21:xx, one web ticket (not staffed), one phone call
    older than the 28 days of history."""
    for minute in (5, 40):
        _at(web_ticket(alice, channel="phone"), datetime(2026, 11, 17, 2, minute, tzinfo=UTC))
    _at(web_ticket(alice, channel="chat"), datetime(2026, 11, 22, 13, 30, tzinfo=UTC))
    _at(web_ticket(alice, channel="web"), datetime(2026, 11, 22, 13, 30, tzinfo=UTC))
    _at(web_ticket(alice, channel="phone"), datetime(2026, 10, 1, 2, 0, tzinfo=UTC))


def test_history_is_bucketed_by_local_hour(history):
    h = forecast.arrival_history(since=date(2026, 10, 27), until=date(2026, 11, 24))
    assert h["phone"] == {(date(2026, 11, 17), 10): 2}
    assert h["chat"] == {(date(2026, 11, 22), 21): 1}
    assert h["email"] == {} and h["social"] == {}


def test_plan_for_tomorrow(history):
    plan = forecast.staffing_plan()
    assert plan.day == date(2026, 11, 24) and plan.level == 80
    by = {c.channel: c for c in plan.channels}
    assert list(by) == ["email", "chat", "phone", "social"]
    # 28 days: 24 other days weigh 1, the four Tuesdays 2 → 32; the Tuesday's two calls count twice.
    assert by["phone"].hours[10].contacts == pytest.approx(4 / 32)
    assert by["phone"].hours[10].agents == 1 and by["phone"].hours[10].scheduled == 2   # 30 % shrinkage
    assert by["phone"].hours[9].agents == 0 and by["phone"].hours[9].contacts == 0
    assert by["chat"].hours[21].contacts == pytest.approx(1 / 32)
    assert by["email"].contacts == 0 and by["email"].peak == 0
    assert plan.rows()[10][2] == 2


def test_dashboard_shows_the_table_in_both_languages(history, supervisor):
    c = sign_in(supervisor)
    zh = c.get("/desk/dashboard/").content.decode()
    assert 'id="staffing-table"' in zh and "人员排班预测" in zh and "10:00" in zh
    c.cookies["django_language"] = "en"
    en = c.get("/desk/dashboard/?sl=95").content.decode()
    assert "Staffing forecast for 2026-11-24" in en
    assert '<option value="95" selected>' in en
    # a level outside the list falls back to the setting, never a 500
    assert c.get("/desk/dashboard/?sl=abc").status_code == 200
    assert '<option value="80" selected>' in c.get("/desk/dashboard/?sl=100").content.decode()


def test_agents_may_not_see_it(history, agent):
    assert sign_in(agent).get("/desk/dashboard/").status_code == 403
