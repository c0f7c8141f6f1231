"""``core.db``: services nest without a savepoint only where no one recovers from their errors."""

from __future__ import annotations

import contextlib

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from okpay.core.db import savepoint_needed, service_atomic, unrecovered
from okpay.core.errors import BusinessRuleError
from okpay.core.models import PeriodicJob

pytestmark = pytest.mark.django_db


@service_atomic
def job_create(name: str, *, refuse: bool = False) -> None:
    PeriodicJob.objects.create(name=name, next_run_at="2030-01-01T00:00:00Z")
    if refuse:
        raise BusinessRuleError("Refused.", code="refused")


def names() -> set[str]:
    return set(PeriodicJob.objects.filter(next_run_at="2030-01-01T00:00:00Z").values_list("name", flat=True))


def test_a_service_nests_as_a_savepoint_except_inside_unrecovered() -> None:
    assert savepoint_needed()
    with CaptureQueriesContext(connection) as queries:
        job_create("nested")  # in the test's transaction: a savepoint
        with unrecovered():
            assert not savepoint_needed()
            job_create("unrecovered")
    assert sum(q["sql"].startswith("SAVEPOINT") for q in queries.captured_queries) == 1  # the first call's
    assert savepoint_needed() and names() == {"nested", "unrecovered"}


def test_inside_unrecovered_a_caller_that_goes_on_brings_its_own_savepoint() -> None:
    with unrecovered():
        with pytest.raises(BusinessRuleError), transaction.atomic():
            job_create("refused", refuse=True)
        job_create("after")  # the transaction is still usable: the caller's savepoint was rolled back to
    assert names() == {"after"}
    # Without one, the error has doomed the transaction: nothing more may run in it.
    with pytest.raises(TransactionManagementError), transaction.atomic(), unrecovered():
        with contextlib.suppress(BusinessRuleError):
            job_create("doomed", refuse=True)
        PeriodicJob.objects.count()
    assert names() == {"after"}
