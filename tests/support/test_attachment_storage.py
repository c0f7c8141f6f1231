"""Uploads through Django's storage API (okpay.core.storage): in the database by default, on an
S3-compatible object store (a real SeaweedFS server, tests/s3.py) with OKPAY_MEDIA_URL=s3://…;
nothing on the web machine's disk; the customer and the desk open files through checked views
only; ``okpay media-migrate`` moves files an older OKPay left under var/media."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from okpay.conf import media_storage
from okpay.core.models import StoredFile
from okpay.support.models import Attachment
from okpay.support.services import agent_reply
from tests.factories import sign_in
from tests.s3 import BUCKET, SeaweedS3
from tests.support.helpers import web_ticket

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def login(user) -> Client:  # type: ignore[no-untyped-def]
    return sign_in(user)


def upload(name: str = "receipt.png", data: bytes = PNG) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/png")


def test_an_attachment_is_kept_in_the_database_not_on_disk(alice, bob, agent, fake_clock) -> None:
    ticket = web_ticket(alice, attachments=[upload()])
    att = ticket.messages.get().attachments.get()
    stored = StoredFile.objects.get()
    assert (stored.name, bytes(stored.content), stored.size) == (att.file.name, PNG, len(PNG))
    assert att.file.name.startswith(f"support/{ticket.public_id}/att_")
    assert not (Path(settings.VAR_DIR) / "media").exists()
    url = f"/support/tickets/{ticket.public_id}/files/{att.public_id}"
    own = login(alice).get(url)
    assert (own.status_code, b"".join(own.streaming_content), own["Content-Type"]) == (200, PNG, "image/png")
    desk = login(agent).get(f"/desk/files/{att.public_id}")
    assert (desk.status_code, b"".join(desk.streaming_content)) == (200, PNG)
    assert login(bob).get(url).status_code == 404
    assert login(bob).get(f"/support/tickets/{ticket.public_id}/files/{att.public_id}").status_code == 404
    assert Client().get(url).status_code == 302  # to the sign-in page
    with pytest.raises(NotImplementedError):
        default_storage.url(att.file.name)  # no public URL to a customer's file
    assert StoredFile.objects.count() == 1 and Attachment.objects.count() == 1


def test_an_internal_note_file_is_the_desks_only(alice, agent, fake_clock) -> None:
    ticket = web_ticket(alice)
    agent_reply(ticket=ticket, agent=agent, body="内部记录", internal=True, attachments=[upload("note.png")])
    att = Attachment.objects.get()
    assert login(alice).get(f"/support/tickets/{ticket.public_id}/files/{att.public_id}").status_code == 404
    assert login(agent).get(f"/desk/files/{att.public_id}").status_code == 200


def test_a_refused_message_leaves_no_file_behind(alice, fake_clock) -> None:
    from okpay.support.services import AttachmentRefused

    with pytest.raises(AttachmentRefused):
        web_ticket(alice, attachments=[upload("ok.png"), upload("x.exe", b"MZ\x90\x00" + b"\x00" * 64)])
    assert (StoredFile.objects.count(), Attachment.objects.count()) == (0, 0)


def test_media_migrate_moves_old_files_once(alice, fake_clock, tmp_path) -> None:
    ticket = web_ticket(alice, attachments=[upload()])
    att = ticket.messages.get().attachments.get()
    # As an older OKPay left it: the file under var/media, not in the storage.
    old = tmp_path / "media"
    (old / att.file.name).parent.mkdir(parents=True)
    (old / att.file.name).write_bytes(PNG)
    StoredFile.objects.all().delete()
    out = StringIO()
    call_command("media-migrate", "--from", str(old), stdout=out)
    assert out.getvalue().strip() == "moved 1, already in storage 0, missing 0"
    assert bytes(StoredFile.objects.get(name=att.file.name).content) == PNG
    out = StringIO()
    call_command("media-migrate", "--from", str(old), stdout=out)
    assert out.getvalue().strip() == "moved 0, already in storage 1, missing 0"


def test_media_migrate_names_missing_files(alice, fake_clock, tmp_path) -> None:
    ticket = web_ticket(alice, attachments=[upload()])
    name = ticket.messages.get().attachments.get().file.name
    StoredFile.objects.all().delete()
    with pytest.raises(CommandError, match=name):
        call_command("media-migrate", "--from", str(tmp_path), stdout=StringIO())
    assert StoredFile.objects.count() == 0


@pytest.mark.parametrize("url, message", [
    ("ftp://bucket", "must be s3://"),
    ("s3://", "must be s3://"),
    ("file://relative/path", "absolute path"),
    ("s3://bucket?colour=blue", "unknown parameters: colour"),
])
def test_a_bad_media_url_stops_start_up(url: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        media_storage(url)


def test_s3_without_the_extra_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "storages" else real(name, *a))
    with pytest.raises(ImproperlyConfigured, match=r"pip install 'okpay\[s3\]'"):
        media_storage("s3://bucket")


@pytest.fixture(scope="module")
def s3_server() -> Iterator[SeaweedS3]:
    server = SeaweedS3()
    try:
        yield server
    finally:
        server.close()


@pytest.mark.slow
def test_attachments_on_an_s3_object_store(alice, bob, agent, fake_clock, s3_server, settings,
                                           monkeypatch) -> None:
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    settings.STORAGES = {**settings.STORAGES, "default": media_storage(s3_server.media_url)}
    ticket = web_ticket(alice, attachments=[upload()])
    att = ticket.messages.get().attachments.get()
    key = f"media/{att.file.name}"
    assert key in s3_server.object_keys()
    assert StoredFile.objects.count() == 0
    body = s3_server.client().get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(PNG).hexdigest()
    url = f"/support/tickets/{ticket.public_id}/files/{att.public_id}"
    own = login(alice).get(url)
    assert (own.status_code, b"".join(own.streaming_content)) == (200, PNG)
    assert login(agent).get(f"/desk/files/{att.public_id}").status_code == 200
    assert login(bob).get(url).status_code == 404
    # The object itself is private: no anonymous read.
    import httpx

    assert httpx.get(f"{s3_server.endpoint}/{BUCKET}/{key}").status_code == 403
