"""Django settings for OKPay, read from ``OKPAY_*`` environment variables only.

The README's configuration table lists every variable. There is one settings module: tests,
development and production differ only in their environment.
"""

from __future__ import annotations

import os
import re
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from okpay.conf import (
    email_settings,
    env_bool,
    env_int,
    env_list,
    env_str,
    env_url,
    media_storage,
    postgres_database,
    secret_key,
)

PACKAGE_DIR = Path(__file__).resolve().parent
OKPAY_HOME = Path(env_str("OKPAY_HOME") or os.getcwd()).resolve()
VAR_DIR = OKPAY_HOME / "var"

DEBUG = env_bool("OKPAY_DEBUG", False)
TESTING = "pytest" in sys.modules or env_bool("OKPAY_TESTING", False)
SECRET_KEY = secret_key(VAR_DIR)
ALLOWED_HOSTS = env_list("OKPAY_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
OKPAY_BASE_URL = env_url("OKPAY_BASE_URL", schemes=("http", "https")) or "http://127.0.0.1:8000"
OKPAY_BASE_URL = OKPAY_BASE_URL.rstrip("/")
# A deployment behind TLS (the base URL is https) gets secure cookies and HSTS.
SECURE = OKPAY_BASE_URL.startswith("https://")

INSTALLED_APPS = [
    "okpay.identity.admin_site.StaffAdminConfig",  # django.contrib.admin, signed in with a second factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "okpay.core",
    "okpay.audit",
    "okpay.ledger",
    "okpay.identity",
    "okpay.helpcenter",
    "okpay.payments",
    "okpay.merchants",
    "okpay.support",
    "okpay.mailbox",
    "okpay.chat",
    "okpay.hotline",
    "okpay.social",
    "okpay.api",
    "okpay.web",
]

MIDDLEWARE = [
    "okpay.core.middleware.RequestIdMiddleware",
    "okpay.api.errors.ApiEnvelopeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "okpay.core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "okpay.identity.middleware.SessionSecurityMiddleware",
    "okpay.identity.middleware.StaffSecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "okpay.urls"
WSGI_APPLICATION = "okpay.wsgi.application"
ASGI_APPLICATION = "okpay.asgi.application"
AUTH_USER_MODEL = "identity.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "okpay.web.context_processors.site",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------------
_database_url = env_url("OKPAY_DATABASE_URL", schemes=("postgres", "postgresql", "sqlite"))
# Behind pgbouncer in pool_mode = transaction (docs/deploy.md): no server-side cursors (a WITH HOLD
# cursor outlives its transaction) and no prepared statements (psycopg's prepare_threshold stays None).
OKPAY_DB_TRANSACTION_POOLING = env_bool("OKPAY_DB_TRANSACTION_POOLING", False)
# Read replicas (okpay.core.replicas): reads that may lag go to the first healthy one.
OKPAY_DATABASE_REPLICA_URLS = env_list("OKPAY_DATABASE_REPLICA_URLS", [])
OKPAY_REPLICA_MAX_LAG_SECONDS = env_int("OKPAY_REPLICA_MAX_LAG_SECONDS", 5, minimum=1, maximum=3600)
OKPAY_REPLICA_PIN_SECONDS = env_int("OKPAY_REPLICA_PIN_SECONDS", 10, minimum=0, maximum=3600)


def _postgres(url: str, name: str) -> dict[str, object]:
    db = postgres_database(url, name=name)
    db["CONN_MAX_AGE"] = 0  # the pool below keeps connections; see PERFORMANCE.md
    # With the pool this makes psycopg_pool check a connection before handing it out: after a
    # database restart or a failover the dead ones are replaced instead of failing a request.
    db["CONN_HEALTH_CHECKS"] = True
    db["DISABLE_SERVER_SIDE_CURSORS"] = OKPAY_DB_TRANSACTION_POOLING
    db["OPTIONS"] = {
        "pool": {
            "min_size": env_int("OKPAY_DB_POOL_MIN", 1, minimum=0, maximum=100),
            "max_size": env_int("OKPAY_DB_POOL_MAX", 20, minimum=1, maximum=500),
            "timeout": 10,
        },
        "application_name": "okpay",
        **db["OPTIONS"],  # type: ignore[dict-item]
    }
    if OKPAY_DB_TRANSACTION_POOLING:
        db["OPTIONS"]["prepare_threshold"] = None  # type: ignore[index]
    return db


DATABASE_ROUTERS: list[str] = []
_replicas: dict[str, dict[str, object]] = {}
if _database_url.startswith(("postgres://", "postgresql://")):
    _db = _postgres(_database_url, "OKPAY_DATABASE_URL")
    _replicas = {f"replica{i}": _postgres(url, "OKPAY_DATABASE_REPLICA_URLS")
                 for i, url in enumerate(OKPAY_DATABASE_REPLICA_URLS, 1)}
    for _replica in _replicas.values():
        _replica["TEST"] = {"MIRROR": "default"}
        # A replica that is down must cost a reader little: give up on it quickly (then the primary).
        _replica["OPTIONS"]["pool"]["timeout"] = 2  # type: ignore[index]
        _replica["OPTIONS"].setdefault("connect_timeout", 2)  # type: ignore[attr-defined]
    if _replicas:
        DATABASE_ROUTERS = ["okpay.core.replicas.ReplicaRouter"]
        MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware") + 1,
                          "okpay.core.replicas.ReplicaPinMiddleware")
elif OKPAY_DATABASE_REPLICA_URLS:
    raise ImproperlyConfigured("OKPAY_DATABASE_REPLICA_URLS needs a PostgreSQL OKPAY_DATABASE_URL")
else:
    _sqlite_path = (
        Path(dj_database_url.parse(_database_url)["NAME"]).resolve()
        if _database_url
        else VAR_DIR / "okpay.sqlite3"
    )
    _sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    _db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(_sqlite_path),
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": env_int("OKPAY_SQLITE_BUSY_TIMEOUT", 20, minimum=1, maximum=600),
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=FULL;"
                "PRAGMA foreign_keys=ON;"
                f"PRAGMA busy_timeout={env_int('OKPAY_SQLITE_BUSY_TIMEOUT', 20) * 1000};"
            ),
        },
        "CONN_MAX_AGE": None,  # one connection per thread, kept: opening SQLite runs the PRAGMAs
        "CONN_HEALTH_CHECKS": True,
        # Tests that run several processes need a file, not an in-memory database.
        "TEST": {"NAME": str(_sqlite_path.with_name(_sqlite_path.stem + "-test.sqlite3"))},
    }
