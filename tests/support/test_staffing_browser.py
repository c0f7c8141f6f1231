"""Chromium: the supervisor's staffing table at 390 px and 1280 px, in Chinese and English, on a
week of history with a daily curve (quiet night, morning and evening peaks)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as dj_settings

from okpay.support.models import Ticket
from tests.conftest import screenshot
from tests.factories import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PEAK = {"chat": 60, "phone": 40, "email": 30, "social": 10}


def _curve(hour: int) -> float:
    """Share of the peak at a local hour: night near zero, peaks at 10:00 and 20:00."""
    return 0.03 + math.exp(-((hour - 10) / 2.2) ** 2) + 0.8 * math.exp(-((hour - 20) / 2.0) ** 2)


def _history(user) -> None:  # type: ignore[no-untyped-def]
    start = datetime(2026, 11, 16, 16, 0, tzinfo=UTC)        # 2026-11-17 00:00 Beijing time
    rows, n = [], 0
    for day in range(7):
        for hour in range(24):
            at = start + timedelta(days=day, hours=hour)
            for channel, peak in PEAK.items():
                for i in range(round(peak * _curve(hour))):
                    n += 1
                    rows.append(Ticket(number=f"T-H{n:06d}", requester=user, channel=channel, category="payment",
                                       subject="history", status="closed", created_at=at + timedelta(seconds=i),
                                       updated_at=at))
    Ticket.objects.bulk_create(rows, batch_size=2000)


def test_staffing_table_at_both_widths(browser, live_server, alice, supervisor, fake_clock, settings):
    settings.OKPAY_STAFFING_HISTORY_DAYS = 7
    fake_clock.now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    _history(alice)
    for lang in ("zh-hans", "en"):
        for width in (390, 1280):
            context = browser.new_context(locale="zh-CN", base_url=live_server.url,
                                          viewport={"width": width, "height": 900})
            context.add_cookies([{"name": dj_settings.SESSION_COOKIE_NAME, "value": session_cookie(supervisor),
                                  "url": live_server.url},
                                 {"name": "django_language", "value": lang, "url": live_server.url}])
            page = context.new_page()
            page.goto("/desk/dashboard/?sl=80#staffing")
            table = page.locator("#staffing-table")
            assert table.locator("tbody tr").count() == 24
            # 10:00 is the morning peak: more agents than at 04:00, and every channel staffed.
            peak = table.locator("tbody tr").nth(10).locator("td strong").all_inner_texts()
            night = table.locator("tbody tr").nth(4).locator("td strong").all_inner_texts()
            assert int(peak[-1]) > int(night[-1]) > 0
            assert all(int(x) > 0 for x in peak)
            # The page itself does not scroll sideways; only the table's own wrapper may.
            # The section fits the viewport and the table fits its section: no sideways scrolling.
            box = page.locator("#staffing").bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
            assert page.evaluate("""() => { const w = document.querySelector('#staffing .table-wrap');
                return w.scrollWidth <= w.clientWidth; }""")
            page.locator("#staffing").scroll_into_view_if_needed()
            page.locator("#staffing").screenshot(path=str(_artifact(f"staffing-{lang}-{width}")))
            screenshot(page, f"staffing-dashboard-{lang}-{width}")
            context.close()


def _artifact(name: str):  # type: ignore[no-untyped-def]
    from tests.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"
