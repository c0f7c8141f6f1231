"""``{% staffing_plan as plan %}``: the dashboard's staffing section loads its own data, so the
section is one include in the dashboard template and the dashboard view stays as it was."""

from __future__ import annotations

from typing import Any

from django import template

from okpay.support.forecast import StaffingPlan, staffing_plan

register = template.Library()

LEVELS = (70, 80, 85, 90, 95)


@register.simple_tag(takes_context=True)
def staffing_plan_for(context: dict[str, Any]) -> StaffingPlan:
    request = context.get("request")
    raw = request.GET.get("sl", "") if request is not None else ""
    level = int(raw) if raw.isdigit() and int(raw) in LEVELS else None
    return staffing_plan(level=level)


@register.simple_tag
def staffing_levels() -> tuple[int, ...]:
    return LEVELS


@register.filter
def staffing_seconds(seconds: float | None) -> str:
    """A wait for people: "12 s", "3.5 min"; "—" when there is nothing to wait for."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    return f"{minutes:.0f} min" if minutes == round(minutes) else f"{minutes:.1f} min"
