"""The fixed cast of the tests (STYLE.md): alice, bob (customers), mallory (outsider), shop
(merchant), agent and supervisor."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.utils import timezone

from okpay.identity.models import User

PASSWORD = "Correct-horse-9-battery"


def user_create(email: str, *, name: str | None = None, role: str = "customer", verified: bool = True,
                **extra: object) -> User:
    user = User.objects.create_user(
        email, PASSWORD, display_name=name or email.split("@")[0].title(),
        email_verified_at=timezone.now() if verified else None, **extra,
    )
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    if role in {"agent", "supervisor", "admin"}:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return user
