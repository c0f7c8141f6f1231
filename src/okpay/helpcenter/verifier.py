"""Is this link, address, number or account really OKPay? (the seed: "确保只从官方渠道获取信息")

:func:`verify` classifies what was pasted (URL, domain, email address, phone number, social
handle), compares it with the registry of official channels and, when it is not official but
imitates one, says which one and how:

- ``homoglyph``: the same skeleton with look-alike characters (``0kpay``, Cyrillic ``а``, ``rn``→``m``);
- ``idn``: an internationalised (punycode ``xn--``) name that displays like ours;
- ``extra_subdomain``: our name as a subdomain of someone else's domain (``okpay.example.evil.com``);
- ``changed_tld``: our name under another top-level domain (``okpay.com``);
- ``brand_affix``: our name with words or hyphens added (``okpay-support.com``, ``okpayhelp.net``);
- ``typo``: one or two letters off (``okpya.example``);
- ``userinfo``: our name before an ``@`` in a URL, which hides the real host;
- ``one_digit``: a phone number one digit away from the hotline;
- ``free_mail``: our name in an address at a mail provider;
- ``handle_lookalike``: a social account name close to an official one.
- ``separator``: a social account name that is an official one with an underscore, dot or hyphen
  added, moved or left out (``@OKPay_Official``).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from okpay.helpcenter import registry
from okpay.helpcenter.search.spelling import damerau_levenshtein
from okpay.helpcenter.search.text import clean

# Characters that render like ASCII letters or digits → the letter they imitate.
CONFUSABLES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "һ": "h", "ү": "y", "ɡ": "g", "ⅼ": "l", "ӏ": "l",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "ω": "w",
    # Latin look-alikes and accented letters are handled by NFKD below; digits:
    "0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "|": "l", "!": "i",
}
_MULTI = (("rn", "m"), ("vv", "w"), ("cl", "d"), ("nn", "m"))
FREE_MAIL = {
    "gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "qq.com", "163.com", "126.com", "sina.com",
    "foxmail.com", "proton.me", "protonmail.com", "icloud.com", "aol.com", "gmx.com", "mail.ru", "yandex.com",
}
SECOND_LEVEL = {"com", "net", "org", "gov", "edu", "co", "ac"}
SOCIAL_HOSTS = {
    "t.me": "telegram", "telegram.me": "telegram", "weibo.com": "weibo", "www.weibo.com": "weibo",
    "x.com": "x", "twitter.com": "x", "www.twitter.com": "x", "mp.weixin.qq.com": "wechat",
}
_PHONE = re.compile(r"^\+?[\d\s\-().]{7,24}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HANDLE = re.compile(r"^@?[\w.\-]{2,64}$")
_DOMAIN_LABEL = re.compile(r"^[a-z0-9\-]{1,63}$")


def skeleton(text: str) -> str:
    """What a string looks like: confusables folded, accents and separators dropped."""
    text = unicodedata.normalize("NFKC", text).lower()
    out = []
    for ch in text:
        ch = CONFUSABLES.get(ch, ch)
        decomposed = unicodedata.normalize("NFKD", ch)
        base = "".join(c for c in decomposed if not unicodedata.combining(c))
        out.append(base)
    folded = "".join(out)
    for pair, single in _MULTI:
        folded = folded.replace(pair, single)
    return re.sub(r"[\-_.\s]", "", folded)


@dataclass
class Verdict:
    value: str
    kind: str  # url | domain | email | phone | social | unknown
    official: bool = False
    normalized: str = ""
    matched: registry.Channel | None = None
    lookalike_of: registry.Channel | None = None
    signals: list[str] = field(default_factory=list)
    advice: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "value": self.value, "kind": self.kind, "official": self.official, "normalized": self.normalized,
            "matched": self.matched.as_dict() if self.matched else None,
            "lookalike_of": self.lookalike_of.as_dict() if self.lookalike_of else None,
            "signals": list(self.signals), "advice": self.advice,
        }


# --- domains ----------------------------------------------------------------------------------

_DOTS = str.maketrans({"。": ".", "．": ".", "｡": "."})  # label separators browsers accept (UTS 46)


def _to_unicode(host: str) -> tuple[str, bool]:
    """``(display form, was_idn)`` of a host name, mapped as a browser maps it (full-width → ASCII)."""
    host = unicodedata.normalize("NFKC", host.strip().translate(_DOTS)).strip(".").lower()
    was_idn = "xn--" in host or not host.isascii()
    labels = []
    for label in host.split("."):
        if label.startswith("xn--"):
            try:
                label = label.encode("ascii").decode("idna")
            except UnicodeError:
                pass
        labels.append(label)
    return ".".join(labels), was_idn


def registrable(host: str) -> str:
    labels = host.split(".")
    if len(labels) >= 3 and labels[-2] in SECOND_LEVEL and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _official_web(domain: str) -> registry.Channel | None:
    for channel in registry.channels():
        if channel.kind == "web" and channel.value == domain:
            return channel
    return None


def _channel(key: str) -> registry.Channel | None:
    for channel in registry.channels():
        if channel.key == key:
            return channel
    return None


def _required(key: str) -> registry.Channel:
    channel = _channel(key)
    if channel is None:  # the registry always has the email and hotline channels
        raise LookupError(key)
    return channel


def _brand(domain: str) -> str:
    return domain.split(".")[0]


def analyse_host(host: str) -> tuple[str | None, registry.Channel | None, list[str]]:
    """``(display host, official channel or None, look-alike signals)`` for a host name."""
    display, was_idn = _to_unicode(host)
    if not display or " " in display:
        return None, None, []
    for domain in registry.official_domains():
        if not was_idn and (display == domain or display.endswith("." + domain)):
            return display, _official_web(domain), []
    signals: list[str] = []
    if was_idn:
        signals.append("idn")
    reg = registrable(display)
    reg_label = reg.split(".")[0]
    others = display[: -len(reg)].strip(".").split(".") if display != reg else []
    for domain in registry.lookalike_domains():
        brand = _brand(domain)
        brand_skel = skeleton(brand)
        label_skel = skeleton(reg_label)
        found: list[str] = []
        if reg_label == brand and reg != domain:
            found.append("changed_tld")
        elif label_skel == brand_skel and reg_label != brand:
            found.append("homoglyph")
        elif brand_skel in label_skel:
            found.append("brand_affix")
        elif 0 < damerau_levenshtein(label_skel, brand_skel) <= (1 if len(brand_skel) <= 6 else 2):
            found.append("typo")
        if any(skeleton(part) == brand_skel or brand_skel in skeleton(part) for part in others) or \
                domain in display[: -len(reg)]:
            found.append("extra_subdomain")
        if found:
            return display, None, [*_dedupe([*signals, *found]), f"imitates:{domain}"]
    return display, None, signals


def _shown(host: str) -> str:
    """The host as displayed, plus its punycode form when it is internationalised."""
    if host.isascii() and "xn--" not in host:
        return host
    try:
        ascii_form = host.encode("idna").decode("ascii")
    except UnicodeError:
        return host
    unicode_form = _to_unicode(host)[0]
    return f"{unicode_form} ({ascii_form})"


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _imitated(signals: list[str]) -> registry.Channel | None:
    for signal in signals:
        if signal.startswith("imitates:"):
            return _official_web(signal.split(":", 1)[1])
    return None


# --- each kind --------------------------------------------------------------------------------

def _verify_url(verdict: Verdict, raw: str) -> Verdict:
    candidate = raw if "://" in raw else f"http://{raw}"
    parts = urlsplit(candidate)
    netloc = parts.netloc
    host = parts.hostname or ""
    if not host:
        netloc_host = netloc.rsplit("@", 1)[-1].split(":")[0]
        host = netloc_host
    userinfo = netloc.rsplit("@", 1)[0] if "@" in netloc else ""
    social = SOCIAL_HOSTS.get(host.lower())
    if social and parts.path.strip("/"):
        handle = parts.path.strip("/").split("/")[-1]
        return _verify_social(verdict, handle, platform=social)
    display, official, signals = analyse_host(host)
    verdict.normalized = _shown(display or host)
    if userinfo and official is None:
        _user_display, user_official, user_signals = analyse_host(userinfo.split(":")[0])
        if user_official or user_signals:
            signals = [*signals, "userinfo"]
            official = None
            if user_official and not _imitated(signals):
                signals.append(f"imitates:{user_official.value}")
    if official is not None:
        verdict.official = True
        verdict.matched = official
        if parts.scheme == "http" and "://" in raw:
            verdict.signals.append("insecure_http")
        return verdict
    verdict.signals = [s for s in signals if not s.startswith("imitates:")]
    verdict.lookalike_of = _imitated(signals)
    return verdict


def _verify_email(verdict: Verdict, raw: str) -> Verdict:
    address = raw.strip().strip("<>").lower()
    if address.startswith("mailto:"):
        address = address[7:]
    local, _sep, host = address.rpartition("@")
    display, official_domain, signals = analyse_host(host)
    verdict.normalized = f"{local}@{display or host}"
    shown = _shown(display or host)
    email_channel = _required("email")
    if official_domain is not None:
        if verdict.normalized in registry.official_emails():
            verdict.official = True
            verdict.matched = email_channel if verdict.normalized == email_channel.value.lower() else \
                registry.Channel("no-reply", "email", verdict.normalized, _("Notification sender"))
            return verdict
        verdict.signals = ["unpublished_address"]
        verdict.lookalike_of = email_channel
        return verdict
    brand_skels = {skeleton(_brand(d)) for d in registry.lookalike_domains()}
    if host in FREE_MAIL and any(b in skeleton(local) for b in brand_skels):
        signals = [*signals, "free_mail"]
        verdict.lookalike_of = email_channel
    if any(s.startswith("imitates:") for s in signals):
        verdict.lookalike_of = email_channel
    verdict.signals = [s for s in signals if not s.startswith("imitates:")]
    if shown != (display or host):
        verdict.normalized = f"{local}@{shown}"
    return verdict


def _national_digits(raw: str) -> str:
    digits = "".join(ch for ch in raw if ch.isdigit())
    if raw.strip().startswith("+") or digits.startswith("00"):
        digits = digits.lstrip("0")
        if digits.startswith("86"):
            digits = digits[2:]
    elif digits.startswith("86") and len(digits) >= 12:
        digits = digits[2:]
    return digits.lstrip("0") if len(digits) > 10 else digits


def _verify_phone(verdict: Verdict, raw: str) -> Verdict:
    hotline = _required("hotline")
    given = _national_digits(raw)
    official = _national_digits(hotline.value)
    verdict.normalized = given
    if given == official:
        verdict.official = True
        verdict.matched = hotline
        return verdict
    distance = damerau_levenshtein(given, official)
    if distance == 1:
        verdict.signals = ["one_digit"]
        verdict.lookalike_of = hotline
    elif distance == 2 and len(given) == len(official):
        verdict.signals = ["two_digits"]
        verdict.lookalike_of = hotline
    return verdict


def _bare(handle: str) -> str:
    return re.sub(r"[_.\-]", "", handle).lower()


def _verify_social(verdict: Verdict, raw: str, *, platform: str | None = None) -> Verdict:
    verdict.kind = "social"
    text = raw.strip()
    if platform is None and ":" in text:
        maybe, _sep, rest = text.partition(":")
        if maybe.lower() in registry.SOCIAL_PLATFORMS:
            platform, text = maybe.lower(), rest.strip()
    handle = text.lstrip("@")
    verdict.normalized = f"@{handle}"
    best: tuple[tuple[int, int], registry.Channel] | None = None
    for account_platform, account in registry.social_accounts():
        channel = _channel(f"social:{account_platform}")
        if platform and platform != account_platform:
            same = False
        else:
            same = handle.lower() == account.lower() and handle.isascii()
        if same:
            verdict.official = True
            verdict.matched = channel
            return verdict
        a, b = skeleton(handle), skeleton(account)
        if a == b:
            rank = 0
        elif b in a or any(skeleton(_brand(d)) in a for d in registry.lookalike_domains()):
            rank = 1
        elif damerau_levenshtein(a, b) <= 2:
            rank = 2
        else:
            continue
        # An imitation on the same platform as the official account is the likelier match.
        key = (rank, 0 if platform in (None, account_platform) else 1)
        if best is None or key < best[0]:
            best = (key, channel)  # type: ignore[assignment]
    if best is not None:
        verdict.lookalike_of = best[1]
        official = best[1].value.lstrip("@")
        if best[0][0] == 0 and _bare(handle) == _bare(official) and handle.lower() != official.lower():
            verdict.signals = ["separator"]  # the trick is an underscore, dot or hyphen, not a look-alike letter
        else:
            verdict.signals = ["homoglyph" if best[0][0] == 0 else "handle_lookalike"]
        if not handle.isascii():
            verdict.signals.append("idn")
    return verdict


def classify(raw: str) -> str:
    text = raw.strip()
    lower = text.lower()
    if lower.startswith("mailto:") or (_EMAIL.match(text) and "/" not in text and not lower.startswith(("http", "@"))):
        return "email"
    if lower.startswith(("http://", "https://", "www.")) or "/" in text:
        return "url"
    if _PHONE.match(text) and sum(ch.isdigit() for ch in text) >= 7:
        return "phone"
    if text.startswith("@") or lower.split(":", 1)[0] in registry.SOCIAL_PLATFORMS:
        return "social"
    try:
        ipaddress.ip_address(text.strip("[]"))
        return "domain"
    except ValueError:
        pass
    host = text.split(":")[0]
    ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    labels = ascii_host.lower().split(".") if "." in ascii_host else []
    if labels and all(_DOMAIN_LABEL.match(label) for label in labels if label) and labels[-1].isalpha():
        return "domain"
    if _HANDLE.match(text):
        return "social"
    return "unknown"


def verify(value: str) -> Verdict:
    raw = " ".join(clean(value or "", drop_format=False).split())[:500]
    try:
        kind = classify(raw)
    except UnicodeError:
        kind = "unknown"
    verdict = Verdict(value=raw, kind=kind)
    try:
        if kind in {"url", "domain"}:
            _verify_url(verdict, raw)
        elif kind == "email":
            _verify_email(verdict, raw)
        elif kind == "phone":
            _verify_phone(verdict, raw)
        elif kind == "social":
            _verify_social(verdict, raw)
    except (ValueError, UnicodeError):  # not a parseable URL / host after all ("http://[", bad IDNA ...)
        verdict = Verdict(value=raw, kind="unknown")
    verdict.advice = advice(verdict)
    return verdict


# --- what to tell the customer --------------------------------------------------------------------

def signal_text(signal: str) -> str:
    texts = {
        "homoglyph": _("It uses characters that look like ours but are different (for example 0 for o, "
                       "or a Cyrillic letter)."),
        "idn": _("It is an internationalised name (punycode “xn--”) that can display like ours."),
        "extra_subdomain": _("Our name is only a prefix: the real site is someone else's domain."),
        "changed_tld": _("It uses our name with a different ending (top-level domain)."),
        "brand_affix": _("It adds words or hyphens to our name; we own no such domain."),
        "typo": _("It is spelled one or two letters differently from ours."),
        "userinfo": _("Our name appears before an “@”, which hides the real address after it."),
        "one_digit": _("It differs from our hotline by one digit."),
        "two_digits": _("It differs from our hotline by two digits."),
        "free_mail": _("It is an address at a public mail provider; OKPay never writes from those."),
        "separator": _("It adds, moves or leaves out an underscore, dot or hyphen in our account name: "
                       "compare it character by character with the official one."),
        "handle_lookalike": _("Its name resembles one of our official accounts but is not one of them."),
        "unpublished_address": _("It is written with our domain, but it is not one of our published "
                                 "addresses; sender addresses can be forged."),
        "insecure_http": _("The link is not encrypted (http): type https:// and our address yourself."),
    }
    return texts.get(signal, signal)


def advice(verdict: Verdict) -> str:
    if verdict.official:
        channel = verdict.matched
        if verdict.kind == "phone":
            return _("This is OKPay's official hotline. Even so, we never ask for your password, "
                     "verification codes or recovery codes on the phone.")
        if verdict.kind == "email":
            return _("This is an official OKPay address. Real emails from OKPay show your personal "
                     "anti-phishing code; if it is missing or wrong, the email is not from us.")
        if verdict.kind == "social":
            return _("This is an official OKPay account. We never write first to ask for passwords, codes "
                     "or money; never send them to anyone.")
        text = _("This is OKPay's official website (%(domain)s).") % {"domain": channel.value if channel else ""}
        if "insecure_http" in verdict.signals:
            text += " " + signal_text("insecure_http")
        return text
    if verdict.lookalike_of is not None:
        target = verdict.lookalike_of
        return _("Not official. It imitates our %(channel)s (%(value)s). Do not click it, reply, call back or "
                 "enter anything; do not share passwords or codes. Use only the channels listed on our "
                 "contact page, report it below, and if you already entered details, change your password "
                 "and freeze your account from the security centre or call the hotline.") % {
            "channel": str(target.label), "value": target.value}
    if verdict.kind == "unknown":
        return _("We could not read this as a web address, email address, phone number or social account. "
                 "Paste exactly what you received.")
    return _("This is not one of OKPay's official channels. OKPay only contacts you through the channels "
             "listed on our contact page; treat anything else as untrusted and never share passwords or codes.")
