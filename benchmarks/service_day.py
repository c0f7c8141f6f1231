"""A simulated support day on every channel, end to end through OKPay's real entry points (issue 23).

``python -m benchmarks service_day`` plays one day twice — with the staffing the supervisor
dashboard's Erlang C plan computes, and with half of it — and writes ``docs/service-day.md`` with
plots under ``docs/service-day/``. ``--quick`` plays a few morning hours (the CI variant,
``tests/support/test_service_day.py``).

How a day is played (each run in a child process of its own, on a fresh SQLite database):

- **Servers**: ``okpay serve --no-worker`` (HTTP and WebSockets) and ``okpay smtpd`` as real
  processes, each on the shared simulated clock (``benchmarks/_simclock.py``).
- **Customers** reach them from outside: email by SMTP to ``okpay smtpd``; chats over WebSockets
  (the assistant answers first; a customer who still needs a person asks for one, waits, and gives
  up after their patience); calls as the phone system's signed reports to ``/hooks/phone/calls``
  (a caller nobody answers within their patience hangs up and asks for a call back through the
  API); social messages through the signed ``/hooks/social/<platform>`` webhook; tickets through
  ``POST /api/v1/support/tickets`` with a bearer token.
- **Arrivals** follow a daily curve (quiet night, morning and evening peaks), Poisson within each
  hour, from a seeded RNG, over the seed's categories and the customers' own situations.
- **Agents** are scripted: shifts from the plan hour by hour, exponential handle times with the
  staffing settings' means, working through the desk's services (``ticket_assign``,
  ``agent_reply``, the chat queue and ``agent_says``, ``call_ticket_create``, ``call_log``).
  The worker's sweeps (``sla_sweep``, ``queue_assign``) are called by the driver every few
  simulated minutes, as the worker would.
- **Measured**: every figure comes from OKPay's own records (ticket created / first reply / due /
  breached, chat queued / assigned, the phone system's call reports), read after the day.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import math
import os
import random
import secrets
import smtplib
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "service-day.md"
PLOTS = ROOT / "docs" / "service-day"
SECTION = "Simulated service day (issue 23)"

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 3, 10)  # a Tuesday
HISTORY_DAYS = 7
CHANNELS = ("email", "chat", "phone", "social", "api")
# contacts per full day and channel (the "api" channel: tickets opened through the API)
VOLUME = {"email": 140, "chat": 190, "phone": 90, "social": 50, "api": 30}
# relative arrival rate per local hour: quiet night, morning peak 9-11, evening peak 19-21
CURVE = [0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.45, 0.9, 1.5, 2.2, 2.3, 1.9, 1.4, 1.5, 1.6, 1.5, 1.4, 1.4,
         1.6, 2.0, 2.1, 1.6, 0.9, 0.4]
CHAT_WAIT_TARGET = 300.0   # seconds: p95 of the wait for a person (the chat SLA's 5-minute first reply)
SOCIAL_TARGET = 900.0      # seconds: "quick" (OKPAY_STAFFING_SOCIAL_TARGET_SECONDS)
PHONE_ANSWER_TARGET = 20.0  # seconds (OKPAY_STAFFING_PHONE_TARGET_SECONDS)
PROMISES = {"email": "first reply within 24 h", "api": "first reply within 24 h",
            "chat": f"real time: a person within {CHAT_WAIT_TARGET / 60:.0f} min (p95), none gives up or is "
                    "sent to email",
            "phone": "answered live, or called back within the hour (urgent)",
            "social": f"quick: within {SOCIAL_TARGET / 60:.0f} min, SLA 8 h"}

# (category, situation, zh-Hans text, English text, chance that the customer needs a person)
SITUATIONS = [
    ("payment", "pending transfer", "我的转账为什么还在处理中？已经两个小时了",
     "Why is my transfer still pending?", 0.6),
    ("payment", "refund", "退款什么时候到账？商家说已经退了",
     "When will my refund arrive? The shop says it refunded.", 0.6),
    ("account", "lost password", "我忘记密码了，怎么重置？", "I forgot my password, how do I reset it?", 0.25),
    ("security", "suspicious email", "收到一封自称OKPay的邮件让我登录验证，是真的吗",
     "I got an email asking me to log in to verify my OKPay account, is it real?", 0.35),
    ("security", "two-factor", "怎么开启两步验证", "How do I turn on two-factor authentication?", 0.2),
    ("technical", "app error", "App 登录后一直转圈打不开", "The app spins forever after I log in", 0.55),
    ("complaint", "slow service", "客服回复太慢了，我要投诉", "I want to complain: nobody answered me for days", 1.0),
    ("feedback", "idea", "建议增加深色模式", "Please add a dark mode", 0.3),
]
SITUATION_WEIGHTS = [18, 12, 16, 8, 5, 12, 6, 5]


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


# --- the arrivals ---------------------------------------------------------------------------------

@dataclass
class Contact:
    n: int
    channel: str
    at: datetime
    category: str
    situation: str
    text: str
    lang: str
    needs_person: bool
    patience: float  # seconds a chat customer waits for a person / a caller holds the line
    customer: int    # index of the customer account (API tickets, call-back requests)


def arrivals(seed: int, day: date, hours: range, scale: float) -> list[Contact]:
    """Poisson arrivals per channel and hour along CURVE, reproducible from ``seed``."""
    rng = random.Random(seed)
    total = sum(CURVE)
    out: list[Contact] = []
    for channel in CHANNELS:
        for hour in hours:
            rate = VOLUME[channel] * scale * CURVE[hour] / total
            count = _poisson(rng, rate)
            start = datetime(day.year, day.month, day.day, hour, tzinfo=TZ)
            for _ in range(count):
                cat, situation, zh, en, person = rng.choices(SITUATIONS, SITUATION_WEIGHTS)[0]
                lang = "en" if rng.random() < 0.3 else "zh-hans"
                out.append(Contact(0, channel, start + timedelta(seconds=rng.uniform(0, 3600)), cat, situation,
                                   en if lang == "en" else zh, lang, rng.random() < person,
                                   patience=rng.expovariate(1 / (360 if channel == "chat" else 90)),
                                   customer=0))
    out.sort(key=lambda c: c.at)
    for i, contact in enumerate(out):
        contact.n = i
        contact.customer = i
    return out


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


# --- the child process: one day on one database ------------------------------------------------------

@dataclass
class Agent:
    user: Any
    channel: str
    index: int
    busy_until: datetime | None = None


@dataclass
class Day:
    """The driver's state. What it measures it reads back from OKPay's records (``collect``)."""

    clock: Any
    base: str
    smtp_port: int
    rng: random.Random
    staffing: dict[str, list[int]]
    agents: dict[str, list[Agent]]
    tokens: list[str]
    cti_secret: str
    social_secret: str
    events: list[tuple[datetime, int, str, Any]] = field(default_factory=list)
    seq: Any = field(default_factory=itertools.count)
    taken: set[int] = field(default_factory=set)
    phone_queue: list[tuple[Contact, str]] = field(default_factory=list)
    chats: dict[str, Any] = field(default_factory=dict)          # conversation id → open socket
    chat_seen: set[str] = field(default_factory=set)
    statuses: dict[str, int] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)
    assistant_only: int = 0
    left_message: int = 0
    errors: list[str] = field(default_factory=list)

    def at(self, when: datetime, kind: str, payload: Any = None) -> None:
        heapq.heappush(self.events, (when, next(self.seq), kind, payload))

    def status(self, code: int) -> None:
        key = f"{code // 100}xx"
        self.statuses[key] = self.statuses.get(key, 0) + 1

    def on_shift(self, channel: str) -> list[Agent]:
        hour = self.clock.now.astimezone(TZ).hour
        return self.agents[channel][: self.staffing[channel][hour]]


def _http(day: Day, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
          raw: bytes | None = None) -> tuple[int, Any]:
    import httpx

    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    response = httpx.request(method, day.base + path, content=data, timeout=60,
                             headers={"content-type": "application/json", **(headers or {})})
    day.status(response.status_code)
    if response.status_code >= 500:
        day.errors.append(f"{method} {path}: {response.status_code}")
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, None


def _signed(day: Day, secret: str, path: str, payload: dict[str, Any]) -> tuple[int, Any]:
    from okpay.core import signing

    raw = json.dumps(payload).encode()
    return _http(day, "POST", path, raw=raw, headers={signing.HEADER: signing.sign(secret, raw)})


# contact arrivals, channel by channel ---------------------------------------------------------------

def arrive(day: Day, c: Contact) -> None:
    day.sent[c.channel] = day.sent.get(c.channel, 0) + 1
    {"email": arrive_email, "chat": arrive_chat, "phone": arrive_phone, "social": arrive_social,
     "api": arrive_api}[c.channel](day, c)


def arrive_email(day: Day, c: Contact) -> None:
    msg = EmailMessage()
    msg["From"] = f"customer{c.n}@mail.example"
    msg["To"] = "support@okpay.example"
    msg["Subject"] = c.text[:60]
    msg["Message-ID"] = f"<day-{c.n}-{secrets.token_hex(4)}@mail.example>"
    msg.set_content(c.text + "\n\n" + c.situation)
    with smtplib.SMTP("127.0.0.1", day.smtp_port, timeout=60) as smtp:
        smtp.send_message(msg)


def arrive_api(day: Day, c: Contact) -> None:
    _http(day, "POST", "/api/v1/support/tickets", {"category": c.category, "subject": c.text[:60], "body": c.text},
          headers={"authorization": f"Bearer {day.tokens[c.customer]}", "idempotency-key": f"day-{c.n}"})


def arrive_social(day: Day, c: Contact) -> None:
    _signed(day, day.social_secret, "/hooks/social/weibo", {
        "message_id": f"m{c.n}", "sender": {"id": f"u{c.n}", "name": f"Customer {c.n}"}, "text": c.text,
        "lang": c.lang})


def _phone(c: Contact) -> str:
    return f"+8613900{c.n:06d}"


def arrive_phone(day: Day, c: Contact) -> None:
    call_id = f"call-{c.n}"
    _signed(day, day.cti_secret, "/hooks/phone/calls", {"call_id": call_id, "event": "ringing", "from": _phone(c)})
    day.phone_queue.append((c, call_id))
    day.at(c.at + timedelta(seconds=c.patience), "phone_patience", (c, call_id))


def arrive_chat(day: Day, c: Contact) -> None:
    from websockets.sync.client import connect

    # legacy=True: a socket held across events, not a ``with`` block (websockets ≥ 17.1)
    ws = connect(day.base.replace("http", "ws") + "/ws/chat/", origin=day.base, open_timeout=60, legacy=True)
    ws.send(json.dumps({"type": "hello", "email": f"customer{c.n}@mail.example", "lang": c.lang}))
    welcome = _frame(ws, lambda f: f["type"] == "welcome")
    public_id = welcome["conversation"]
    ws.send(json.dumps({"type": "message", "client_id": f"c{c.n}", "body": c.text}))
    bot = _frame(ws, lambda f: f["type"] == "message" and f["message"]["kind"] == "bot")
    handed = bool((bot["message"].get("data") or {}).get("handoff"))
    if not handed and not c.needs_person:
        ws.send(json.dumps({"type": "end"}))   # answered by the assistant
        _frame(ws, lambda f: (f["type"] == "state" and f.get("state") == "ended") or (
            f["type"] == "message" and (f["message"].get("data") or {}).get("ended")))
        ws.close()
        day.assistant_only += 1
        return
    if not handed:
        ws.send(json.dumps({"type": "handoff", "category": c.category}))
    state = _frame(ws, lambda f: f["type"] == "state" and f.get("state") in ("queued", "active", "bot"))
    if state.get("offline") or state.get("state") == "bot":
        ws.send(json.dumps({"type": "leave_message", "body": c.text, "email": f"customer{c.n}@mail.example"}))
        _frame(ws, lambda f: f["type"] == "left_message")
        ws.close()
        day.left_message += 1
        return
    day.chats[public_id] = ws
    day.at(day.clock.now + timedelta(seconds=c.patience), "chat_patience", public_id)


def _frame(ws: Any, match: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if frame.get("type") == "error":
            raise RuntimeError(f"chat error frame: {frame}")
        if match(frame):
            return frame


# agents ---------------------------------------------------------------------------------------------

AHT = {"email": 480, "api": 480, "social": 240, "phone": 300, "chat": 420}


def handle_time(day: Day, channel: str) -> timedelta:
    return timedelta(seconds=max(30.0, day.rng.expovariate(1 / AHT[channel])))


def dispatch(day: Day) -> None:
    """Free agents on shift take the next piece of work of their channel."""
    now = day.clock.now
    for agent in day.on_shift("phone"):
        if agent.busy_until and agent.busy_until > now:
            continue
        if day.phone_queue:
            c, call_id = day.phone_queue.pop(0)
            answer_call(day, agent, c, call_id)
            continue
        callback_start(day, agent)
    for channel, channels in (("email", ("email", "api")), ("social", ("social",))):
        for agent in day.on_shift(channel):
            if agent.busy_until and agent.busy_until > now:
                continue
            ticket_start(day, agent, channels)
    chat_assign(day)


def _work(day: Day, agent: Agent, kind: str, payload: Any, channel: str) -> None:
    agent.busy_until = day.clock.now + handle_time(day, channel)
    day.at(agent.busy_until, kind, (agent, payload))


def ticket_start(day: Day, agent: Agent, channels: tuple[str, ...]) -> None:
    from okpay.support.models import ACTIVE_STATUSES, Ticket
    from okpay.support.services import ticket_assign

    ticket = (Ticket.objects.filter(channel__in=channels, first_responded_at__isnull=True, status__in=ACTIVE_STATUSES,
                                    created_at__gte=day.clock.start)
              .exclude(pk__in=day.taken).order_by("first_response_due", "created_at").first())
    if ticket is None:
        return
    day.taken.add(ticket.pk)
    ticket_assign(ticket=ticket, actor=agent.user, assignee=agent.user)
    _work(day, agent, "ticket_done", ticket.pk, agent.channel)


def ticket_done(day: Day, agent: Agent, ticket_pk: int) -> None:
    from okpay.support.models import Ticket
    from okpay.support.services import agent_reply

    ticket = Ticket.objects.get(pk=ticket_pk)
    agent_reply(ticket=ticket, agent=agent.user,
                body="您好，我们已查看您的问题，处理步骤如下。/ Hello, here is what to do.")
    agent.busy_until = None


def answer_call(day: Day, agent: Agent, c: Contact, call_id: str) -> None:
    from okpay.hotline.models import Call
    from okpay.hotline.services import call_ticket_create
    from okpay.support.services import agent_reply

    _signed(day, day.cti_secret, "/hooks/phone/calls", {"call_id": call_id, "event": "answered", "from": _phone(c),
                                                         "agent": agent.user.email})
    call = Call.objects.get(external_id=call_id)
    ticket = call_ticket_create(call=call, agent=agent.user, topic=c.category)
    # what the agent said on the call is the first answer; the customer heard it, no email
    agent_reply(ticket=ticket, agent=agent.user, body="Answered on the phone: " + c.situation, notify=False)
    _work(day, agent, "call_done", (c, call_id), "phone")


def call_done(day: Day, agent: Agent, payload: tuple[Contact, str]) -> None:
    c, call_id = payload
    _signed(day, day.cti_secret, "/hooks/phone/calls", {"call_id": call_id, "event": "ended", "from": _phone(c),
                                                         "duration_seconds": AHT["phone"]})
    agent.busy_until = None


def phone_patience(day: Day, payload: tuple[Contact, str]) -> None:
    c, call_id = payload
    if payload not in day.phone_queue:
        return  # answered in time
    day.phone_queue.remove(payload)
    _signed(day, day.cti_secret, "/hooks/phone/calls", {"call_id": call_id, "event": "missed", "from": _phone(c)})
    _http(day, "POST", "/api/v1/support/callbacks", {"phone": _phone(c), "topic": c.text[:100],
                                                     "preferred_time": "asap"},
          headers={"authorization": f"Bearer {day.tokens[c.customer]}", "idempotency-key": f"cb-{c.n}"})


def callback_start(day: Day, agent: Agent) -> None:
    from okpay.hotline.services import call_log
    from okpay.support.models import ACTIVE_STATUSES, Ticket

    ticket = (Ticket.objects.filter(channel="phone", first_responded_at__isnull=True, status__in=ACTIVE_STATUSES,
                                    created_at__gte=day.clock.start, meta__has_key="callback")
              .exclude(pk__in=day.taken).order_by("first_response_due").first())
    if ticket is None:
        return
    day.taken.add(ticket.pk)
    call_log(ticket=ticket, agent=agent.user, direction="outbound", number=ticket.requester_phone,
             duration_seconds=AHT["phone"], outcome="answered", notes="call back")
    _work(day, agent, "free", None, "phone")


def chat_assign(day: Day) -> None:
    """The worker's queue sweep, then each newly assigned chat: the agent's first words soon, the
    end after the handle time."""
    from okpay.chat.models import Conversation
    from okpay.chat.services import queue_assign

    queue_assign()
    ours = {a.user.pk: a for a in day.agents["chat"]}
    fresh = (Conversation.objects.filter(state=Conversation.State.ACTIVE, agent_id__in=list(ours))
             .exclude(public_id__in=day.chat_seen).values_list("public_id", "agent_id"))
    for public_id, agent_id in fresh:
        day.chat_seen.add(public_id)
        agent = ours[agent_id]
        reply = day.clock.now + timedelta(seconds=day.rng.uniform(10, 40))
        day.at(reply, "chat_reply", (agent, public_id))
        day.at(reply + handle_time(day, "chat"), "chat_end", (agent, public_id))


def chat_reply(day: Day, agent: Agent, public_id: str) -> None:
    from okpay.chat.models import Conversation
    from okpay.chat.services import agent_says

    conv = Conversation.objects.get(public_id=public_id)
    if conv.state == Conversation.State.ACTIVE:
        agent_says(agent=agent.user, conversation=conv, body="您好，我来帮您看看。/ Hello, let me look.",
                   client_id=f"a-{public_id}")


def chat_end(day: Day, agent: Agent, public_id: str) -> None:
    from okpay.chat.models import Conversation
    from okpay.chat.services import conversation_end

    conv = Conversation.objects.get(public_id=public_id)
    if conv.state == Conversation.State.ACTIVE:
        conversation_end(conversation=conv, actor=agent.user)
    ws = day.chats.pop(public_id, None)
    if ws is not None:
        ws.close()


def chat_patience(day: Day, public_id: str) -> None:
    from okpay.chat.models import Conversation

    if Conversation.objects.filter(public_id=public_id, state=Conversation.State.QUEUED).exists():
        ws = day.chats.pop(public_id)
        ws.send(json.dumps({"type": "end"}))  # the customer gives up waiting
        time.sleep(0.05)
        ws.close()


def shift(day: Day) -> None:
    """Chat agents go on and off duty with the hour's plan (the queue assigns only to agents on duty)."""
    from okpay.support.services import agent_duty_set

    want = {a.user.pk for a in day.on_shift("chat")}
    for agent in day.agents["chat"]:
        agent_duty_set(user=agent.user, on_duty=agent.user.pk in want, capacity=2)


