"""The social channel: messages in from Telegram bots, WeChat Official Accounts and other
platforms (a signed JSON webhook), replies out through each platform's send-message API, and the
links customers prove between a social account and their OKPay account."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import pgettext_lazy

from okpay.core.ids import new_id


def new_outbound_id() -> str:
    return new_id("smo")


class AccountLink(models.Model):
    """A social identity the customer proved is theirs (sent the one-time ``/link CODE`` from it)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="social_links")
    platform = models.CharField(max_length=20)
    external_id = models.CharField(max_length=100)
    display = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "external_id"], name="social_link_unique")]

    def __str__(self) -> str:
        return f"{self.platform}:{self.external_id}"

    @property
    def handle(self) -> str:
        return f"{self.platform}:{self.external_id}"


class LinkCode(models.Model):
    """A one-time code shown on the account page; only its hash is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"link code of {self.user_id}"


class InboundMessage(models.Model):
    """Every message a platform delivered, once (the platform's message id is unique): a platform
    that retries a webhook never makes a second ticket message."""

    platform = models.CharField(max_length=20)
    message_key = models.CharField(max_length=100)
    sender = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, default="message")  # message | link | start | ignored
    ticket = models.ForeignKey("support.Ticket", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "message_key"], name="social_inbound_once")]

    def __str__(self) -> str:
        return f"{self.platform}:{self.message_key}"


class OutboundMessage(models.Model):
    """A message to send on a platform: an agent's reply, or the bot's own answer (link result).
    Written in the transaction that decides to send it; the worker delivers it with retries."""

    class Status(models.TextChoices):
        QUEUED = "queued", pgettext_lazy("delivery", "Queued")
        SENT = "sent", pgettext_lazy("delivery", "Sent")
        FAILED = "failed", pgettext_lazy("delivery", "Failed")

    public_id = models.CharField(max_length=32, unique=True, default=new_outbound_id, editable=False)
    platform = models.CharField(max_length=20)
    recipient = models.CharField(max_length=100)
    text = models.TextField()
    ticket = models.ForeignKey("support.Ticket", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    ticket_message = models.OneToOneField("support.TicketMessage", null=True, blank=True, on_delete=models.PROTECT,
                                          related_name="social_delivery")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        constraints = [models.CheckConstraint(condition=~Q(text=""), name="social_outbound_has_text")]

    def __str__(self) -> str:
        return f"{self.platform}:{self.recipient} ({self.status})"


class PlatformToken(models.Model):
    """A platform's short-lived API credential (WeChat's access_token, about 2 hours)."""

    platform = models.CharField(max_length=20, unique=True)
    token = models.CharField(max_length=600)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.platform


class WebhookNonce(models.Model):
    """A platform push already accepted, by its ``timestamp:nonce`` (WeChat): the same signed query
    twice is a replay. Rows older than the replay window are pruned (``webhook_nonces_prune``)."""

    platform = models.CharField(max_length=20)
    nonce = models.CharField(max_length=150)
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "nonce"], name="social_nonce_unique")]

    def __str__(self) -> str:
        return f"{self.platform}:{self.nonce}"
