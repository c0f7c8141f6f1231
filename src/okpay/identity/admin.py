"""Operator views of accounts. Security-relevant fields are read-only here: changes go through the
services (CLI `okpay users ...`, the support desk), which record them in the activity and audit logs."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from okpay.identity import services
from okpay.identity.models import ApiToken, SecurityEvent, User, UserSession


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SecurityEventInline(admin.TabularInline):
    model = SecurityEvent
    fields = ("at", "kind", "ip", "user_agent", "detail")
    readonly_fields = fields
    ordering = ("-id",)
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[SecurityEvent]:
        return super().get_queryset(request).order_by("-id")


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ("email", "display_name", "public_id", "email_verified_at", "frozen_at", "is_active", "is_staff",
                    "date_joined")
    list_filter = ("is_active", "is_staff", "groups", "locale")
    search_fields = ("email", "public_id", "display_name", "phone")
    ordering = ("-id",)
    fields = ("public_id", "email", "display_name", "locale", "phone", "phone_verified_at", "email_verified_at",
              "frozen_at", "frozen_reason", "closed_at", "password_changed_at", "last_login", "date_joined",
              "is_active", "is_staff", "is_superuser", "groups")
    readonly_fields = ("public_id", "email", "phone", "phone_verified_at", "email_verified_at", "frozen_at",
                       "frozen_reason", "closed_at", "password_changed_at", "last_login", "date_joined",
                       "is_superuser")
    filter_horizontal = ("groups",)
    inlines = [SecurityEventInline]
    actions = ["sign_out_everywhere", "unlock_sign_in"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # accounts are made by registration or `okpay users create`

    @admin.action(description=_("Sign out every session and API token"))
    def sign_out_everywhere(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        actor = getattr(request.user, "public_id", "admin")
        count = sum(services.sessions_terminate_by_operator(email=user.email, actor=actor) for user in queryset)
        self.message_user(request, _("Signed out %(count)d sessions and tokens.") % {"count": count},
                          messages.SUCCESS)

    @admin.action(description=_("Lift a sign-in lockout"))
    def unlock_sign_in(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        actor = getattr(request.user, "public_id", "admin")
        for user in queryset:
            services.user_unlock(email=user.email, actor=actor)
        self.message_user(request, _("Unlocked %(count)d accounts.") % {"count": queryset.count()}, messages.SUCCESS)


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "user", "kind", "ip")
    list_filter = ("kind",)
    search_fields = ("user__email", "user__public_id", "ip", "public_id")
    list_select_related = ("user",)
    ordering = ("-id",)


@admin.register(UserSession)
class UserSessionAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "user", "ip", "created_at", "last_seen_at", "ended_at", "end_reason")
    search_fields = ("user__email", "public_id", "ip")
    list_select_related = ("user",)
    exclude = ("session_key",)
    ordering = ("-id",)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "user", "created_at", "expires_at", "last_used_at", "revoked_at")
    search_fields = ("user__email", "public_id")
    list_select_related = ("user",)
    exclude = ("token_hash",)
    ordering = ("-id",)
