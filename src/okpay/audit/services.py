"""``audit_record``: append one record to the hash chain (see :mod:`okpay.audit.models`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from okpay.audit.models import GENESIS_HASH, AuditChainHead, AuditRecord, record_hash


def actor_ref(actor: Any) -> str:
    """``usr_…`` for a user, ``system`` for nobody, the string itself otherwise (``cli:root``)."""
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor[:80]
    public_id = getattr(actor, "public_id", None)
    return str(public_id or f"{actor._meta.label_lower}:{actor.pk}")[:80]


def _target(target: Any) -> tuple[str, str]:
    if target is None:
        return "", ""
    if isinstance(target, str):
        return "", target[:80]
    if isinstance(target, models.Model):
        ref = getattr(target, "public_id", None) or target.pk
        return target._meta.label_lower[:80], str(ref)[:80]
    return type(target).__name__[:80], str(target)[:80]


def _plain(detail: dict[str, Any] | None) -> dict[str, Any]:
    # What is hashed must be exactly what the database gives back: plain JSON values.
    return json.loads(json.dumps(detail or {}, default=str, ensure_ascii=False))


@transaction.atomic
def audit_record(*, actor: Any, action: str, target: Any = None, detail: dict[str, Any] | None = None,
                 ip: str | None = None) -> AuditRecord:
    """Append a record. The chain head row is locked (``select_for_update``) until the caller's
    transaction commits, so concurrent writers chain one after another and never fork."""
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:  # the migration creates it; a flushed test database may not have it
        AuditChainHead.objects.get_or_create(pk=1)
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    target_type, target_id = _target(target)
    record = AuditRecord(
        seq=head.last_seq + 1, at=timezone.now(), actor=actor_ref(actor), action=action[:80],
        target_type=target_type, target_id=target_id, detail=_plain(detail), ip=ip or None,
        prev_hash=head.last_hash,
    )
    record.hash = record.compute_hash()
    record.save()
    AuditChainHead.objects.filter(pk=1).update(last_seq=record.seq, last_hash=record.hash)
    return record


@dataclass(frozen=True)
class Problem:
    seq: int | None
    message: str


def audit_verify(*, chunk: int = 2000) -> Iterator[Problem]:
    """Walk the whole chain; yield every inconsistency (nothing when the log is intact)."""
    expected_seq, prev = 1, GENESIS_HASH
    fields = ("seq", "at", "actor", "action", "target_type", "target_id", "detail", "ip", "prev_hash", "hash")
    for row in AuditRecord.objects.order_by("seq").values_list(*fields).iterator(chunk_size=chunk):
        seq, at, actor, action, target_type, target_id, detail, ip, prev_hash, stored = row
        if seq != expected_seq:
            yield Problem(seq, f"records {expected_seq}..{seq - 1} are missing (deleted?)")
        if prev_hash != prev:
            yield Problem(seq, "prev_hash does not match the previous record's hash")
        computed = record_hash(seq=seq, at=at, actor=actor, action=action, target_type=target_type,
                               target_id=target_id, detail=detail, ip=ip, prev_hash=prev_hash)
        if computed != stored:
            yield Problem(seq, "content does not match its hash (edited?)")
        expected_seq, prev = seq + 1, stored
    head = AuditChainHead.objects.filter(pk=1).first()
    last_seq, last_hash = (head.last_seq, head.last_hash) if head else (0, GENESIS_HASH)
    if last_seq != expected_seq - 1 or last_hash != prev:
        yield Problem(None, f"the chain ends at #{expected_seq - 1} but its head says #{last_seq} "
                            "(newest records deleted?)")
