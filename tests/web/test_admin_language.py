"""Issue 17, item 8: the operators' admin in zh-Hans has no English model names, field labels or app
names left (Django's defaults from the class and field names), and English stays English."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.utils import translation

from tests.factories import sign_in, user_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator() -> Client:
    user = user_create("root@example.com", name="Root", role="admin")
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    return sign_in(user)


def english_left(text: object) -> bool:
    """Three lower-case Latin letters in a row: an English word (names like OKPay, SLA, API, ID and the
    help centre's deliberate "slug（网址标识）" and "Markdown" aside)."""
    return re.search(r"[a-z]{3}", re.sub(r"OKPay|slug|p256dh|Markdown", "", str(text))) is not None


def okpay_admins() -> list[tuple[type, admin.ModelAdmin]]:
    return [(model, model_admin) for model, model_admin in admin.site._registry.items()
            if model.__module__.startswith("okpay.")]


def test_every_okpay_model_and_field_name_has_a_chinese_name() -> None:
    with translation.override("zh-hans"):
        for model in apps.get_models():
            if not model.__module__.startswith("okpay."):
                continue
            opts = model._meta
            for text in (opts.verbose_name, opts.verbose_name_plural, opts.app_config.verbose_name):
                assert not english_left(text), (model, str(text))
            for field in opts.get_fields():
                name = getattr(field, "verbose_name", None)
                if name is not None:
                    assert not english_left(name), (model, field.name, str(name))
    with translation.override("en"):
        from okpay.payments.models import Transaction

        assert str(Transaction._meta.verbose_name_plural) == "transactions"
        assert str(Transaction._meta.get_field("created_at").verbose_name) == "created at"


def test_the_admin_pages_show_chinese_names(operator) -> None:
    from okpay.payments.services import topup_create

    topup_create(user=user_create("payer@example.com"), amount=1_000)  # a list with rows: its table has headers
    index = operator.get("/admin/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    for english in ("Payment intents", "Transactions", "Tickets", "Ledger", "Payments", "Merchants", "Live chat"):
        assert f">{english}<" not in index, english
    assert "支付意图" in index and "工单" in index and "账本" in index and "OKPay 管理后台" in index
    for model, _model_admin in okpay_admins():
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        page = operator.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert page.status_code == 200, url
        html = page.content.decode()
        table = html[html.find('id="result_list"'):html.find("</thead>", html.find('id="result_list"'))]
        headers = re.findall(r'<th scope="col"[^>]*>.*?<(?:a|span)[^>]*>([^<]+)<', table, re.S)
        for header in headers:
            assert not english_left(header), (url, header)
    chinese = operator.get("/admin/payments/transaction/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "公开 ID" in chinese and "金额" in chinese
    english = operator.get("/admin/payments/transaction/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    table = english[english.find('id="result_list"'):english.find("</thead>", english.find('id="result_list"'))]
    assert "Select transaction to change" in english and "Public" in table and "公开" not in table
