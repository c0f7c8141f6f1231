"""Session security for signed-in browsers: idle and absolute timeouts, remote revocation, last seen."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

SESSION_ID = "okpay_sid"
LOGIN_AT = "okpay_login_at"
SEEN_AT = "okpay_seen_at"
EXPIRED_NOTICE = "okpay_expired"
REAUTH_AT = "okpay_reauth_at"  # the last time the password was typed in this session
_TOUCH_EVERY = 60  # seconds: write "last seen" at most once a minute


class SessionSecurityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            self._check(request)
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> None:
        from okpay.identity import services

        session = request.session
        now = int(time.time())
        login_at = int(session.get(LOGIN_AT, 0) or 0)
        seen_at = int(session.get(SEEN_AT, 0) or 0)
        public_id = session.get(SESSION_ID)
        if not public_id:
            # Signed in by other means than our sign-in page (Django's admin login, a test's
            # force_login): register the session so it is listed, timed out and revocable too.
            public_id = services.session_adopt(request=request)
            login_at = seen_at = now
        expired = (
            now - login_at > settings.OKPAY_SESSION_MAX_HOURS * 3600
            or now - seen_at > settings.OKPAY_SESSION_IDLE_MINUTES * 60
        )
        if not expired and now - seen_at >= _TOUCH_EVERY:
            expired = not services.session_touch(public_id=public_id, ip=request.META.get("REMOTE_ADDR"))
            session[SEEN_AT] = now
        if expired:
            if public_id:
                services.session_end(public_id=public_id, reason="expired")
            logout(request)
            request.session[EXPIRED_NOTICE] = True  # the sign-in page says why


class StaffSecondFactorMiddleware:
    """Staff pages need a session that proved a second factor (``okpay.identity.staff``).

    Under ``/admin/`` and ``/desk/``, a signed-in staff member whose session has not proved one is
    sent to ``/account/2fa/verify/`` (which asks for a code, or sends them to set 2FA up first) and
    comes back afterwards; an htmx request gets ``HX-Redirect`` so the whole page goes there. Anyone
    else passes on to the page's own checks (sign-in page, 403)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from okpay.identity import staff

        if staff.is_staff_path(request.path) and not staff.request_verified(request) \
                and staff.is_staff_member(getattr(request, "user", None)):
            return second_factor_redirect(request)
        return self.get_response(request)


def second_factor_redirect(request: HttpRequest, *, back: str = "") -> HttpResponse:
    """To the page that verifies this session's second factor, then back to where the staff member was
    going (a GET; after a refused POST, back to the page it came from is not known: the desk)."""
    from django.http import HttpResponseRedirect
    from django.urls import reverse
    from django.utils.http import urlencode

    if not back and request.method == "GET" and not request.headers.get("HX-Request"):
        back = request.get_full_path()
    if not back:
        back = "/admin/" if request.path.startswith("/admin/") else "/desk/"
    target = reverse("identity:2fa-verify") + "?" + urlencode({"next": back})
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return HttpResponseRedirect(target)
