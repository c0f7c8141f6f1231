"""The language of the API's answers to a caller: error messages are in the caller's language.

``Accept-Language`` (or the site's language cookie, for pages that call the API) when the request
names a language OKPay speaks; else the language of the account calling (a bearer token's
customer, a secret key's merchant, a signed-in session); else the site's language, zh-Hans."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.db.transaction import TransactionManagementError
from django.http import HttpRequest
from django.utils.translation import get_supported_language_variant
from django.utils.translation.trans_real import parse_accept_lang_header

from okpay.api.auth import bearer_of, user_for_token


def _supported(code: str) -> str | None:
    try:
        return get_supported_language_variant(code)
    except LookupError:
        return None


def _account(request: HttpRequest) -> Any:
    principal = getattr(request, "auth", None)
    if principal is not None:
        return getattr(principal, "user", principal)  # a merchant answers for its account
    raw = bearer_of(request)
    if raw:
        user = user_for_token(request, raw)
        if user is not None:
            return user
    session_user = getattr(request, "user", None)
    if session_user is not None and session_user.is_authenticated:
        return session_user
    return None


def caller_language(request: HttpRequest | None) -> str:
    if request is None:
        return settings.LANGUAGE_CODE
    for code, _quality in parse_accept_lang_header(request.META.get("HTTP_ACCEPT_LANGUAGE", "")):
        if code == "*":
            break
        found = _supported(code)
        if found:
            return found
    cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    if cookie and _supported(cookie):
        return str(_supported(cookie))
    try:
        account = _account(request)
    except (DatabaseError, TransactionManagementError):  # an error answer inside a broken transaction
        account = None
    locale = getattr(account, "locale", "") if account is not None else ""
    return (_supported(locale) if locale else None) or settings.LANGUAGE_CODE
