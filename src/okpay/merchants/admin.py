"""Read-only admin for operators: merchants, keys (hashes never shown), intents, refunds, requests,
webhook endpoints and deliveries. Changes go through the services (dashboard, API)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from okpay.merchants.models import (
    ApiKey,
    Merchant,
    MerchantApplication,
    PaymentIntent,
    Refund,
    RefundRequest,
    WebhookDelivery,
    WebhookEndpoint,
)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Merchant)
class MerchantAdmin(ReadOnly):
    list_display = ("public_id", "name", "user", "refund_window_days", "auto_approve_up_to", "created_at")
    search_fields = ("public_id", "name", "user__email")


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnly):
    list_display = ("public_id", "merchant", "kind", "hint", "name", "last_used_at", "revoked_at")
    exclude = ("key_hash",)


@admin.register(PaymentIntent)
class PaymentIntentAdmin(ReadOnly):
    list_display = ("public_id", "merchant", "status", "amount", "amount_received", "amount_refunded", "created_at")
    list_filter = ("status", "capture_method")
    search_fields = ("public_id",)
    list_select_related = ("merchant",)


@admin.register(Refund)
class RefundAdmin(ReadOnly):
    list_display = ("public_id", "intent", "status", "amount", "failure_reason", "created_at")
    list_filter = ("status",)
    list_select_related = ("intent",)


@admin.register(RefundRequest)
class RefundRequestAdmin(ReadOnly):
    list_display = ("public_id", "intent", "status", "amount", "auto_approved", "created_at")
    list_filter = ("status",)
    list_select_related = ("intent",)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnly):
    list_display = ("public_id", "merchant", "url", "enabled", "disabled_reason", "consecutive_failures")
    exclude = ("secret",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnly):
    list_display = ("public_id", "endpoint", "event", "status", "attempts", "next_attempt_at")
    list_filter = ("status",)
    list_select_related = ("endpoint", "event")


def _decide(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: Any, approve: bool) -> None:
    from django.contrib import messages

    from okpay.core.errors import OkpayError
    from okpay.merchants import applications

    done = 0
    for public_id in queryset.values_list("public_id", flat=True):
        try:
            if approve:
                applications.merchant_application_approve(application_id=public_id, actor=request.user)  # type: ignore[arg-type]
            else:
                applications.merchant_application_reject(
                    application_id=public_id, actor=request.user,  # type: ignore[arg-type]
                    reason=gettext("The details could not be verified; contact OKPay customer service."))
            done += 1
        except OkpayError as exc:
            modeladmin.message_user(request, f"{public_id}: {exc.localized()}", messages.ERROR)
    if done:
        text = (ngettext("%(count)d application approved.", "%(count)d applications approved.", done) if approve
                else ngettext("%(count)d application rejected.", "%(count)d applications rejected.", done))
        modeladmin.message_user(request, text % {"count": done})


@admin.action(description=_("Approve the selected applications (the accounts become merchants)"))
def approve_applications(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> None:
    _decide(modeladmin, request, queryset, True)


@admin.action(description=_("Reject the selected applications (details could not be verified)"))
def reject_applications(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> None:
    _decide(modeladmin, request, queryset, False)


@admin.register(MerchantApplication)
class MerchantApplicationAdmin(ReadOnly):
    """Operators review applications here; the decision goes through the service (audited)."""

    list_display = ("public_id", "business_name", "user", "website", "status", "created_at", "decided_by")
    list_filter = ("status",)
    search_fields = ("public_id", "business_name", "user__email", "website")
    list_select_related = ("user",)
    actions = [approve_applications, reject_applications]
