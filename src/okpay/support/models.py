"""Support desk data: tickets for every channel, their messages and append-only history,
SLA policies and calendars, canned replies, satisfaction (CSAT, NPS), feedback and the
four-eyes action requests of agents."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from okpay.core.ids import new_id


def new_ticket_id() -> str:
    return new_id("tkt")


def new_message_id() -> str:
    return new_id("msg")


def new_attachment_id() -> str:
    return new_id("att")


def new_action_id() -> str:
    return new_id("act")


def new_risk_decision_id() -> str:
    return new_id("rkd")


class Channel(models.TextChoices):
    WEB = "web", _("Web form")
    EMAIL = "email", _("Email")
    CHAT = "chat", _("Live chat")
    PHONE = "phone", _("Phone")
    SOCIAL = "social", _("Social media")
    API = "api", _("App / API")
    ALERT = "alert", _("OKPay alert")


class Category(models.TextChoices):
    ACCOUNT = "account", _("Account")
    PAYMENT = "payment", _("Payments")
    SECURITY = "security", _("Security")
    TECHNICAL = "technical", _("Technical")
    COMPLAINT = "complaint", _("Complaint")
    FEEDBACK = "feedback", _("Feedback")


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    WAITING = "waiting", _("Waiting on customer")
    ON_HOLD = "on_hold", _("On hold")
    SOLVED = "solved", _("Solved")
    CLOSED = "closed", _("Closed")


ACTIVE_STATUSES = (Status.NEW, Status.OPEN, Status.WAITING, Status.ON_HOLD)


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


PRIORITY_ORDER = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]


class RequesterLink(models.TextChoices):
    """How a ticket's requester was linked to a customer account ('' = not linked: unverified)."""

    NONE = "", _("Not linked (unverified)")
    SESSION = "session", _("Signed in")
    VERIFIED_EMAIL = "verified_email", _("Verified email address")
    VERIFIED_PHONE = "verified_phone", _("Verified phone number")
    SOCIAL_LINK = "social_link", _("Linked social account")
    PROVED_BY_EMAIL = "proved_by_email", _("Proved by a verification email")


class Team(models.Model):
    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


class AgentProfile(models.Model):
    """An agent's desk settings: team, whether on duty, and how many open tickets they take."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="agents")
    on_duty = models.BooleanField(default=False)
    capacity = models.PositiveIntegerField(default=10)
    all_teams = models.BooleanField(default=False, help_text=_("May see every team's tickets."))
    last_assigned_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.team})"


class TicketCounter(models.Model):
    """The per-year sequence behind ticket numbers (OK-2026-000001)."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class BusinessCalendar(models.Model):
    """Opening hours in a time zone. No hours at all means 24×7."""

    name = models.CharField(max_length=60, unique=True)
    timezone = models.CharField(max_length=60, default="Asia/Shanghai")
    # {"0": [["09:00", "18:00"]], ...}: ISO weekday - 1 (Monday 0) → intervals in local time
    hours = models.JSONField(default=dict, blank=True)
    holidays = models.JSONField(default=list, blank=True, help_text=_("Dates (YYYY-MM-DD) closed all day."))

    def __str__(self) -> str:
        return self.name


class SlaPolicy(models.Model):
    channel = models.CharField(max_length=10, choices=Channel.choices)
    priority = models.CharField(max_length=10, choices=Priority.choices)
    first_response_minutes = models.PositiveIntegerField()
    next_response_minutes = models.PositiveIntegerField()
    resolution_minutes = models.PositiveIntegerField()
    warn_before_minutes = models.PositiveIntegerField(default=60)
    calendar = models.ForeignKey(BusinessCalendar, null=True, blank=True, on_delete=models.PROTECT,
                                 help_text=_("Empty: around the clock (24×7)."))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "priority"], name="support_sla_unique")]

    def __str__(self) -> str:
        return f"{self.channel} × {self.priority}"


