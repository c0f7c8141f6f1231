"""Docs stay true: the README's configuration table names every OKPAY_* variable the code reads."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INTERNAL_PREFIXES = ("OKPAY_TESTING", "OKPAY_TEST_")  # switches for the test suite itself


def variables_read_by_the_code() -> set[str]:
    found: set[str] = set()
    pattern = re.compile(r"""(?:env_\w+|os\.environ\.get|os\.environ\[|getenv)\(?\s*["'](OKPAY_[A-Z0-9_]+)["']""")
    for path in (ROOT / "src" / "okpay").rglob("*.py"):
        found |= set(pattern.findall(path.read_text()))
    return {name for name in found if not name.startswith(INTERNAL_PREFIXES)}


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = sorted(name for name in variables_read_by_the_code() if f"`{name}`" not in readme)
    assert missing == [], f"add these to the README's configuration table: {missing}"
