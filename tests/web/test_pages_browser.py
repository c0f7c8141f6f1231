"""Chromium over every page of every role (tests/web/inventory.py):

- at 390 px no page scrolls sideways (``document.documentElement.scrollWidth <= innerWidth``; the one
  check of it, for every page of the inventory), the header stays one row, no button or link-button is
  covered by the chat launcher (each scrolled to the middle of the screen as far as the page lets it),
  every touch target is big enough (``TARGETS`` below), and the chat panel fills a phone's screen;
- in zh-Hans no English sentence is left in the visible text (nor Chinese in the English pages),
  apart from what people typed (names, ticket subjects, descriptions); every page has a title of
  its own with the brand.

``OKPAY_SCREENSHOTS=1`` also saves each page under test-artifacts/pages/ (390 px).
"""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings

from tests.conftest import ARTIFACTS
from tests.factories import session_cookie
from tests.web.inventory import ROLES, pages, world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
SHOTS = os.environ.get("OKPAY_SCREENSHOTS") == "1"

LAYOUT = """() => {
  const doc = document.documentElement;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width && r.right > innerWidth + 1 && getComputedStyle(el).position !== 'fixed') {
      const cls = typeof el.className === 'string' ? '.' + el.className.trim().split(' ').join('.') : '';
      wide.push(el.tagName.toLowerCase() + cls + ' →' + Math.round(r.right));
    }
  }
  const header = document.querySelector('.site-header .header-row');
  return {scrollWidth: doc.scrollWidth, innerWidth: innerWidth, wide: wide.slice(0, 6),
          headerHeight: header ? Math.round(header.getBoundingClientRect().height) : 0};
}"""

COVERED = """() => {
  const launcher = document.querySelector('[data-chat-launcher]');
  if (!launcher) { return []; }
  const covered = [];
  const items = document.querySelectorAll('main button, main .btn, main input[type=submit], main summary, main a');
  for (const el of items) {
    if (!el.offsetParent || el.closest('[hidden]')) { continue; }
    el.scrollIntoView({block: 'center', inline: 'nearest'});
    const a = el.getBoundingClientRect(), b = launcher.getBoundingClientRect();
    if (!a.width || !a.height) { continue; }
    if (a.left < b.right - 1 && a.right > b.left + 1 && a.top < b.bottom - 1 && a.bottom > b.top + 1) {
      covered.push((el.textContent || el.value || el.tagName).trim().slice(0, 40));
    }
  }
  window.scrollTo(0, 0);
  return covered;
}"""

# Touch targets at 390 px (issue 22 item 5). The rule chosen: WCAG 2.5.5 (Target Size, Enhanced, AAA)
# 44 x 44 CSS px, with the spacing alternative of 2.5.8 (Target Size, Minimum, AA) scaled to 44: a
# smaller target passes when a 44 px circle centred on it meets no other target (nor another small
# target's circle), so a short link alone on its line is fine. Exempt as in 2.5.5/2.5.8: links inside
# a sentence ("inline"), and controls the browser draws (a checkbox or radio counts together with its
# label, which the browser makes part of the target). Hidden, off-screen and covered-up controls
# are not targets.
TARGETS = """() => {
  const MIN = 44, R = MIN / 2;
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, ' +
    '[role=button], [role=link], [role=tab], [role=checkbox], [role=radio], [role=switch]';
  const found = [];
  for (const el of document.querySelectorAll(selector)) {
    if (el.closest('[hidden], [inert], [aria-hidden=true]')) { continue; }
    if (el.checkVisibility && !el.checkVisibility({opacityProperty: true, visibilityProperty: true})) { continue; }
    const style = getComputedStyle(el);
    if (style.display === 'inline') {  // a link in running text
      const block = el.parentElement && el.parentElement.closest('p, li, dd, td, th, label, span, small, div');
      const own = (el.textContent || '').trim().length;
      if (block && (block.textContent || '').trim().length > own + 1) { continue; }
    }
    let r = el.getBoundingClientRect();
    if ((el.type === 'checkbox' || el.type === 'radio') && el.labels) {
      for (const label of el.labels) {
        const l = label.getBoundingClientRect();
        if (l.width && l.height) {
          r = new DOMRect(Math.min(r.left, l.left), Math.min(r.top, l.top),
                          Math.max(r.right, l.right) - Math.min(r.left, l.left),
                          Math.max(r.bottom, l.bottom) - Math.min(r.top, l.top));
        }
      }
    }
    if (r.width < 1 || r.height < 1 || r.right <= 0 || r.bottom <= -scrollY || r.left >= innerWidth) { continue; }
    found.push({el, r, small: r.width < MIN - 0.5 || r.height < MIN - 0.5});
  }
  const related = (a, b) => a.el.contains(b.el) || b.el.contains(a.el) ||
    (a.el.labels && [...a.el.labels].some((l) => l.contains(b.el)));
  const centre = (t) => [t.r.left + t.r.width / 2, t.r.top + t.r.height / 2];
  const toRect = ([x, y], r) => Math.hypot(Math.max(r.left - x, 0, x - r.right), Math.max(r.top - y, 0, y - r.bottom));
  const problems = [];
  for (const t of found) {
    if (!t.small) { continue; }
    const c = centre(t);
    const near = found.find((o) => o !== t && !related(t, o) &&
      (toRect(c, o.r) < R - 0.5 || (o.small && Math.hypot(c[0] - centre(o)[0], c[1] - centre(o)[1]) < MIN - 0.5)));
    if (near) {
      const name = (e) => (e.getAttribute('aria-label') || e.textContent || e.value || e.name || e.tagName)
        .trim().slice(0, 30);
      problems.push(`${t.el.tagName.toLowerCase()} "${name(t.el)}" ${Math.round(t.r.width)}x${Math.round(t.r.height)}` +
                    ` next to "${name(near.el)}"`);
    }
  }
  return problems;
}"""

