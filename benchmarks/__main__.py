"""``python -m benchmarks [name ...]``: run the benchmarks and write docs/performance.md."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import platform
import sys
import time
from pathlib import Path

from benchmarks.report import Report

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmark modules to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="shorter runs, for a smoke test")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite docs/performance.md")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okpay.settings")
    names = args.names or sorted(
        info.name for info in pkgutil.iter_modules([str(ROOT / "benchmarks")])
        if info.name not in {"report", "util"} and not info.name.startswith("_")
    )
    report = Report(quick=args.quick)
    report.machine = (f"{platform.node()} · {os.cpu_count()} CPUs · Python {platform.python_version()}"
                      f" · {platform.platform()}")
    started = time.time()
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"== {name}", flush=True)
        module.main(report)
    report.elapsed = time.time() - started
    print(report.render_text())
    if not args.no_write and not args.names:
        (ROOT / "docs" / "performance.md").write_text(report.render_markdown())
        print("wrote docs/performance.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
