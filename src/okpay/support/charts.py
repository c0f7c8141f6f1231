"""Server-rendered SVG charts for the dashboards (no JavaScript; presentation attributes only,
no inline styles, so the CSP holds). Values are escaped; every chart has a title and a table
alternative in the page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

W, H = 460, 210
PAD_L, PAD_R, PAD_T, PAD_B = 40, 12, 28, 34
INK, MUTED, ACCENT, WARN, OK = "#1f2937", "#6b7280", "#1d4ed8", "#b91c1c", "#15803d"


def _svg(title: str, body: list[str], height: int = H) -> SafeString:
    head = (f'<svg class="sp-chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {W} {height}" '
            f'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="13">'
            f'<title>{escape(title)}</title>'
            f'<text x="{PAD_L}" y="16" font-size="15" font-weight="bold" fill="{INK}">{escape(title)}</text>')
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 - every value above is escaped  # nosec B308, B703


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 4:
            return step * 4 if value > step * 2 else step * 2 if value > step else step
    return value


def bars(points: Sequence[tuple[str, float]], *, title: str) -> SafeString:
    if not points:
        return _svg(title, [f'<text x="{PAD_L}" y="60" fill="{MUTED}">—</text>'])
    top = _nice_max(max(v for _, v in points))
    iw, ih = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    bw = iw / len(points)
    out = [f'<line x1="{PAD_L}" y1="{PAD_T + ih}" x2="{W - PAD_R}" y2="{PAD_T + ih}" stroke="{MUTED}"/>',
           f'<text x="{PAD_L - 6}" y="{PAD_T + 4}" text-anchor="end" fill="{MUTED}">{top:g}</text>',
           f'<text x="{PAD_L - 6}" y="{PAD_T + ih}" text-anchor="end" fill="{MUTED}">0</text>']
    every = max(1, len(points) // 10)
    for i, (label, value) in enumerate(points):
        h = ih * value / top
        x = PAD_L + i * bw
        out.append(f'<rect x="{x + bw * 0.15:.1f}" y="{PAD_T + ih - h:.1f}" width="{bw * 0.7:.1f}" height="{h:.1f}" '
                   f'fill="{ACCENT}"><title>{escape(label)}: {value:g}</title></rect>')
        if i % every == 0:
            out.append(f'<text x="{x + bw / 2:.1f}" y="{H - PAD_B + 14}" text-anchor="middle" '
                       f'fill="{MUTED}">{escape(label)}</text>')
    return _svg(title, out)


def hbars(points: Sequence[tuple[str, float]], *, title: str) -> SafeString:
    row = 22
    height = PAD_T + max(1, len(points)) * row + 10
    if not points:
        return _svg(title, [f'<text x="{PAD_L}" y="50" fill="{MUTED}">—</text>'], height=60)
    top = max(v for _, v in points) or 1
    label_w = 100
    iw = W - label_w - 50
    out = []
    for i, (label, value) in enumerate(points):
        y = PAD_T + i * row
        w = iw * value / top
        out.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" fill="{INK}">{escape(label)}</text>'
                   f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{ACCENT}"/>'
                   f'<text x="{label_w + w + 4:.1f}" y="{y + 14}" fill="{INK}">{value:g}</text>')
    return _svg(title, out, height=height)


def line(points: Sequence[tuple[str, float]], *, title: str, y_max: float, y_min: float = 0) -> SafeString:
    iw, ih = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    out = [f'<line x1="{PAD_L}" y1="{PAD_T + ih}" x2="{W - PAD_R}" y2="{PAD_T + ih}" stroke="{MUTED}"/>',
           f'<text x="{PAD_L - 6}" y="{PAD_T + 4}" text-anchor="end" fill="{MUTED}">{y_max:g}</text>']
    if y_min:
        out.append(f'<text x="{PAD_L - 6}" y="{PAD_T + ih}" text-anchor="end" fill="{MUTED}">{y_min:g}</text>')
    if not points:
        out.append(f'<text x="{PAD_L}" y="80" fill="{MUTED}">—</text>')
        return _svg(title, out)
    step = iw / max(1, len(points) - 1)
    coords = [(PAD_L + (i * step if len(points) > 1 else iw / 2), PAD_T + ih - ih * (v - y_min) / (y_max - y_min))
              for i, (_, v) in enumerate(points)]
    out.append('<polyline fill="none" stroke="' + OK + '" stroke-width="2" points="'
               + " ".join(f"{x:.1f},{y:.1f}" for x, y in coords) + '"/>')
    for (x, y), (label, value) in zip(coords, points, strict=True):
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{OK}"><title>{escape(label)}: {value:.2f}'
                   f'</title></circle>')
    out.append(f'<text x="{PAD_L}" y="{H - PAD_B + 14}" fill="{MUTED}">{escape(points[0][0])}</text>')
    out.append(f'<text x="{W - PAD_R}" y="{H - PAD_B + 14}" text-anchor="end" fill="{MUTED}">'
               f'{escape(points[-1][0])}</text>')
    return _svg(title, out)


def _dur(hours: float) -> str:
    return f"{round(hours * 60)} min" if hours < 1 else f"{hours:.1f} h"


def sla_bars(first: dict[str, Any], resolution: dict[str, Any], *, labels: tuple[str, str],
             title: str = "SLA") -> SafeString:
    """Median and p90 (hours) against the SLA target, for first response and resolution."""
    rows = [(labels[0], first), (labels[1], resolution)]
    top = max([1.0] + [float(s.get(k) or 0) for _, s in rows for k in ("median", "p90", "target")])
    label_w, iw, row = 90, W - 90 - 110, 60
    out = []
    for i, (label, s) in enumerate(rows):
        y = PAD_T + 18 + i * row
        out.append(f'<text x="{label_w - 6}" y="{y + 18}" text-anchor="end" fill="{INK}">{escape(label)}</text>')
        for j, (key, colour) in enumerate((("median", ACCENT), ("p90", WARN))):
            value = s.get(key)
            if value is None:
                continue
            w = iw * value / top
            out.append(f'<rect x="{label_w}" y="{y + 4 + j * 16}" width="{w:.1f}" height="13" fill="{colour}"/>'
                       f'<text x="{label_w + w + 4:.1f}" y="{y + 15 + j * 16}" fill="{INK}">{key} {_dur(value)}</text>')
        if s.get("target"):
            x = label_w + iw * s["target"] / top
            out.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 38}" stroke="{INK}" '
                       f'stroke-dasharray="4 3"/><text x="{x:.1f}" y="{y - 2}" text-anchor="middle" '
                       f'fill="{INK}">SLA {_dur(s["target"])}</text>')
    return _svg(title, out, height=PAD_T + 18 + 2 * row + 6)
