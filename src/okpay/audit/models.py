"""The audit log: append-only records, each carrying the hash of the one before it.

Every record's ``hash`` is SHA-256 over its own canonical content and ``prev_hash``; ``seq``
numbers the chain without gaps. Editing a record breaks its hash, deleting one leaves a gap in
``seq`` (or a ``prev_hash`` that no longer matches), and deleting the newest records is caught
by :class:`AuditChainHead`, which remembers the last ``seq`` and hash. ``okpay audit verify``
checks all of it. Updates and deletes are refused by the model and by database triggers.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from typing import Any

from django.db import models
from django.utils import timezone

GENESIS_HASH = "0" * 64


class AppendOnlyError(Exception):
    pass


class AuditChainHead(models.Model):
    """One row (pk=1): the end of the chain. Writers lock it, so records are chained one at a time."""

    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"audit head #{self.last_seq}"


class AuditRecord(models.Model):
    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.CharField(max_length=80, help_text="usr_… public id, or system:/cli: name")
    action = models.CharField(max_length=80, db_index=True)
    target_type = models.CharField(max_length=80, blank=True, default="")
    target_id = models.CharField(max_length=80, blank=True, default="", db_index=True)
    detail = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["actor", "seq"], name="audit_actor_seq_idx")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("audit records are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit records are append-only")

    def compute_hash(self) -> str:
        return record_hash(
            seq=self.seq, at=self.at, actor=self.actor, action=self.action, target_type=self.target_type,
            target_id=self.target_id, detail=self.detail, ip=self.ip, prev_hash=self.prev_hash,
        )


def record_hash(*, seq: int, at: Any, actor: str, action: str, target_type: str, target_id: str,
                detail: Any, ip: str | None, prev_hash: str) -> str:
    canonical = json.dumps(
        {
            "seq": seq, "at": at.astimezone(UTC).isoformat(timespec="microseconds"), "actor": actor,
            "action": action, "target_type": target_type, "target_id": target_id, "detail": detail,
            "ip": ip or None, "prev": prev_hash,
        },
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
