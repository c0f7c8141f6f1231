"""OKPay's own deployment checks (``okpay check --deploy``), next to Django's."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Info, Tags, Warning, register

METRICS_TOKEN_MIN_LENGTH = 24
METRICS_HINT = (
    "Set OKPAY_METRICS_TOKEN to a long random value, e.g. the output of "
    "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`, and give Prometheus the same value "
    "as a bearer token (scrape_config: authorization: {credentials_file: ...}); it then scrapes "
    "/metrics on each web process with `Authorization: Bearer <token>`."
)


@register(Tags.security, deploy=True)
def metrics_token_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``/metrics`` is private: without a token it answers 404 outside debug (``okpay.web.views.metrics``)."""
    token = settings.OKPAY_METRICS_TOKEN
    if not token:
        return [Info("/metrics answers 404: OKPAY_METRICS_TOKEN is not set, so nobody can read the metrics.",
                     hint=METRICS_HINT, id="okpay.I001")]
    if len(token) < METRICS_TOKEN_MIN_LENGTH:
        return [Warning(f"OKPAY_METRICS_TOKEN is shorter than {METRICS_TOKEN_MIN_LENGTH} characters: "
                        "anyone who guesses it reads /metrics.", hint=METRICS_HINT, id="okpay.W001")]
    return []
