"""Live chat: a conversation (customer ↔ assistant ↔ agent) and its messages.

A message is stored before it is acknowledged; ``seq`` orders a conversation's messages (a
client resumes by asking for everything after the last ``seq`` it saw) and ``client_id``
(unique per conversation) makes a resent message a no-op.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from okpay.core.ids import new_id


def new_conversation_id() -> str:
    return new_id("cnv")


def new_chat_message_id() -> str:
    return new_id("cmsg")


class Conversation(models.Model):
    class State(models.TextChoices):
        BOT = "bot", _("With the assistant")
        QUEUED = "queued", _("Waiting for a person")
        ACTIVE = "active", _("With an agent")
        ENDED = "ended", _("Ended")

    public_id = models.CharField(max_length=32, unique=True, default=new_conversation_id, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="chat_conversations")
    guest_email = models.EmailField(blank=True, default="")
    guest_token_hash = models.CharField(max_length=64, blank=True, default="",
                                        help_text="sha256 of the guest's resume token")
    lang = models.CharField(max_length=10, default="zh-hans")
    state = models.CharField(max_length=10, choices=State.choices, default=State.BOT)
    category = models.CharField(max_length=12, blank=True, default="")
    ticket = models.OneToOneField("support.Ticket", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="chat_conversation")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="chat_assignments")
    last_seq = models.PositiveIntegerField(default=0)
    customer_read_seq = models.PositiveIntegerField(default=0)
    agent_read_seq = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    queued_at = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    rating_comment = models.TextField(blank=True, default="")
    transcripts_sent = models.PositiveSmallIntegerField(default=0)
    transcript_email = models.EmailField(
        blank=True, default="",
        help_text="The address that confirmed, by the emailed link, that it wants this chat's transcripts.")

    class Meta:
        indexes = [
            models.Index(fields=["state", "queued_at"], name="chat_conv_queue"),
            models.Index(fields=["user", "-created_at"], name="chat_conv_user"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                                   name="chat_conv_rating_1_5"),
            models.CheckConstraint(condition=Q(user__isnull=False) | ~Q(guest_email=""),
                                   name="chat_conv_who"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.state}"


class Message(models.Model):
    class Kind(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        BOT = "bot", _("Assistant")
        AGENT = "agent", _("Agent")
        SYSTEM = "system", _("System")
        NOTE = "note", _("Internal note")

    public_id = models.CharField(max_length=32, unique=True, default=new_chat_message_id, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField()
    client_id = models.CharField(max_length=64, blank=True, default="")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    body = models.TextField()
    data = models.JSONField(default=dict, blank=True, help_text="Articles, action buttons (assistant).")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["conversation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="chat_msg_seq"),
            models.UniqueConstraint(fields=["conversation", "client_id"], condition=~Q(client_id=""),
                                    name="chat_msg_client_id"),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id}#{self.seq} {self.kind}"
