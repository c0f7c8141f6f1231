"""The registry of OKPay's official channels: the one place that says how to reach us.

Values come from settings (``OKPAY_SUPPORT_EMAIL``, ``OKPAY_HOTLINE``, ``OKPAY_HOTLINE_HOURS``,
``OKPAY_OFFICIAL_DOMAINS``, ``OKPAY_SOCIAL_ACCOUNTS``); the contact page, the API, the articles'
placeholders and the verifier all read them from here.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

SOCIAL_PLATFORMS: dict[str, tuple[Promise, str]] = {
    # platform → (label, profile URL template or "")
    "telegram": (_("Telegram"), "https://t.me/{handle}"),
    "wechat": (_("WeChat Official Account"), ""),
    "weibo": (_("Weibo"), "https://weibo.com/n/{handle}"),
    "x": (_("X (Twitter)"), "https://x.com/{handle}"),
}


@dataclass(frozen=True)
class Channel:
    key: str  # stable identifier: chat, email, hotline, web:<domain>, social:<platform>
    kind: str  # chat | email | phone | web | social
    value: str
    label: Promise | str
    hours: str = ""
    url: str = ""
    note: Promise | str = ""
    platform: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "value": self.value, "label": str(self.label), "hours": self.hours,
                "url": self.url, "note": str(self.note), "platform": self.platform}


def _is_public_host(host: str) -> bool:
    if not host or host in {"localhost", "testserver"} or "." not in host:
        return False
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return True
    return False


def official_domains() -> list[str]:
    """Registrable domains OKPay publishes (the site and the mail domains), lower case."""
    domains = [d.lower().strip(".") for d in settings.OKPAY_OFFICIAL_DOMAINS]
    base_host = (urlsplit(settings.OKPAY_BASE_URL).hostname or "").lower()
    if _is_public_host(base_host) and not any(base_host == d or base_host.endswith("." + d) for d in domains):
        domains.append(base_host)
    return list(dict.fromkeys(domains))


def lookalike_domains() -> list[str]:
    """The configured domains whose names impostors imitate (the base URL's host is not one)."""
    return [d.lower().strip(".") for d in settings.OKPAY_OFFICIAL_DOMAINS]


def official_emails() -> list[str]:
    addresses = [settings.OKPAY_SUPPORT_EMAIL, parseaddr(settings.DEFAULT_FROM_EMAIL)[1]]
    return list(dict.fromkeys(a.strip().lower() for a in addresses if a and "@" in a))


def social_accounts() -> list[tuple[str, str]]:
    """``(platform, handle)`` pairs from ``OKPAY_SOCIAL_ACCOUNTS`` (``platform:handle`` items)."""
    out = []
    for item in settings.OKPAY_SOCIAL_ACCOUNTS:
        platform, _sep, handle = item.partition(":")
        out.append((platform.strip().lower(), handle.strip().lstrip("@")))
    return out


def site_url() -> str:
    return f"https://www.{official_domains()[0]}"


def channels() -> list[Channel]:
    """Every official channel, in the order the contact page shows them."""
    domain = official_domains()[0]
    hotline_hours = settings.OKPAY_HOTLINE_HOURS
    hotline_digits = "".join(ch for ch in settings.OKPAY_HOTLINE if ch.isdigit() or ch == "+")
    items = [
        Channel("chat", "chat", f"www.{domain}", _("Online chat"), url=f"{site_url()}/contact/#chat",
                note=_("On every page of the official website: the assistant answers at once, "
                       "and you can ask for a person at any time.")),
        Channel("email", "email", settings.OKPAY_SUPPORT_EMAIL, _("Email"),
                url=f"mailto:{settings.OKPAY_SUPPORT_EMAIL}",
                note=_("You will usually get a reply within 24 hours; you get the ticket number at once.")),
        Channel("hotline", "phone", settings.OKPAY_HOTLINE, _("Phone hotline"), hours=hotline_hours,
                url=f"tel:{hotline_digits}", note=_("For urgent problems, such as a lost phone or money you "
                                                   "did not send: call for more direct help.")),
    ]
    for platform, handle in social_accounts():
        label, template = SOCIAL_PLATFORMS.get(platform, (platform.title(), ""))
        value = handle if platform == "wechat" else f"@{handle}"
        items.append(Channel(f"social:{platform}", "social", value, label, platform=platform,
                             url=template.format(handle=handle) if template else "",
                             note=_("Leave a message to our official account; it often answers quickly. "
                                    "We never write to you first asking for passwords or codes.")))
    for name in official_domains():
        items.append(Channel(f"web:{name}", "web", name, _("Official website"), url=f"https://{name}/",
                             note=_("Our website and its subdomains (such as www.) are the only "
                                    "places where you sign in to OKPay.")))
    return items


def _yuan(minor: int) -> str:
    whole, cents = divmod(int(minor), 100)
    return f"¥{whole:,}" + (f".{cents:02d}" if cents else "")


# Figures that other apps' settings define, with the defaults those apps document: articles quote
# the real values (a deployment that changes a limit changes the help text with it).
_FIGURES = {
    "claim_days": ("OKPAY_CLAIM_DAYS", 7, str),
    "risk_review_hours": ("OKPAY_RISK_REVIEW_HOURS", 24, str),
    "limit_email_per_txn": ("OKPAY_LIMIT_EMAIL_PER_TXN", 500_000, _yuan),
    "limit_email_daily": ("OKPAY_LIMIT_EMAIL_DAILY", 2_000_000, _yuan),
    "limit_phone_per_txn": ("OKPAY_LIMIT_PHONE_PER_TXN", 5_000_000, _yuan),
    "limit_phone_daily": ("OKPAY_LIMIT_PHONE_DAILY", 20_000_000, _yuan),
    "step_up_amount": ("OKPAY_STEP_UP_AMOUNT", 100_000, _yuan),
}


def placeholder_values() -> dict[str, str]:
    values = {
        "support_email": settings.OKPAY_SUPPORT_EMAIL,
        "hotline": settings.OKPAY_HOTLINE,
        "hotline_hours": settings.OKPAY_HOTLINE_HOURS,
        "web_domain": official_domains()[0],
        "site_url": site_url(),
    }
    for name, (setting, default, shown) in _FIGURES.items():
        values[name] = shown(getattr(settings, setting, default))  # type: ignore[operator]
    return values
