"""Internal notes OKPay writes, kept as words to translate rather than as finished text (issue 18).

A note the desk writes itself ("Freeze the account · Done: account frozen — reason") used to be
stored already translated into the site's language, so an English-speaking agent read Chinese.
Now the note also keeps its parts in ``TicketMessage.note``: message ids (the English source of
the catalogue) with their values, and literal text people typed (a reason, a transcript), which is
never translated. The desk renders the note in the reader's language (``render``); ``body_text``
keeps the site-language text for search, exports and anything older than this field.

A part is a ``str`` (shown as it is), a list of parts (joined), or ``{"m": msgid, "p": {name:
part}}`` (translated, then its values filled in; values are parts too).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext

Part = Any  # str | list[Part] | {"m": str, "p": {str: Part}}


def tr(msgid: str, **params: Part) -> dict[str, Any]:
    """A translatable part; mark ``msgid`` for the catalogue with gettext_noop where it is written."""
    return {"m": str(msgid), "p": params} if params else {"m": str(msgid)}


def render(part: Part) -> str:
    """The note in the active language. Unknown shapes render as nothing rather than failing a page."""
    if isinstance(part, str):
        return part
    if isinstance(part, list):
        return "".join(render(p) for p in part)
    if isinstance(part, dict) and isinstance(part.get("m"), str):
        text = gettext(part["m"]) if part["m"] else ""
        params = part.get("p") or {}
        if isinstance(params, dict) and params:
            try:
                return text % {str(k): render(v) for k, v in params.items()}
            except (KeyError, TypeError, ValueError):  # a catalogue typo must not hide the note
                return part["m"] % {str(k): render(v) for k, v in params.items()}
        return text
    if isinstance(part, dict) and "parts" in part:
        return render(part["parts"])
    return ""