class Tag(models.Model):
    name = models.SlugField(max_length=40, unique=True, allow_unicode=True)

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    public_id = models.CharField(max_length=32, unique=True, default=new_ticket_id, editable=False)
    number = models.CharField(max_length=20, unique=True)
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="support_tickets")
    requester_name = models.CharField(max_length=100, blank=True, default="")
    requester_email = models.EmailField(blank=True, default="")
    requester_phone = models.CharField(max_length=32, blank=True, default="")
    requester_handle = models.CharField(max_length=120, blank=True, default="",
                                        help_text=_("A social handle: platform:id"))
    requester_link = models.CharField(max_length=20, choices=RequesterLink.choices, blank=True, default="",
                                      help_text=_("How the requester was linked to the customer."))
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    category = models.CharField(max_length=12, choices=Category.choices)
    subject = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="assigned_tickets")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets")
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")
    follow_up_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="follow_ups")
    meta = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    first_responded_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # SLA
    sla_policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL)
    first_response_due = models.DateTimeField(null=True, blank=True)
    next_response_due = models.DateTimeField(null=True, blank=True)
    resolution_due = models.DateTimeField(null=True, blank=True)
    sla_paused_at = models.DateTimeField(null=True, blank=True)
    sla_paused_seconds = models.FloatField(default=0)
    sla_warned_at = models.DateTimeField(null=True, blank=True)
    first_response_breached = models.BooleanField(default=False)
    next_response_breached = models.BooleanField(default=False)
    resolution_breached = models.BooleanField(default=False)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "priority"]),
            models.Index(fields=["assignee", "status"]),
            models.Index(fields=["requester", "-created_at"]),
            models.Index(fields=["first_response_due"]),
            models.Index(fields=["resolution_due"]),
            models.Index(fields=["-created_at"]),
            models.Index(fields=["category", "status"]),
        ]
        permissions = [
            ("view_desk", "Can use the agent desk"),
            ("view_all_teams", "Can see every team's tickets"),
            ("reply_ticket", "Can reply and add notes"),
            ("assign_ticket", "Can assign tickets"),
            ("view_customer_context", "Can view a customer's wallet context"),
            ("act_on_account", "Can take agent actions on an account"),
            ("approve_action", "Can approve four-eyes actions and unfreeze"),
            ("view_dashboard", "Can see supervisor dashboards"),
            ("manage_canned", "Can edit canned replies"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(requester__isnull=False) | ~Q(requester_email="") | ~Q(requester_phone="")
                | ~Q(requester_handle=""), name="support_ticket_has_requester"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class EmailMessageId(models.Model):
    """The Message-ID of a mail on a ticket, sent or received: a reply finds its ticket through
    its In-Reply-To / References, and a bounce the message (and address) it bounced."""

    class Direction(models.TextChoices):
        IN = "in", _("Received")
        OUT = "out", _("Sent")

    message_id = models.CharField(max_length=255, unique=True)
    ticket = models.ForeignKey("Ticket", on_delete=models.CASCADE, related_name="email_ids")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    address = models.CharField(max_length=254, help_text=_("Sender of a received mail, recipient of a sent one."))
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["ticket", "created_at"])]

    def __str__(self) -> str:
        return self.message_id


class UndeliverableAddress(models.Model):
    """An address a mail of ours bounced from (a DSN matched to the message we sent): the desk
    mails it no more until an agent clears it."""

    address = models.CharField(max_length=254, unique=True)
    reason = models.CharField(max_length=200, blank=True, default="")
    bounced_message_id = models.CharField(max_length=255, blank=True, default="")
    since = models.DateTimeField()

    def __str__(self) -> str:
        return self.address


class TicketTransaction(models.Model):
    """A transaction (``txn_…`` of payments) the ticket is about."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="linked_transactions")
    transaction_id = models.CharField(max_length=32)
    added_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "transaction_id"], name="support_ticket_txn_unique")]

    def __str__(self) -> str:
        return self.transaction_id


class TicketMessage(models.Model):
    class Visibility(models.TextChoices):
        PUBLIC = "public", _("Public reply")
        INTERNAL = "internal", _("Internal note")

    class AuthorKind(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        AGENT = "agent", _("Agent")
        SYSTEM = "system", _("System")

    public_id = models.CharField(max_length=32, unique=True, default=new_message_id, editable=False)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    author_kind = models.CharField(max_length=10, choices=AuthorKind.choices)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    body_html = models.TextField()
    body_text = models.TextField()
    created_at = models.DateTimeField()
    # An OKPay-written note as parts to translate (support/notes.py): rendered in the reader's language.
    note = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["ticket", "created_at"])]

    def __str__(self) -> str:
        return self.public_id


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"support/{instance.message.ticket.public_id}/{new_id('att')}"


class Attachment(models.Model):
    public_id = models.CharField(max_length=32, unique=True, default=new_attachment_id,
                                 editable=False)
    message = models.ForeignKey(TicketMessage, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=200)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()

    def __str__(self) -> str:
        return self.name


class AppendOnly(models.Model):
    """Rows that are written once: no update, no delete through the ORM."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None and not kwargs.get("force_insert"):
            raise RuntimeError(f"{type(self).__name__} is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"{type(self).__name__} is append-only")


class TicketEvent(AppendOnly):
    """What happened to a ticket, by whom: created, status, priority, assignment, message, SLA..."""

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=40)
    actor = models.CharField(max_length=80, help_text="usr_… or system")
    at = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["ticket", "at"]), models.Index(fields=["kind", "at"])]

    def __str__(self) -> str:
        return f"{self.kind} @ {self.at:%Y-%m-%d %H:%M}"