def sweep(day: Day) -> None:
    from okpay.support.services import sla_sweep

    sla_sweep()


# setup and the loop ----------------------------------------------------------------------------------

def _user(email: str, name: str, role: str) -> Any:
    from django.contrib.auth.models import Group

    from okpay.identity.models import User

    user = User.objects.create_user(email, None, display_name=name, email_verified_at=datetime.now(TZ))
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    if role != "customer":
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return user


def history(seed: int, day: date) -> None:
    """The arrival history the dashboard forecasts from: the same curve, other seeds, the days before."""
    from okpay.support.models import Ticket

    rows = []
    for k in range(1, HISTORY_DAYS + 1):
        past = day - timedelta(days=k)
        for c in arrivals(seed * 1000 + k, past, range(24), 1.0):
            if c.channel == "api":
                continue
            rows.append(Ticket(number=f"OK-H-{k}-{c.n}", requester_email=f"h{c.n}@mail.example", channel=c.channel,
                               category=c.category, subject="history", status="closed", created_at=c.at,
                               updated_at=c.at, meta={"history": True}))
    Ticket.objects.bulk_create(rows, batch_size=500)


def plan(half: bool) -> dict[str, list[int]]:
    from okpay.support.forecast import staffing_plan

    """Agents per hour and channel: the dashboard's Erlang C / backlog plan (agents on the channel,
    before shrinkage: scripted agents are never away), with a floor of one agent around the clock on
    every channel (an hour forecast at zero contacts still gets the odd call back). Half: half the
    agent-hours — ``n // 2`` each hour, and the odd agent on every other hour."""
    result = {}
    for channel in staffing_plan(day=DAY).channels:
        agents = [max(1, h.agents) for h in channel.hours]
        if half:
            agents = [n // 2 + (n % 2 if hour % 2 == 0 else 0) for hour, n in enumerate(agents)]
        result[str(channel.channel)] = agents
    result["api"] = result["email"]
    return result


def run_child(args: argparse.Namespace) -> None:
    from benchmarks._simclock import SimClock

    work = Path(args.work)
    hours = range(args.start_hour, args.end_hour)
    midnight = datetime(DAY.year, DAY.month, DAY.day, tzinfo=TZ)
    clock = SimClock(work / "clock", midnight - timedelta(days=HISTORY_DAYS + 1))
    import logging

    import django

    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("helpcenter", "load", verbosity=0)
    history(args.seed, DAY)
    clock.set(datetime(DAY.year, DAY.month, DAY.day, tzinfo=TZ) - timedelta(hours=1))
    staffing = plan(args.half)
    from okpay.identity.services import api_token_create

    agents: dict[str, list[Agent]] = {}
    for channel in ("email", "chat", "phone", "social"):
        agents[channel] = [Agent(_user(f"{channel}{i}@okpay.example", f"{channel} agent {i}", "agent"), channel, i)
                           for i in range(max(staffing[channel][h] for h in range(24)))]
    contacts = arrivals(args.seed, DAY, hours, args.scale)
    tokens = [api_token_create(user=_user(f"customer{c.n}@mail.example", f"Customer {c.n}", "customer"))[0]
              if c.channel in ("api", "phone") else "" for c in contacts]
    port, smtp_port = args.port, args.smtp_port
    env = {**os.environ, "OKPAY_SMTPD_PORT": str(smtp_port)}
    servers = [subprocess.Popen([sys.executable, "-m", "benchmarks._simclock", str(work / "clock"), "okpay", *argv],
                                env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=(work / f"{name}.log").open("w"))
               for name, argv in (("serve", ["serve", "--no-worker", "--no-migrate", "--port", str(port)]),
                                  ("smtpd", ["smtpd"]))]
    try:
        try:
            _wait(f"http://127.0.0.1:{port}/healthz", smtp_port)
        except RuntimeError as exc:
            logs = "".join((work / f"{name}.log").read_text()[-1500:] for name in ("serve", "smtpd"))
            raise RuntimeError(f"{exc}\n{logs}") from None
        start = datetime(DAY.year, DAY.month, DAY.day, hours.start, tzinfo=TZ)
        clock.set(start)
        clock.start = start
        day = Day(clock=clock, base=f"http://127.0.0.1:{port}", smtp_port=smtp_port, rng=random.Random(args.seed + 7),
                  staffing=staffing, agents=agents, tokens=tokens, cti_secret=os.environ["OKPAY_CTI_SECRET"],
                  social_secret=os.environ["OKPAY_SOCIAL_WEBHOOK_SECRET"])
        end = datetime(DAY.year, DAY.month, DAY.day, tzinfo=TZ) + timedelta(hours=hours.stop)
        loop(day, contacts, start, end)
        result = collect(day, contacts, start, end)
        result["staffing"] = staffing
        result["hours"] = [hours.start, hours.stop]
        result["half"] = args.half
        Path(args.out).write_text(json.dumps(result, indent=1, default=str))
    finally:
        for proc in servers:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # a shutdown deadline on the stopped fake clock never comes
                proc.kill()
                proc.wait()
        clock.close()


def _wait(url: str, smtp_port: int) -> None:
    import socket

    import httpx

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", smtp_port), timeout=1):
                pass
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except (OSError, httpx.HTTPError):
            pass
        time.sleep(0.3)
    raise RuntimeError("okpay serve / okpay smtpd did not start")


def loop(day: Day, contacts: list[Contact], start: datetime, end: datetime) -> None:
    for c in contacts:
        day.at(c.at, "arrive", c)
    hour = start
    while hour < end + timedelta(hours=30):
        day.at(hour, "shift")
        hour += timedelta(hours=1)
    t = start
    while t < end + timedelta(hours=30):
        day.at(t, "sweep")
        t += timedelta(minutes=2)
    handlers = {
        "arrive": lambda p: arrive(day, p), "shift": lambda p: shift(day), "sweep": lambda p: sweep(day),
        "ticket_done": lambda p: ticket_done(day, *p), "call_done": lambda p: call_done(day, *p),
        "free": lambda p: setattr(p[0], "busy_until", None), "phone_patience": lambda p: phone_patience(day, p),
        "chat_reply": lambda p: chat_reply(day, *p), "chat_end": lambda p: chat_end(day, *p),
        "chat_patience": lambda p: chat_patience(day, p),
    }
    while day.events:
        when, _n, kind, payload = heapq.heappop(day.events)
        if when >= end and kind in ("shift", "sweep") and not _busy(day):
            break
        day.clock.set(when)
        try:
            handlers[kind](payload)
        except Exception as exc:  # recorded; the day goes on
            day.errors.append(f"{kind} at {when.isoformat()}: {exc!r}")
        dispatch(day)


def _busy(day: Day) -> bool:
    from okpay.support.models import ACTIVE_STATUSES, Ticket

    return bool(day.phone_queue or day.chats or Ticket.objects.filter(
        created_at__gte=day.clock.start, first_responded_at__isnull=True, status__in=ACTIVE_STATUSES,
        channel__in=("email", "api", "social", "phone", "chat")).exists()
        or any(a.busy_until for agents in day.agents.values() for a in agents))


def _seconds(a: datetime | None, b: datetime | None) -> float | None:
    return (b - a).total_seconds() if a and b else None


def collect(day: Day, contacts: list[Contact], start: datetime, end: datetime) -> dict[str, Any]:
    """Everything measured, from OKPay's own records."""
    from okpay.chat.models import Conversation
    from okpay.hotline.models import Call
    from okpay.mailbox.models import InboundEmail
    from okpay.social.models import InboundMessage
    from okpay.support.models import Ticket

    tickets = []
    calls = {c.ticket_id: c for c in Call.objects.filter(source="cti", created_at__gte=start)}
    for t in Ticket.objects.filter(created_at__gte=start).exclude(channel="alert"):
        call = calls.get(t.pk)
        kind = "callback" if "callback" in t.meta else ("call" if call else "")
        began = call.created_at if call else t.created_at
        tickets.append({
            "channel": t.channel, "kind": kind, "category": t.category, "priority": t.priority,
            "created": began.isoformat(), "hour": began.astimezone(TZ).hour,
            "first_reply_s": _seconds(began, t.first_responded_at),
            "due_s": _seconds(t.created_at, t.first_response_due),
            "breached": t.first_response_breached,
            "late": bool(t.first_response_due and (t.first_responded_at or day.clock.now) > t.first_response_due),
        })
    convs = [{"created": c.created_at.isoformat(), "hour": c.created_at.astimezone(TZ).hour,
              "queued": c.queued_at is not None, "ticket": c.ticket_id is not None,
              "wait_s": _seconds(c.queued_at, c.assigned_at), "assigned": c.assigned_at is not None,
              "state": c.state,
              "waited_s": _seconds(c.queued_at, c.assigned_at or c.ended_at)}
             for c in Conversation.objects.filter(created_at__gte=start)]
    cti = Call.objects.filter(source="cti", created_at__gte=start)
    return {
        "contacts": [{"channel": c.channel, "hour": c.at.astimezone(TZ).hour, "category": c.category,
                      "situation": c.situation} for c in contacts],
        "sent": day.sent, "statuses": day.statuses, "errors": day.errors[:50], "error_count": len(day.errors),
        "assistant_only_script": day.assistant_only, "left_message": day.left_message,
        "tickets": tickets, "conversations": convs,
        "calls": {"reported": cti.count(), "answered": cti.filter(ticket__isnull=False).count(),
                  "missed": cti.filter(outcome="no_answer").count()},
        "inbound_email": InboundEmail.objects.filter(received_at__gte=start).count()
        if hasattr(InboundEmail, "received_at") else InboundEmail.objects.count(),
        "social_in": InboundMessage.objects.filter(received_at__gte=start).count(),
        "finished": day.clock.now.isoformat(),
    }


# --- the parent: two runs, the report and its plots --------------------------------------------------

def play(*, seed: int, half: bool, hours: range, scale: float, work: Path, redis_url: str | None = None
         ) -> dict[str, Any]:
    """One day in a child process on its own SQLite database under ``work``; returns its records.
    ``redis_url``: the channel layer and cache (agents' chat messages reach the customers' sockets);
    without it each process has its own in-memory layer and what the driver pushes is not delivered
    (nothing measured depends on it)."""
    web_port, smtp_port = _ports()

    work.mkdir(parents=True, exist_ok=True)
    out = work / "result.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKPAY_")}
    env.update({
        "OKPAY_HOME": str(work), "DJANGO_SETTINGS_MODULE": "okpay.settings", "OKPAY_TIME_ZONE": str(TZ),
        "OKPAY_CTI_SECRET": secrets.token_hex(16), "OKPAY_SOCIAL_WEBHOOK_SECRET": secrets.token_hex(16),
        "OKPAY_STAFFING_HISTORY_DAYS": str(HISTORY_DAYS), "OKPAY_MAIL_SENDER_LIMIT": "100000",
        "OKPAY_CHAT_GUESTS_PER_HOUR": "1000000", "OKPAY_CHAT_RATE_PER_MINUTE": "6000",
        "OKPAY_CTI_TOLERANCE_SECONDS": "600", "OKPAY_SECRET_KEY": secrets.token_hex(32), "OKPAY_DEBUG": "0",
    })
    if redis_url:
        env["OKPAY_REDIS_URL"] = redis_url
    cmd = [sys.executable, "-m", "benchmarks.service_day", "--child", "--work", str(work), "--out", str(out),
           "--seed", str(seed), "--start-hour", str(hours.start), "--end-hour", str(hours.stop),
           "--scale", str(scale), "--port", str(web_port), "--smtp-port", str(smtp_port)] + (["--half"] if half else [])
    subprocess.run(cmd, env=env, cwd=ROOT, check=True)
    return json.loads(out.read_text())


