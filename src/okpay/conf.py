"""Strict readers for ``OKPAY_*`` environment variables.

Every setting OKPay has comes from the environment through these helpers. A value that makes
no sense stops start-up with :class:`ImproperlyConfigured` naming the variable, instead of
being guessed at.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use true or false")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum {minimum}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={value} is above the maximum {maximum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if not items:
        raise ImproperlyConfigured(f"{name} is set but empty")
    return items


def env_url(name: str, *, schemes: tuple[str, ...]) -> str:
    raw = env_str(name)
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in schemes or not (parts.hostname or parts.path):
        raise ImproperlyConfigured(
            f"{name}={_redact(raw)!r} is not a URL with one of the schemes {', '.join(schemes)}"
        )
    return raw


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def secret_key(var_dir: Path) -> str:
    """``OKPAY_SECRET_KEY``, or a key generated once into ``var/secret_key`` (mode 0600)."""
    configured = env_str("OKPAY_SECRET_KEY")
    if configured:
        if len(configured) < 32:
            raise ImproperlyConfigured("OKPAY_SECRET_KEY must be at least 32 characters long")
        return configured
    path = var_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def email_settings(url: str) -> dict[str, object]:
    """Django SMTP settings from ``smtp://user:pass@host:port`` (``smtps://`` for implicit TLS,
    ``?starttls=true`` for STARTTLS, ``?timeout=10``)."""
    parts = urlsplit(url)
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
    except ValueError:
        raise ImproperlyConfigured(f"OKPAY_EMAIL_URL has a bad port: {_redact(url)!r}") from None
    starttls = query.get("starttls", "false").lower() in _TRUE
    try:
        timeout = int(query.get("timeout", "10"))
    except ValueError:
        raise ImproperlyConfigured("OKPAY_EMAIL_URL timeout must be an integer") from None
    return {
        "EMAIL_HOST": parts.hostname or "localhost",
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_SSL": parts.scheme == "smtps",
        "EMAIL_USE_TLS": starttls,
        "EMAIL_TIMEOUT": timeout,
    }


def postgres_database(url: str, *, name: str = "OKPAY_DATABASE_URL") -> dict[str, object]:
    """Django's database settings from a PostgreSQL URL, including libpq's multi-host form
    ``postgres://user:pass@host1:5432,host2:5432/db?target_session_attrs=read-write`` (libpq tries
    the hosts in order and keeps the first that matches). Query parameters become libpq options
    (``target_session_attrs``, ``connect_timeout``, ``sslmode``…)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ImproperlyConfigured(f"{name}={_redact(url)!r} is not a postgres:// URL")
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    hosts, ports = [], []
    for item in hostlist.split(","):
        host, colon, port = item.rpartition(":") if not item.endswith("]") else (item, "", "")
        if not colon:
            host, port = item, ""
        if not host or (port and not port.isdigit()):
            raise ImproperlyConfigured(f"{name} has a bad host or port: {_redact(url)!r}")
        hosts.append(unquote(host.strip("[]")))
        ports.append(port)
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise ImproperlyConfigured(f"{name} names no database: {_redact(url)!r}")
    options: dict[str, object] = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": database,
        "USER": unquote(user),
        "PASSWORD": unquote(password),
        "HOST": ",".join(hosts),
        "PORT": ",".join(port or "5432" for port in ports) if len(hosts) > 1 else ports[0],
        "OPTIONS": options,
    }


def media_storage(url: str) -> dict[str, object]:
    """``STORAGES["default"]`` for ``OKPAY_MEDIA_URL`` (``okpay.core.storage`` says what each means)."""
    if not url:
        return {"BACKEND": "okpay.core.storage.DatabaseStorage"}
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc or not parts.path.startswith("/"):
            raise ImproperlyConfigured("OKPAY_MEDIA_URL=file:///… needs an absolute path")
        return {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": parts.path}}
    if parts.scheme != "s3" or not parts.hostname:
        raise ImproperlyConfigured("OKPAY_MEDIA_URL must be s3://bucket[/prefix][?endpoint_url=…&region=…] "
                                   "or file:///absolute/path (unset: files in the database)")
    import importlib.util

    if importlib.util.find_spec("storages") is None or importlib.util.find_spec("boto3") is None:
        raise ImproperlyConfigured("OKPAY_MEDIA_URL=s3://… needs django-storages and boto3: "
                                   "pip install 'okpay[s3]'")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(query) - {"endpoint_url", "region", "addressing_style"}
    if unknown:
        raise ImproperlyConfigured(f"OKPAY_MEDIA_URL has unknown parameters: {', '.join(sorted(unknown))}")
    options: dict[str, object] = {
        "bucket_name": parts.hostname,
        "location": parts.path.strip("/"),
        "default_acl": None,  # the bucket's own (private) policy
        "querystring_auth": True,  # never an unsigned URL
        "file_overwrite": False,
        "region_name": query.get("region"),
        "endpoint_url": query.get("endpoint_url"),
        "addressing_style": query.get("addressing_style") or ("path" if query.get("endpoint_url") else None),
    }
    # Credentials: boto3's own chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, a role).
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
