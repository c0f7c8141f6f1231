"""Business-time arithmetic for SLA targets.

A calendar has opening intervals per weekday in its own time zone and closed dates; no hours at
all means 24×7. ``add(start, minutes)`` is the moment when ``minutes`` of open time have passed
since ``start``; ``between(a, b)`` is the open time (seconds) between two moments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from okpay.support.models import BusinessCalendar

MAX_DAYS = 366 * 2


@dataclass(frozen=True)
class Calendar:
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    hours: dict[int, list[tuple[time, time]]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()

    @property
    def always_open(self) -> bool:
        return not self.hours

    @classmethod
    def of(cls, calendar: BusinessCalendar | None) -> Calendar:
        if calendar is None or not calendar.hours:
            return cls()
        hours: dict[int, list[tuple[time, time]]] = {}
        for day, intervals in calendar.hours.items():
            parsed = []
            for start, end in intervals:
                a, b = time.fromisoformat(start), time.fromisoformat(end)
                if b <= a and end not in ("24:00",):
                    continue
                parsed.append((a, b))
            hours[int(day)] = sorted(parsed)
        return cls(ZoneInfo(calendar.timezone), hours, frozenset(date.fromisoformat(d) for d in calendar.holidays))

    def _open_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        if day in self.holidays:
            return []
        out = []
        for a, b in self.hours.get(day.weekday(), []):
            start = datetime.combine(day, a, tzinfo=self.tz)
            end = datetime.combine(day, b, tzinfo=self.tz) if b != time(0) else \
                datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz)
            out.append((start.astimezone(UTC), end.astimezone(UTC)))
        return out

    def add(self, start: datetime, minutes: float) -> datetime:
        if self.always_open:
            return start + timedelta(minutes=minutes)
        remaining = timedelta(minutes=minutes)
        day = start.astimezone(self.tz).date()
        for _ in range(MAX_DAYS):
            for a, b in self._open_intervals(day):
                if b <= start:
                    continue
                a = max(a, start)
                if b - a >= remaining:
                    return a + remaining
                remaining -= b - a
            day += timedelta(days=1)
        raise ValueError("the calendar has no open hours in the next two years")

    def between(self, a: datetime, b: datetime) -> float:
        """Open seconds from ``a`` to ``b`` (0 when ``b <= a``)."""
        if b <= a:
            return 0.0
        if self.always_open:
            return (b - a).total_seconds()
        total = timedelta()
        day = a.astimezone(self.tz).date()
        last = b.astimezone(self.tz).date()
        while day <= last:
            for start, end in self._open_intervals(day):
                lo, hi = max(start, a), min(end, b)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds()