def _ports() -> tuple[int, int]:
    """Two free ports: in ``OKPAY_SERVICE_DAY_PORTS`` (``start-end``, a session's own range on a shared
    machine) when set, else any the system gives."""
    import socket

    from benchmarks.util import free_port

    wanted = os.environ.get("OKPAY_SERVICE_DAY_PORTS", "")
    if not wanted:
        return free_port(), free_port()
    lo, hi = (int(x) for x in wanted.split("-"))
    found = []
    for port in range(lo, hi + 1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == 2:
            return found[0], found[1]
    raise RuntimeError(f"no two free ports in {wanted}")


def summarize(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per channel: the report's figures."""
    out: dict[str, dict[str, Any]] = {}
    tickets = result["tickets"]
    convs = result["conversations"]
    for channel in CHANNELS:
        mine = [t for t in tickets if t["channel"] == channel]
        replies = [t["first_reply_s"] for t in mine if t["first_reply_s"] is not None]
        row: dict[str, Any] = {
            "contacts": result["sent"].get(channel, 0), "tickets": len(mine),
            "answered": len(replies), "unanswered": len(mine) - len(replies),
            "p50": _pct(replies, 50), "p95": _pct(replies, 95), "max": max(replies) if replies else None,
            "breaches": sum(1 for t in mine if t["breached"] or t["late"]),
            "first_breach": min((t["created"] for t in mine if t["breached"] or t["late"]), default=None),
            "assistant": 0,
        }
        if channel == "chat":
            waits = [c["wait_s"] for c in convs if c["wait_s"] is not None]
            queued = [c for c in convs if c["queued"]]
            row.update(
                contacts=len(convs) or row["contacts"],
                assistant=sum(1 for c in convs if not c["ticket"]),
                queued=len(queued), abandoned=sum(1 for c in queued if not c["assigned"]),
                wait_p50=_pct(waits, 50), wait_p95=_pct(waits, 95), wait_max=max(waits) if waits else None,
                left_message=result["left_message"],
                first_breach=min([c["created"] for c in queued
                                  if (c["waited_s"] or 0) > CHAT_WAIT_TARGET or not c["assigned"]]
                                 + ([row["first_breach"]] if row["first_breach"] is not None else []), default=None))
        if channel == "social":  # "quick": a first reply later than the target breaks it before the 8 h SLA
            row["first_breach"] = min([t["created"] for t in mine if (t["first_reply_s"] or 0) > SOCIAL_TARGET]
                                      + ([row["first_breach"]] if row["first_breach"] else []), default=None)
        if channel == "phone":
            live = [t for t in mine if t["kind"] == "call"]
            callbacks = [t for t in mine if t["kind"] == "callback"]
            answers = [t["first_reply_s"] for t in live if t["first_reply_s"] is not None]
            row.update(calls=result["calls"]["reported"], answered_live=len(live),
                       answer_p50=_pct(answers, 50), answer_p95=_pct(answers, 95),
                       within_target=sum(1 for a in answers if a <= PHONE_ANSWER_TARGET),
                       callbacks=len(callbacks),
                       callbacks_kept=sum(1 for t in callbacks if t["first_reply_s"] is not None and not t["late"]))
        out[channel] = row
    return out


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def kept(summary: dict[str, dict[str, Any]]) -> dict[str, bool]:
    chat = summary["chat"]
    return {
        "email": summary["email"]["breaches"] == 0 and summary["email"]["unanswered"] == 0,
        "api": summary["api"]["breaches"] == 0 and summary["api"]["unanswered"] == 0,
        "chat": (chat["wait_p95"] or 0) <= CHAT_WAIT_TARGET and chat["abandoned"] == 0 and chat["left_message"] == 0,
        "phone": summary["phone"]["callbacks_kept"] == summary["phone"]["callbacks"],
        "social": summary["social"]["breaches"] == 0 and (summary["social"]["p95"] or 0) <= SOCIAL_TARGET,
    }


def plots(runs: dict[str, dict[str, Any]], directory: Path, prefix: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    names: list[str] = []

    def save(fig: Any, stem: str) -> None:
        fig.tight_layout()
        names.append(f"{prefix}{stem}.png")
        fig.savefig(directory / names[-1], dpi=90)
        plt.close(fig)

    planned = runs["planned"]
    lo, hi = planned["hours"]
    hours = list(range(lo, hi))
    # 1. arrivals per hour and channel, with the planned agents
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    for channel in CHANNELS:
        counts = [sum(1 for c in planned["contacts"] if c["channel"] == channel and c["hour"] == h) for h in hours]
        ax1.plot(hours, counts, marker="o", label=channel)
    ax1.set_ylabel("contacts per hour")
    ax1.set_title("Arrivals (seeded) and the Erlang C plan")
    ax1.legend(ncol=5, fontsize=8)
    for k, channel in enumerate(("email", "chat", "phone", "social")):
        ax2.bar([h - 0.3 + 0.2 * k for h in hours], [planned["staffing"][channel][h] for h in hours], width=0.2,
                label=f"{channel} agents")
    ax2.set_ylabel("agents on shift (planned)")
    ax2.set_xlabel("local hour")
    ax2.legend(ncol=4, fontsize=8)
    save(fig, "arrivals-staffing")
    # 2. first reply by hour of arrival, planned vs half, per channel
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    for ax, channel, limit, unit in zip(axes.flat, ("email", "chat", "phone", "social"),
                                        (24 * 3600, 300, 3600, SOCIAL_TARGET), (3600, 60, 60, 60), strict=True):
        for label, run in runs.items():
            series = []
            for h in hours:
                values = [t["first_reply_s"] / unit for t in run["tickets"]
                          if t["channel"] in ((channel, "api") if channel == "email" else (channel,))
                          and t["hour"] == h and t["first_reply_s"] is not None]
                series.append(_pct(values, 95) if values else float("nan"))
            ax.plot(hours, series, marker="o", markersize=3, label=f"{label} staffing")
        ax.axhline(limit / unit, color="red", linestyle="--", linewidth=1,
                   label="callback promise" if channel == "phone" else "promise")
        ax.set_title(f"{channel + ' + api' if channel == 'email' else channel}: first reply p95 by hour of arrival",
                     fontsize=10)
        ax.set_ylabel("hours" if unit == 3600 else "minutes")
        ax.set_ylim(bottom=0)
        ax.set_xlabel("local hour")
        ax.legend(fontsize=7)
    save(fig, "first-reply")
    # 3. chat wait for a person
    fig, ax = plt.subplots(figsize=(9, 3.5))
    for label, run in runs.items():
        xs = [datetime.fromisoformat(c["created"]).astimezone(TZ) for c in run["conversations"] if c["queued"]]
        ys = [(c["waited_s"] or 0) / 60 for c in run["conversations"] if c["queued"]]
        marks = ["x" if not c["assigned"] else "o" for c in run["conversations"] if c["queued"]]
        for m in ("o", "x"):
            pts = [(x.hour + x.minute / 60, y) for x, y, k in zip(xs, ys, marks, strict=True) if k == m]
            if pts:
                ax.scatter(*zip(*pts, strict=True), marker=m, s=14,
                           label=f"{label}: {'answered' if m == 'o' else 'abandoned'}")
    ax.axhline(CHAT_WAIT_TARGET / 60, color="red", linestyle="--", linewidth=1, label="target (p95)")
    ax.set_xlabel("local hour")
    ax.set_ylabel("wait for a person (min)")
    ax.set_title("Chat: wait in the queue (chat.Conversation queued → assigned)")
    ax.legend(fontsize=7)
    save(fig, "chat-wait")
    return names


def render(runs: dict[str, dict[str, Any]], images: list[str], *, command: str, seed: int, elapsed: float) -> str:
    planned = runs["planned"]
    lo, hi = planned["hours"]
    out = ["# A simulated service day", "",
           f"Written by `{command}` (`benchmarks/service_day.py`, seed {seed}, {elapsed:.0f} s on this machine). "
           f"Day {DAY.isoformat()}, hours {lo:02d}:00–{hi:02d}:00 {TZ.key}, played twice on a fresh database: "
           "with the staffing the supervisor dashboard's Erlang C plan computes (`support.forecast.staffing_plan`, "
           f"from {HISTORY_DAYS} days of arrival history of the same curve), and with half of it. "
           "Every figure is read from OKPay's own records after the day: tickets' `created_at`, "
           "`first_responded_at`, `first_response_due` and `first_response_breached` (marked by `sla_sweep`), "
           "chat conversations' `queued_at`/`assigned_at`, and the phone system's call reports (`hotline.Call`).", ""]
    for label, run in runs.items():
        summary = summarize(run)
        promise = kept(summary)
        out += [f"## {label.capitalize()} staffing", ""]
        total_agents = {c: sum(run["staffing"][c][h] for h in range(lo, hi)) for c in ("email", "chat", "phone",
                                                                                          "social")}
        out += ["Agent-hours on shift: " + ", ".join(f"{c} {n}" for c, n in total_agents.items()) +
                ". Requests: " + ", ".join(f"{k} {v}" for k, v in sorted(run["statuses"].items())) +
                f"; driver errors: {run['error_count']}.", "",
                "Every contact is in OKPay's records: "
                f"{run['inbound_email']} mails received by `okpay smtpd` (sent {run['sent'].get('email', 0)}), "
                f"{len(run['conversations'])} chat conversations (opened {run['sent'].get('chat', 0)}), "
                f"{run['calls']['reported']} calls reported (rung {run['sent'].get('phone', 0)}), "
                f"{run['social_in']} social messages (sent {run['sent'].get('social', 0)}), "
                f"{sum(1 for t in run['tickets'] if t['channel'] == 'api')} API tickets "
                f"(opened {run['sent'].get('api', 0)}).", ""]
        out += ["| channel | contacts | answered by the assistant | first reply p50 | p95 | max | promise | "
                "breaches | promise kept |", "|---|---:|---:|---:|---:|---:|---|---:|---|"]
        for channel in CHANNELS:
            row = summary[channel]
            assistant = row["assistant"] if channel == "chat" else "–"  # the assistant serves the chat
            out.append(f"| {channel} | {row['contacts']} | {assistant} | {_fmt(row['p50'])} | "
                       f"{_fmt(row['p95'])} | {_fmt(row['max'])} | {PROMISES[channel]} | {row['breaches']} | "
                       f"{'yes' if promise[channel] else '**no**'} |")
        chat, phone = summary["chat"], summary["phone"]
        out += ["",
                f"- Chat: {chat['contacts']} conversations, {chat['assistant']} answered by the assistant alone, "
                f"{chat['queued']} asked for a person, {chat['left_message']} left a message (nobody on duty); "
                f"wait for a person p50 {_fmt(chat['wait_p50'])}, p95 {_fmt(chat['wait_p95'])}, "
                f"max {_fmt(chat['wait_max'])} (target p95 ≤ {_fmt(CHAT_WAIT_TARGET)}); "
                f"abandoned {chat['abandoned']}.",
                f"- Phone: {phone['calls']} calls reported by the phone system, {phone['answered_live']} answered "
                f"live (answer p50 {_fmt(phone['answer_p50'])}, p95 {_fmt(phone['answer_p95'])}; "
                f"{phone['within_target']} within {PHONE_ANSWER_TARGET:.0f} s), {phone['callbacks']} call-backs "
                f"asked for, {phone['callbacks_kept']} kept within the hour.",
                ""]
        broken = {c: summary[c]["first_breach"] for c in CHANNELS if summary[c]["first_breach"] is not None}
        if broken:
            out += ["Where and when targets break first — the arrival time of the first contact past its target "
                    "(email, API, phone: its SLA due time; chat: waited over 5 min, gave up or was sent to email; "
                    "social: a first reply after 15 min; chat's and social's promises are judged on the p95 "
                    "above): " + ", ".join(
                        f"{c} at {datetime.fromisoformat(t).astimezone(TZ):%H:%M}"
                        for c, t in sorted(broken.items(), key=lambda kv: kv[1])) + ".", ""]
        else:
            out += ["No promise broke on this day.", ""]
    out += ["## Plots", ""] + [f"![{name}](service-day/{name})" for name in images] + [""]
    out += ["## The fake clock", "",
            "OKPay reads time through `django.utils.timezone.now()` (and `support.clock.now()`, which calls "
            "it); the signed webhooks compare `time.time()` with the signature's timestamp. The driver and every "
            "server process it starts run under time-machine (`tick=False`), following one shared clock file "
            "(`benchmarks/_simclock.py`): the driver moves it from event to event (an arrival, an agent "
            "finishing, a customer's patience running out, the worker's sweep every 2 simulated minutes) only "
            "when every request it sent has been answered, and goes on only when every server has "
            "acknowledged the new time. So every timestamp OKPay writes — ticket created, SLA due, first "
            "reply, chat queued and assigned, call reported — is simulated time, computed by OKPay itself, while "
            "`time.monotonic()` (event loops, socket and database timeouts) keeps real time. A compressed "
            "clock (simulated minutes as real seconds) was rejected: the SLA targets (24 h, 1 h, 5 min) would "
            "have to be scaled in the database, and the measured times would depend on the machine's speed. "
            "The day takes as long as OKPay needs to answer the requests, and its figures repeat with the seed.",
            "",
            "## What is simulated, and what is not", "",
            "- Real: SMTP to `okpay smtpd`, WebSockets to `okpay serve` (the assistant answers first), the "
            "signed CTI and social webhooks, the API with bearer tokens, and the desk's services the agents "
            "call (`ticket_assign`, `agent_reply`, the chat queue's `queue_assign`, `agent_says`, "
            "`conversation_end`, `call_ticket_create`, `call_log`), the SLA sweep.",
            "- Scripted: customers (situation, language 70 % zh-Hans, whether they still need a person after the "
            "assistant, patience: chat mean 6 min, phone mean 90 s), agents (shifts = the plan's agents per "
            "hour; the staffing settings' mean handle times, exponential; chat agents hold two chats). "
            "Email agents also answer the API's tickets (same 24 h promise). An answered call's first answer "
            "is the agent's reply on the call's ticket (`notify=False`), measured from the phone system's first "
            "report (ringing).",
            "- Planned staffing: the plan's agents on the channel each hour (before shrinkage: scripted agents "
            "are never away), with a floor of one agent per channel around the clock. Half staffing: half the "
            "agent-hours (`n // 2` each hour, the odd agent on every other hour).", ""]
    return "\n".join(out)


def main(report: Any = None, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--work")
    parser.add_argument("--out")
    parser.add_argument("--half", action="store_true")
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--start-hour", type=int, default=0)
    parser.add_argument("--end-hour", type=int, default=24)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--smtp-port", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="08:00-12:00 at a third of the volume (prints, does not rewrite docs/service-day.md)")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--render-only", action="store_true", help="redraw the report from var/service-day.json")
    args = parser.parse_args(argv if argv is not None else ([] if report is not None else None))
    if args.child:
        run_child(args)
        return 0
    quick = args.quick or bool(report is not None and getattr(report, "quick", False))
    hours = range(8, 12) if quick else range(args.start_hour, args.end_hour)
    scale = 0.35 if quick else args.scale
    started = time.monotonic()
    saved = ROOT / "var" / "service-day.json"  # the last whole day's records (--render-only redraws them)
    if args.render_only:
        stored = json.loads(saved.read_text())
        runs, elapsed = stored["runs"], stored["elapsed"]
    else:
        with tempfile.TemporaryDirectory(prefix="okpay-service-day-") as tmp:
            runs = {label: play(seed=args.seed, half=label == "half", hours=hours, scale=scale,
                                work=Path(tmp) / label, redis_url=os.environ.get("OKPAY_REDIS_URL"))
                    for label in ("planned", "half")}
        elapsed = time.monotonic() - started
        if not quick:
            saved.parent.mkdir(exist_ok=True)
            saved.write_text(json.dumps({"runs": runs, "elapsed": elapsed}))
    command = "python -m benchmarks service_day"
    if not args.no_write and not quick:  # docs/service-day.md shows the whole day only
        images = plots(runs, PLOTS, "")
        DOC.write_text(render(runs, images, command=command, seed=args.seed, elapsed=elapsed))
        print(f"wrote {DOC.relative_to(ROOT)}")
    for label, run in runs.items():
        summary = summarize(run)
        promise = kept(summary)
        for channel in CHANNELS:
            row = summary[channel]
            line = (f"{label} {channel}: contacts {row['contacts']}, assistant {row['assistant']}, first reply p50 "
                    f"{_fmt(row['p50'])} p95 {_fmt(row['p95'])} max {_fmt(row['max'])}, breaches {row['breaches']}, "
                    f"kept {promise[channel]}")
            if report is not None:
                report.add(SECTION, f"{label} staffing, {channel}", line.split(": ", 1)[1])
            else:
                print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
