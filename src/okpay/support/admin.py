"""Operators and supervisors configure the desk here: teams and agents, SLA policies and
business calendars, canned replies. Tickets are read here; they change only through the desk."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from okpay.support.models import (
    ActionRequest,
    AgentProfile,
    BusinessCalendar,
    CannedReply,
    Feedback,
    NpsResponse,
    Rating,
    SlaPolicy,
    Team,
    Ticket,
)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("slug", "name")


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "team", "on_duty", "capacity", "all_teams", "last_assigned_at")
    list_filter = ("team", "on_duty")
    raw_id_fields = ("user",)


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ("name", "timezone")


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ("channel", "priority", "first_response_minutes", "next_response_minutes", "resolution_minutes",
                    "warn_before_minutes", "calendar")
    list_filter = ("channel", "priority")
    list_editable = ("first_response_minutes", "next_response_minutes", "resolution_minutes", "warn_before_minutes")


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ("key", "lang", "title", "category", "from_seed")
    list_filter = ("lang", "category")
    search_fields = ("key", "title", "body")


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Ticket)
class TicketAdmin(ReadOnly):
    list_display = ("number", "subject", "channel", "category", "status", "priority", "assignee", "created_at")
    list_filter = ("status", "channel", "category", "priority")
    search_fields = ("number", "subject", "requester_email")


@admin.register(ActionRequest)
class ActionRequestAdmin(ReadOnly):
    list_display = ("public_id", "kind", "state", "amount", "requested_by", "decided_by", "requested_at")
    list_filter = ("kind", "state")


@admin.register(Rating)
class RatingAdmin(ReadOnly):
    list_display = ("ticket", "score", "created_at")


@admin.register(NpsResponse)
class NpsResponseAdmin(ReadOnly):
    list_display = ("quarter", "score", "created_at")


@admin.register(Feedback)
class FeedbackAdmin(ReadOnly):
    list_display = ("kind", "created_at", "page")
    list_filter = ("kind",)
    search_fields = ("body",)
