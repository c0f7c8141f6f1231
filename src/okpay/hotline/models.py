"""The phone channel: calls agents log on tickets and calls a telephony system (CTI) reports."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from okpay.core.ids import new_id


def new_call_id() -> str:
    return new_id("call")


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class Outcome(models.TextChoices):
    ANSWERED = "answered", _("Answered")
    RESOLVED = "resolved", _("Resolved on the call")
    NO_ANSWER = "no_answer", _("No answer")
    BUSY = "busy", _("Busy")
    VOICEMAIL = "voicemail", _("Left a voicemail")
    DROPPED = "dropped", _("Call dropped")
    RINGING = "ringing", _("Ringing (reported by the phone system)")


class Call(models.Model):
    """One phone call. ``source`` says who told us: an agent logging it on a ticket, or the
    telephony system's webhook (then ``external_id`` is its call id and the row is written once)."""

    class Source(models.TextChoices):
        AGENT = "agent", _("Logged by an agent")
        CTI = "cti", _("Phone system")

    public_id = models.CharField(max_length=32, unique=True, default=new_call_id, editable=False)
    ticket = models.ForeignKey("support.Ticket", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="calls")
    source = models.CharField(max_length=10, choices=Source.choices)
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    number = models.CharField(max_length=32)
    duration_seconds = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    notes = models.TextField(blank=True, default="")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", help_text=_("Only when the number is verified on the account."))
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["ticket", "created_at"]), models.Index(fields=["number", "-created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(source="cti") | Q(ticket__isnull=False),
                                   name="hotline_agent_call_on_ticket"),
            models.CheckConstraint(condition=Q(duration_seconds__lte=86400), name="hotline_call_duration_sane"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.number} ({self.outcome})"


class CallerCheck(models.Model):
    """A one-time code an agent sent to prove a caller: caller ID is only a claim (it can be forged),
    so a phone ticket is linked to the account whose verified phone matched it only when the caller
    reads out the code sent by SMS to that phone (or by email to the account). Hash kept, 10 minutes,
    5 tries."""

    class Via(models.TextChoices):
        SMS = "sms", _("SMS to the verified phone")
        EMAIL = "email", _("Email to the account's address")

    ticket = models.ForeignKey("support.Ticket", on_delete=models.CASCADE, related_name="caller_checks")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    via = models.CharField(max_length=5, choices=Via.choices)
    code_hash = models.CharField(max_length=64)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["ticket", "created_at"])]

    def __str__(self) -> str:
        return f"{self.via} code for {self.ticket_id}"
