"""Read-only views of the ledger for operators. Money only moves through the services (and the
``okpay wallet credit`` command), never through the admin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from okpay.ledger.models import Account, PendingHold, Transfer


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    show_full_result_count = False  # no COUNT(*) over millions of transfers

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "owner", "kind", "currency", "debits_posted", "credits_posted", "debits_pending",
                    "credits_pending", "debits_must_not_exceed_credits", "frozen", "updated_at")
    list_filter = ("kind", "currency", "frozen")
    search_fields = ("=public_id", "owner__email")
    list_select_related = ("owner",)


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "kind", "debit_account", "credit_account", "amount", "currency", "code",
                    "reference", "actor", "created_at")
    list_filter = ("kind", "currency", "code")
    search_fields = ("=public_id", "=reference")
    list_select_related = ("debit_account", "credit_account")
    ordering = ("-id",)


@admin.register(PendingHold)
class PendingHoldAdmin(ReadOnlyAdmin):
    list_display = ("transfer", "debit_account", "amount", "expires_at")
    list_select_related = ("transfer", "debit_account")
    ordering = ("expires_at",)
