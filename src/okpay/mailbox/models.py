"""Every message the support mailbox received, whatever became of it: the log behind
duplicate detection (one row per Message-ID) and the operator's view of the mailbox."""

from __future__ import annotations

from django.db import models


class InboundEmail(models.Model):
    class Outcome(models.TextChoices):
        CREATED = "created", "created a ticket"
        JOINED = "joined", "joined a ticket"
        BOUNCE = "bounce", "delivery-status notification"
        LOOP = "loop", "our own mail (loop), dropped"

    message_id = models.CharField(max_length=255, unique=True)
    sender = models.CharField(max_length=254, blank=True, default="")
    subject = models.CharField(max_length=200, blank=True, default="")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    ticket = models.ForeignKey("support.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    automatic = models.BooleanField(default=False,
                                    help_text="Auto-Submitted / Precedence / list mail: not acknowledged.")
    authentication = models.CharField(max_length=10, blank=True, default="",
                                      help_text="pass, fail or none (Authentication-Results of the receiving MTA)")
    size = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["sender", "received_at"]), models.Index(fields=["-received_at"])]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.outcome})"
