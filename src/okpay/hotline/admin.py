"""Operators read the call log here; calls are written only through the desk and the webhook."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from okpay.hotline.models import Call


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Call)
class CallAdmin(ReadOnly):
    list_display = ("public_id", "created_at", "source", "direction", "number", "outcome", "duration_seconds",
                    "ticket", "agent")
    list_filter = ("source", "direction", "outcome")
    search_fields = ("public_id", "number", "external_id", "ticket__number")
