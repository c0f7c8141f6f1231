"""Shared plumbing tables: idempotency records and the schedule of periodic sweeps."""

from __future__ import annotations

from django.db import models


class IdempotencyRecord(models.Model):
    """One ``Idempotency-Key`` of one caller (API.md, "Conventions").

    ``locked_until`` is set while the first request runs and cleared once its response is
    stored; the response is stored in the same database transaction as the work it protects,
    so a record that is still locked after its lease means the work never committed.
    """

    scope = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    lease_token = models.CharField(max_length=32)
    locked_until = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_unique")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class PeriodicJob(models.Model):
    """When each periodic sweep runs next. Workers claim due rows with ``skip_locked``."""

    name = models.CharField(max_length=200, unique=True)
    next_run_at = models.DateTimeField()
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    runs = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return self.name


class StoredFile(models.Model):
    """An uploaded file kept in the database (``okpay.core.storage.DatabaseStorage``, the default
    media storage): every web machine sees it, a backup of the database includes it, and it is
    written in the same transaction as the row that refers to it."""

    name = models.CharField(max_length=255, unique=True)
    content = models.BinaryField()
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name
