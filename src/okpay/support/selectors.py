"""Reads of the desk: the customer's tickets, the agents' queues and search, dashboards."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet
from django.db.models.functions import TruncDate, TruncWeek

from okpay.core.pagination import Page, keyset_page
from okpay.identity.models import User
from okpay.support import clock
from okpay.support.models import (
    ACTIVE_STATUSES,
    AgentProfile,
    Category,
    Channel,
    NpsResponse,
    Rating,
    Status,
    Ticket,
    TicketEvent,
    TicketMessage,
)
from okpay.support.permissions import desk_tickets

DUE_SOON = timedelta(hours=2)


def tickets_for_customer(user: User, *, limit: int | None = None, cursor: str | None = None) -> Page[Ticket]:
    qs = (Ticket.objects.filter(requester=user).select_related("rating", "follow_up_of")
          .prefetch_related("linked_transactions"))
    return keyset_page(qs, limit=limit, cursor=cursor)


def public_messages(ticket: Ticket) -> QuerySet[TicketMessage]:
    """What the customer sees: never an internal note."""
    return (ticket.messages.filter(visibility=TicketMessage.Visibility.PUBLIC)
            .select_related("author").prefetch_related("attachments").order_by("created_at", "pk"))


def all_messages(ticket: Ticket) -> QuerySet[TicketMessage]:
    return ticket.messages.select_related("author").prefetch_related("attachments").order_by("created_at", "pk")


QUEUES = ("mine", "unassigned", "due_soon", "breached", "complaints", "waiting", "all_open", "solved")


def _due_before(moment: datetime) -> Q:
    return (Q(first_responded_at__isnull=True, first_response_due__lte=moment)
            | Q(next_response_due__lte=moment) | Q(resolution_due__lte=moment))


def desk_queue(user: User, queue: str, *, channel: str = "", category: str = "", q: str = "",
               limit: int = 50) -> list[Ticket]:
    now = clock.now()
    qs = desk_tickets(user)
    active = Q(status__in=ACTIVE_STATUSES)
    running = Q(status__in=[Status.NEW, Status.OPEN, Status.ON_HOLD])
    if queue == "mine":
        qs = qs.filter(active, assignee=user)
    elif queue == "unassigned":
        qs = qs.filter(active, assignee__isnull=True)
    elif queue == "due_soon":
        qs = qs.filter(running, _due_before(now + DUE_SOON)).exclude(
            Q(first_response_breached=True) | Q(next_response_breached=True) | Q(resolution_breached=True))
    elif queue == "breached":
        qs = qs.filter(active).filter(Q(first_response_breached=True) | Q(next_response_breached=True)
                                      | Q(resolution_breached=True) | _due_before(now))
    elif queue == "complaints":
        qs = qs.filter(active, category=Category.COMPLAINT)
    elif queue == "waiting":
        qs = qs.filter(status=Status.WAITING)
    elif queue == "solved":
        qs = qs.filter(status__in=[Status.SOLVED, Status.CLOSED])
    else:
        qs = qs.filter(active)
    if channel in Channel.values:
        qs = qs.filter(channel=channel)
    if category in Category.values:
        qs = qs.filter(category=category)
    if q:
        qs = search_filter(qs, q)
    order = ["-updated_at"] if queue == "solved" else ["first_response_due", "resolution_due", "created_at"]
    return list(qs.select_related("assignee", "requester", "team").order_by(*order)[:limit])


def search_filter(qs: QuerySet[Ticket], q: str) -> QuerySet[Ticket]:
    q = q.strip()[:100]
    if not q:
        return qs
    cond = (Q(number__iexact=q) | Q(public_id=q) | Q(subject__icontains=q) | Q(requester_email__iexact=q)
            | Q(requester_phone=q) | Q(requester_handle__icontains=q) | Q(requester_name__icontains=q)
            | Q(linked_transactions__transaction_id=q) | Q(tags__name=q.lower()))
    ids = TicketMessage.objects.filter(body_text__icontains=q).values("ticket_id")[:500]
    return qs.filter(cond | Q(pk__in=ids)).distinct()


def queue_counts(user: User) -> dict[str, int]:
    now = clock.now()
    qs = desk_tickets(user)
    active = Q(status__in=ACTIVE_STATUSES)
    running = Q(status__in=[Status.NEW, Status.OPEN, Status.ON_HOLD])
    breached = Q(first_response_breached=True) | Q(next_response_breached=True) | Q(resolution_breached=True)
    return qs.aggregate(
        mine=Count("pk", filter=active & Q(assignee=user)),
        unassigned=Count("pk", filter=active & Q(assignee__isnull=True)),
        due_soon=Count("pk", filter=running & _due_before(now + DUE_SOON) & ~breached),
        breached=Count("pk", filter=active & (breached | _due_before(now))),
        complaints=Count("pk", filter=active & Q(category=Category.COMPLAINT)),
        waiting=Count("pk", filter=Q(status=Status.WAITING)),
        all_open=Count("pk", filter=active),
    )


def sla_state(ticket: Ticket) -> tuple[str, datetime | None]:
    """("breached" | "due_soon" | "ok" | "paused" | "done", the next due time)."""
    if ticket.status in (Status.SOLVED, Status.CLOSED):
        return "done", None
    if ticket.status == Status.WAITING:
        return "paused", None
    now = clock.now()
    dues = [d for d in (ticket.first_response_due if ticket.first_responded_at is None else None,
                        ticket.next_response_due, ticket.resolution_due) if d]
    nxt = min(dues) if dues else None
    if ticket.first_response_breached or ticket.next_response_breached or ticket.resolution_breached or \
            (nxt and nxt <= now):
        return "breached", nxt
    if nxt and nxt <= now + DUE_SOON:
        return "due_soon", nxt
    return "ok", nxt


# --- dashboards ----------------------------------------------------------------------------------

@dataclass
class Dashboard:
    since: date
    until: date
    open_by_channel: list[tuple[str, int]] = field(default_factory=list)
    open_by_category: list[tuple[str, int]] = field(default_factory=list)
    created_by_day: list[tuple[date, int]] = field(default_factory=list)
    first_response: dict[str, Any] = field(default_factory=dict)
    resolution: dict[str, Any] = field(default_factory=dict)
    breaches: int = 0
    tickets: int = 0
    csat_by_day: list[tuple[date, float, int]] = field(default_factory=list)
    csat_average: float | None = None
    csat_count: int = 0
    workload: list[dict[str, Any]] = field(default_factory=list)
    top_categories: list[tuple[str, int]] = field(default_factory=list)
    created_by_channel: list[tuple[str, int]] = field(default_factory=list)
    gaps: list[tuple[str, str, int]] = field(default_factory=list)
    overdue: list[Any] = field(default_factory=list)  # support.promises.OverduePromise, oldest first
    nps: dict[str, Any] = field(default_factory=dict)  # score, responses, promoters, passives, detractors
    nps_by_week: list[tuple[date, int, int]] = field(default_factory=list)  # week's Monday, score, responses
    nps_comments: list[Any] = field(default_factory=list)  # the period's answers with a comment, newest first


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def _stats(hours: list[float], target_hours: list[float]) -> dict[str, Any]:
    return {"count": len(hours), "median": _pct(hours, 0.5), "p90": _pct(hours, 0.9),
            "target": statistics.median(target_hours) if target_hours else None,
            "within": sum(1 for h, t in zip(hours, target_hours, strict=True) if h <= t)}


def dashboard(*, since: date, until: date) -> Dashboard:
    start = datetime.combine(since, datetime.min.time(), tzinfo=clock.now().tzinfo)
    end = datetime.combine(until + timedelta(days=1), datetime.min.time(), tzinfo=clock.now().tzinfo)
    d = Dashboard(since=since, until=until)
    active = Ticket.objects.filter(status__in=ACTIVE_STATUSES)
    labels_ch = dict(Channel.choices)
    labels_cat = dict(Category.choices)
    d.open_by_channel = [(str(labels_ch.get(r["channel"], r["channel"])), r["n"])
                         for r in active.values("channel").annotate(n=Count("pk")).order_by("-n")]
    d.open_by_category = [(str(labels_cat.get(r["category"], r["category"])), r["n"])
                          for r in active.values("category").annotate(n=Count("pk")).order_by("-n")]
    period = Ticket.objects.filter(created_at__gte=start, created_at__lt=end)
    d.tickets = period.count()
    by_day = dict(period.annotate(day=TruncDate("created_at")).values("day").annotate(n=Count("pk"))
                  .values_list("day", "n"))
    day = since
    while day <= until:
        d.created_by_day.append((day, by_day.get(day, 0)))
        day += timedelta(days=1)
    d.created_by_channel = [(str(labels_ch.get(r["channel"], r["channel"])), r["n"])
                            for r in period.values("channel").annotate(n=Count("pk")).order_by("-n")]
    d.top_categories = [(str(labels_cat.get(r["category"], r["category"])), r["n"])
                        for r in period.values("category").annotate(n=Count("pk")).order_by("-n")[:6]]
    fr, fr_t, res, res_t = [], [], [], []
    for t in period.select_related("sla_policy").only(
            "created_at", "first_responded_at", "solved_at", "sla_paused_seconds", "sla_policy__first_response_minutes",
            "sla_policy__resolution_minutes", "category"):
        pol = t.sla_policy
        if t.first_responded_at:
            fr.append((t.first_responded_at - t.created_at).total_seconds() / 3600)
            fr_t.append(pol.first_response_minutes / 60 if pol else 24.0)
        if t.solved_at:
            res.append(((t.solved_at - t.created_at).total_seconds() - t.sla_paused_seconds) / 3600)
            res_t.append(pol.resolution_minutes / 60 if pol else 72.0)
    d.first_response = _stats(fr, fr_t)
    d.resolution = _stats(res, res_t)
    d.breaches = period.filter(Q(first_response_breached=True) | Q(next_response_breached=True)
                               | Q(resolution_breached=True)).count()
    ratings = Rating.objects.filter(created_at__gte=start, created_at__lt=end)
    agg = ratings.aggregate(avg=Avg("score"), n=Count("pk"))
    d.csat_average, d.csat_count = agg["avg"], agg["n"]
    d.csat_by_day = [(r["day"], float(r["avg"]), r["n"]) for r in
                     ratings.annotate(day=TruncDate("created_at")).values("day")
                     .annotate(avg=Avg("score"), n=Count("pk")).order_by("day")]
    open_counts = Counter(dict(active.filter(assignee__isnull=False).values("assignee_id")
                               .annotate(n=Count("pk")).values_list("assignee_id", "n")))
    solved_counts = Counter(dict(period.filter(assignee__isnull=False, solved_at__isnull=False)
                                 .values("assignee_id").annotate(n=Count("pk")).values_list("assignee_id", "n")))
    profiles = {p.user_id: p for p in AgentProfile.objects.all()}
    agents = User.objects.filter(Q(groups__name__in=["agent", "supervisor"]) | Q(pk__in=list(open_counts)))\
        .distinct().order_by("display_name")
    for agent in agents:
        p = profiles.get(agent.pk)
        d.workload.append({"agent": agent.display_name, "open": open_counts.get(agent.pk, 0),
                           "solved": solved_counts.get(agent.pk, 0), "on_duty": bool(p and p.on_duty),
                           "capacity": p.capacity if p else 10})
    try:
        from okpay.helpcenter.selectors import content_gaps

        d.gaps = [(g.query, g.lang, g.count) for g in content_gaps(limit=10)]
    except ImportError:
        d.gaps = []
    from okpay.support.promises import overdue_promises

    d.overdue = overdue_promises()
    nps_fill(d, start, end)
    return d


def nps_score(promoters: int, detractors: int, responses: int) -> int | None:
    """Net Promoter Score: % promoters (9–10) − % detractors (0–6), from −100 to 100."""
    return round(100 * (promoters - detractors) / responses) if responses else None


def nps_fill(d: Dashboard, start: datetime, end: datetime) -> None:
    """The period's NPS (answers only; a dismissed question has no score), by week, and its comments."""
    answers = NpsResponse.objects.filter(created_at__gte=start, created_at__lt=end, score__isnull=False)
    counts = {"promoters": Count("pk", filter=Q(score__gte=9)), "detractors": Count("pk", filter=Q(score__lte=6)),
              "responses": Count("pk")}
    total = answers.aggregate(**counts)
    d.nps = {**total, "passives": total["responses"] - total["promoters"] - total["detractors"],
             "score": nps_score(total["promoters"], total["detractors"], total["responses"])}
    weeks = answers.annotate(week=TruncWeek("created_at")).values("week").annotate(**counts).order_by("week")
    d.nps_by_week = [(w["week"].date() if isinstance(w["week"], datetime) else w["week"],
                      nps_score(w["promoters"], w["detractors"], w["responses"]) or 0, w["responses"])
                     for w in weeks]
    d.nps_comments = list(answers.exclude(comment="").order_by("-created_at", "-pk")[:50])


