"""``okpay demo``: load the demo cast (idempotent) and print their logins."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from okpay.identity.models import User
from okpay.identity.services import totp_secret

DEMO_PASSWORD = "OKPay-demo-2026!"  # noqa: S105 - printed for the demo cast, on purpose  # nosec B105
ROLES = ("customer", "merchant", "agent", "supervisor", "admin")


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    role: str
    locale: str = "zh-hans"


CAST = (
    DemoUser("alice@okpay.example", "Alice 王", "customer"),
    DemoUser("bob@okpay.example", "Bob 李", "customer", "en"),
    DemoUser("shop@okpay.example", "Demo Shop 示例商店", "merchant"),
    DemoUser("agent@okpay.example", "Agent 客服小张", "agent"),
    DemoUser("supervisor@okpay.example", "Supervisor 主管", "supervisor"),
    DemoUser("admin@okpay.example", "Operator 运维", "admin", "en"),
)


class Command(BaseCommand):
    help = "Load demo data (customers, a merchant, an agent, a supervisor, an operator). Safe to run again."

    def handle(self, *args: object, **options: object) -> None:
        staff_devices: list[tuple[DemoUser, TOTPDevice]] = []
        with transaction.atomic():
            groups = {name: Group.objects.get_or_create(name=name)[0] for name in ROLES}
            for member in CAST:
                user, created = User.objects.get_or_create(
                    email=member.email,
                    defaults={"display_name": member.name, "locale": member.locale,
                              "email_verified_at": timezone.now()},
                )
                if created or not user.check_password(DEMO_PASSWORD):
                    user.set_password(DEMO_PASSWORD)
                user.is_staff = member.role in {"agent", "supervisor", "admin"}
                user.is_superuser = member.role == "admin"
                user.save()
                user.groups.add(groups[member.role])
                if user.is_staff:  # staff always have a second factor (okpay.identity.staff): one per member, kept
                    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
                    staff_devices.append((member, device or TOTPDevice.objects.create(
                        user=user, name="demo authenticator", confirmed=True)))
        # --- payments (okpay.payments): sandbox billers, alice's and bob's starting balances ---
        from okpay.payments.demo import payments_demo

        for line in payments_demo():
            self.stdout.write(f"  payments: {line}")
        # --- end payments ---
        # --- merchants (okpay.merchants): the demo shop's merchant profile (/demo-shop/, /merchant/) ---
        from okpay.merchants.demo import merchants_demo

        for line in merchants_demo():
            self.stdout.write(f"  merchants: {line}")
        # --- end merchants ---
        call_command("helpcenter", "load", stdout=self.stdout)
        # --- support (okpay.support): a few tickets for the desk, after the help centre ---
        from okpay.support.demo import support_demo

        for line in support_demo():
            self.stdout.write(f"  support: {line}")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD})")
        width = max(len(member.email) for member in CAST)
        for member in CAST:
            self.stdout.write(f"  {member.role:<11} {member.email:<{width}}  {member.name}")
        self.stdout.write("Staff sign in with a second factor too: add each secret to an authenticator app "
                          "(or scan the otpauth link), or print the current code with `oathtool --totp -b SECRET`.")
        for member, device in staff_devices:
            self.stdout.write(f"  {member.role:<11} {member.email:<{width}}  TOTP secret {totp_secret(device)}")
            self.stdout.write(f"  {'':<11} {'':<{width}}  {device.config_url}")
