"""The Idempotency-Key contract of API.md, on a throwaway API whose POSTs write one row each."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from okpay.core.models import IdempotencyRecord, PeriodicJob
from okpay.identity.services import api_token_create
from tests.api import idem_urls

pytestmark = pytest.mark.urls("tests.api.idem_urls")

BODY = {"name": "lamp", "amount": 1050}


def post(client, path, body, key=None):  # type: ignore[no-untyped-def]
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)


def test_same_key_same_body_replays_the_first_response(alice, api_client) -> None:
    client = api_client(alice)
    first = post(client, "/api/v1/things", BODY, "k-1")
    second = post(client, "/api/v1/things", BODY, "k-1")
    assert first.status_code == 201
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert PeriodicJob.objects.count() == 1


def test_same_key_other_body_is_refused_and_changes_nothing(alice, api_client) -> None:
    client = api_client(alice)
    post(client, "/api/v1/things", BODY, "k-2")
    other = post(client, "/api/v1/things", {**BODY, "amount": 9999}, "k-2")
    assert other.status_code == 409
    assert other.json() == {"error": {"code": "idempotency_key_reused", "param": "Idempotency-Key",
                                      "message": "此 Idempotency-Key 已用于另一个不同的请求。"}}  # alice reads zh-Hans
    assert PeriodicJob.objects.count() == 1


def test_keys_are_scoped_to_the_caller(alice, bob, api_client) -> None:
    first = post(api_client(alice), "/api/v1/things", BODY, "shared")
    second = post(api_client(bob), "/api/v1/things", BODY, "shared")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert "Idempotent-Replayed" not in second
    assert PeriodicJob.objects.count() == 2


def test_a_business_refusal_is_stored_and_its_work_rolled_back(alice, api_client) -> None:
    client = api_client(alice)
    first = post(client, "/api/v1/refused", BODY, "k-3")
    again = post(client, "/api/v1/refused", BODY, "k-3")
    assert first.status_code == again.status_code == 422
    assert first.json()["error"]["code"] == "insufficient_funds"
    assert again["Idempotent-Replayed"] == "true"
    assert not PeriodicJob.objects.exists()


def test_invalid_input_releases_the_key(alice, api_client) -> None:
    client = api_client(alice)
    bad = post(client, "/api/v1/things", {"name": "lamp", "amount": "ten"}, "k-4")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_request"
    assert bad.json()["error"]["param"] == "amount"
    assert not IdempotencyRecord.objects.exists()
    fixed = post(client, "/api/v1/things", BODY, "k-4")
    assert fixed.status_code == 201


def test_a_crash_releases_the_key_and_rolls_back(alice, api_client) -> None:
    client = api_client(alice)
    response = post(client, "/api/v1/boom", BODY, "k-5")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert not PeriodicJob.objects.exists()
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_commit_whose_answer_was_lost_is_not_run_again(alice, monkeypatch) -> None:
    """Found by the bank fault test (tests/fault): the database crashed after it had committed the
    work but before the COMMIT's answer arrived. The wrapper then released the key, deleting the
    record with the stored response, and the client's retry made the transfer a second time. (The
    claim-then-work path, SQLite's; PostgreSQL's one-transaction path has no claim to release.)"""
    from django.db import OperationalError, connection

    real_commit = connection._commit

    def commit_then_lose_the_answer():  # type: ignore[no-untyped-def]
        real_commit()
        if idem_urls.lose_commit_answer.is_set():
            idem_urls.lose_commit_answer.clear()
            import psycopg

            lost = "consuming input failed: server closed the connection unexpectedly"
            raise OperationalError(lost) from psycopg.OperationalError(lost)

    from django.test import Client

    monkeypatch.setattr(connection, "_commit", commit_then_lose_the_answer)
    raw, _ = api_token_create(user=alice)
    client = Client(headers={"Authorization": f"Bearer {raw}"}, raise_request_exception=False)
    first = post(client, "/api/v1/lost-commit", BODY, "k-lost")
    assert first.status_code == 503  # the server cannot know whether the work committed: "retry"
    assert first.json()["error"]["code"] == "service_unavailable"
    retry = post(client, "/api/v1/lost-commit", BODY, "k-lost")
    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert PeriodicJob.objects.filter(name="lost-lamp").count() == 1
    assert retry.json() == {"id": PeriodicJob.objects.get(name="lost-lamp").pk, "name": "lamp"}


@pytest.mark.parametrize("key", ["", "x" * 256, "bad\nkey"])
def test_malformed_keys_are_refused(alice, api_client, key) -> None:
    response = post(api_client(alice), "/api/v1/things", BODY, key)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "Idempotency-Key"
    assert not PeriodicJob.objects.exists()


def test_a_key_of_255_characters_is_accepted(alice, api_client) -> None:
    assert post(api_client(alice), "/api/v1/things", BODY, "k" * 255).status_code == 201


def test_without_credentials_nothing_runs(db, client) -> None:
    response = post(client, "/api/v1/things", BODY, "k-6")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert not PeriodicJob.objects.exists()
    assert not IdempotencyRecord.objects.exists()


def test_an_abandoned_claim_is_taken_over_after_its_lease(alice, api_client) -> None:
    """A process that died after claiming never committed its work: a retry runs it."""
    from datetime import timedelta

    from django.utils import timezone

    client = api_client(alice)
    IdempotencyRecord.objects.create(
        scope=alice.public_id, key="k-7", fingerprint="0" * 64, method="POST", path="/api/v1/things",
        lease_token="dead", locked_until=timezone.now() - timedelta(seconds=1), created_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=1),
    )
    # Same request as the dead one: fingerprints must match, so compute it through a first refusal.
    record = IdempotencyRecord.objects.get(key="k-7")
    from django.test import RequestFactory

    from okpay.core.idempotency import fingerprint

    request = RequestFactory().post("/api/v1/things", data=json.dumps(BODY), content_type="application/json")
    record.fingerprint = fingerprint(request)
    record.save(update_fields=["fingerprint"])
    response = post(client, "/api/v1/things", BODY, "k-7")
    assert response.status_code == 201
    assert PeriodicJob.objects.count() == 1
    assert IdempotencyRecord.objects.get(key="k-7").locked_until is None


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_duplicate_is_told_the_key_is_in_use(live_server, alice) -> None:
    raw, _ = api_token_create(user=alice)
    headers = {"Authorization": f"Bearer {raw}", "Idempotency-Key": "k-slow"}
    idem_urls.gate.clear()
    idem_urls.entered.clear()
    results: dict[str, httpx.Response] = {}

    def first() -> None:
        results["first"] = httpx.post(f"{live_server.url}/api/v1/slow", json=BODY, headers=headers, timeout=30)

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert idem_urls.entered.wait(timeout=10)
        duplicate = httpx.post(f"{live_server.url}/api/v1/slow", json=BODY, headers=headers, timeout=30)
    finally:
        idem_urls.gate.set()
        thread.join(timeout=30)
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "idempotency_key_in_use"
    assert results["first"].status_code == 201
    replay = httpx.post(f"{live_server.url}/api/v1/slow", json=BODY, headers=headers, timeout=30)
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == results["first"].json()
    assert PeriodicJob.objects.filter(name__startswith="slow-").count() == 1


def _fingerprint(path: str, body: dict) -> str:  # type: ignore[type-arg]
    from django.test import RequestFactory

    from okpay.core.idempotency import fingerprint

    return fingerprint(RequestFactory().post(path, data=json.dumps(body), content_type="application/json"))


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_claim_work_and_answer_are_one_transaction(alice, api_client) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("the one-transaction claim is PostgreSQL's (advisory locks)")
    client = api_client(alice)
    post(client, "/api/v1/things", BODY, "k-warm")  # the token's first use touches last_used_at
    with CaptureQueriesContext(connection) as queries:
        response = post(client, "/api/v1/things", BODY, "k-one")
    assert response.status_code == 201
    assert [q["sql"] for q in queries.captured_queries].count("COMMIT") == 1
    assert IdempotencyRecord.objects.get(key="k-one").response_status == 201
    assert post(client, "/api/v1/things", BODY, "k-one")["Idempotent-Replayed"] == "true"
    assert PeriodicJob.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_committed_under_our_feet_rolls_our_work_back_and_replays_it(alice, api_client) -> None:
    """Should a duplicate's record appear after our read (PostgreSQL: a snapshot taken just before
    the lock), the unique key stops our insert: our work is rolled back, theirs is answered."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    if connection.vendor != "postgresql":
        pytest.skip("on SQLite the write lock serialises the two")
    client = api_client(alice)
    theirs = json.dumps({"id": 0, "name": "theirs"}).encode()

    def commit_theirs() -> None:
        def insert() -> None:
            from django.db import connection as own

            now = timezone.now()
            IdempotencyRecord.objects.create(
                scope=alice.public_id, key="k-race", fingerprint=_fingerprint("/api/v1/raced", BODY), method="POST",
                path="/api/v1/raced", lease_token="", locked_until=None, response_status=201,
                response_headers={"Content-Type": "application/json"}, response_body=theirs, created_at=now,
                completed_at=now, expires_at=now + timedelta(days=1))
            own.close()

        thread = threading.Thread(target=insert)
        thread.start()
        thread.join(timeout=30)

    idem_urls.raced["hook"] = commit_theirs
    response = post(client, "/api/v1/raced", BODY, "k-race")
    assert response.status_code == 201
    assert response.content == theirs
    assert response["Idempotent-Replayed"] == "true"
    assert not PeriodicJob.objects.filter(name__startswith="raced-").exists()


@pytest.mark.django_db(transaction=True)
def test_a_record_that_cannot_be_stored_is_a_bug_not_a_key_in_use(alice, api_client, monkeypatch) -> None:
    """Only a duplicate's record turns a failed insert into a replay; any other refusal of the
    insert is raised (a 500 and a log entry), never disguised as ``409 idempotency_key_in_use``."""
    from django.db import IntegrityError, connection

    if connection.vendor != "postgresql":
        pytest.skip("the one-transaction claim is PostgreSQL's")

    def refuse(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise IntegrityError('null value in column "expires_at"')

    monkeypatch.setattr(IdempotencyRecord, "save", refuse)
    with pytest.raises(IntegrityError):
        post(api_client(alice), "/api/v1/things", BODY, "k-bug")
    assert not PeriodicJob.objects.exists()
