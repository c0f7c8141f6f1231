"""``okpay users create|unlock|signout|reset-2fa|unfreeze``: operator commands on accounts, each audited."""

from __future__ import annotations

import argparse
import getpass
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from okpay.core.errors import OkpayError
from okpay.identity import services
from okpay.identity.models import User


def _operator() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"cli:{name}"[:80]


class Command(BaseCommand):
    help = "Manage user accounts (every action is written to the audit log)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create an account")
        create.add_argument("--email", required=True)
        create.add_argument("--password", required=True)
        create.add_argument("--name", default="")
        create.add_argument("--verified", action="store_true", help="mark the email address as verified")
        create.add_argument("--role", default="customer", choices=services.ROLES)
        unlock = sub.add_parser("unlock", help="lift a sign-in lockout (failed attempts) for an address")
        unlock.add_argument("--email", required=True)
        signout = sub.add_parser("signout", help="end every session and API token of one user, or of everybody")
        who = signout.add_mutually_exclusive_group(required=True)
        who.add_argument("--email")
        who.add_argument("--all", action="store_true")
        reset = sub.add_parser("reset-2fa", help="remove 2FA of a customer who lost it (support has checked identity)")
        reset.add_argument("--email", required=True)
        reset.add_argument("--agent", required=True, help="email of the agent or supervisor who checked identity")
        reset.add_argument("--reason", required=True)
        unfreeze = sub.add_parser("unfreeze", help="unfreeze an account on behalf of a support agent")
        unfreeze.add_argument("--email", required=True)
        unfreeze.add_argument("--agent", required=True, help="email of the agent or supervisor who decided")
        unfreeze.add_argument("--reason", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "create":
                user = services.user_create(email=options["email"], password=options["password"],
                                            name=options["name"], verified=options["verified"],
                                            role=options["role"], actor=_operator())
                self.stdout.write(f"created {user.public_id} {user.email} ({options['role']})")
            elif action == "unlock":
                removed = services.user_unlock(email=options["email"], actor=_operator())
                self.stdout.write(f"unlocked {options['email']} ({removed} failed-attempt records cleared)")
            elif action == "signout":
                count = services.sessions_terminate_by_operator(email=None if options["all"] else options["email"],
                                                                actor=_operator())
                self.stdout.write(f"signed out {count} sessions and tokens")
            elif action in {"unfreeze", "reset-2fa"}:
                user = User.objects.filter(email__iexact=options["email"]).first()
                agent = User.objects.filter(email__iexact=options["agent"]).first()
                if user is None or agent is None:
                    raise CommandError("no such user or agent")
                if action == "unfreeze":
                    services.account_unfreeze(user=user, actor=agent, reason=options["reason"])
                else:
                    services.two_factor_reset_by_support(user=user, actor=agent, reason=options["reason"])
                self.stdout.write(f"{action} {user.email} by {agent.email}: done")
        except OkpayError as exc:
            raise CommandError(exc.message) from None
