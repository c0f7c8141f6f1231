"""okpay's URLs plus one page whose view finds the database gone (tests/web/test_database_outage.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from okpay.urls import handler404, handler500  # noqa: F401 (the handlers under test)


def lost_database() -> Exception:
    import psycopg
    from django.db import OperationalError

    try:
        raise OperationalError("server closed the connection unexpectedly") from psycopg.OperationalError(
            "server closed the connection unexpectedly")
    except OperationalError as exc:
        return exc


def page_down(request: HttpRequest) -> HttpResponse:
    raise lost_database()


urlpatterns = [path("page-down/", page_down), path("", include("okpay.urls"))]
