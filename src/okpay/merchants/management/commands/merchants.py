"""``okpay merchants create|applications|approve|reject|keys create``: operator commands on merchants,
each audited (``okpay.merchants.applications``)."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from okpay.core.errors import OkpayError
from okpay.identity.management.commands.users import _operator
from okpay.merchants import applications
from okpay.merchants.models import MerchantApplication


class Command(BaseCommand):
    help = "Manage merchants: make one, review applications, create API keys (every action is audited)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="give an existing account a merchant profile")
        create.add_argument("--email", required=True)
        create.add_argument("--name", required=True, help="the business name customers see")
        sub.add_parser("applications", help="list the applications waiting for review")
        approve = sub.add_parser("approve", help="approve an application (the account becomes a merchant)")
        which = approve.add_mutually_exclusive_group(required=True)
        which.add_argument("--id", help="mapp_…")
        which.add_argument("--email", help="the applicant's account; its waiting application")
        reject = sub.add_parser("reject", help="reject an application, with the reason the applicant reads")
        reject.add_argument("--id", required=True, help="mapp_…")
        reject.add_argument("--reason", required=True)
        keys = sub.add_parser("keys", help="API keys")
        keys_sub = keys.add_subparsers(dest="keys_action", required=True)
        key_create = keys_sub.add_parser("create", help="create a key; a secret key is printed once")
        key_create.add_argument("--email", required=True)
        key_create.add_argument("--publishable", action="store_true", help="a publishable key (pk_…)")
        key_create.add_argument("--name", default="cli")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "create":
                merchant = applications.merchant_create_by_operator(email=options["email"], name=options["name"],
                                                                    actor=_operator())
                self.stdout.write(f"merchant {merchant.public_id} {merchant.name} ({options['email']})")
            elif action == "applications":
                waiting = MerchantApplication.objects.filter(status="pending").select_related("user")
                for a in waiting.order_by("created_at"):
                    self.stdout.write(f"{a.public_id}\t{a.user.email}\t{a.business_name}\t{a.website}\t"
                                      f"{a.created_at:%Y-%m-%d %H:%M}")
            elif action == "approve":
                application_id = options["id"] or self._waiting(options["email"])
                merchant = applications.merchant_application_approve(application_id=application_id,
                                                                     actor=_operator())
                self.stdout.write(f"approved {application_id}: merchant {merchant.public_id} {merchant.name}")
            elif action == "reject":
                applications.merchant_application_reject(application_id=options["id"], actor=_operator(),
                                                         reason=options["reason"])
                self.stdout.write(f"rejected {options['id']}")
            elif action == "keys":
                raw, key = applications.api_key_create_by_operator(
                    email=options["email"], publishable=options["publishable"], actor=_operator(),
                    name=options["name"])
                self.stdout.write(raw)
                if key.kind == "secret":
                    self.stderr.write("This secret key is shown once; OKPay keeps only its hash.")
        except OkpayError as exc:
            raise CommandError(str(exc.message)) from None

    def _waiting(self, email: str) -> str:
        found = (MerchantApplication.objects.filter(user__email__iexact=email.strip(), status="pending")
                 .values_list("public_id", flat=True).first())
        if found is None:
            raise CommandError(f"no application of {email} is waiting for review")
        return found