class TicketPresence(models.Model):
    """Who has the ticket open in the desk right now (collision warning)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="presences")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField()
    typing = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "user"], name="support_presence_unique")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.ticket}"


class CannedReply(models.Model):
    key = models.SlugField(max_length=60)
    lang = models.CharField(max_length=10, choices=[("zh-hans", "简体中文"), ("en", "English")])
    title = models.CharField(max_length=120)
    body = models.TextField(help_text=_("Variables: {customer_name} {ticket_number} {agent_name} {transaction_id}"))
    category = models.CharField(max_length=12, choices=Category.choices, blank=True, default="")
    from_seed = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "lang"], name="support_canned_unique")]
        ordering = ["key", "lang"]

    def __str__(self) -> str:
        return f"{self.key} ({self.lang})"


class Rating(models.Model):
    """CSAT: one per ticket, after it is solved."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="rating")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="support_csat_range")]

    def __str__(self) -> str:
        return f"{self.ticket}: {self.score}"


class NpsResponse(models.Model):
    """"How likely are you to recommend OKPay?" (0–10), asked at most once a quarter."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    quarter = models.CharField(max_length=7)  # 2026Q4
    score = models.PositiveSmallIntegerField(null=True, blank=True, help_text=_("Empty: dismissed."))
    comment = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "quarter"], name="support_nps_once_a_quarter"),
            models.CheckConstraint(condition=Q(score__isnull=True) | Q(score__lte=10), name="support_nps_range"),
        ]

    def __str__(self) -> str:
        return f"{self.quarter}: {self.score}"


class Feedback(models.Model):
    """Feedback given without a ticket."""

    class Kind(models.TextChoices):
        IDEA = "idea", _("Idea")
        PRAISE = "praise", _("Praise")
        PROBLEM = "problem", _("Problem")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    email = models.EmailField(blank=True, default="")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.IDEA)
    body = models.TextField()
    page = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.kind}: {self.body[:40]}"


class ActionRequest(models.Model):
    """An agent action on a customer's account, as requested; above the policy amount it waits
    for a supervisor (four-eyes) before it runs."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        EXECUTED = "executed", _("Done")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", _("Failed")

    public_id = models.CharField(max_length=32, unique=True, default=new_action_id, editable=False)
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="actions")
    kind = models.CharField(max_length=40)
    params = models.JSONField(default=dict, blank=True)
    amount = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")
    reason = models.TextField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    requested_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("requested_by")),
                                   name="support_four_eyes"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.state})"


class PromiseAlert(models.Model):
    """A promise OKPay did not keep: a customer's pending payment, refund or refund request past its
    ``expected_by``. The support sweep opens (or adds to) a ticket about it in the payments queue;
    when the transaction settles the ticket gets a note (``settled_at``). One row per transaction."""

    class Kind(models.TextChoices):
        PENDING = "pending", _("Pending payment past its expected time")
        REFUND = "refund", _("Refund past its expected time")
        REFUND_REQUEST = "refund_request", _("Refund request not answered in time")

    transaction_id = models.CharField(max_length=32, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="promise_alerts")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    due_at = models.DateTimeField(help_text=_("When the transaction was expected to settle."))
    opened_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["settled_at"], name="support_promise_open_idx")]

    def __str__(self) -> str:
        return f"{self.transaction_id} → {self.ticket_id}"


class RiskDecision(models.Model):
    """A supervisor's decision on a transfer held for risk review, taken in the desk's queue
    (``support.risk``). An approval above ``OKPAY_SUPPORT_FOUR_EYES_AMOUNT`` waits as ``pending``
    until a second supervisor confirms it (four-eyes); the rest runs at once."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for a second supervisor")
        EXECUTED = "executed", _("Done")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", _("Failed")

    public_id = models.CharField(max_length=32, unique=True, default=new_risk_decision_id, editable=False)
    transaction_id = models.CharField(max_length=32, db_index=True)  # the payments transaction txn_…
    approve = models.BooleanField()
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    note = models.CharField(max_length=500, blank=True, default="")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("proposed_by")),
                                   name="support_risk_four_eyes"),
            models.UniqueConstraint(fields=["transaction_id"], condition=Q(state="pending"),
                                    name="support_risk_one_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.transaction_id} {'approve' if self.approve else 'decline'} ({self.state})"
