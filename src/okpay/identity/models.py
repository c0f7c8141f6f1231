"""Users, API tokens and the outbox of every email OKPay sends."""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from okpay.core.ids import new_id


def new_user_id() -> str:
    return new_id("usr")


def new_token_id() -> str:
    return new_id("tok")


def new_session_id() -> str:
    return new_id("ses")


def new_event_id() -> str:
    return new_id("evt")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("display_name", "Administrator")
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person or a business using OKPay; roles are groups (customer, merchant, agent, ...)."""

    public_id = models.CharField(max_length=32, unique=True, default=new_user_id, editable=False)
    email = models.EmailField(_("email address"), max_length=254, unique=True)
    display_name = models.CharField(_("display name"), max_length=100)
    phone = models.CharField(_("phone number"), max_length=32, blank=True, default="")
    locale = models.CharField(_("language"), max_length=10, default="zh-hans",
                              choices=[("zh-hans", "简体中文"), ("en", "English")])
    email_verified_at = models.DateTimeField(null=True, blank=True)
    phone_verified_at = models.DateTimeField(null=True, blank=True)
    frozen_at = models.DateTimeField(null=True, blank=True)
    frozen_reason = models.CharField(max_length=200, blank=True, default="")
    anti_phishing_code = models.CharField(max_length=32, blank=True, default="")
    password_changed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["display_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def frozen(self) -> bool:
        return self.frozen_at is not None


class ApiToken(models.Model):
    """A bearer token for the API. Only its SHA-256 is stored; the token is shown once."""

    public_id = models.CharField(max_length=32, unique=True, default=new_token_id, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True, default="")

    def __str__(self) -> str:
        return self.public_id

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()


class OutboundEmail(models.Model):
    """One email, written in the transaction that caused it; the worker delivers it."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        STORED = "stored", _("stored (no SMTP configured)")

    from_email = models.CharField(max_length=320)
    to = models.JSONField()
    subject = models.CharField(max_length=998)
    body_text = models.TextField(blank=True, default="")
    body_html = models.TextField(blank=True, default="")
    message = models.BinaryField(help_text="The complete RFC 5322 message as it is sent.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx")]

    def __str__(self) -> str:
        return f"{self.subject} → {', '.join(self.to)}"


class SecurityEvent(models.Model):
    """One line of the customer's "账户活动" (account activity): who did what to the account, from where."""

    class Kind(models.TextChoices):
        REGISTERED = "registered", _("Account created")
        EMAIL_VERIFIED = "email_verified", _("Email address verified")
        LOGIN = "login", _("Signed in")
        LOGIN_FAILED = "login_failed", _("Failed sign-in attempt")
        LOGIN_NEW_DEVICE = "login_new_device", _("Signed in from a new device")
        LOCKED_OUT = "locked_out", _("Sign-in locked after repeated failures")
        LOGOUT = "logout", _("Signed out")
        OTP_FAILED = "otp_failed", _("Wrong two-factor code")
        PASSWORD_CHANGED = "password_changed", _("Password changed")
        PASSWORD_RESET_REQUESTED = "password_reset_requested", _("Password reset requested")
        PASSWORD_RESET = "password_reset", _("Password reset by email link")
        TWO_FACTOR_ENABLED = "2fa_enabled", _("Two-factor authentication turned on")
        TWO_FACTOR_DISABLED = "2fa_disabled", _("Two-factor authentication turned off")
        RECOVERY_CODES_GENERATED = "recovery_codes_generated", _("New recovery codes generated")
        RECOVERY_CODE_USED = "recovery_code_used", _("Recovery code used")
        EMAIL_CHANGE_REQUESTED = "email_change_requested", _("Email change requested")
        EMAIL_CHANGED = "email_changed", _("Email address changed")
        PHONE_CHANGED = "phone_changed", _("Phone number verified")
        PROFILE_CHANGED = "profile_changed", _("Profile updated")
        ANTI_PHISHING_SET = "anti_phishing_set", _("Anti-phishing code changed")
        TOKEN_CREATED = "token_created", _("API token created")
        TOKEN_REVOKED = "token_revoked", _("API token revoked")
        SESSION_REVOKED = "session_revoked", _("Session signed out remotely")
        FROZEN = "frozen", _("Account frozen")
        UNFROZEN = "unfrozen", _("Account unfrozen by support")
        UNLOCKED = "unlocked", _("Sign-in unlocked by support")
        CLOSED = "closed", _("Account closed")

    public_id = models.CharField(max_length=32, unique=True, default=new_event_id, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="security_events")
    kind = models.CharField(max_length=40, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-id"], name="secevent_user_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.user_id} {self.at:%Y-%m-%d %H:%M}"


