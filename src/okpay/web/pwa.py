"""The installable app (issue 22): manifest, icons, the service worker at the site root and the
offline pages it falls back to.

The worker (``templates/web/sw.js``) precaches the shell only: the stylesheet, the scripts, the
icons and the two offline pages, none of which carries anything about a person. Pages and API
answers are never stored by it: navigations go to the network (the offline page when there is
none), and the only runtime cache is for ``/static/`` files whose answer allows storing. Personal
and money answers carry ``Cache-Control: no-store`` (``okpay.core.middleware``), so neither the
browser's HTTP cache nor the worker keeps them.

The worker's bytes change whenever one of the shell's files changes (``shell_version``): the
browser installs the new worker, which waits, and the page offers "a new version is ready —
reload" (``static/okpay/pwa.js``); reloading tells the waiting worker to take over.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

THEME_COLOUR = "#0b6e4f"
BACKGROUND_COLOUR = "#ffffff"
LANGUAGES = ("zh-hans", "en")

# Static files the worker precaches (the app shell). Nothing here may depend on who is signed in.
SHELL_STATIC = (
    "okpay/okpay.css",
    "okpay/okpay.js",
    "okpay/pwa.js",
    "okpay/vendor/htmx-2.0.11/htmx.min.js",
    "chat/widget.js",
    "okpay/icons/icon-192.png",
    "okpay/icons/icon-512.png",
    "okpay/icons/maskable-192.png",
    "okpay/icons/maskable-512.png",
    "okpay/icons/apple-touch-icon.png",
    "okpay/icons/favicon-32.png",
)

# The worker's scope is the whole site, and these prefixes it leaves entirely to the network
# (it does not even answer for them): the API, staff pages, sockets, the admin.
PASSTHROUGH = ("/api/", "/admin/", "/desk/", "/ws/", "/metrics", "/healthz", "/readyz", "/dev/")


def shell_urls() -> list[str]:
    return [static(name) for name in SHELL_STATIC] + [offline_url(lang) for lang in LANGUAGES]


def offline_url(lang: str) -> str:
    return reverse("web:offline", args=[lang])


@lru_cache(maxsize=1)
def shell_version() -> str:
    """A digest of everything the worker precaches and of the worker itself: a deploy that changes
    any of them changes ``/sw.js``, and the browser installs the new worker."""
    digest = hashlib.sha256()
    for name in SHELL_STATIC:
        path = finders.find(name)
        digest.update(name.encode())
        if path:
            digest.update(Path(str(path)).read_bytes())
    templates = Path(__file__).resolve().parent / "templates" / "web"
    for template in ("sw.js", "offline.html"):
        digest.update((templates / template).read_bytes())
    return digest.hexdigest()[:16]


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    body = render_to_string("web/sw.js", {
        "version": shell_version(),
        "shell": json.dumps(shell_urls()),
        "offline": json.dumps({lang: offline_url(lang) for lang in LANGUAGES}),
        "passthrough": json.dumps(PASSTHROUGH),
        "static_prefix": json.dumps(settings.STATIC_URL),
        "icon": json.dumps(static("okpay/icons/icon-192.png")),
    })
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    # Always asked again: the browser compares bytes to find a new version.
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
def manifest(request: HttpRequest) -> HttpResponse:
    """The web app manifest in the page's language (``?lang=en`` / ``?lang=zh-hans``); one ``id``
    for both, so it is the same app whichever language installed it."""
    lang = request.GET.get("lang", "")
    lang = lang if lang in LANGUAGES else ("en" if (request.LANGUAGE_CODE or "").startswith("en") else "zh-hans")
    with translation.override(lang):
        data = {
            "id": "/",
            "name": _("OKPay wallet"),
            "short_name": "OKPay",
            "description": _("Send and receive money, pay by QR code, and reach official customer service."),
            "lang": "zh-Hans" if lang == "zh-hans" else "en",
            "dir": "ltr",
            "start_url": reverse("payments:home") + "?source=app",
            "scope": "/",
            "display": "standalone",
            "orientation": "portrait",
            "theme_color": THEME_COLOUR,
            "background_color": BACKGROUND_COLOUR,
            "categories": ["finance"],
            "icons": [
                {"src": static("okpay/icons/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
                {"src": static("okpay/icons/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
                {"src": static("okpay/icons/maskable-192.png"), "sizes": "192x192", "type": "image/png",
                 "purpose": "maskable"},
                {"src": static("okpay/icons/maskable-512.png"), "sizes": "512x512", "type": "image/png",
                 "purpose": "maskable"},
            ],
            "shortcuts": [
                {"name": _("Receive money"), "url": reverse("payments:receive")},
                {"name": _("Scan to pay"), "url": reverse("payments:scan")},
            ],
        }
    response = HttpResponse(json.dumps(data, ensure_ascii=False), content_type="application/manifest+json")
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_GET
def offline(request: HttpRequest, lang: str) -> HttpResponse:
    """The page the worker shows when a navigation finds no network. It says nothing about anyone
    (it is precached once and shown to whoever is at the device)."""
    if lang not in LANGUAGES:
        raise Http404
    with translation.override(lang):
        body = render_to_string("web/offline.html", {
            "lang": "zh-Hans" if lang == "zh-hans" else "en", "hotline": settings.OKPAY_HOTLINE})
    response = HttpResponse(body)
    response["Cache-Control"] = "public, max-age=0"
    return response


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    return redirect(static("okpay/icons/favicon.ico"), permanent=True)
