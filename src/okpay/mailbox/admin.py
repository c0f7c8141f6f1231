from django.contrib import admin

from okpay.mailbox.models import InboundEmail


@admin.register(InboundEmail)
class InboundEmailAdmin(admin.ModelAdmin):
    list_display = ("received_at", "sender", "subject", "outcome", "ticket", "automatic", "authentication")
    list_filter = ("outcome", "automatic", "authentication")
    search_fields = ("message_id", "sender", "subject")
    readonly_fields = [f.name for f in InboundEmail._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
