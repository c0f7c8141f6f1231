"""The official-channel verifier: every official channel, and each family of look-alikes."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from okpay.helpcenter import registry
from okpay.helpcenter.verifier import skeleton, verify


@pytest.fixture(autouse=True)
def _english():  # type: ignore[no-untyped-def]
    with translation.override("en"):
        yield


def test_every_official_channel_in_the_registry_is_verified_as_official() -> None:
    channels = registry.channels()
    assert {c.kind for c in channels} == {"chat", "email", "phone", "social", "web"}
    for channel in channels:
        if channel.kind == "chat":
            value = f"https://{channel.value}/"
        elif channel.kind == "social":  # the same handle may be ours on several platforms
            value = channel.url or f"{channel.platform}:{channel.value}"
        else:
            value = channel.value
        verdict = verify(value)
        assert verdict.official, (channel.key, value, verdict.as_dict())
        if channel.kind != "chat":
            assert verdict.matched is not None and verdict.matched.key == channel.key, channel.key
        assert verdict.lookalike_of is None


@pytest.mark.parametrize("value", [
    "okpay.example", "www.okpay.example", "https://www.okpay.example/help/", "help.okpay.example",
    "HTTPS://WWW.OKPAY.EXAMPLE/login", "support@okpay.example", "SUPPORT@OKPAY.EXAMPLE",
    "mailto:support@okpay.example", "no-reply@okpay.example", "+86 400-800-6578", "400-800-6578",
    "4008006578", "+86 (400) 800 6578", "0086 400 800 6578", "@OKPayOfficial", "telegram:@okpayofficial",
    "https://t.me/OKPayOfficial", "wechat:OKPayWallet", "https://weibo.com/n/OKPayOfficial",
])
def test_official_values_in_their_usual_spellings(value: str) -> None:
    verdict = verify(value)
    assert verdict.official is True, verdict.as_dict()
    assert verdict.signals in ([], ["insecure_http"])


def test_official_site_over_plain_http_is_official_with_a_warning() -> None:
    verdict = verify("http://okpay.example/login")
    assert verdict.official is True
    assert verdict.signals == ["insecure_http"]
    assert "https://" in verdict.advice


CASES = [
    # (value, kind, imitated channel key, expected signal)
    ("0kpay.example", "domain", "web:okpay.example", "homoglyph"),
    ("https://0kpay.example/login", "url", "web:okpay.example", "homoglyph"),
    ("okpay.exarnple", "domain", None, None),  # the TLD part is not our brand: checked below separately
    ("okpаy.example", "domain", "web:okpay.example", "homoglyph"),  # Cyrillic а
    ("https://xn--okpy-73d.example/", "url", "web:okpay.example", "idn"),  # the same, in punycode
    ("оkрау.example", "domain", "web:okpay.example", "homoglyph"),  # Cyrillic о р а у
    ("okpay.com", "domain", "web:okpay.example", "changed_tld"),
    ("https://okpay.cn/", "url", "web:okpay.example", "changed_tld"),
    ("okpay.com.cn", "domain", "web:okpay.example", "changed_tld"),
    ("okpay-support.com", "domain", "web:okpay.example", "brand_affix"),
    ("https://okpay-help.net/reset", "url", "web:okpay.example", "brand_affix"),
    ("myokpay.com", "domain", "web:okpay.example", "brand_affix"),
    ("https://okpay.example.secure-login.com/", "url", "web:okpay.example", "extra_subdomain"),
    ("login.okpay.verify-account.io", "domain", "web:okpay.example", "extra_subdomain"),
    ("okpya.example", "domain", "web:okpay.example", "typo"),
    ("https://okpay.example@phish.example.net/", "url", "web:okpay.example", "userinfo"),
    ("support@0kpay.example", "email", "email", "homoglyph"),
    ("support@okpay-support.com", "email", "email", "brand_affix"),
    ("service@okpay.com", "email", "email", "changed_tld"),
    ("okpay.service@gmail.com", "email", "email", "free_mail"),
    ("security@okpay.example", "email", "email", "unpublished_address"),
    ("+86 400-800-6579", "phone", "hotline", "one_digit"),
    ("400-800-6587", "phone", "hotline", "one_digit"),
    ("4008006578 8", "phone", "hotline", "one_digit"),
    ("@0KPayOfficial", "social", "social:telegram", "homoglyph"),
    ("@OKPay_Official", "social", "social:telegram", "separator"),  # an underscore, not a look-alike
    ("https://t.me/OKPaySupport", "social", "social:telegram", "handle_lookalike"),
    ("wechat:OKPayWallet_Help", "social", "social:wechat", "handle_lookalike"),
]


@pytest.mark.parametrize(("value", "kind", "imitates", "signal"), [c for c in CASES if c[2]])
def test_lookalikes_say_what_they_imitate_and_what_to_do(value: str, kind: str, imitates: str, signal: str) -> None:
    verdict = verify(value)
    assert verdict.official is False, verdict.as_dict()
    assert verdict.kind == kind
    assert verdict.lookalike_of is not None and verdict.lookalike_of.key == imitates, verdict.as_dict()
    assert signal in verdict.signals
    assert verdict.advice.startswith("Not official. It imitates our")
    assert verdict.lookalike_of.value in verdict.advice


def test_idn_result_shows_the_punycode_behind_the_name() -> None:
    verdict = verify("okpаy.example")
    assert verdict.signals == ["idn", "homoglyph"]
    assert verdict.normalized == "okpаy.example (xn--okpy-73d.example)"


def test_unrelated_values_are_not_official_and_not_called_lookalikes() -> None:
    for value, kind in [("google.com", "domain"), ("https://example.org/x", "url"), ("13800138000", "phone"),
                        ("alice@example.com", "email"), ("@someone_else", "social")]:
        verdict = verify(value)
        assert (verdict.official, verdict.kind, verdict.lookalike_of) == (False, kind, None), value
        assert "not one of OKPay's official channels" in verdict.advice


def test_text_that_is_no_channel_is_reported_as_unknown() -> None:
    verdict = verify("you won a prize!!")
    assert (verdict.kind, verdict.official) == ("unknown", False)


def test_skeleton_folds_confusables() -> None:
    assert skeleton("0KPаY") == "okpay"
    assert skeleton("οkраy") == "okpay"  # Greek ο, Cyrillic р а
    assert skeleton("okpay-support") == "okpaysupport"
    assert skeleton("rnoney") == "money"


@override_settings(OKPAY_OFFICIAL_DOMAINS=["okpay.cn", "okpay.example"], OKPAY_HOTLINE="+86 400-123-4567",
                   OKPAY_SUPPORT_EMAIL="help@okpay.cn", OKPAY_SOCIAL_ACCOUNTS=["x:OKPayCN"])
def test_registry_follows_settings() -> None:
    assert verify("okpay.cn").official
    assert verify("www.okpay.example").official
    assert verify("help@okpay.cn").official
    assert verify("400-123-4567").official
    assert verify("400-800-6578").official is False
    assert verify("https://x.com/okpaycn").official
    kinds = [(c.kind, c.value) for c in registry.channels()]
    assert ("social", "@OKPayCN") in kinds and ("email", "help@okpay.cn") in kinds


@pytest.mark.parametrize("value", ["okpay。example", "www.ｏｋｐａｙ.example", "https://okpay.example:8443/x",
                                   "https://okpay.example.evil.com@okpay.example/"])
def test_forms_a_browser_maps_to_our_domain_are_official(value: str) -> None:
    # Full-width letters and ideographic dots are mapped to ASCII by browsers (UTS 46); a
    # "user@" part before our own host does not change where the link goes.
    assert verify(value).official is True


def test_bare_ip_addresses_are_not_official() -> None:
    for value in ("1.2.3.4", "http://203.0.113.7/okpay/login", "http://[2001:db8::1]/"):
        verdict = verify(value)
        assert (verdict.official, verdict.kind in {"domain", "url"}) == (False, True), value


@given(st.text(max_size=300) | st.text(alphabet="okpay.examplehtsw:/@[]-_0123456789+ аοｏ。xn", max_size=60))
@settings(max_examples=500, deadline=None)
def test_any_input_gets_a_verdict_with_advice(value: str) -> None:
    verdict = verify(value)
    assert verdict.kind in {"url", "domain", "email", "phone", "social", "unknown"}
    assert verdict.advice
    assert not (verdict.official and verdict.lookalike_of)
