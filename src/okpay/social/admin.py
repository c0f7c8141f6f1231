"""Operators read the social channel's traffic and links here (deliveries: status, attempts, last
error); nothing is edited by hand."""

from __future__ import annotations

from django.contrib import admin

from okpay.hotline.admin import ReadOnly
from okpay.social.models import AccountLink, InboundMessage, OutboundMessage


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnly):
    list_display = ("public_id", "created_at", "platform", "recipient", "status", "attempts", "next_attempt_at",
                    "ticket")
    list_filter = ("status", "platform")
    search_fields = ("public_id", "recipient", "ticket__number", "last_error")


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnly):
    list_display = ("received_at", "platform", "sender", "kind", "message_key", "ticket")
    list_filter = ("platform", "kind")
    search_fields = ("sender", "message_key", "ticket__number")


@admin.register(AccountLink)
class AccountLinkAdmin(ReadOnly):
    list_display = ("created_at", "platform", "external_id", "display", "user")
    list_filter = ("platform",)
    search_fields = ("external_id", "user__email")

