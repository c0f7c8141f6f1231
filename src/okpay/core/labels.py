"""Model and field names in the reader's language, for the Django admin (issue 17, item 8).

Most of OKPay's models leave their names to Django, which derives them from the English class and
field names ("payment intent", "created at"); the operators read the admin in zh-Hans or English.
``translate_labels`` (run once at start-up) turns each such default into a lazy translation of the
same English text; the zh-Hans text is in the apps' catalogues. It sets ``field.verbose_name`` (what
forms and the admin read), not the constructor's ``_verbose_name`` that migrations record, and
``Meta`` options outside ``original_attrs``: no migration changes. Names a model or field gives
itself (already lazy, e.g. the help centre's) are left as they are.
"""

from __future__ import annotations

from django.apps import apps
from django.utils.functional import Promise, lazy
from django.utils.translation import get_language, gettext, gettext_lazy


def _plural(singular: str, plural: str) -> str:
    """Chinese has no plural form: the singular's translation; English keeps Django's plural."""
    return gettext(singular) if (get_language() or "").startswith("zh") else plural


_lazy_plural = lazy(_plural, str)


def translate_labels() -> None:
    for model in apps.get_models():
        if not model.__module__.startswith("okpay."):
            continue
        opts = model._meta
        if not isinstance(opts.verbose_name, Promise):
            english = str(opts.verbose_name)
            if "verbose_name_plural" not in opts.original_attrs:
                opts.verbose_name_plural = _lazy_plural(english, str(opts.verbose_name_plural))
            opts.verbose_name = gettext_lazy(english)
        for field in opts.get_fields():
            name = getattr(field, "verbose_name", None)
            if isinstance(name, str) and not isinstance(name, Promise) and name.isascii():
                field.verbose_name = gettext_lazy(name)  # type: ignore[union-attr]
