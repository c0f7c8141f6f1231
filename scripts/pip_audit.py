"""pip-audit over the locked dependencies (constraints.txt), when a vulnerability service answers.

pip-audit has no offline vulnerability database: it asks PyPI's JSON API (or OSV) about each
pinned version. Where the service is not reachable, or does not know the pinned versions (a
mirror), pip-audit itself prints "Dependency not found on PyPI" for every package and still exits
0, which reads like a pass. So this script first asks the service about one locked pin (Django);
if that gets no answer, it prints one SKIPPED line and exits 0 (CI stays usable offline); if it
does, it runs pip-audit with ``--strict`` (a package that could not be audited is a failure) and
exits with its status.

    python scripts/pip_audit.py                 # PyPI's advisory data (default)
    OKPAY_AUDIT_SERVICE=osv python scripts/pip_audit.py
"""

from __future__ import annotations

import json
import os
import subprocess  # nosec B404 - runs pip-audit with an argument list
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("pypi", "osv")


def locked_version(name: str) -> str:
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.lower().startswith(f"{name.lower()}=="):
            return line.split("==", 1)[1].strip()
    raise SystemExit(f"pip-audit: {name} is not pinned in constraints.txt")


def probe(service: str, version: str) -> str | None:
    """None when the service answers about Django ``version``; else why not."""
    if service == "pypi":
        url = f"https://pypi.org/pypi/Django/{version}/json"
        request = urllib.request.Request(url)
    else:
        url = "https://api.osv.dev/v1/query"
        body = json.dumps({"package": {"name": "django", "ecosystem": "PyPI"}, "version": version}).encode()
        request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - fixed https URLs  # nosec B310
            json.load(response)
            return None
    except urllib.error.HTTPError as exc:
        return f"{url} answered {exc.code}: it does not know the locked version Django {version}"
    except (OSError, ValueError) as exc:
        return f"{url} is not reachable ({exc.__class__.__name__})"


def main() -> int:
    service = os.environ.get("OKPAY_AUDIT_SERVICE", "pypi")
    if service not in SERVICES:
        print(f"pip-audit: unknown OKPAY_AUDIT_SERVICE {service!r} (pypi or osv)", file=sys.stderr)
        return 2
    reason = probe(service, locked_version("Django"))
    if reason is not None:
        print(f"pip-audit: SKIPPED - no vulnerability data: {reason}. "
              "Run `python scripts/pip_audit.py` where the service answers.")
        return 0
    command = [sys.executable, "-m", "pip_audit", "--requirement", str(ROOT / "constraints.txt"), "--no-deps",
               "--disable-pip", "--strict", "--progress-spinner", "off", "--vulnerability-service", service]
    print("pip-audit:", " ".join(command[1:]), flush=True)
    return subprocess.run(command, check=False).returncode  # noqa: S603  # nosec B603


if __name__ == "__main__":
    sys.exit(main())
