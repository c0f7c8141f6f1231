"""Lighthouse (npm ``lighthouse@12.2.3``, Debian's Chromium) in its default mobile mode over the
pages a customer meets most, on a demo install served by ``okpay serve``; the scores go into
``docs/performance.md`` between the ``lighthouse`` markers (issue 22 item 5). Run by ``make lighthouse``.

    OKPAY_HOME=$(mktemp -d) .venv/bin/python scripts/lighthouse.py [--port 9650] [--modules DIR] [--page NAME ...]

``--page "wallet home"`` (repeatable) measures only those pages and prints their scores without touching
``docs/performance.md`` (a full run takes minutes; while working on one page, measure that one).

Signed-in pages get the session cookie of a demo customer (or agent, with a TOTP step) as a real
cookie in the browser (scripts/lighthouse_run.mjs: Lighthouse's Node API on a puppeteer-core page),
so that the wallet socket connects as it does for a customer."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "lighthouse"  # the full reports, for a person to read (not committed)
PAGES = ["home", "help article", "sign in", "wallet home", "send money", "transaction detail", "checkout",
         "support desk"]
TARGETS = {"performance": 90, "accessibility": 95, "best-practices": 95}


def okpay(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "okpay", *args], check=True, cwd=ROOT)  # noqa: S603


def setup() -> dict[str, str]:
    """Demo data, a checkout to look at, and signed-in sessions (cookie values)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okpay.settings")
    django.setup()
    from django.conf import settings
    from django.test import Client
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from okpay.helpcenter.models import Article
    from okpay.merchants.models import Merchant
    from okpay.merchants.services import intent_create
    from okpay.payments.models import Transaction
    from okpay.web.management.commands.demo import DEMO_PASSWORD

    def session(email: str, *, second_factor: bool = False) -> str:
        client = Client(HTTP_HOST="127.0.0.1")
        client.post("/account/login/", {"email": email, "password": DEMO_PASSWORD})
        if second_factor:
            device = TOTPDevice.objects.get(user__email=email, confirmed=True)
            client.post("/account/login/2fa/", {"code": f"{totp(device.bin_key):06d}"})
        return client.cookies[settings.SESSION_COOKIE_NAME].value

    merchant = Merchant.objects.order_by("pk").first()
    intent = intent_create(merchant=merchant, amount=8_800, description="西湖龙井 250 g")  # type: ignore[arg-type]
    customer = "alice@okpay.example"
    txn = Transaction.objects.filter(user__email=customer).order_by("-pk").first()
    article = Article.objects.order_by("pk").first()
    return {"customer": session(customer), "agent": session("agent@okpay.example", second_factor=True),
            "checkout": f"/checkout/{intent.public_id}/",
            "detail": f"/wallet/transactions/{txn.public_id}/" if txn else "/wallet/transactions/",
            "article": f"/help/{article.slug}/" if article else "/help/"}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=9650)
    parser.add_argument("--modules", default=str(ROOT / ".lighthouse" / "node_modules"),
                        help="node_modules holding lighthouse (and its puppeteer-core)")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--page", action="append", default=[], help="measure only this page (by name; repeatable)")
    args = parser.parse_args()
    if unknown := set(args.page) - set(PAGES):
        parser.error(f"unknown page {sorted(unknown)}; choose from {PAGES}")
    os.environ.setdefault("OKPAY_HOME", tempfile.mkdtemp(prefix="okpay-lighthouse-"))
    okpay("migrate", "--no-input", "-v", "0")
    okpay("demo")
    data = setup()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pages = [("home", "/", None), ("help article", data["article"], None), ("sign in", "/account/login/", None),
             ("wallet home", "/wallet/", "customer"), ("send money", "/wallet/send/", "customer"),
             ("transaction detail", data["detail"], "customer"), ("checkout", data["checkout"], "customer"),
             ("support desk", "/desk/", "agent")]
    if args.page:
        pages = [page for page in pages if page[0] in args.page]
    server = subprocess.Popen([sys.executable, "-m", "okpay", "serve", "--no-migrate", "--port", str(args.port)],  # noqa: S603
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1):  # noqa: S310 - our own server
                    break
            except OSError:
                time.sleep(0.5)
        rows = []
        for name, path, who in pages:
            out = ARTIFACTS / (re.sub(r"\W+", "-", name) + ".json")
            cookie = [f"sessionid={data[who]}"] if who else []
            command = ["node", str(ROOT / "scripts" / "lighthouse_run.mjs"), base + path, str(out), args.chromium,
                       *cookie]
            for _attempt in range(3):  # Lighthouse now and then fails to record a trace (NO_NAVSTART)
                done = subprocess.run(command, check=False, cwd=ROOT,  # noqa: S603
                                      env={**os.environ, "LIGHTHOUSE_MODULES": args.modules})
                if done.returncode == 0:
                    break
            else:
                rows.append((name, path, dict.fromkeys(TARGETS, 0), False))
                continue
            report = json.loads(out.read_text())
            scores = {key: round(report["categories"][key]["score"] * 100) for key in TARGETS}
            final = report.get("finalDisplayedUrl") or report.get("finalUrl", "")
            shown = re.sub(r"_[A-Za-z0-9]{10,}", "_…", path)  # ids change from run to run
            rows.append((name, shown, scores, final.endswith(path)))
            print(name, scores, file=sys.stderr)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:  # open wallet sockets can hold a graceful stop: the scores count
            server.kill()
            server.wait(timeout=20)
    if not args.page:  # only a run over every page rewrites the table
        write(rows)
    return 0 if all(all(s[k] >= t for k, t in TARGETS.items()) and ok for _, _, s, ok in rows) else 1


def write(rows: list[tuple[str, str, dict[str, int], bool]]) -> None:
    lines = ["| page | path | performance | accessibility | best practices |", "| --- | --- | --- | --- | --- |"]
    for name, path, scores, ok in rows:
        lines.append(f"| {name}{'' if ok else ' (failed or redirected)'} | `{path}` | {scores['performance']} | "
                     f"{scores['accessibility']} | {scores['best-practices']} |")
    table = "\n".join(lines)
    doc = ROOT / "docs" / "performance.md"
    text = doc.read_text()
    block = (f"<!-- lighthouse:start -->\n_Lighthouse 12.2.3, mobile (emulated Moto G Power, slow 4G), Debian "
             f"Chromium, `make lighthouse`, {time.strftime('%Y-%m-%d')}. Targets: performance ≥ 90, "
             f"accessibility ≥ 95, best practices ≥ 95._\n\n{table}\n<!-- lighthouse:end -->")
    if "<!-- lighthouse:start -->" in text:
        text = re.sub(r"<!-- lighthouse:start -->.*?<!-- lighthouse:end -->", lambda _m: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n## Lighthouse on a phone profile (issue 22)\n\n" + block + "\n"
    doc.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