VISIBLE_TEXT = """() => {
  const doc = document.documentElement, pageLang = doc.lang.toLowerCase().slice(0, 2);
  const parts = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const el = node.parentElement;
    const skip = 'script, style, template, [hidden], [data-user-content], [translate=no], code, .code, .secret';
    if (!el || el.closest(skip) || (el.checkVisibility && !el.checkVisibility())) { continue; }
    const tagged = el.closest('[lang]');  // text marked as another language (a link to the Chinese version)
    if (tagged && tagged !== doc && tagged.lang.toLowerCase().slice(0, 2) !== pageLang) { continue; }
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') { continue; }
    parts.push(node.textContent);
  }
  for (const el of document.querySelectorAll('[placeholder], [aria-label], [title], input[type=submit][value]')) {
    if (el.closest('[hidden], [data-user-content]')) { continue; }
    for (const name of ['placeholder', 'aria-label', 'title']) {
      if (el.getAttribute(name)) { parts.push(el.getAttribute(name)); }
    }
    if (el.type === 'submit' && el.value) { parts.push(el.value); }
  }
  return parts.join('\\n');
}"""


def context_for(browser, live_server, role: str, user, lang: str, viewport=PHONE):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="zh-CN" if lang == "zh-hans" else "en-US", base_url=live_server.url,
                                  viewport=viewport)
    cookies = [{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": lang, "url": live_server.url}]
    if user is not None:
        cookies.append({"name": django_settings.SESSION_COOKIE_NAME, "value": session_cookie(user),
                        "url": live_server.url})
    context.add_cookies(cookies)
    return context


def visit_all(browser, live_server, lang: str, check) -> list[str]:  # type: ignore[no-untyped-def]
    """Open every page of every role in ``lang``; ``check(page, role, path)`` returns problems."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    w = world()
    users = {"anonymous": None, "customer": w.users["alice"], "merchant": w.users["shop"],
             "agent": w.users["agent"], "supervisor": w.users["supervisor"]}
    problems: list[str] = []
    for role in ROLES:
        context = context_for(browser, live_server, role, users[role], lang)
        page = context.new_page()
        for template, path in pages(role, w.ids):
            response = page.goto(path)
            assert response is not None and response.status < 500, f"{role} {path}: {response and response.status}"
            assert response.status < 400 or path == "/no-such-page/", f"{role} {path}: {response.status}"
            page.wait_for_load_state("load")
            try:  # panes that htmx loads after the page (the desk's customer context) are checked too
                page.wait_for_load_state("networkidle", timeout=3000)
            except PlaywrightTimeout:  # a page that polls: what has loaded by now is checked
                pass
            problems += [f"{lang} {role} {path}: {p}" for p in check(page, role, path)]
            if SHOTS:
                name = re.sub(r"[^a-z0-9]+", "-", f"{role}{template}".lower()).strip("-")[:80]
                (ARTIFACTS / "pages").mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "pages" / f"390-{lang}-{name}.png"), full_page=True)
        context.close()
    return problems


def phone_layout(page, role: str, path: str) -> list[str]:  # type: ignore[no-untyped-def]
    problems = []
    layout = page.evaluate(LAYOUT)
    if layout["scrollWidth"] > layout["innerWidth"]:
        problems.append(f"scrolls sideways ({layout['scrollWidth']} > {layout['innerWidth']}): {layout['wide']}")
    if layout["headerHeight"] > 72:
        problems.append(f"the header takes {layout['headerHeight']} px (more than one row)")
    covered = page.evaluate(COVERED)
    if covered:
        problems.append(f"covered by the chat launcher: {covered}")
    small = page.evaluate(TARGETS)
    if small:
        problems.append(f"touch targets under 44 x 44 px, too close to another: {small}")
    return problems


def test_every_page_fits_a_phone(browser, live_server) -> None:
    problems = visit_all(browser, live_server, "zh-hans", phone_layout)
    assert not problems, "\n".join(problems)


def test_the_chat_panel_fills_a_phone_screen_and_stays_off_staff_pages(browser, live_server) -> None:
    w = world()
    context = context_for(browser, live_server, "customer", w.users["alice"], "zh-hans")
    page = context.new_page()
    page.goto("/wallet/")
    page.locator("[data-chat-launcher]").click()
    box = page.locator("#okpay-chat-panel").bounding_box()
    assert box is not None
    assert box["x"] <= 0.5 and box["y"] <= 0.5
    assert box["width"] >= PHONE["width"] - 1 and box["height"] >= PHONE["height"] - 1
    assert page.locator(".chat-greeting").is_visible()  # the greeting comes first: never a blank panel
    if SHOTS:
        page.screenshot(path=str(ARTIFACTS / "pages" / "390-zh-hans-chat-panel.png"))
    context.close()
    context = context_for(browser, live_server, "agent", w.users["agent"], "zh-hans")
    page = context.new_page()
    for path in ("/desk/", f"/desk/t/{w.ids['ticket']}/"):
        page.goto(path)
        page.wait_for_load_state("load")
        assert page.locator("[data-chat-launcher]").count() == 0, path
    context.close()


# --- translation -------------------------------------------------------------------------------

# Words that are the same in both languages: names of things, not sentences.
NEUTRAL = re.compile(
    r"OKPay|WeChat|Telegram|Weibo|Alipay|TOTP|API|CSV|SVG|URL|HTTPS?|JSON|OpenAPI|SMS|ID|QR|App|PIN|"
    r"[\w.+-]+@[\w.-]+|https?://\S+|\b(?:txn|pi|re|rr|usr|tkt|mer|act|sk|pk|whe|whd|evt)_\w+|"
    r"\bT-\d[\w-]*|\S*\*{3}\S*|Alice|Bob|Demo Shop|Agent|Supervisor|Operator|English|简体中文"
)
ENGLISH_SENTENCE = re.compile(r"[A-Za-z]{2,}(?:[ ,’'-]+[A-Za-z]+){2,}")
HAN = re.compile(r"[\u3400-\u9fff]+")
HALF_WIDTH_IN_CHINESE = re.compile(r"[\u3400-\u9fff][,;:?!](?=\s|[\u3400-\u9fff]|$)")


def user_content() -> list[str]:
    """What people typed or the demo data holds, shown as it is in either language."""
    from okpay.identity.models import User
    from okpay.merchants.models import Merchant, PaymentIntent
    from okpay.payments.models import Transaction
    from okpay.support.models import ActionRequest, Ticket, TicketMessage

    texts: list[str] = []
    texts += User.objects.values_list("display_name", flat=True)
    texts += Merchant.objects.values_list("name", flat=True)
    texts += PaymentIntent.objects.values_list("description", flat=True)
    texts += Transaction.objects.exclude(note="").values_list("note", flat=True)
    texts += Ticket.objects.values_list("subject", flat=True)
    texts += Ticket.objects.values_list("requester_name", flat=True)
    texts += ActionRequest.objects.values_list("reason", flat=True)
    people = TicketMessage.objects.exclude(author_kind=TicketMessage.AuthorKind.SYSTEM)  # OKPay's own notes are ours
    texts += [line for body in people.values_list("body_text", flat=True) for line in body.splitlines()]
    return sorted({t.strip() for t in texts if t and t.strip()}, key=len, reverse=True)


def untranslated(lang: str, text: str, typed: list[str]) -> list[str]:
    for value in typed:
        text = text.replace(value, " ")
    found = []
    for line in text.splitlines():
        line = NEUTRAL.sub(" ", line).strip()
        if not line:
            continue
        if lang == "zh-hans":
            found += [m.group(0) for m in ENGLISH_SENTENCE.finditer(line)]
            found += [m.group(0) for m in HALF_WIDTH_IN_CHINESE.finditer(line)]
        else:
            found += HAN.findall(line)
    return found


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_no_page_is_half_translated(browser, live_server, lang: str) -> None:
    typed: list[str] = []
    titles: dict[str, str] = {}

    def check(page, role: str, path: str) -> list[str]:  # type: ignore[no-untyped-def]
        if path.startswith("/offline/") and not path.startswith(f"/offline/{lang}/"):
            return []  # the offline page of the other language: the worker picks the one the app speaks
        if not typed:
            typed.extend(user_content())
        searched = [v for values in parse_qs(urlsplit(path).query).values() for v in values]  # typed too
        found = untranslated(lang, page.evaluate(VISIBLE_TEXT), searched + typed)
        problems = [repr(s) for s in dict.fromkeys(found)]
        title = page.title()
        if "OKPay" not in title:
            problems.append(f"title without the brand: {title!r}")
        titles.setdefault(title, path)
        return problems

    problems = visit_all(browser, live_server, lang, check)
    assert not problems, "\n".join(problems)
    assert len(titles) >= 30  # each page its own title, not the site's one


def test_the_check_finds_what_it_is_for() -> None:
    """The translation check itself: a known half-translated note, half-width punctuation after
    Chinese, and Chinese left in an English page are found; typed content is not."""
    assert untranslated("zh-hans", "取消待处理的交易 · waiting for a supervisor to approve", []) \
        == ["waiting for a supervisor to approve"]
    assert untranslated("zh-hans", "忘记密码?", []) == ["码?"]
    assert untranslated("en", "Sign in · 登录", []) == ["登录"]
    assert untranslated("en", "Alice 王 · Payment keeps showing as pending", ["Alice 王"]) == []


SHOWN = [  # the pages the issue asks to see, per role: (name, role, path)
    ("checkout-signed-out", "anonymous", "/checkout/{intent}/"),
    ("checkout-signed-in", "customer", "/checkout/{intent}/"),
    ("checkout-paid", "customer", "/checkout/{paid}/done/"),
    ("merchant-dashboard", "merchant", "/merchant/"),
    ("desk-queue", "agent", "/desk/"),
    ("desk-ticket", "agent", "/desk/t/{ticket}/"),
    ("supervisor-dashboard", "supervisor", "/desk/dashboard/"),
    ("transactions", "customer", "/wallet/transactions/"),
    ("send", "customer", "/wallet/send/"),
]


@pytest.mark.skipif(not SHOTS, reason="screenshots for people: OKPAY_SCREENSHOTS=1")
@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_screenshots_of_the_pages_the_issue_lists(browser, live_server, lang: str) -> None:
    w = world()
    users = {"anonymous": None, "customer": w.users["alice"], "merchant": w.users["shop"],
             "agent": w.users["agent"], "supervisor": w.users["supervisor"]}
    out = ARTIFACTS / "shown"
    out.mkdir(parents=True, exist_ok=True)
    for width, height in ((390, 844), (1280, 900)):
        for name, role, template in SHOWN:
            size = {"width": width, "height": height}
            context = context_for(browser, live_server, role, users[role], lang, viewport=size)
            page = context.new_page()
            page.goto(template.format(**w.ids))
            page.wait_for_load_state("load")
            if name == "send":  # the confirmation step: what was typed next to the masked payee
                page.locator("#id_to").fill("bob@okpay.example")
                page.locator("#id_amount").fill("88.80")
                page.locator("main form button[type=submit]").first.click()
                page.wait_for_load_state("load")
                name = "send-confirm"
            page.screenshot(path=str(out / f"{name}-{lang}-{width}.png"), full_page=True)
            page.screenshot(path=str(out / f"{name}-{lang}-{width}-top.png"))
            context.close()


# --- form errors are announced -----------------------------------------------------------------

# The posting forms of a page that have a required field a person types into.
FORMS = """() => [...document.querySelectorAll('main form')].map((form, index) => ({index, form}))
  .filter(({form}) => (form.getAttribute('method') || 'get').toLowerCase() === 'post' && !form.closest('[hidden]') &&
    [...form.elements].some((e) => e.required && !e.disabled && e.checkVisibility() &&
      (e.tagName === 'TEXTAREA' || ['text', 'email', 'password', 'tel', 'number', 'url', 'search'].includes(e.type))))
  .map(({index}) => index)"""

# Empty every field a person types into (and untick the boxes) of form ``index``, and submit it
# past the browser's own checks: the server's answer is what is checked.
EMPTY_AND_SUBMIT = """(index) => {
  const TYPED = ['text', 'email', 'password', 'tel', 'number', 'url', 'search'];
  const form = document.querySelectorAll('main form')[index];
  form.noValidate = true;  // (the caller made sure that the form is there)
  for (const e of form.elements) {
    if (e.disabled || e.type === 'hidden' || !e.checkVisibility()) { continue; }
    if (e.type === 'checkbox') { e.checked = false; }
    else if (e.tagName === 'TEXTAREA' || TYPED.includes(e.type)) { e.value = ''; }
  }
  const submit = form.querySelector('button[type=submit], button:not([type]), input[type=submit]');
  form.requestSubmit(submit || undefined);
}"""

# After the failed submit: each field marked invalid is described by its visible error, at least
# one field is marked (a required field was left empty), and the page says so in a live region
# (role=alert or aria-live) that a screen reader announces.
ANNOUNCED = """() => {
  const problems = [];
  const invalid = [...document.querySelectorAll('main [aria-invalid=true]')];
  for (const field of invalid) {
    const ids = (field.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean);
    const texts = ids.map((id) => document.getElementById(id)).filter(Boolean).map((e) => e.textContent.trim());
    if (!texts.some(Boolean)) { problems.push(`${field.name || field.id}: aria-invalid without a described error`); }
  }
  if (!invalid.length) { problems.push('no field is marked aria-invalid'); }
  const live = [...document.querySelectorAll('main [role=alert], main [aria-live=assertive], main [aria-live=polite]')]
    .filter((e) => e.textContent.trim() && e.checkVisibility());
  if (!live.length) { problems.push('no error summary in a live region (role=alert)'); }
  return problems;
}"""


# Forms whose errors are not tied to their field yet (left for a next change, issue 22):
# (role, path prefix, form index) -> why.
KNOWN_GAPS = {
}


def known_gap(role: str, path: str, index: int) -> bool:
    return any(role == r and path.startswith(prefix) and i in (None, index) for r, prefix, i in KNOWN_GAPS)


def form_errors(page, role: str, path: str) -> list[str]:  # type: ignore[no-untyped-def]
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    problems = []
    for n, index in enumerate(page.evaluate(FORMS)):
        if known_gap(role, path, index):
            continue
        if n:
            page.goto(path)
            try:  # forms that htmx loads after the page (the desk's calls panel) are there again
                page.wait_for_load_state("networkidle", timeout=3000)
            except PlaywrightTimeout:  # a page that polls
                pass
        if page.locator("main form").count() <= index:  # the page changed since (a form of it was sent)
            continue
        response = None
        try:
            with page.expect_navigation(timeout=5000) as navigation:
                page.evaluate(EMPTY_AND_SUBMIT, index)
            response = navigation.value
        except PlaywrightTimeout:  # an htmx form answers in place
            page.wait_for_load_state("networkidle")
        if response is not None and response.request.redirected_from is not None:
            if "/account/login/" not in page.url:  # (a signed-out visitor is sent to sign in first)
                problems.append(f"form {index}: sent empty, it redirected to {page.url} (errors not on the form)")
            continue
        problems += [f"form {index}: {p}" for p in page.evaluate(ANNOUNCED)]
    if problems:
        page.goto(path)
    return problems


def test_form_errors_are_announced(browser, live_server) -> None:
    """Every posting form of the inventory with a required field, sent with its fields empty: the
    errors are tied to their fields (``aria-invalid`` + ``aria-describedby``) and announced in a
    live region (issue 22 item 4)."""
    problems = visit_all(browser, live_server, "en", form_errors)
    assert not problems, "\n".join(problems)