DATABASES = {"default": _db, **_replicas}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache ---------------------------------------------------------------
OKPAY_REDIS_URL = env_url("OKPAY_REDIS_URL", schemes=("redis", "rediss", "unix"))
if OKPAY_REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "okpay.core.channel_layer.RedisChannelLayer",  # channels-redis, a pool that waits
            "CONFIG": {"hosts": [OKPAY_REDIS_URL], "prefix": "okpay", "max_connections": 100},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": OKPAY_REDIS_URL,
            "KEY_PREFIX": "okpay",
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Background work ---------------------------------------------------------------------------
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "email"]}}
OKPAY_WORKER_INTERVAL = env_int("OKPAY_WORKER_INTERVAL", 1, minimum=1, maximum=60)

# --- Ledger ------------------------------------------------------------------------------------
# How many times a ledger write that owns its transaction is retried after a lock timeout,
# deadlock or serialization failure before it answers ledger_busy.
OKPAY_LEDGER_RETRIES = env_int("OKPAY_LEDGER_RETRIES", 8, minimum=0, maximum=100)

# --- Payments (okpay.payments) ----------------------------------------------------------------
# Amounts in minor units. Limits per account level (unverified email / verified email / verified
# phone): per transaction and per day, for money leaving the wallet.
OKPAY_CURRENCIES = env_list("OKPAY_CURRENCIES", ["CNY"])
OKPAY_LIMIT_EMAIL_PER_TXN = env_int("OKPAY_LIMIT_EMAIL_PER_TXN", 500_000, minimum=1)
OKPAY_LIMIT_EMAIL_DAILY = env_int("OKPAY_LIMIT_EMAIL_DAILY", 2_000_000, minimum=1)
OKPAY_LIMIT_PHONE_PER_TXN = env_int("OKPAY_LIMIT_PHONE_PER_TXN", 5_000_000, minimum=1)
OKPAY_LIMIT_PHONE_DAILY = env_int("OKPAY_LIMIT_PHONE_DAILY", 20_000_000, minimum=1)
OKPAY_TOPUP_MAX = env_int("OKPAY_TOPUP_MAX", 5_000_000, minimum=1)
# Risk review: transfers from this amount, first transfers to a new recipient from this amount,
# and more than this many transfers in an hour wait for a supervisor (or expire after the hours).
OKPAY_RISK_REVIEW_AMOUNT = env_int("OKPAY_RISK_REVIEW_AMOUNT", 1_000_000, minimum=1)
OKPAY_RISK_NEW_RECIPIENT_AMOUNT = env_int("OKPAY_RISK_NEW_RECIPIENT_AMOUNT", 300_000, minimum=1)
OKPAY_RISK_VELOCITY_PER_HOUR = env_int("OKPAY_RISK_VELOCITY_PER_HOUR", 20, minimum=1)
OKPAY_RISK_REVIEW_HOURS = env_int("OKPAY_RISK_REVIEW_HOURS", 24, minimum=1)
OKPAY_CLAIM_DAYS = env_int("OKPAY_CLAIM_DAYS", 7, minimum=1, maximum=90)
# Sandbox bank and billers: seconds until a request is handed over (no cancelling after that),
# seconds until it settles, and the share of withdrawals the sandbox bank refuses.
OKPAY_WITHDRAWAL_SUBMIT_SECONDS = env_int("OKPAY_WITHDRAWAL_SUBMIT_SECONDS", 60, minimum=0)
OKPAY_WITHDRAWAL_SETTLE_SECONDS = env_int("OKPAY_WITHDRAWAL_SETTLE_SECONDS", 120, minimum=0)
OKPAY_WITHDRAWAL_FAILURE_PERCENT = env_int("OKPAY_WITHDRAWAL_FAILURE_PERCENT", 2, minimum=0, maximum=100)
OKPAY_BILL_SUBMIT_SECONDS = env_int("OKPAY_BILL_SUBMIT_SECONDS", 30, minimum=0)
OKPAY_BILL_CONFIRM_SECONDS = env_int("OKPAY_BILL_CONFIRM_SECONDS", 60, minimum=0)

