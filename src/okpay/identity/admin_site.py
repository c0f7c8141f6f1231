"""The Django admin as OKPay's operators use it: signed in through OKPay's own sign-in (password,
then the second factor) and only with a session that proved the second factor
(``okpay.identity.staff``). Installed in place of ``django.contrib.admin`` (``INSTALLED_APPS``), so
every ``admin.register`` of every app lands on this site."""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from okpay.identity import staff


class StaffAdminSite(AdminSite):
    site_header = _("OKPay back office")
    site_title = _("OKPay back office")
    index_title = _("Operations")

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and staff.request_verified(request)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """No password-only sign-in here: nobody → OKPay's sign-in page (which asks for the second
        factor), a staff member without a verified session → the second-factor step, anyone else
        signed in → 403."""
        from django.contrib.auth.views import redirect_to_login  # not at import: this module is an AppConfig's

        target = request.GET.get("next") or reverse("admin:index")
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return redirect_to_login(target, reverse("identity:login"))
        if self.has_permission(request):
            return HttpResponseRedirect(target if url_has_allowed_host_and_scheme(
                target, allowed_hosts={request.get_host()}) else reverse("admin:index"))
        if staff.is_staff_member(user) and not staff.request_verified(request):
            from okpay.identity.middleware import second_factor_redirect

            return second_factor_redirect(request, back="/admin/")
        raise PermissionDenied


class StaffAdminConfig(AdminConfig):
    default_site = "okpay.identity.admin_site.StaffAdminSite"
