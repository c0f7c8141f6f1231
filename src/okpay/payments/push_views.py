"""Web Push subscriptions of the signed-in customer (issue 22, ``okpay.payments.alerts``): the
VAPID public key to subscribe with, and saving or removing the browser's subscription. JSON in and
out; the CSRF token travels in the ``X-CSRFToken`` header."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from okpay.core.errors import OkpayError
from okpay.payments import alerts

MAX_BODY = 4096


def _json(request: HttpRequest) -> object:
    if len(request.body) > MAX_BODY:
        return None
    try:
        return json.loads(request.body or b"null")
    except ValueError:
        return None


@never_cache
@login_required
@require_GET
def push_key(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"key": alerts.vapid_public_key()})


@never_cache
@login_required
@require_POST
def push_subscribe(request: HttpRequest) -> HttpResponse:
    try:
        alerts.push_subscription_save(user=request.user, data=_json(request))  # type: ignore[arg-type]
    except OkpayError as exc:
        return JsonResponse({"error": {"code": exc.code, "message": _(exc.message), "param": exc.param}},
                            status=exc.status)
    return JsonResponse({"subscribed": True}, status=201)


@never_cache
@login_required
@require_POST
def push_unsubscribe(request: HttpRequest) -> HttpResponse:
    data = _json(request)
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    removed = alerts.push_subscription_delete(user=request.user, endpoint=endpoint) if isinstance(endpoint, str) else 0  # type: ignore[arg-type]
    return JsonResponse({"removed": removed})
