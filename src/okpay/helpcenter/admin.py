"""Staff edit articles in the admin: Markdown with a rendered preview, drafts previewed on the site."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from okpay.helpcenter import services
from okpay.helpcenter.models import Article, ArticleVote, ContentGap, PhishingReport
from okpay.helpcenter.rendering import article_html, render_markdown


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("title", "lang", "slug", "category", "is_published", "helpful_yes", "helpful_no", "updated_at")
    list_filter = ("lang", "category", "is_published")
    search_fields = ("title", "slug", "tags", "summary")
    filter_horizontal = ("related",)
    readonly_fields = ("preview", "translation_links", "helpful_yes", "helpful_no", "public_id", "updated_at")
    fieldsets = (
        (None, {"fields": ("lang", "slug", "title", "summary", "category", "tags", "position", "is_published")}),
        (_("Body"), {"fields": ("body", "preview"),
                     "description": _("Markdown. Placeholders {{support_email}}, {{hotline}}, "
                                      "{{hotline_hours}}, {{web_domain}} are filled from the channel registry. "
                                      "The preview follows your typing; save as a draft (not published) and use "
                                      "“View on site” to see it in the page.")}),
        (_("Links"), {"fields": ("related", "translation_links")}),
        (_("Feedback"), {"fields": ("helpful_yes", "helpful_no", "public_id", "updated_at")}),
    )

    class Media:
        js = ("helpcenter/admin_preview.js",)
        css = {"all": ("helpcenter/admin_preview.css",)}

    def get_urls(self) -> list[URLPattern]:
        preview = path("preview/", self.admin_site.admin_view(require_POST(self.preview_view)),
                       name="helpcenter_article_preview")
        return [preview, *super().get_urls()]

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        """The Markdown being edited, rendered and sanitised exactly as the site will show it."""
        if not self.has_change_permission(request) and not self.has_add_permission(request):
            return HttpResponse(status=403)
        return HttpResponse(article_html(render_markdown(request.POST.get("body", "")[:100_000])))

    def get_form(self, request: HttpRequest, obj: Article | None = None, change: bool = False,
                 **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if "body" in form.base_fields:
            form.base_fields["body"].widget.attrs["data-preview-url"] = reverse("admin:helpcenter_article_preview")
        return form

    def view_on_site(self, obj: Article) -> str:
        return obj.get_absolute_url() + "?preview=1&lang=" + obj.lang

    @admin.display(description=_("Preview"))
    def preview(self, obj: Article) -> str:
        if not obj.pk:
            return format_html('<div class="help-admin-preview"></div>')
        html = obj.body_html or render_markdown(obj.body)
        return format_html('<div class="help-admin-preview">{}</div>', article_html(html))

    @admin.display(description=_("Translations"))
    def translation_links(self, obj: Article) -> str:
        others = Article.objects.filter(slug=obj.slug).exclude(pk=obj.pk) if obj.pk else []
        if not others:
            return str(_("None yet: create an article with the same slug in the other language."))
        return format_html_join(", ", '<a href="../../{}/change/">{} ({})</a>',
                                ((a.pk, a.title, a.lang) for a in others))

    def save_model(self, request: HttpRequest, obj: Article, form: Any, change: bool) -> None:
        services.article_save(article=obj)

    def delete_model(self, request: HttpRequest, obj: Article) -> None:
        services.article_delete(article=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        for article in queryset:
            services.article_delete(article=article)


@admin.register(ArticleVote)
class ArticleVoteAdmin(admin.ModelAdmin):
    list_display = ("article", "helpful", "comment", "user", "created_at")
    list_filter = ("helpful", "article__lang")
    search_fields = ("comment", "article__title")
    readonly_fields = ("article", "helpful", "comment", "user", "voter_key", "created_at", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ContentGap)
class ContentGapAdmin(admin.ModelAdmin):
    list_display = ("query", "lang", "count", "last_seen_at", "resolved")
    list_filter = ("lang", "resolved")
    search_fields = ("query",)
    ordering = ("-count",)
    readonly_fields = ("query", "lang", "count", "first_seen_at", "last_seen_at")
    actions = ("mark_resolved",)

    @admin.action(description=_("Mark as answered by an article"))
    def mark_resolved(self, request: HttpRequest, queryset: QuerySet[ContentGap]) -> None:
        services.content_gaps_resolve(gap_ids=list(queryset.values_list("pk", flat=True)))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(PhishingReport)
class PhishingReportAdmin(admin.ModelAdmin):
    list_display = ("value", "kind", "official", "lookalike_of", "status", "created_at")
    list_filter = ("status", "kind", "official")
    search_fields = ("value", "note")
    readonly_fields = ("public_id", "value", "kind", "official", "lookalike_of", "signals", "note", "reporter",
                       "reporter_ip", "created_at")
    actions = ("mark_confirmed", "mark_dismissed")

    @admin.action(description=_("Confirm as phishing"))
    def mark_confirmed(self, request: HttpRequest, queryset: QuerySet[PhishingReport]) -> None:
        services.phishing_reports_set_status(report_ids=list(queryset.values_list("pk", flat=True)),
                                             status=PhishingReport.Status.CONFIRMED)

    @admin.action(description=_("Dismiss"))
    def mark_dismissed(self, request: HttpRequest, queryset: QuerySet[PhishingReport]) -> None:
        services.phishing_reports_set_status(report_ids=list(queryset.values_list("pk", flat=True)),
                                             status=PhishingReport.Status.DISMISSED)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
