"""Selector for the staffing plan on the supervisor dashboard: the arrival history from the
database, the settings, and the pure maths of ``okpay.support.staffing``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count
from django.db.models.functions import TruncHour
from django.utils import timezone

from okpay.support import clock, staffing
from okpay.support.models import Channel, Ticket

CHANNELS = (Channel.EMAIL, Channel.CHAT, Channel.PHONE, Channel.SOCIAL)


@dataclass(frozen=True)
class ChannelPlan:
    channel: str
    label: str
    promise: staffing.Promise
    hours: list[staffing.HourPlan]

    @property
    def contacts(self) -> float:
        return sum(h.contacts for h in self.hours)

    @property
    def peak(self) -> int:
        return max((h.scheduled for h in self.hours), default=0)


@dataclass(frozen=True)
class StaffingPlan:
    day: date
    level: int                    # percent
    history_days: int
    max_occupancy: int
    shrinkage: int
    channels: list[ChannelPlan]

    def rows(self) -> list[tuple[int, list[staffing.HourPlan], int]]:
        """Hour by hour: the plans of every channel in ``channels`` order, and the agents in all."""
        return [(h, [c.hours[h] for c in self.channels], sum(c.hours[h].scheduled for c in self.channels))
                for h in range(24)]

    @property
    def totals(self) -> list[int]:
        return [sum(c.hours[h].scheduled for c in self.channels) for h in range(24)]


def promises() -> dict[str, staffing.Promise]:
    s = settings
    return {
        Channel.EMAIL: staffing.Promise(Channel.EMAIL, aht=s.OKPAY_STAFFING_EMAIL_AHT_SECONDS,
                                        target=s.OKPAY_STAFFING_EMAIL_TARGET_HOURS, model="backlog"),
        Channel.CHAT: staffing.Promise(Channel.CHAT, aht=s.OKPAY_STAFFING_CHAT_AHT_SECONDS,
                                       target=s.OKPAY_STAFFING_CHAT_TARGET_SECONDS,
                                       concurrency=s.OKPAY_STAFFING_CHAT_CONCURRENCY),
        Channel.PHONE: staffing.Promise(Channel.PHONE, aht=s.OKPAY_STAFFING_PHONE_AHT_SECONDS,
                                        target=s.OKPAY_STAFFING_PHONE_TARGET_SECONDS),
        Channel.SOCIAL: staffing.Promise(Channel.SOCIAL, aht=s.OKPAY_STAFFING_SOCIAL_AHT_SECONDS,
                                         target=s.OKPAY_STAFFING_SOCIAL_TARGET_SECONDS),
    }


def arrival_history(*, since: date, until: date) -> dict[str, dict[tuple[date, int], int]]:
    """Tickets created per channel, local date and hour, for since ≤ day < until."""
    tz = timezone.get_current_timezone()
    start = datetime.combine(since, datetime.min.time(), tzinfo=tz)
    end = datetime.combine(until, datetime.min.time(), tzinfo=tz)
    out: dict[str, dict[tuple[date, int], int]] = {c: {} for c in CHANNELS}
    rows = (Ticket.objects.filter(created_at__gte=start, created_at__lt=end, channel__in=CHANNELS)
            .annotate(hour=TruncHour("created_at", tzinfo=tz)).values("channel", "hour")
            .annotate(n=Count("pk")).values_list("channel", "hour", "n"))
    for channel, hour, n in rows:
        local = timezone.localtime(hour, tz)
        key = (local.date(), local.hour)
        out[channel][key] = out[channel].get(key, 0) + n
    return out


def staffing_plan(*, day: date | None = None, level: int | None = None) -> StaffingPlan:
    """Tomorrow's (or ``day``'s) forecast and agents per hour and channel at ``level`` percent."""
    s = settings
    day = day or timezone.localdate(clock.now()) + timedelta(days=1)
    level = level or s.OKPAY_STAFFING_SERVICE_LEVEL
    days = s.OKPAY_STAFFING_HISTORY_DAYS
    history = arrival_history(since=day - timedelta(days=days), until=day)
    labels = dict(Channel.choices)
    plans = []
    for channel, promise in promises().items():
        forecast = staffing.forecast_hourly(history[channel], day=day, days=days)
        hours = staffing.plan_channel(promise, forecast, level=level / 100,
                                      max_occupancy=s.OKPAY_STAFFING_MAX_OCCUPANCY / 100,
                                      shrinkage=s.OKPAY_STAFFING_SHRINKAGE / 100)
        plans.append(ChannelPlan(channel=channel, label=str(labels[channel]), promise=promise, hours=hours))
    return StaffingPlan(day=day, level=level, history_days=days, max_occupancy=s.OKPAY_STAFFING_MAX_OCCUPANCY,
                        shrinkage=s.OKPAY_STAFFING_SHRINKAGE, channels=plans)
