"""``okpay ledger check`` and ``okpay wallet credit``."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from okpay.ledger.models import Account, PendingHold, Transfer
from okpay.ledger.selectors import account_balance
from okpay.ledger.services import account_open, pending_create, pending_void, system_account, transfer_create


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_wallet_credit_records_operator_and_reason(alice) -> None:
    out = run("wallet", "credit", "--email", "ALICE@example.com", "--amount", "12345", "--reason", "demo data",
              "--operator", "ops-li")
    wallet = Account.objects.get(owner=alice, kind="wallet", currency="CNY")
    assert account_balance(wallet).available == 12_345
    transfer = Transfer.objects.get(credit_account=wallet)
    assert (transfer.code, transfer.actor, transfer.note) == ("adjustment", "operator:ops-li", "demo data")
    assert transfer.debit_account_id == system_account("funding", "CNY").pk
    assert "credited 12345 CNY to alice@example.com" in out
    from okpay.audit.models import AuditRecord

    record = AuditRecord.objects.get(action="wallet.credit")
    assert (record.actor, record.target_id) == ("cli:ops-li", transfer.public_id)
    assert record.detail["amount"] == 12_345
    assert record.detail["reason"] == "demo data"


def test_wallet_credit_refuses_unknown_users_and_bad_amounts(alice) -> None:
    with pytest.raises(CommandError, match="no user"):
        run("wallet", "credit", "--email", "nobody@example.com", "--amount", "1")
    with pytest.raises(CommandError, match="invalid_transfer"):
        run("wallet", "credit", "--email", alice.email, "--amount", "0")
    assert not Transfer.objects.exists()


def test_wallet_credit_with_an_id_is_safe_to_retry(alice) -> None:
    for _ in range(2):
        run("wallet", "credit", "--email", alice.email, "--amount", "500", "--currency", "USD", "--id", "seed-1")
    usd = Account.objects.get(owner=alice, currency="USD")
    assert account_balance(usd).total == 500


def test_ledger_check_passes_on_a_sound_ledger(alice, bob) -> None:
    a, b = account_open(owner=alice), account_open(owner=bob)
    transfer_create(debit_account=system_account("funding"), credit_account=a, amount=1_000, currency="CNY")
    transfer_create(debit_account=a, credit_account=b, amount=300, currency="CNY")
    pending_void(pending_id=pending_create(debit_account=a, credit_account=b, amount=100, currency="CNY"))
    pending_create(debit_account=b, credit_account=a, amount=50, currency="CNY")
    out = run("ledger", "check")
    assert "accounts: 3  transfers: 5  open holds: 1" in out
    assert "CNY: 3 accounts, posted 1300, pending 50, funding account balance -1000" in out
    assert "ledger check passed" in out


@pytest.mark.parametrize("tamper", ["counter", "sum", "hold", "currency"])
def test_ledger_check_fails_on_any_violation(alice, bob, tamper: str) -> None:
    a, b = account_open(owner=alice), account_open(owner=bob)
    funding = system_account("funding")
    transfer_create(debit_account=funding, credit_account=a, amount=1_000, currency="CNY")
    hold = pending_create(debit_account=a, credit_account=b, amount=100, currency="CNY")
    with connection.cursor() as cursor:
        if tamper == "counter":  # a counter that its transfers do not explain (sums stay balanced)
            cursor.execute("UPDATE ledger_account SET credits_posted = credits_posted + 5 WHERE id = %s", [b.pk])
            cursor.execute("UPDATE ledger_account SET debits_posted = debits_posted + 5 WHERE id = %s", [funding.pk])
        elif tamper == "sum":
            cursor.execute("UPDATE ledger_account SET credits_posted = credits_posted + 5 WHERE id = %s", [b.pk])
        elif tamper == "hold":
            cursor.execute("DELETE FROM ledger_pendinghold WHERE transfer_id = %s", [hold.pk])
        else:
            cursor.execute("UPDATE ledger_transfer SET currency = 'USD' WHERE id = %s", [hold.pk])
    err = StringIO()
    with pytest.raises(CommandError) as info:
        call_command("ledger", "check", stdout=StringIO(), stderr=err)
    assert info.value.returncode == 1
    assert "VIOLATION" in err.getvalue()


def test_ledger_expire_command(alice, bob) -> None:
    a, b = account_open(owner=alice), account_open(owner=bob)
    transfer_create(debit_account=system_account("funding"), credit_account=a, amount=1_000, currency="CNY")
    hold = pending_create(debit_account=a, credit_account=b, amount=100, currency="CNY", timeout=1)
    Transfer.objects.filter(pk=hold.pk).update(expires_at=hold.created_at)
    PendingHold.objects.filter(pk=hold.pk).update(expires_at=hold.created_at)
    assert "expired 1 pending transfer(s)" in run("ledger", "expire")
    assert account_balance(a).available == 1_000


def test_admin_shows_the_ledger_read_only(admin_client, alice) -> None:
    run("wallet", "credit", "--email", alice.email, "--amount", "100")
    transfer = Transfer.objects.get()
    for model in ("account", "transfer", "pendinghold"):
        response = admin_client.get(f"/admin/ledger/{model}/")
        assert response.status_code == 200
    assert transfer.public_id in admin_client.get("/admin/ledger/transfer/").content.decode()
    assert admin_client.get("/admin/ledger/transfer/add/").status_code == 403
    assert admin_client.post(f"/admin/ledger/transfer/{transfer.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Transfer.objects.count() == 1
