"""A tiny API used only by the idempotency tests: each POST writes a row, so that a test can
count how many times the work really ran."""

from __future__ import annotations

import threading

from django.http import HttpRequest
from django.urls import path
from ninja import NinjaAPI, Schema, Status

from okpay.api import errors
from okpay.api.auth import bearer
from okpay.api.router import OkpayRouter
from okpay.core.errors import BusinessRuleError
from okpay.core.models import PeriodicJob

gate = threading.Event()
entered = threading.Event()
lose_commit_answer = threading.Event()  # set by /lost-commit: the test's patched COMMIT then "loses" its answer

router = OkpayRouter()


class ThingIn(Schema):
    name: str
    amount: int


class ThingOut(Schema):
    id: int
    name: str


@router.post("/things", response={201: ThingOut})
def thing_create(request: HttpRequest, payload: ThingIn) -> Status:
    job = PeriodicJob.objects.create(name=f"{payload.name}-{PeriodicJob.objects.count()}",
                                     next_run_at="2030-01-01T00:00:00Z")
    return Status(201, ThingOut(id=job.pk, name=payload.name))


@router.post("/refused", response={201: ThingOut})
def thing_refused(request: HttpRequest, payload: ThingIn) -> Status:
    PeriodicJob.objects.create(name=f"refused-{payload.name}", next_run_at="2030-01-01T00:00:00Z")
    raise BusinessRuleError("Not enough money.", code="insufficient_funds", param="amount")


@router.post("/slow", response={201: ThingOut})
def thing_slow(request: HttpRequest, payload: ThingIn) -> Status:
    job = PeriodicJob.objects.create(name=f"slow-{payload.name}", next_run_at="2030-01-01T00:00:00Z")
    entered.set()
    gate.wait(timeout=30)
    return Status(201, ThingOut(id=job.pk, name=payload.name))


raced: dict[str, object] = {}


@router.post("/raced", response={201: ThingOut})
def thing_raced(request: HttpRequest, payload: ThingIn) -> Status:
    """Runs ``raced["hook"]`` mid-work: a test commits a duplicate's record there."""
    job = PeriodicJob.objects.create(name=f"raced-{payload.name}", next_run_at="2030-01-01T00:00:00Z")
    hook = raced.pop("hook", None)
    if callable(hook):
        hook()
    return Status(201, ThingOut(id=job.pk, name=payload.name))


@router.post("/lost-commit", response={201: ThingOut})
def thing_lost_commit(request: HttpRequest, payload: ThingIn) -> Status:
    job = PeriodicJob.objects.create(name=f"lost-{payload.name}", next_run_at="2030-01-01T00:00:00Z")
    lose_commit_answer.set()
    return Status(201, ThingOut(id=job.pk, name=payload.name))


@router.post("/db-down", response={201: ThingOut})
def thing_db_down(request: HttpRequest, payload: ThingIn) -> Status:
    """The database went away mid-request (what psycopg raises when the server was restarted)."""
    import psycopg
    from django.db import OperationalError

    PeriodicJob.objects.create(name=f"down-{payload.name}", next_run_at="2030-01-01T00:00:00Z")
    raise OperationalError("server closed the connection unexpectedly") from psycopg.OperationalError(
        "server closed the connection unexpectedly")


@router.post("/boom", response={201: ThingOut})
def thing_boom(request: HttpRequest, payload: ThingIn) -> Status:
    PeriodicJob.objects.create(name=f"boom-{payload.name}", next_run_at="2030-01-01T00:00:00Z")
    raise RuntimeError("a bug")


api = NinjaAPI(urls_namespace="idemtest", auth=bearer, docs_url=None)
errors.install(api)
api.add_router("", router)

urlpatterns = [path("api/v1/", api.urls)]
