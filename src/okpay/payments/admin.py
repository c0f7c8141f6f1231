"""Back office: transactions (read-only, with their timeline) and the risk-review decisions,
which go through the same services as everything else (supervisors only, audited). Approving above
``OKPAY_SUPPORT_FOUR_EYES_AMOUNT`` takes two supervisors and is done in the desk
(``/desk/risk-reviews/``), not here."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from okpay.core.errors import OkpayError
from okpay.payments import services
from okpay.payments.models import Biller, Transaction, TransactionEvent


class EventInline(admin.TabularInline):
    model = TransactionEvent
    extra = 0
    can_delete = False
    fields = ("at", "status", "pending_reason", "reason", "actor")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _decide(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Transaction], approve: bool) -> None:
    done = 0
    for public_id, amount in queryset.values_list("public_id", "amount"):
        if approve and amount > settings.OKPAY_SUPPORT_FOUR_EYES_AMOUNT:
            modeladmin.message_user(request, f"{public_id}: above the four-eyes amount; a second supervisor must "
                                             "confirm the approval in the desk (/desk/risk-reviews/).", messages.ERROR)
            continue
        try:
            if approve:
                services.risk_review_approve(txn_id=public_id, actor=request.user)  # type: ignore[arg-type]
            else:
                services.risk_review_decline(txn_id=public_id, actor=request.user)  # type: ignore[arg-type]
            done += 1
        except OkpayError as exc:
            modeladmin.message_user(request, f"{public_id}: {exc.localized()}", messages.ERROR)
    if done:
        text = (ngettext("%(count)d transaction approved.", "%(count)d transactions approved.", done) if approve
                else ngettext("%(count)d transaction declined.", "%(count)d transactions declined.", done))
        modeladmin.message_user(request, text % {"count": done})


@admin.action(description=_("Approve the selected risk reviews"))
def approve_reviews(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Transaction]) -> None:
    _decide(modeladmin, request, queryset, True)


@admin.action(description=_("Decline the selected risk reviews (money returns to the sender)"))
def decline_reviews(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Transaction]) -> None:
    _decide(modeladmin, request, queryset, False)


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
    list_display = ("public_id", "user", "type", "status", "pending_reason", "amount", "currency", "direction",
                    "expected_by", "overdue_flagged_at", "created_at")
    list_filter = ("status", "pending_reason", "type")
    search_fields = ("public_id", "user__email", "recipient_email", "account_reference")
    actions = [approve_reviews, decline_reviews]
    inlines = [EventInline]
    list_select_related = ("user",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in Transaction._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Biller)
class BillerAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "category", "min_amount", "max_amount", "active")
    list_filter = ("category", "active")
