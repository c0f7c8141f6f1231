"""Schemathesis over the whole OpenAPI document, as nobody, two customers and a merchant.

Every generated request (valid and invalid, from the schema) is sent as each identity, each time in
a savepoint that is rolled back, so the cast starts every request from the same state. For each
answer: no 5xx, the status, content type, headers and body conform to the schema, a 4xx carries the
API error object, and an operation that needs a caller answers 401 to nobody.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.fuzz.conftest import Cast

pytestmark = pytest.mark.slow

IDENTITIES = ("anonymous", "alice", "bob", "shop")

# Operations anybody may call. Any other operation must answer 401 without credentials.
PUBLIC = {
    "GET /api/v1/health",
    "POST /api/v1/auth/register",
    "POST /api/v1/auth/verify-email",
    "POST /api/v1/auth/token",
    "POST /api/v1/auth/password-reset",
    "POST /api/v1/auth/password-reset/confirm",
    "GET /api/v1/help/articles",
    "GET /api/v1/help/articles/{slug}",
    "POST /api/v1/help/articles/{slug}/votes",
    "GET /api/v1/support/channels",
    "POST /api/v1/support/verify-channel",
    "POST /api/v1/support/phishing-reports",
}

# "Schema-valid request rejected" is left out: the schema states types and bounds, while the
# services also check meaning (a cursor we issued, a real email address, a known category, a token
# that exists) and answer 400 with the error object, which this test checks instead.
EXCLUDED_CHECKS = [positive_data_acceptance]

# Examples per operation: bounded and derandomized so CI sees the same cases every run.
MAX_EXAMPLES = {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 4}


def _document() -> dict:
    from okpay.api.api import api

    return api.get_openapi_schema()


DOCUMENT = _document()
SECURED = {f"{method.upper()} {path}" for path, methods in DOCUMENT["paths"].items()
           for method, operation in methods.items() if operation.get("security")}
MERCHANT = {f"{method.upper()} {path}" for path, methods in DOCUMENT["paths"].items()
            for method, operation in methods.items() if {"MerchantKeyAuth": []} in operation.get("security", [])}
OPERATIONS = sorted(f"{method.upper()} {path}" for path, methods in DOCUMENT["paths"].items() for method in methods)


def _without_security(document: dict) -> dict:
    """The document minus its security requirements: the test sends the cast's credentials itself
    (schemathesis would otherwise generate and mutate an ``Authorization`` header of its own)."""
    stripped = copy.deepcopy(document)
    for methods in stripped["paths"].values():
        for operation in methods.values():
            operation.pop("security", None)
    stripped.get("components", {}).pop("securitySchemes", None)
    return stripped


SCHEMA = schemathesis.openapi.from_dict(_without_security(DOCUMENT))


@contextmanager
def rolled_back() -> Iterator[None]:
    """A savepoint undone afterwards; services' durable blocks may nest in it as in a TestCase."""
    block = transaction.atomic()
    block._from_testcase = True  # type: ignore[attr-defined]
    with block:
        yield
        transaction.set_rollback(True)
    cache.clear()  # rate-limit counters and used one-time codes live there


def assert_error_object(response, label: str) -> None:  # type: ignore[no-untyped-def]
    body = response.json()
    assert set(body) == {"error"}, (label, response.status_code, body)
    error = body["error"]
    assert set(error) == {"code", "message", "param"}, (label, body)
    assert isinstance(error["code"], str) and error["code"], (label, body)
    assert isinstance(error["message"], str) and error["message"], (label, body)


@pytest.fixture
def wsgi_app():  # type: ignore[no-untyped-def]
    """Django's WSGI handler, kept off closing the test's connection at the end of each request
    (what django.test.Client does too)."""
    from django.core.handlers.wsgi import WSGIHandler

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _operation(label: str):  # type: ignore[no-untyped-def]
    method, path = label.split(" ", 1)
    return SCHEMA[path][method]


def test_every_operation_is_fuzzed_and_the_public_list_is_true() -> None:
    assert set(OPERATIONS) >= PUBLIC
    for label in OPERATIONS:
        assert (label not in SECURED) == (label in PUBLIC), label


def _group(label: str) -> str:
    return label.split(" ", 1)[1].removeprefix("/api/v1/").split("/")[0]


# One test per first path segment: the cast is made once per group, not once per operation.
GROUPS = sorted({_group(label) for label in OPERATIONS})


@pytest.mark.parametrize("group", GROUPS)
def test_api_fuzz(group: str, cast: Cast, wsgi_app) -> None:  # type: ignore[no-untyped-def]
    failures = []
    for label in OPERATIONS:
        if _group(label) != group:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(label, mode, cast, wsgi_app)
            except Unsatisfiable:
                # Negative mode on an operation with nothing to make invalid (no body, no constrained
                # parameter): every request it could send is valid, and the positive run covers those.
                assert mode is GenerationMode.NEGATIVE, label
            except (AssertionError, Failure, FailureGroup) as exc:
                failures.append(f"{label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)


def _fuzz(label: str, mode: GenerationMode, cast: Cast, app) -> None:  # type: ignore[no-untyped-def]
    operation = _operation(label)
    examples = 0

    @settings(max_examples=MAX_EXAMPLES[mode], derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(mode))
    def run(case: Case) -> None:
        nonlocal examples
        examples += 1
        # The operation's own audience sees every example, the other identities every third one.
        audience = ("shop",) if label in MERCHANT else ("anonymous",) if label in PUBLIC else ("alice",)
        for who in IDENTITIES if examples % 3 == 1 else audience:
            with rolled_back():
                response = case.call(app=app, headers=cast.headers(who))
                assert response.status_code < 500, (who, label, response.status_code, response.text[:500])
                if who == "anonymous" and label not in PUBLIC:
                    assert response.status_code in (400, 401), (label, response.status_code, response.text[:300])
                case.validate_response(response, excluded_checks=EXCLUDED_CHECKS, transport_kwargs={"app": app})
                if 400 <= response.status_code < 500 and response.status_code != 405:
                    assert_error_object(response, f"{who} {label}")

    run()
