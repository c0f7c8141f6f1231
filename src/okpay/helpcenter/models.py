"""The knowledge base (articles in zh-Hans and en), helpful votes, content gaps and phishing reports.

Translations of one article share its ``slug``: ``/help/reset-password/`` shows the article in
the reader's language, and ``(lang, slug)`` is unique. The official channels are not a table:
they come from settings through :mod:`okpay.helpcenter.registry`, the one place that lists them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from okpay.core.ids import new_id


def new_article_id() -> str:
    return new_id("art")


def new_report_id() -> str:
    return new_id("phr")


class Lang(models.TextChoices):
    ZH_HANS = "zh-hans", "简体中文"
    EN = "en", "English"


class Category(models.TextChoices):
    ACCOUNT = "account", _("Account")
    PAYMENTS = "payments", _("Payments")
    SECURITY = "security", _("Security")
    TECHNICAL = "technical", _("Technical")
    REFUNDS = "refunds", _("Cancellations and refunds")
    CONTACT = "contact", _("Contact us")


class Article(models.Model):
    public_id = models.CharField(max_length=32, unique=True, default=new_article_id, editable=False)
    lang = models.CharField(_("language"), max_length=10, choices=Lang.choices, default=Lang.ZH_HANS)
    slug = models.SlugField(_("slug"), max_length=100,
                            help_text=_("Translations of one article share the same slug."))
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=400)
    body = models.TextField(_("body (Markdown)"))
    body_html = models.TextField(editable=False, default="")
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    tags = models.CharField(_("tags"), max_length=300, blank=True, default="",
                            help_text=_("Comma-separated keywords, also used by search."))
    related = models.ManyToManyField("self", symmetrical=False, blank=True, verbose_name=_("related articles"))
    is_published = models.BooleanField(_("published"), default=True)
    position = models.PositiveSmallIntegerField(_("position in its category"), default=100)
    helpful_yes = models.PositiveIntegerField(default=0, editable=False)
    helpful_no = models.PositiveIntegerField(default=0, editable=False)
    # The search index's view of the article: segmented, normalised tokens (see search/text.py).
    search_title = models.TextField(default="", editable=False)
    search_summary = models.TextField(default="", editable=False)
    search_body = models.TextField(default="", editable=False)
    # The checksum of the seed text this row was last loaded from; a staff edit changes the
    # content away from it, and `okpay helpcenter load` then leaves the row alone.
    seed_checksum = models.CharField(max_length=64, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        constraints = [
            models.UniqueConstraint(fields=["lang", "slug"], name="helpcenter_article_lang_slug"),
            models.CheckConstraint(condition=Q(lang__in=["zh-hans", "en"]), name="helpcenter_article_lang_known"),
        ]
        indexes = [models.Index(fields=["lang", "category", "position"])]

    def __str__(self) -> str:
        return f"{self.title} ({self.lang})"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("helpcenter:article", kwargs={"slug": self.slug})

    @property
    def tag_list(self) -> list[str]:
        return [tag.strip() for tag in self.tags.split(",") if tag.strip()]

    @property
    def votes_total(self) -> int:
        return self.helpful_yes + self.helpful_no


class ArticleVote(models.Model):
    """One reader's answer to "was this helpful?" (one per reader per article, changeable)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="votes")
    helpful = models.BooleanField()
    comment = models.TextField(blank=True, default="")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    voter_key = models.CharField(max_length=64, help_text="user id, or a hash of the anonymous session")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("helpful vote")
        verbose_name_plural = _("helpful votes")
        constraints = [models.UniqueConstraint(fields=["article", "voter_key"], name="helpcenter_vote_once")]

    def __str__(self) -> str:
        return f"{'+' if self.helpful else '-'} {self.article_id}"


class ContentGap(models.Model):
    """A search that found nothing: what customers look for and the help centre lacks."""

    lang = models.CharField(max_length=10, choices=Lang.choices)
    query = models.CharField(max_length=200)
    count = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()
    resolved = models.BooleanField(default=False, help_text=_("An article now answers it."))

    class Meta:
        verbose_name = _("content gap")
        verbose_name_plural = _("content gaps (searches without result)")
        constraints = [models.UniqueConstraint(fields=["lang", "query"], name="helpcenter_gap_unique")]
        indexes = [models.Index(fields=["-count"])]

    def __str__(self) -> str:
        return f"{self.query} ×{self.count}"


class PhishingReport(models.Model):
    """A customer's report of a link, address, number or account pretending to be OKPay."""

    class Status(models.TextChoices):
        NEW = "new", _("New")
        CONFIRMED = "confirmed", _("Confirmed phishing")
        DISMISSED = "dismissed", _("Dismissed")

    public_id = models.CharField(max_length=32, unique=True, default=new_report_id, editable=False)
    value = models.CharField(max_length=500)
    kind = models.CharField(max_length=20)
    official = models.BooleanField(default=False)
    lookalike_of = models.CharField(max_length=200, blank=True, default="")
    signals = models.JSONField(default=list, blank=True)
    note = models.TextField(blank=True, default="")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    reporter_ip = models.GenericIPAddressField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("phishing report")
        verbose_name_plural = _("phishing reports")
        indexes = [models.Index(fields=["status", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.value} ({self.get_status_display()})"
