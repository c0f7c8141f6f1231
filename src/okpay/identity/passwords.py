"""Password rules beyond Django's: the seed asks for letters, digits and special characters."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class CharacterClassesValidator:
    """At least one letter, one digit and one symbol (anything that is neither)."""

    def validate(self, password: str, user: Any = None) -> None:
        if not (any(c.isalpha() for c in password) and any(c.isdigit() for c in password)
                and any(not c.isalnum() for c in password)):
            raise ValidationError(_("Use letters, digits and at least one symbol (such as ! # % &)."),
                                  code="password_classes")

    def get_help_text(self) -> str:
        return _("Your password must contain letters, digits and at least one symbol.")


class MaximumLengthValidator:
    def __init__(self, max_length: int = 128) -> None:
        self.max_length = max_length

    def validate(self, password: str, user: Any = None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(_("Use at most %(max)d characters.") % {"max": self.max_length},
                                  code="password_too_long")

    def get_help_text(self) -> str:
        return _("Your password can be up to %(max)d characters long.") % {"max": self.max_length}
