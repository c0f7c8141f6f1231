"""The desk's live-chat console (/desk/chat/): the page; everything live goes over ws/agent/."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language

from okpay.chat import selectors


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