def dashboard_rows(d: Dashboard) -> list[list[Any]]:
    """The dashboard as CSV rows: section, key, value."""
    rows: list[list[Any]] = [["section", "key", "value"], ["period", "since", d.since.isoformat()],
                             ["period", "until", d.until.isoformat()], ["period", "tickets", d.tickets]]
    rows += [["open_by_channel", k, v] for k, v in d.open_by_channel]
    rows += [["open_by_category", k, v] for k, v in d.open_by_category]
    rows += [["created_by_day", day.isoformat(), n] for day, n in d.created_by_day]
    for name, s in (("first_response_hours", d.first_response), ("resolution_hours", d.resolution)):
        for key in ("count", "median", "p90", "target", "within"):
            value = s.get(key)
            rows.append([name, key, round(value, 2) if isinstance(value, float) else value])
    rows.append(["sla", "breaches", d.breaches])
    rows.append(["csat", "average", round(d.csat_average, 2) if d.csat_average is not None else ""])
    rows.append(["csat", "count", d.csat_count])
    rows += [["csat_by_day", day.isoformat(), round(avg, 2)] for day, avg, _n in d.csat_by_day]
    rows += [["workload_open", w["agent"], w["open"]] for w in d.workload]
    rows += [["workload_solved", w["agent"], w["solved"]] for w in d.workload]
    rows += [["top_category", k, v] for k, v in d.top_categories]
    rows += [["new_by_channel", k, v] for k, v in d.created_by_channel]
    rows += [["search_without_result", f"{q} ({lang})", n] for q, lang, n in d.gaps]
    rows += [["nps", key, d.nps.get(key) if d.nps.get(key) is not None else ""]
             for key in ("score", "responses", "promoters", "passives", "detractors")]
    rows += [["nps_by_week", week.isoformat(), score] for week, score, _n in d.nps_by_week]
    rows += [["nps_comment", f"{r.created_at.date().isoformat()} {r.score}", r.comment] for r in d.nps_comments]
    rows += [["overdue_promise_hours", f"{p.kind} {p.reference}" + (f" ({p.ticket_number})" if p.ticket_number
                                                                    and p.ticket_number != p.reference else ""),
              round(p.age_hours, 2)] for p in d.overdue]
    return rows


def ticket_events(ticket: Ticket) -> QuerySet[TicketEvent]:
    return ticket.events.order_by("at", "pk")


def events_of_kind(kind: str) -> dict[int, list[TicketEvent]]:
    out: dict[int, list[TicketEvent]] = defaultdict(list)
    for e in TicketEvent.objects.filter(kind=kind):
        out[e.ticket_id].append(e)
    return out


def other_tickets(ticket: Ticket, limit: int = 8) -> list[Ticket]:
    """The requester's other tickets, newest first, for the desk's customer pane: by the linked
    customer, else by the same channel address (the desk already sees every ticket; this only
    gathers them)."""
    qs = Ticket.objects.exclude(pk=ticket.pk)
    if ticket.requester_id:
        qs = qs.filter(requester_id=ticket.requester_id)
    elif ticket.requester_email:
        qs = qs.filter(requester_email=ticket.requester_email)
    elif ticket.requester_handle:
        qs = qs.filter(requester_handle=ticket.requester_handle)
    elif ticket.requester_phone:
        qs = qs.filter(requester_phone=ticket.requester_phone)
    else:
        return []
    return list(qs.order_by("-created_at", "-pk")[:limit])
