"""The ``okpay`` command: Django's management commands with OKPay's settings.

``okpay serve``, ``okpay worker``, ``okpay demo`` and every Django command
(``okpay migrate``, ``okpay createsuperuser`` ...) run through here.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okpay.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        execute_from_command_line(["okpay", *args])
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"okpay: configuration error: {exc}\n")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
