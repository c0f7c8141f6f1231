"""Keyboard-only journeys (issue 22 item 4): move with Tab, act with Enter or Space, and at every
stop the focused control shows a visible focus indicator (an outline of at least 2 px, or a box
shadow ring). Targets are found by role and accessible name, not by CSS class, so a journey
survives a redesign of the page."""

from __future__ import annotations

from typing import Any

FOCUS = """() => { const e = document.activeElement; const s = getComputedStyle(e);
  const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) ||
               (s.boxShadow && s.boxShadow !== 'none');
  return {id: e.id, tag: e.tagName, text: (e.innerText || e.value || '').trim().slice(0, 40), ring: ring,
          body: e === document.body}; }"""


def tab_to(page: Any, target: Any = None, *, predicate: Any = None, limit: int = 80) -> dict[str, Any]:
    """Press Tab until ``target`` (a Playwright locator) or an element matching ``predicate`` (on the
    FOCUS dict) has the focus; every control passed on the way must show its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS)
        if focused["body"]:  # past the last control, the browser's own chrome: go round again
            continue
        assert focused["ring"], f"no visible focus on {focused}"
        if target is not None and target.evaluate("e => e === document.activeElement"):
            return focused
        if predicate is not None and predicate(focused):
            return focused
    raise AssertionError(f"never reached by Tab: {target or predicate}")
