"""The desk's live-chat console (/desk/chat/): the page; everything live goes over ws/agent/. And
the link that confirms an address for a chat's transcript (/chat/transcript/<token>/)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from okpay.chat import selectors, services
from okpay.core.errors import OkpayError


@login_required
def desk_chat(request: HttpRequest) -> HttpResponse:
    from okpay.support.permissions import can

    if not can(request.user, "reply_ticket"):  # type: ignore[arg-type]
        raise PermissionDenied
    return render(request, "chat/desk.html", selectors.desk_page(request.user, lang=get_language() or "zh-hans"))


@login_required
def desk_waiting(request: HttpRequest) -> HttpResponse:
    """The desk's navigation polls this: the count of chats waiting for this agent."""
    from okpay.support.permissions import can

    if not can(request.user, "reply_ticket"):  # type: ignore[arg-type]
        raise PermissionDenied
    return render(request, "chat/_waiting.html", {"waiting": selectors.waiting_count(request.user)})  # type: ignore[arg-type]


def transcript_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link of the "send the transcript here?" email. GET shows the address and a button (mail
    scanners follow links and must send nothing); the POST confirms the address and mails the
    transcript, once."""
    try:
        conversation, to = services.transcript_link(token)
    except OkpayError as exc:
        return render(request, "chat/transcript.html", {"error": _(exc.message)}, status=400)
    ctx = {"to": to, "started": conversation.created_at}
    if request.method != "POST":
        return render(request, "chat/transcript.html", ctx)
    try:
        _conv, sent = services.transcript_confirm(token=token)
    except OkpayError as exc:
        return render(request, "chat/transcript.html", {"error": _(exc.message)}, status=exc.status)
    return render(request, "chat/transcript.html", {**ctx, "done": True, "sent": sent})