# --- Email -------------------------------------------------------------------------------------
# Every email goes to the outbox table in the transaction that causes it; the worker delivers it
# over SMTP when OKPAY_EMAIL_URL is set. Without it, mail stays in the outbox (see /dev/mail).
EMAIL_BACKEND = "okpay.identity.mail.OutboxBackend"
OKPAY_EMAIL_URL = env_url("OKPAY_EMAIL_URL", schemes=("smtp", "smtps"))
if OKPAY_EMAIL_URL:
    globals().update(email_settings(OKPAY_EMAIL_URL))
DEFAULT_FROM_EMAIL = env_str("OKPAY_FROM_EMAIL") or "OKPay <no-reply@okpay.example>"
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Service channels (the seed's 如何联系OKPay钱包官网客服) -------------------------------------
OKPAY_SUPPORT_EMAIL = env_str("OKPAY_SUPPORT_EMAIL") or "support@okpay.example"
OKPAY_HOTLINE = env_str("OKPAY_HOTLINE") or "+86 400-800-6578"
OKPAY_HOTLINE_HOURS = env_str("OKPAY_HOTLINE_HOURS") or "24x7"
# Help centre: the official web domains (the verifier treats them and their subdomains as
# official) and social accounts as "platform:handle" (telegram, wechat, weibo, x).
OKPAY_OFFICIAL_DOMAINS = env_list("OKPAY_OFFICIAL_DOMAINS", ["okpay.example"])
OKPAY_SOCIAL_ACCOUNTS = env_list(
    "OKPAY_SOCIAL_ACCOUNTS", ["wechat:OKPayWallet", "telegram:OKPayOfficial", "weibo:OKPayOfficial"]
)
OKPAY_VERIFY_RATE_PER_MINUTE = env_int("OKPAY_VERIFY_RATE_PER_MINUTE", 20, minimum=1, maximum=10000)

# --- Support desk (okpay.support) -------------------------------------------------------------
# Agent actions on money above this amount (minor units) wait for a supervisor (four-eyes).
OKPAY_SUPPORT_FOUR_EYES_AMOUNT = env_int("OKPAY_SUPPORT_FOUR_EYES_AMOUNT", 100_000, minimum=0)
OKPAY_SUPPORT_ATTACHMENT_MAX_BYTES = env_int("OKPAY_SUPPORT_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)
# A solved ticket reopens on a customer reply within these days; later replies open a follow-up.
OKPAY_SUPPORT_REOPEN_DAYS = env_int("OKPAY_SUPPORT_REOPEN_DAYS", 7, minimum=1, maximum=90)
# The complaint rule: a complaint is resolved within these hours at the latest.
OKPAY_SUPPORT_COMPLAINT_RESOLUTION_HOURS = env_int("OKPAY_SUPPORT_COMPLAINT_RESOLUTION_HOURS", 72, minimum=1)
# Staffing the promise (supervisor dashboard, okpay.support.staffing): the service level (percent
# answered within the target) chat, phone and social are staffed for; each channel's answer target
# and average handle time; chats one agent holds at once; the email promise in hours (backlog
# model); the highest occupancy planned; shrinkage (breaks, training: percent of rostered time off
# the queue); the days of history the forecast uses.
OKPAY_STAFFING_SERVICE_LEVEL = env_int("OKPAY_STAFFING_SERVICE_LEVEL", 80, minimum=50, maximum=99)
OKPAY_STAFFING_CHAT_TARGET_SECONDS = env_int("OKPAY_STAFFING_CHAT_TARGET_SECONDS", 60, minimum=1)
OKPAY_STAFFING_CHAT_AHT_SECONDS = env_int("OKPAY_STAFFING_CHAT_AHT_SECONDS", 420, minimum=1)
OKPAY_STAFFING_CHAT_CONCURRENCY = env_int("OKPAY_STAFFING_CHAT_CONCURRENCY", 2, minimum=1, maximum=10)
OKPAY_STAFFING_PHONE_TARGET_SECONDS = env_int("OKPAY_STAFFING_PHONE_TARGET_SECONDS", 20, minimum=1)
OKPAY_STAFFING_PHONE_AHT_SECONDS = env_int("OKPAY_STAFFING_PHONE_AHT_SECONDS", 300, minimum=1)
OKPAY_STAFFING_SOCIAL_TARGET_SECONDS = env_int("OKPAY_STAFFING_SOCIAL_TARGET_SECONDS", 900, minimum=1)
OKPAY_STAFFING_SOCIAL_AHT_SECONDS = env_int("OKPAY_STAFFING_SOCIAL_AHT_SECONDS", 240, minimum=1)
OKPAY_STAFFING_EMAIL_TARGET_HOURS = env_int("OKPAY_STAFFING_EMAIL_TARGET_HOURS", 24, minimum=1, maximum=168)
OKPAY_STAFFING_EMAIL_AHT_SECONDS = env_int("OKPAY_STAFFING_EMAIL_AHT_SECONDS", 480, minimum=1)
OKPAY_STAFFING_MAX_OCCUPANCY = env_int("OKPAY_STAFFING_MAX_OCCUPANCY", 85, minimum=10, maximum=100)
OKPAY_STAFFING_SHRINKAGE = env_int("OKPAY_STAFFING_SHRINKAGE", 30, minimum=0, maximum=90)
OKPAY_STAFFING_HISTORY_DAYS = env_int("OKPAY_STAFFING_HISTORY_DAYS", 28, minimum=1, maximum=366)

# --- Support mailbox (okpay.mailbox: `okpay smtpd`, `okpay ingest-email`) -------------------------
# The addresses whose mail becomes tickets (smtpd refuses other recipients); the server's address;
# the largest message (refused at SMTP level above it); messages one sender may send an hour; the
# authserv-id of the receiving MTA whose topmost Authentication-Results we trust (empty: none, so no
# email proves its sender; `check --deploy` warns).
OKPAY_MAIL_ADDRESSES = env_list("OKPAY_MAIL_ADDRESSES", [OKPAY_SUPPORT_EMAIL])
OKPAY_SMTPD_HOST = env_str("OKPAY_SMTPD_HOST") or "127.0.0.1"
OKPAY_SMTPD_PORT = env_int("OKPAY_SMTPD_PORT", 2525, minimum=1, maximum=65535)
OKPAY_MAIL_MAX_BYTES = env_int("OKPAY_MAIL_MAX_BYTES", 20 * 1024 * 1024, minimum=10 * 1024)
OKPAY_MAIL_SENDER_LIMIT = env_int("OKPAY_MAIL_SENDER_LIMIT", 30, minimum=1, maximum=100_000)
OKPAY_MAIL_AUTHSERV_ID = env_str("OKPAY_MAIL_AUTHSERV_ID")

# --- Phone hotline (okpay.hotline) ---------------------------------------------------------------
# The phone system (CTI) signs its call reports with this shared secret (unset: the webhook refuses
# everything); a signature older or newer than the tolerance is refused (replay window).
OKPAY_CTI_SECRET = env_str("OKPAY_CTI_SECRET")
OKPAY_CTI_TOLERANCE_SECONDS = env_int("OKPAY_CTI_TOLERANCE_SECONDS", 300, minimum=10, maximum=3600)

# --- Social media (okpay.social) ------------------------------------------------------------------
# Telegram bot: its token (for sendMessage) and the secret_token given to setWebhook, which Telegram
# sends back in X-Telegram-Bot-Api-Secret-Token (unset: the webhook refuses everything).
OKPAY_TELEGRAM_BOT_TOKEN = env_str("OKPAY_TELEGRAM_BOT_TOKEN")
OKPAY_TELEGRAM_SECRET_TOKEN = env_str("OKPAY_TELEGRAM_SECRET_TOKEN")
if OKPAY_TELEGRAM_SECRET_TOKEN and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", OKPAY_TELEGRAM_SECRET_TOKEN):
    raise ImproperlyConfigured("OKPAY_TELEGRAM_SECRET_TOKEN must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
OKPAY_TELEGRAM_API_URL = env_str("OKPAY_TELEGRAM_API_URL") or "https://api.telegram.org"
# WeChat Official Account: the server token (signature of the echo handshake and of every push),
# the AppID and AppSecret (access_token for customer-service messages) and the API base URL.
OKPAY_WECHAT_TOKEN = env_str("OKPAY_WECHAT_TOKEN")
OKPAY_WECHAT_APPID = env_str("OKPAY_WECHAT_APPID")
OKPAY_WECHAT_APPSECRET = env_str("OKPAY_WECHAT_APPSECRET")
OKPAY_WECHAT_API_URL = env_str("OKPAY_WECHAT_API_URL") or "https://api.weixin.qq.com"
# Safe mode (recommended): the 43-character EncodingAESKey; pushes must then be AES-encrypted and
# signed over the body (msg_signature). Unset: plaintext mode (signature, time window and nonce only).
OKPAY_WECHAT_ENCODING_AES_KEY = env_str("OKPAY_WECHAT_ENCODING_AES_KEY")
if OKPAY_WECHAT_ENCODING_AES_KEY and not re.fullmatch(r"[A-Za-z0-9+/]{43}", OKPAY_WECHAT_ENCODING_AES_KEY):
    raise ImproperlyConfigured("OKPAY_WECHAT_ENCODING_AES_KEY must be the 43-character EncodingAESKey "
                               "(A-Z, a-z, 0-9, + and /) shown in the Official Account's settings")
# Other platforms: a signed JSON webhook in (/hooks/social/<platform>) and signed replies out.
OKPAY_SOCIAL_WEBHOOK_SECRET = env_str("OKPAY_SOCIAL_WEBHOOK_SECRET")
OKPAY_SOCIAL_REPLY_URL = env_str("OKPAY_SOCIAL_REPLY_URL")
OKPAY_SOCIAL_TIMEOUT = env_int("OKPAY_SOCIAL_TIMEOUT", 10, minimum=1, maximum=120)

# --- Live chat (okpay.chat) ------------------------------------------------------------------
# Per WebSocket connection: the longest message (characters) and how many frames a minute.
OKPAY_CHAT_MAX_CHARS = env_int("OKPAY_CHAT_MAX_CHARS", 2000, minimum=100, maximum=20000)
OKPAY_CHAT_RATE_PER_MINUTE = env_int("OKPAY_CHAT_RATE_PER_MINUTE", 60, minimum=5, maximum=6000)
# Guest chats (no account) one address may open an hour; transcripts one email address gets a day.
OKPAY_CHAT_GUESTS_PER_HOUR = env_int("OKPAY_CHAT_GUESTS_PER_HOUR", 30, minimum=1, maximum=1_000_000)
OKPAY_CHAT_TRANSCRIPTS_PER_DAY = env_int("OKPAY_CHAT_TRANSCRIPTS_PER_DAY", 10, minimum=1, maximum=1000)

# --- Security ----------------------------------------------------------------------------------
# One Argon2 hasher: it verifies argon2 hashes of any parameters and upgrades them at sign-in.
PASSWORD_HASHERS = ["okpay.identity.passwords.Argon2idHasher"]
if TESTING and not env_bool("OKPAY_TEST_REAL_HASHER", False):
    # Argon2 on purpose costs ~50 ms; tests that are not about hashing use a cheap one.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
     "OPTIONS": {"user_attributes": ["email", "display_name"]}},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "okpay.identity.passwords.CharacterClassesValidator"},
    {"NAME": "okpay.identity.passwords.ContextWordsValidator"},
    {"NAME": "okpay.identity.passwords.MaximumLengthValidator", "OPTIONS": {"max_length": 128}},
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = SECURE
SESSION_COOKIE_AGE = 12 * 3600
CSRF_COOKIE_SECURE = SECURE
CSRF_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS = [OKPAY_BASE_URL]
LANGUAGE_COOKIE_SECURE = SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = SECURE and env_bool("OKPAY_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = 31536000 if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
# Preloading commits every subdomain to HTTPS for months; the operator opts in.
SECURE_HSTS_PRELOAD = SECURE and env_bool("OKPAY_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("OKPAY_BEHIND_PROXY") else None
X_FRAME_OPTIONS = "DENY"
# Over plain http (a laptop, tests) the TLS-only checks cannot pass; over https they all apply,
# except the HSTS preload opt-in above.
SILENCED_SYSTEM_CHECKS = (
    ([] if SECURE_HSTS_PRELOAD else ["security.W021"])
    if SECURE
    else ["security.W004", "security.W008", "security.W012", "security.W016"]
)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("OKPAY_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)

# --- Internationalisation ----------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
# Each app keeps its own translations in <app>/locale/ (Django finds them there).
# identity's catalogue first: it overrides Django's own password messages (zh-Hans lags 5.2, says 你).
LOCALE_PATHS: list[Path] = [PACKAGE_DIR / "identity" / "locale"]
USE_I18N = True
TIME_ZONE = env_str("OKPAY_TIME_ZONE") or "Asia/Shanghai"
USE_TZ = True

# --- Static files ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Uploads (support attachments): in the database unless OKPAY_MEDIA_URL names an object store
# (s3://…) or a directory (file:///…); okpay.core.storage. Never on a web machine's own disk.
OKPAY_MEDIA_URL = env_str("OKPAY_MEDIA_URL")
STORAGES = {
    "default": media_storage(OKPAY_MEDIA_URL),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # no collectstatic needed for `okpay serve`
WHITENOISE_AUTOREFRESH = DEBUG

# --- Logging -----------------------------------------------------------------------------------
LOG_LEVEL = env_str("OKPAY_LOG_LEVEL") or "INFO"
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
    raise ImproperlyConfigured(f"OKPAY_LOG_LEVEL={LOG_LEVEL!r} is not one of DEBUG, INFO, WARNING, ERROR")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "okpay.core.logging.RequestIdFilter"},
                "redact": {"()": "okpay.core.logging.RedactingFilter"}},  # no secrets or personal data in logs
    "formatters": {
        "json": {"()": "okpay.core.logging.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id", "redact"],
            "formatter": "plain" if (DEBUG or env_bool("OKPAY_LOG_PLAIN")) else "json",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        "uvicorn.access": {"level": "WARNING"},
        "django_tasks": {"level": "WARNING"},
        "django_tasks_db": {"level": "WARNING"},
    },
}

# --- API ---------------------------------------------------------------------------------------
NINJA_PAGINATION_MAX_LIMIT = 100
OKPAY_IDEMPOTENCY_TTL_HOURS = env_int("OKPAY_IDEMPOTENCY_TTL_HOURS", 48, minimum=24)
OKPAY_API_TOKEN_TTL_HOURS = env_int("OKPAY_API_TOKEN_TTL_HOURS", 24 * 30, minimum=1)

# --- Identity: sign-in, lockout, sessions, 2FA, step-up (okpay.identity) -------------------------
AUTHENTICATION_BACKENDS = ["okpay.identity.auth.LockoutBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "identity:login"
LOGIN_REDIRECT_URL = "payments:home"  # sign-in lands on the page asked for, else the wallet
AXES_FAILURE_LIMIT = env_int("OKPAY_LOGIN_FAILURE_LIMIT", 5, minimum=3, maximum=100)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("OKPAY_LOGIN_COOLOFF_MINUTES", 15, minimum=1, maximum=24 * 60))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # per account AND address: no lockout of a victim
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_CALLABLE = "okpay.identity.auth.axes_username"
AXES_CLIENT_IP_CALLABLE = "okpay.identity.auth.axes_client_ip"
AXES_LOCKOUT_CALLABLE = "okpay.identity.auth.lockout_response"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = False
OTP_TOTP_ISSUER = "OKPay"
OTP_TOTP_THROTTLE_FACTOR = 0  # OTP attempts are limited in the cache instead (okpay.identity.services.OTP_PER_USER)
LOGGING["loggers"]["axes"] = {"level": "WARNING"}
OKPAY_SESSION_IDLE_MINUTES = env_int("OKPAY_SESSION_IDLE_MINUTES", 30, minimum=1, maximum=24 * 60)
OKPAY_SESSION_MAX_HOURS = env_int("OKPAY_SESSION_MAX_HOURS", 12, minimum=1, maximum=24 * 30)
SESSION_COOKIE_AGE = OKPAY_SESSION_MAX_HOURS * 3600
OKPAY_PASSWORD_RESET_TTL_MINUTES = env_int("OKPAY_PASSWORD_RESET_TTL_MINUTES", 60, minimum=5, maximum=60)
OKPAY_EMAIL_VERIFY_TTL_HOURS = env_int("OKPAY_EMAIL_VERIFY_TTL_HOURS", 48, minimum=1, maximum=24 * 14)
OKPAY_STEP_UP_AMOUNT = env_int("OKPAY_STEP_UP_AMOUNT", 100_000, minimum=0)  # minor units: ¥1,000.00
OKPAY_STEP_UP_NEW_PAYEE_AMOUNT = env_int("OKPAY_STEP_UP_NEW_PAYEE_AMOUNT", 50_000, minimum=0)  # new payee: ¥500
OKPAY_STEP_UP_CODE_MINUTES = env_int("OKPAY_STEP_UP_CODE_MINUTES", 5, minimum=1)
# Web Push (issue 22, okpay.payments.alerts): the VAPID key is made once into var/ (like the secret
# key); subscriptions are accepted only for the browser vendors' push services (no server-side
# requests to any other host). A host starting with "." matches its subdomains.
OKPAY_VAPID_KEY_FILE = Path(env_str("OKPAY_VAPID_KEY_FILE") or str(VAR_DIR / "vapid_private.pem"))
OKPAY_PUSH_HOSTS = env_list("OKPAY_PUSH_HOSTS", ["fcm.googleapis.com", "updates.push.services.mozilla.com",
                                                  ".push.apple.com", ".notify.windows.com"])
OKPAY_SMS_BACKEND = env_str("OKPAY_SMS_BACKEND") or "okpay.identity.sms.OutboxSmsBackend"

# --- Serving -----------------------------------------------------------------------------------
OKPAY_HTTP_THREADS = env_int("OKPAY_HTTP_THREADS", 8, minimum=1, maximum=256)
# Open WebSockets per web process; one more handshake answers 503 (okpay.core.socket_limit). The
# default keeps one process within 200 MB with its sockets idle in chats, on the Redis layer too
# (docs/chat.md, "Memory").
OKPAY_WS_MAX_CONNECTIONS = env_int("OKPAY_WS_MAX_CONNECTIONS", 1400, minimum=1, maximum=1_000_000)
OKPAY_METRICS_TOKEN = env_str("OKPAY_METRICS_TOKEN")

# --- Merchants (okpay.merchants) ---------------------------------------------------------------
OKPAY_CAPTURE_DAYS = env_int("OKPAY_CAPTURE_DAYS", 7, minimum=1, maximum=30)  # manual capture holds expire
OKPAY_REFUND_PENDING_HOURS = env_int("OKPAY_REFUND_PENDING_HOURS", 72, minimum=1)  # then the refund fails
# A refund request's expected answer time (then customer service is alerted, the request stays open).
OKPAY_REFUND_REQUEST_ANSWER_HOURS = env_int("OKPAY_REFUND_REQUEST_ANSWER_HOURS", 72, minimum=1)
# Refund requests of bill payments: the sandbox biller answers after this delay, within this window.
OKPAY_BILL_REFUND_DECIDE_SECONDS = env_int("OKPAY_BILL_REFUND_DECIDE_SECONDS", 3600, minimum=0)
OKPAY_BILL_REFUND_WINDOW_DAYS = env_int("OKPAY_BILL_REFUND_WINDOW_DAYS", 30, minimum=0, maximum=3650)
OKPAY_WEBHOOK_RETRY_HOURS = env_int("OKPAY_WEBHOOK_RETRY_HOURS", 72, minimum=1)
OKPAY_WEBHOOK_TIMEOUT = env_int("OKPAY_WEBHOOK_TIMEOUT", 10, minimum=1, maximum=60)
OKPAY_WEBHOOK_DISABLE_AFTER = env_int("OKPAY_WEBHOOK_DISABLE_AFTER", 20, minimum=1)  # failed deliveries in a row
# Development only: allow http:// and private addresses for webhook URLs (always allowed when DEBUG).
OKPAY_WEBHOOK_ALLOW_PRIVATE = env_bool("OKPAY_WEBHOOK_ALLOW_PRIVATE", False)
