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