class UserSession(models.Model):
    """A signed-in browser: the Django session it owns, where it came from, when it was last seen."""

    public_id = models.CharField(max_length=32, unique=True, default=new_session_id, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="web_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True, default="")
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["user", "ended_at"], name="usersession_user_idx")]

    def __str__(self) -> str:
        return self.public_id


class KnownDevice(models.Model):
    """A device that has signed in before (a random device cookie for browsers, the client for the API)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="known_devices")
    device_hash = models.CharField(max_length=64)
    label = models.CharField(max_length=300, blank=True, default="")
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "device_hash"], name="knowndevice_unique")]

    def __str__(self) -> str:
        return self.label


class EmailToken(models.Model):
    """A single-use secret sent by email (verify, reset, change address, "this wasn't me").

    Only the SHA-256 of the token is kept. A newer token of the same purpose, a password change
    and the use of the token itself all set ``used_at``.
    """

    class Purpose(models.TextChoices):
        VERIFY_EMAIL = "verify_email"
        PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose name  # nosec B105
        EMAIL_CHANGE = "email_change"
        FREEZE = "freeze"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="email_tokens")
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    email = models.EmailField(max_length=254, help_text="The address the token was sent to / is for.")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    invalidated_reason = models.CharField(max_length=30, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["user", "purpose", "used_at"], name="emailtoken_user_idx")]

    def __str__(self) -> str:
        return f"{self.purpose} for {self.user_id}"

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()


class RecoveryCode(models.Model):
    """A two-factor recovery code ``iiii-ssss-ssss-ssss``; it works once.

    The first group (``code_id``, 20 bits) only finds the row; the other twelve characters
    (≈ 59 bits) are kept as a salted password hash (Argon2id), as ASVS 6.5.2 asks for lookup
    secrets under 112 bits. One hash is checked per attempt, and attempts are rate-limited."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_id = models.CharField(max_length=8, default="")
    code_hash = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "code_id"], name="recoverycode_id_unique")]

    def __str__(self) -> str:
        return f"recovery code of {self.user_id}"


class PhoneVerification(models.Model):
    """A six-digit code sent by SMS to prove a phone number (hash kept, 10 minutes, 5 tries)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="phone_verifications")
    phone = models.CharField(max_length=32)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.phone} for {self.user_id}"


class OutboundSms(models.Model):
    """The sandbox SMS gateway's outbox (the default backend): readable at /dev/mail/sms/ in debug."""

    to = models.CharField(max_length=32)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"SMS to {self.to}"


class StepUpChallenge(models.Model):
    """A one-time code that confirms one payment for a customer without an authenticator app
    (``okpay.identity.stepup``): sent by SMS to the verified phone, else to the verified email.
    ``binding`` is a keyed hash of the payment (kind, amount, currency, payee, idempotency key):
    the code confirms that payment and no other. Hash kept, short-lived, single-use."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="step_up_challenges")
    binding = models.CharField(max_length=64)
    method = models.CharField(max_length=8)  # sms, email
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "binding"], name="stepup_user_binding")]

    def __str__(self) -> str:
        return f"step-up code for {self.user_id} by {self.method}"
