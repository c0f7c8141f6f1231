"""Check translations: every app's zh_Hans and en catalogues compile, have no untranslated or
fuzzy zh_Hans entry, and the committed .mo files match their .po files.

Run by ``make lint``. Fix with ``scripts/compile_messages.sh``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "src" / "okpay"


def main() -> int:
    problems: list[str] = []
    catalogues = sorted(ROOT.glob("*/locale/*/LC_MESSAGES/django.po"))
    for po in catalogues:
        mo = po.with_suffix(".mo")
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / "django.mo"
            result = subprocess.run(  # noqa: S603
                ["msgfmt", "--check", "--statistics", "-o", str(fresh), str(po)],  # noqa: S607
                capture_output=True, text=True, check=False,
            )
            if result.returncode != 0:
                problems.append(f"{po}: msgfmt failed: {result.stderr.strip()}")
                continue
            stats = result.stderr.strip()
            if "zh_Hans" in po.parts and ("untranslated" in stats or "fuzzy" in stats):
                problems.append(f"{po}: {stats}")
            if not mo.exists() or mo.read_bytes() != fresh.read_bytes():
                problems.append(f"{mo}: out of date; run scripts/compile_messages.sh")
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"translations: {len(catalogues)} catalogues OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
