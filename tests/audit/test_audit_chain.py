"""The audit log is append-only and hash-chained; `okpay audit verify` finds any edit or deletion."""

from __future__ import annotations

import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction

from okpay.audit.models import GENESIS_HASH, AppendOnlyError, AuditChainHead, AuditRecord
from okpay.audit.services import audit_record, audit_verify


def _drop_guard() -> None:
    """What an attacker with database access would do first: remove the append-only trigger."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER IF EXISTS audit_record_no_update ON audit_auditrecord")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS audit_record_no_update")


@pytest.mark.django_db
def test_records_chain_each_to_the_previous_hash(alice) -> None:
    first = audit_record(actor=alice, action="test.one", target=alice, detail={"n": 1, "名": "值"}, ip="10.0.0.1")
    second = audit_record(actor=None, action="test.two")
    assert first.prev_hash == AuditChainHead.objects.get(pk=1).last_hash or first.seq == second.seq - 1
    assert second.prev_hash == first.hash
    assert second.seq == first.seq + 1
    assert first.actor == alice.public_id and first.target_id == alice.public_id
    assert second.actor == "system"
    head = AuditChainHead.objects.get(pk=1)
    assert (head.last_seq, head.last_hash) == (second.seq, second.hash)
    assert list(audit_verify()) == []


@pytest.mark.django_db
def test_the_first_record_links_to_the_genesis_hash() -> None:
    assert AuditRecord.objects.count() == 0
    record = audit_record(actor="cli:root", action="test.first")
    assert record.seq == 1
    assert record.prev_hash == GENESIS_HASH


@pytest.mark.django_db
def test_records_refuse_update_and_delete_in_code_and_in_the_database() -> None:
    record = audit_record(actor="cli:root", action="test.immutable")
    record.action = "test.changed"
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        AuditRecord.objects.filter(pk=record.pk).update(action="test.changed")
    assert AuditRecord.objects.get(pk=record.pk).action == "test.immutable"


@pytest.mark.django_db
def test_verify_detects_an_edited_record(capsys) -> None:
    for n in range(5):
        audit_record(actor="cli:root", action="test.edit", detail={"n": n})
    call_command("audit", "verify")
    assert "5 records, chain intact" in capsys.readouterr().out
    _drop_guard()
    AuditRecord.objects.filter(seq=3).update(detail={"n": 999})
    with pytest.raises(CommandError) as failure:
        call_command("audit", "verify")
    assert failure.value.returncode == 1
    problems = list(audit_verify())
    assert [(p.seq, p.message) for p in problems] == [(3, "content does not match its hash (edited?)")]


@pytest.mark.django_db
def test_verify_detects_a_record_edited_with_a_recomputed_hash() -> None:
    for n in range(4):
        audit_record(actor="cli:root", action="test.rehash", detail={"n": n})
    _drop_guard()
    forged = AuditRecord.objects.get(seq=2)
    forged.actor = "usr_somebodyelse"
    AuditRecord.objects.filter(seq=2).update(actor=forged.actor, hash=forged.compute_hash())
    problems = list(audit_verify())
    assert [p.seq for p in problems] == [3]  # the next record no longer points at it
    assert "prev_hash" in problems[0].message


@pytest.mark.django_db
def test_verify_detects_a_deleted_record_in_the_middle_and_at_the_end() -> None:
    for n in range(5):
        audit_record(actor="cli:root", action="test.delete", detail={"n": n})
    _drop_guard()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditrecord WHERE seq = 2")
    messages = [p.message for p in audit_verify()]
    assert any("missing" in m for m in messages)
    with pytest.raises(CommandError):
        call_command("audit", "verify")


@pytest.mark.django_db
def test_verify_detects_the_newest_record_deleted() -> None:
    for n in range(3):
        audit_record(actor="cli:root", action="test.tail", detail={"n": n})
    _drop_guard()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditrecord WHERE seq = 3")
    [problem] = list(audit_verify())
    assert problem.seq is None and "head says #3" in problem.message


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain() -> None:
    AuditChainHead.objects.get_or_create(pk=1)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(10):
                audit_record(actor=f"cli:writer{n}", action="test.concurrent", detail={"i": i})
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert list(AuditRecord.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, 41))
    assert list(audit_verify()) == []
