"""Where uploads live (``STORAGES["default"]``, chosen by ``OKPAY_MEDIA_URL``):

- unset: :class:`DatabaseStorage`, the files in the database (table ``core_storedfile``), so that
  no web machine keeps anything on its own disk and every backup holds them;
- ``s3://bucket/prefix?endpoint_url=…&region=…``: an S3-compatible object store through
  django-storages (the ``s3`` extra), private objects read back through OKPay's own checked views;
- ``file:///absolute/path``: a directory (one machine, or a shared file system).

Nothing here hands out a public URL: :meth:`DatabaseStorage.url` refuses, and the views that
serve a file (support attachments) check who asks first.
"""

from __future__ import annotations

import posixpath
from datetime import datetime
from typing import Any

from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage
from django.utils import timezone
from django.utils.deconstruct import deconstructible

from okpay.core.models import StoredFile


@deconstructible(path="okpay.core.storage.DatabaseStorage")
class DatabaseStorage(Storage):
    def _open(self, name: str, mode: str = "rb") -> File[bytes]:
        if "w" in mode or "a" in mode or "+" in mode:
            raise ValueError("DatabaseStorage opens files for reading only; save a new file instead")
        row = StoredFile.objects.filter(name=name).values_list("content", flat=True).first()
        if row is None:
            raise FileNotFoundError(name)
        return ContentFile(bytes(row), name=name)

    def _save(self, name: str, content: File[Any]) -> str:
        if hasattr(content, "seek"):
            content.seek(0)
        data = b"".join(content.chunks()) if hasattr(content, "chunks") else content.read()
        StoredFile.objects.create(name=name, content=data, size=len(data), created_at=timezone.now())
        return name

    def delete(self, name: str) -> None:
        StoredFile.objects.filter(name=name).delete()

    def exists(self, name: str) -> bool:
        return StoredFile.objects.filter(name=name).exists()

    def size(self, name: str) -> int:
        size = StoredFile.objects.filter(name=name).values_list("size", flat=True).first()
        if size is None:
            raise FileNotFoundError(name)
        return int(size)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        prefix = path.rstrip("/") + "/" if path else ""
        dirs, files = set(), []
        for name in StoredFile.objects.filter(name__startswith=prefix).values_list("name", flat=True):
            rest = name[len(prefix):]
            head, sep, _tail = rest.partition("/")
            if sep:
                dirs.add(head)
            else:
                files.append(rest)
        return sorted(dirs), sorted(files)

    def get_created_time(self, name: str) -> datetime:
        created = StoredFile.objects.filter(name=name).values_list("created_at", flat=True).first()
        if created is None:
            raise FileNotFoundError(name)
        return created

    get_modified_time = get_created_time

    def url(self, name: str | None) -> str:
        raise NotImplementedError("files in the database have no public URL; serve them through a checked view")

    def path(self, name: str) -> str:
        raise NotImplementedError("files in the database are not on a local disk")

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        name = posixpath.normpath(name).lstrip("/")
        return super().get_available_name(name, max_length=max_length)
