"""The official website's pages (the shell: home, errors, the development mailbox)."""

from __future__ import annotations

import hmac
import logging
import sys

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from okpay.api.errors import envelope, internal_error, said, unavailable
from okpay.core import metrics as metrics_module
from okpay.core.db import is_unavailable
from okpay.identity.models import OutboundEmail

logger = logging.getLogger("okpay.web")


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/home.html")


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, private: with ``OKPAY_METRICS_TOKEN`` set, for a matching bearer token
    only (401 otherwise); without one, only under ``OKPAY_DEBUG`` — elsewhere it is not there (404).
    The figures describe the business (payments pending, queues, load); ``okpay check --deploy``
    says how to set the token (``okpay.core.checks``)."""
    token = settings.OKPAY_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return HttpResponse("unauthorised\n", status=401, content_type="text/plain")
    elif not settings.DEBUG:
        raise Http404
    body, content_type = metrics_module.render()
    return HttpResponse(body, content_type=content_type)


def _dev_only() -> None:
    if not settings.DEBUG:
        raise Http404


@require_GET
def dev_mail_list(request: HttpRequest) -> HttpResponse:
    """Every email in the outbox, newest first (debug only): the mailbox of a laptop install."""
    _dev_only()
    emails = OutboundEmail.objects.order_by("-pk")[:100]
    return render(request, "web/dev_mail_list.html", {"emails": emails})


@require_GET
def dev_mail_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _dev_only()
    email = get_object_or_404(OutboundEmail, pk=pk)
    return render(request, "web/dev_mail_detail.html", {"email": email})


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return envelope(404, "not_found", said(request, "No API endpoint at %(path)s.", path=request.path))
    return render(request, "web/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django calls this inside the ``except`` of the error it handles: a lost database (restart,
    failover, pool exhausted) is a 503 with ``Retry-After``, on pages as in the API, whether a view
    or a middleware (the session, the sign-in checks) found it. The page uses no database."""
    if is_unavailable(sys.exc_info()[1] or Exception()):
        logger.warning("database unavailable", extra={"path": request.path})
        if request.path.startswith("/api/"):
            return unavailable()
        response = HttpResponse(render_to_string("web/503.html"), status=503)
        response["Retry-After"] = "2"
        return response
    if request.path.startswith("/api/"):
        return internal_error(request)
    return render(request, "web/500.html", status=500)
