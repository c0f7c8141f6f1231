"""Staff always use a second factor (issue 16, item 2).

Who is staff: an agent, a supervisor or an operator — a user with ``is_staff``, a superuser, or
anyone holding a permission (only the staff roles' groups hold any: ``okpay.support.setup``).

What they need: a confirmed TOTP device **and** a session that proved it (django-otp's
``otp_device_id`` in the session, set by OKPay's sign-in after the code step, by the 2FA setup,
or by :func:`okpay.identity.views.second_factor_view`). Without both, nothing staff-only opens:

- HTTP under :data:`STAFF_PATHS` (``/admin/``, ``/desk/`` with every desk page, ``/desk/chat/``):
  :class:`okpay.identity.middleware.StaffSecondFactorMiddleware` sends the staff user to confirm
  the second factor, or to set one up first when there is none (``/account/2fa/verify/``).
- The Django admin checks the verified session itself too (:mod:`okpay.identity.admin_site`),
  and its own password-only login page is gone: it sends people to OKPay's sign-in.
- WebSockets under :data:`STAFF_SOCKET_PATHS` (``/ws/agent/``, ``/ws/desk/…``):
  :class:`StaffSocketGuard` closes the connection (4403) before any consumer runs.
- Unpublished help-centre previews (``?preview=1``) count as staff-only too.

A new staff page goes under ``/desk/`` (or ``/admin/``), a new staff socket under ``/ws/desk/``;
``tests/security/test_staff_second_factor.py`` walks the URL and socket routes and fails on a
staff route outside them.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from django_otp import DEVICE_ID_SESSION_KEY

STAFF_PATHS = ("/admin/", "/desk/")
STAFF_SOCKET_PATHS = ("/ws/agent/", "/ws/desk/")
NEXT_SESSION_KEY = "okpay_2fa_next"  # where a staff user goes once the second factor is set up


def is_staff_member(user: Any) -> bool:
    """An agent, supervisor or operator (see the module docstring). ``get_all_permissions`` is cached
    on the user object, so the desk's own permission checks that follow cost nothing more."""
    if user is None or not user.is_authenticated:
        return False
    return bool(user.is_staff or user.is_superuser or user.get_all_permissions())


def is_staff_path(path: str) -> bool:
    return path.startswith(STAFF_PATHS)


def request_verified(request: Any) -> bool:
    """Did this browser session prove a second factor (django-otp's ``OTPMiddleware`` decides)?"""
    user = getattr(request, "user", None)
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified is not None and is_verified())


def session_verified(user: Any, session: Any) -> bool:
    """The same question for a WebSocket's scope: the session's device is the user's and confirmed."""
    from django_otp.models import Device

    persistent_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
    if not persistent_id or user is None or not user.is_authenticated:
        return False
    device = Device.from_persistent_id(persistent_id)
    return device is not None and device.user_id == user.pk and bool(device.confirmed)


def staff_socket_allowed(scope: dict[str, Any]) -> bool:
    user = scope.get("user")
    return is_staff_member(user) and session_verified(user, scope.get("session"))


class StaffSocketGuard:
    """ASGI middleware inside Channels' ``AuthMiddlewareStack``: a WebSocket under
    :data:`STAFF_SOCKET_PATHS` is accepted only for a staff member whose session proved a second
    factor; anyone else's handshake is closed with 4403 before a consumer exists."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if (scope["type"] == "websocket" and scope.get("path", "").startswith(STAFF_SOCKET_PATHS)
                and not await database_sync_to_async(staff_socket_allowed)(scope)):
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": 4403})
            return None
        return await self.inner(scope, receive, send)


__all__ = ["STAFF_PATHS", "STAFF_SOCKET_PATHS", "StaffSocketGuard", "is_staff_member", "is_staff_path",
           "request_verified", "session_verified"]
