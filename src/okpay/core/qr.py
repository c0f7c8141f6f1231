"""QR codes drawn on the server with segno (no browser library, no image library): inline SVG for
pages, PNG and PDF for downloads and print. Error correction M: a printed code still scans when a
little of it is scuffed or covered."""

from __future__ import annotations

import io
import re

import segno
from django.utils.safestring import SafeString, mark_safe

_SIZE = re.compile(r'width="(\d+)" height="(\d+)"')


def _code(data: str) -> segno.QRCode:
    return segno.make(data, error="m", micro=False, boost_error=False)


def svg_inline(data: str, *, scale: int = 6, title: str = "") -> SafeString:
    """An ``<svg>`` element for a page (segno writes only geometry and colours: safe to inline)."""
    buffer = io.BytesIO()
    _code(data).save(buffer, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True,
                     title=title or None, svgclass="qr-code", lineclass=None, dark="#000", light="#fff")
    markup = buffer.getvalue().decode()
    # A viewBox, so that the stylesheet can size the code (segno writes width and height only).
    match = _SIZE.search(markup)
    if match:
        markup = markup.replace(match.group(0), f'{match.group(0)} viewBox="0 0 {match.group(1)} {match.group(2)}"', 1)
    return mark_safe(markup)  # noqa: S308  # nosec B308 B703 - segno's own markup, no input in it but escaped text


def png(data: str, *, scale: int = 12) -> bytes:
    buffer = io.BytesIO()
    _code(data).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def pdf(data: str, *, scale: int = 12) -> bytes:
    buffer = io.BytesIO()
    _code(data).save(buffer, kind="pdf", scale=scale, border=4)
    return buffer.getvalue()
