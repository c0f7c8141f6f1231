"""``okpay wallet credit --email E --amount N [--currency CNY] [--reason R]``: an operator
adjustment that moves N minor units from the currency's sandbox funding account into the
user's wallet. The operator and the reason are recorded on the transfer and in the audit log,
in the same transaction. (It lives in payments, not in the ledger, because the ledger may not
import the audit app.)"""

from __future__ import annotations

import getpass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from okpay.audit.services import audit_record
from okpay.ledger.errors import LedgerError
from okpay.ledger.models import AccountKind
from okpay.ledger.selectors import account_balance
from okpay.ledger.services import account_open, system_account, transfer_create


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class Command(BaseCommand):
    help = "Wallet operator adjustments: `credit` funds a user's wallet from the sandbox funding account."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        credit = sub.add_parser("credit", help="credit a wallet from the funding account")
        credit.add_argument("--email", required=True)
        credit.add_argument("--amount", type=int, required=True, help="minor units (fen for CNY)")
        credit.add_argument("--currency", default="CNY")
        credit.add_argument("--reason", default="operator adjustment")
        credit.add_argument("--operator", default=None, help="who is doing this (default: the OS user)")
        credit.add_argument("--id", default=None, help="transfer id, to make a retry safe")

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        try:
            user = user_model.objects.get(email__iexact=options["email"].strip())
        except user_model.DoesNotExist:
            raise CommandError(f"no user with email {options['email']!r}") from None
        currency = options["currency"].upper()
        operator = options["operator"] or _operator()
        try:
            with transaction.atomic():
                wallet = account_open(owner=user, kind=AccountKind.WALLET, currency=currency)
                funding = system_account(AccountKind.FUNDING, currency)
                transfer = transfer_create(
                    debit_account=funding, credit_account=wallet, amount=options["amount"], currency=currency,
                    id=options["id"], code="adjustment", actor=f"operator:{operator}"[:150],
                    note=options["reason"][:255],
                )
                audit_record(actor=f"cli:{operator}", action="wallet.credit", target=transfer,
                             detail={"user": user.public_id, "amount": transfer.amount, "currency": currency,
                                     "reason": options["reason"][:255]})
        except LedgerError as exc:
            raise CommandError(f"{exc.code}: {exc}") from None
        balance = account_balance(wallet)
        self.stdout.write(f"credited {transfer.amount} {currency} to {user.email} ({wallet.public_id}) "
                          f"as {transfer.public_id}; available {balance.available}, total {balance.total}")
