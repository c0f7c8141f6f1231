"""Staff edit articles in the admin (with preview, index kept in step); the `okpay helpcenter` command."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command
from django.test import Client

from okpay.helpcenter.models import Article, ContentGap
from okpay.helpcenter.search import search
from okpay.helpcenter.services import content_gap_record
from tests.factories import user_create
from tests.helpcenter.conftest import sign_in


def _staff(client: Client) -> Client:
    admin = user_create("editor@example.com", name="Editor", role="admin")
    admin.is_superuser = True
    admin.save(update_fields=["is_superuser"])
    return sign_in(client, admin)


def test_admin_edit_shows_preview_and_reindexes(seeded: None, client: Client) -> None:
    _staff(client)
    article = Article.objects.get(lang="en", slug="top-up")
    change_url = f"/admin/helpcenter/article/{article.pk}/change/"
    page = client.get(change_url).content.decode()
    assert 'class="help-admin-preview"' in page and "<ol>" in page
    assert "(zh-hans)" in page  # link to the translation
    response = client.post(change_url, {
        "lang": "en", "slug": "top-up", "title": "How do I top up with a prepaid voucher?",
        "summary": article.summary, "category": "payments", "tags": article.tags, "position": 3,
        "is_published": "on", "body": "Vouchers **work** too. <script>x()</script>",
        "related": list(article.related.values_list("pk", flat=True)),
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    article.refresh_from_db()
    assert article.body_html == "<p>Vouchers <strong>work</strong> too. </p>"
    assert [a.slug for a in search("voucher", lang="en", limit=1).articles] == ["top-up"]
    assert client.get("/admin/helpcenter/contentgap/").status_code == 200
    assert client.get("/admin/helpcenter/phishingreport/").status_code == 200


def test_admin_is_for_staff_only(seeded: None, client: Client, alice) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, alice)
    assert client.get("/admin/helpcenter/article/").status_code == 302


def test_cli_load_reindex_and_gaps(db: None) -> None:
    out = StringIO()
    call_command("helpcenter", "load", stdout=out)
    assert out.getvalue().strip() == "help centre: 70 created, 0 updated, 0 unchanged, 0 kept (edited by staff)"
    out = StringIO()
    call_command("helpcenter", "load", stdout=out)
    assert "0 created, 0 updated, 70 unchanged" in out.getvalue()
    out = StringIO()
    call_command("helpcenter", "reindex", stdout=out)
    assert out.getvalue().strip() == "help centre: 70 articles indexed"
    assert search("提现", lang="zh-hans", limit=1).articles[0].slug == "withdrawal-time"
    content_gap_record(query="bitcoin", lang="en")
    content_gap_record(query="bitcoin", lang="en")
    out = StringIO()
    call_command("helpcenter", "gaps", stdout=out)
    assert out.getvalue().split() == ["2", "en", "bitcoin"]
    assert ContentGap.objects.get().count == 2


def test_admin_live_preview_renders_and_sanitises(seeded: None, client: Client, alice) -> None:  # type: ignore[no-untyped-def]
    url = "/admin/helpcenter/article/preview/"
    sign_in(client, alice)
    assert client.post(url, {"body": "x"}).status_code == 302  # not staff: to the admin login
    client.logout()
    _staff(client)
    response = client.post(url, {"body": "**Call** {{hotline}} <script>x()</script> [y](javascript:z)"})
    assert response.status_code == 200
    assert response.content.decode() == (
        '<p><strong>Call</strong> +86 400-800-6578  <a rel="noopener noreferrer nofollow">y</a></p>')
    assert client.get(url).status_code == 405
    page = client.get("/admin/helpcenter/article/add/").content.decode()
    assert 'data-preview-url="/admin/helpcenter/article/preview/"' in page and "admin_preview.js" in page
