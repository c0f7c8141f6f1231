"""The first-line assistant: deterministic, no external service.

It answers from the help centre (the best articles, quoted briefly, with links) and, for a
signed-in customer, from their own data only: pending transactions with the reason, the date
and the next action (a cancel button where the payment can still be cancelled), a frozen
account, a recent lockout. It never reads anybody else's rows: every query is filtered on the
conversation's own user, and a guest gets no account facts at all.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from okpay.identity.models import SecurityEvent, User

# How a question is routed (docs/chat.md "Routing"). Each cue is a regular expression on the
# lower-cased question with a weight; a flow's score is its cues minus its negative cues (the words
# that say the question is about something else: "cancel" + "account" is closing the account, not
# cancelling a pending payment), plus a little when help-centre search ranks the flow's own article
# first. The best flow scoring at least FLOW_THRESHOLD starts; otherwise search's best article
# answers if it shares enough of the question's words; otherwise the assistant says it is not sure
# and offers a person. An explicit request for a person, or money taken by someone else, hands off
# at once.
_PW = r"(密码|pass?w[o0]?rd|pwd)"
_2FA = (r"(双重验证|双重认证|两步验证|二步验证|双因素|二次验证|2fa|two[- ]?factor|2[- ]?factor|two[- ]?step"
        r"|2[- ]?step|authenticator|验证器"
        r"|动态验证码|动态码|动态口令)")
_ON = r"(开启|开通|设置|设定|绑定|启用|打开|开|加上|添加|turn(ing)? on|enable|set ?up|setting up|add|activate|use|get)"
_OFF = r"(关闭|关掉|取消|解绑|停用|去掉|turn(ing)? off|disable|remove|deactivate|switch off|stop)"
_CANCEL = r"(取消|撤回|撤销|cancel|undo|stop|reverse)"
_MONEY = r"(转账|付款|支付|交易|那笔|这笔|汇款|提现|transfer|payment|transaction|withdrawal|sent|paid|send)"
_ACCOUNT = r"(账户|账号|帐户|帐号|户口|account|membership)"
_CLOSE = r"(注销|销户|删除|删掉|关闭|不用了|close|delete|remove|terminate|deactivate)"
_STATUS = (r"(待处理|处理中|pending|processing|on hold|held|stuck|卡住|卡着|审核|review|没到账|未到账|还没到|没有到"
           r"|没收到|还没收到|没入账|不到账|"
           r"didn'?t (get|receive)|didnt (get|receive)|not (arrived|received|there|come|completed)|hasn'?t (arrived"
           r"|come|received|completed)|"
           r"has not (arrived|received|completed)|still not|never arrived|where is my|没完成|还没好)")
_REFUND = (r"(退款|退钱|退回给我|退给我|退货|能退|可以退|退吗|不想要了|refund|money back|return (it|the item"
           r"|my order)|reimburse)")
_REFUND_STATUS = (r"(拒绝|驳回|没回|没有回|不回|没反应|没回应|怎么样了|进度|状态|declined|rejected|refused|no answer"
                  r"|never answered"
                  r"|hasn'?t answered|not answered|no reply|status|what happened)")
_DEFINE = r"(是什么意思|什么意思|是什么|什么是|what does .* mean|what is (a |an |the )?(risk|review|pending))"

Cues = tuple[tuple["re.Pattern[str]", float], ...]


def _cues(*pairs: tuple[str, float]) -> Cues:
    return tuple((re.compile(pattern), weight) for pattern, weight in pairs)


FLOW_CUES: dict[str, Cues] = {
    "reset": _cues(
        (rf"(忘|想不起|记不起|不记得|记不住|丢|找回|重置|重设|reset|forg[eo]t|lost|recover|can'?t remember"
         rf"|cant remember|don'?t know"
         rf"|dont know|new).{{0,30}}{_PW}", 1.5),
        (rf"{_PW}.{{0,30}}(忘|想不起|记不起|不记得|记不住|丢|找回|重置|重设|reset|recovery|forg[eo]t|lost)", 1.5),
    ),
    "2fa": _cues(
        (rf"{_ON}.{{0,30}}{_2FA}", 1.5),
        (rf"{_2FA}.{{0,30}}(怎么开|开启|开通|设置|绑定|启用|on\b|set ?up|setup|enable)", 1.5),
        (_2FA, 0.5),
    ),
    "pending": _cues(
        (_STATUS, 1.2),
        (rf"{_CANCEL}.{{0,30}}{_MONEY}", 1.2),
        (rf"{_MONEY}.{{0,30}}{_CANCEL}", 1.0),
        (r"(to|给)\s*(my )?(朋友|friend|他|她|家人)", 0.2),
    ),
    "refund": _cues(
        (_REFUND, 1.5),
        (r"(商家|网店|店|merchant|shop|store|seller).{0,30}(退|refund|return|money back)", 0.5),
    ),
}

FLOW_AGAINST: dict[str, Cues] = {
    "reset": _cues(
        (r"(锁|lock|too many|太多次)", 1.5),  # account-locked
        (_2FA, 1.0), (r"(验证码|code)", 0.5),  # a lost second factor, not a password
        (r"(支付密码|payment pin)", 0.5),
    ),
    "2fa": _cues(
        (_OFF, 2.0),  # turning it off
        (r"(丢|丢了|lost|stolen|new phone|换了.{0,6}手机|新手机|换手机|收不到|can'?t get|cannot get|gone|没了)", 2.0),
        (r"(恢复码|备用码|recovery code|backup code)", 2.0),
    ),
    "pending": _cues(
        (rf"{_ACCOUNT}.{{0,20}}{_CLOSE}|{_CLOSE}.{{0,20}}{_ACCOUNT}"
         rf"|{_CANCEL}.{{0,20}}(我的)?(okpay)?\s*{_ACCOUNT}", 3.0),
        (rf"{_CANCEL}.{{0,20}}({_2FA}|订阅|自动扣款|subscription)", 2.0),
        (_REFUND, 1.0),
        (r"(转错|错人|wrong (person|email|account|number|recipient)|stranger|陌生人|输错|by mistake)", 2.0),
        (r"(充值|充钱|top ?-?up)", 2.0),
        (r"(页面|网页|网站|app|page|website|browser|浏览器|点不动|闪退)", 1.5),
        (r"(没注册|未注册|没有账户|没有账号|没有 ?okpay|without an? (okpay )?account|no (okpay )?account|领取"
         r"|claim)", 2.0),
        (r"(失败|failed|declined|rejected|被拒)", 1.5),
        (r"(邮件|邮箱|email|mail|验证码|短信|sms|code)", 1.5),
        (_DEFINE, 1.5),
        (r"(冻结|frozen|freeze)", 1.5),
        (r"(登录|sign[- ]?in|log[- ]?in)", 1.0),
    ),
    "refund": _cues(
        (r"(转错|错人|wrong (person|email|recipient))", 1.0),
        (r"(没领取|未领取|领取|claim)", 2.0),  # an unclaimed transfer comes back by itself
    ),
}

REFUND_STATUS = re.compile(_REFUND_STATUS)
FLOW_THRESHOLD = 1.0
SEARCH_AGREES = 0.5  # search ranks the flow's own article first
COVERAGE_THRESHOLD = 0.2  # below this share of the question's words in the best article: not sure

HANDOFF_CUES = re.compile(
    r"(人工|真人|转人工|客服人员|找个人|找人来|活人|不要机器人|别.{0,6}机器人|talk to (a |an )?(human|person|someone"
    r"|agent|"
    r"representative)|speak (to|with) (a |an )?(human|person|someone|agent)|real (person|human)|a human|"
    r"human please|^\s*(agent|human|operator|representative)\s*[.!?]*\s*$|live agent|someone who can (actually )?help|"
    r"stop the bot|not a bot|no bot|representative|human being)")
# Money taken by someone else: a person at once (the ticket is a high-priority security one).
URGENT_THEFT = re.compile(
    r"(盗|被黑|被人|有人|不是我|没授权|未授权|被偷|hacked|hijacked|compromised|stolen|someone|wasn'?t me|not me|"
    r"didn'?t (spend|do|make|send)|did not (spend|do|make|send)|unauthori[sz]ed)")
URGENT_MONEY = re.compile(r"(钱|余额|资金|盗刷|money|funds|balance|sent|transferred|paid|spent)")
URGENT_NOT = re.compile(r"(防止|避免|预防|怎么防|如何防|会不会|安全吗|prevent|avoid|protect|is it safe|how (do"
                        r"|can) i keep)")


def urgent(text: str) -> bool:
    """Money taken by someone else (not a question about preventing it)."""
    low = (text or "").lower()
    return bool(URGENT_THEFT.search(low) and URGENT_MONEY.search(low) and not URGENT_NOT.search(low))


# Questions that name one article beyond doubt, whatever search ranks first (no flow started).
ARTICLE_CUES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), slug) for p, slug in (
    (rf"{_OFF}.{{0,20}}{_2FA}|{_2FA}.{{0,20}}{_OFF}|不想要.{{0,6}}{_2FA}|don'?t want .{{0,10}}{_2FA}"
     rf"|unlink .{{0,10}}{_2FA}",
     "disable-two-factor"),
    (rf"{_ACCOUNT}.{{0,20}}{_CLOSE}|{_CLOSE}.{{0,20}}{_ACCOUNT}|{_CANCEL}.{{0,20}}(我的)?\s*(okpay)?\s*{_ACCOUNT}"
     r"|注销|销户", "close-account"),
    (rf"(丢|lost|stolen|new phone|换了.{{0,6}}手机|新手机|换手机|手机换了).{{0,30}}({_2FA}|验证码"
     rf"|code)", "lost-phone-two-factor"),
    (r"(锁定|被锁|锁了|locked|lockout|too many .{0,20}(password|attempt|tries)|(多次|好几次|太多次).{0,10}密码"
     r"|密码.{0,10}"
     r"(多次|好几次|太多次))", "account-locked"),
))


def article_cue(text: str) -> str:
    low = (text or "").lower()
    for pattern, slug in ARTICLE_CUES:
        if pattern.search(low):
            return slug
    return ""


# The rest of the intents: account facts beside the best article (first match wins).
INTENTS: list[tuple[str, tuple[str, ...]]] = [
    ("security", ("被盗", "盗号", "诈骗", "骗子", "被骗", "不是我操作", "陌生登录", "钓鱼", "hacked", "stolen",
                  "scam", "fraud", "phishing", "someone else", "not me", "unauthori", "冒充", "pretend")),
    ("frozen", ("冻结", "frozen", "freeze", "解冻", "unfreeze")),
    ("lockout", ("锁定", "被锁", "锁了", "登录不了", "无法登录", "登不上", "密码错误", "locked", "lockout",
                 "can't sign in", "cannot sign in", "can't log in", "cannot log in")),
    ("withdrawal", ("提现", "取现", "到银行", "withdraw", "bank account")),
    ("bill", ("账单", "缴费", "水费", "电费", "话费", "燃气", "bill", "biller", "electricity", "utility")),
]

# Which pending reasons each intent is about (None: all).
INTENT_REASONS: dict[str, tuple[str, ...] | None] = {
    "pending": None, "cancel": None, "refund": None,
    "withdrawal": ("awaiting_bank",), "bill": ("awaiting_biller",),
}

CATEGORY_OF_INTENT = {"reset": "account", "security": "security", "frozen": "security", "lockout": "security",
                      "2fa": "security",
                      "pending": "payment", "cancel": "payment", "refund": "payment",
                      "withdrawal": "payment", "bill": "payment"}


# The seed's four FAQ flows and the help articles each one answers (the first is the flow's own).
FLOW_ARTICLES: dict[str, tuple[str, ...]] = {
    # The pending flow explains each reason a payment waits, and cancels it while it may be cancelled.
    "pending": ("pending-transaction", "risk-review", "withdrawal-time", "bill-payment-failed", "unclaimed-transfer",
                "cancel-or-refund"),
    "reset": ("reset-password",),
    "2fa": ("enable-two-factor",),
    "refund": ("cancel-or-refund", "merchant-refund-policy", "refund-request-status"),
}
CATEGORY_OF_FLOW = {"pending": "payment", "reset": "account", "2fa": "security", "refund": "payment"}
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@dataclass
class Answer:
    body: str
    data: dict[str, Any] = field(default_factory=dict)
    intent: str = "help"
    category: str = ""


def classify(text: str) -> str:
    """The account-facts intent of a question (security, frozen, lockout, withdrawal, bill) or "help"."""
    low = " " + (text or "").lower() + " "
    if HANDOFF_CUES.search(low):
        return "handoff"
    for intent, words in INTENTS:
        if any(w in low for w in words):
            return intent
    return "help"


def flow_scores(text: str, articles: list[dict[str, str]]) -> dict[str, float]:
    """Each seed flow's score for ``text``: its cues, minus its negative cues, plus a little when
    search ranks the flow's own article first."""
    low = " " + (text or "").lower() + " "
    top = articles[0]["slug"] if articles else ""
    scores = {}
    for flow, cues in FLOW_CUES.items():
        score = sum(weight for pattern, weight in cues if pattern.search(low))
        if score:
            score -= sum(weight for pattern, weight in FLOW_AGAINST.get(flow, ()) if pattern.search(low))
            score += SEARCH_AGREES if top in FLOW_ARTICLES[flow] else 0.0
        scores[flow] = score
    return scores


def flow_of(text: str, articles: list[dict[str, str]]) -> str:
    """Which of the seed's four flows ``text`` starts, if any (the best score at the threshold)."""
    scores = flow_scores(text, articles)
    best = max(scores, key=lambda f: scores[f])
    return best if scores[best] >= FLOW_THRESHOLD else ""


def coverage(text: str, slug: str, lang: str) -> float:
    """The share of the question's own words (weighted by rarity, typos fixed, synonyms counting
    once) found in the article ``slug``, halved when none is in its title or summary: how sure the
    assistant may be that search's best article is about the question."""
    from okpay.helpcenter.models import Article
    from okpay.helpcenter.search import text as search_text
    from okpay.helpcenter.search import vocabulary

    terms = search_text.unique(search_text.tokens(text or ""))
    if not terms:
        return 1.0  # stop words only ("what is okpay"): search's answer stands
    from okpay.helpcenter.selectors import lang_of

    row = (Article.objects.filter(slug=slug, lang=lang_of(lang))
           .values_list("search_title", "search_summary", "search_body")
           .first())
    if row is None:
        return 0.0
    fields = " " + " ".join(row) + " "
    spell = vocabulary.get()
    key = lang_of(lang)
    weights = {term: min(max(vocabulary.idf(key, spell.correct(term) or term), 0.5), 2.5) for term in terms}
    hits = 0.0
    for term in terms:
        fixed = spell.correct(term) or term
        if f" {term} " in fields or f" {fixed} " in fields:
            hits += weights[term]
    total = sum(weights.values())
    synonyms = search_text.synonym_tokens(text or "", key)
    if hits < total and any(f" {t} " in fields for t in synonyms):
        hits = min(total, hits + min(weights.values()))
    # Words found only in the body, none in the title or summary: half as sure.
    head = f" {row[0]} {row[1]} "
    on_top = any(f" {t} " in head or f" {spell.correct(t) or t} " in head for t in [*terms, *synonyms])
    return hits / total if on_top else hits / total / 2


def _date(moment: datetime | None, lang: str) -> str:
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    if lang == "en":
        return f"{local.day} {local.strftime('%b')} {local.year}, {local:%H:%M}"
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def _counterparty(txn: Any) -> str:
    from okpay.payments.services.core import mask_email, mask_name

    if txn.recipient_email:
        return mask_email(txn.recipient_email)
    if txn.counterparty_user_id is not None and txn.counterparty_user is not None:
        return mask_email(txn.counterparty_user.email)
    if txn.biller_id is not None:
        return txn.biller.name_en if translation_is_en() else txn.biller.name
    return mask_name(txn.counterparty_name) if txn.counterparty_name else ""


def translation_is_en() -> bool:
    from django.utils.translation import get_language

    return (get_language() or "").startswith("en")


def explain_transaction(txn: Any, lang: str) -> tuple[str, list[dict[str, str]]]:
    """One pending transaction of the customer, in plain words, and the buttons it allows."""
    from okpay.payments.money import format_money

    amount = format_money(txn.amount, txn.currency)
    who = _counterparty(txn)
    when = _date(txn.expected_by, lang)
    reason = txn.pending_reason
    ref = txn.public_id
    if reason == "awaiting_claim":
        text = _("Your transfer of %(amount)s to %(who)s (%(ref)s) is pending because the recipient has no OKPay "
                 "account yet. It returns to you on %(when)s if it is not claimed. You can cancel it now.")
    elif reason == "risk_review":
        text = _("Your payment of %(amount)s to %(who)s (%(ref)s) is in a security review; the money is held in "
                 "your wallet, not spent. The review ends by %(when)s; if it does not finish in time the money is "
                 "released back to you.")
    elif reason == "awaiting_biller":
        text = _("Your bill payment of %(amount)s to %(who)s (%(ref)s) is waiting for the biller to confirm your "
                 "account reference; expected by %(when)s. If the biller rejects it, the money returns at once.")
    elif reason == "awaiting_bank":
        text = _("Your withdrawal of %(amount)s (%(ref)s) is being processed by the bank; expected by %(when)s. "
                 "If the bank refuses it, the money returns to your wallet at once.")
    elif reason == "awaiting_capture":
        text = _("Your payment of %(amount)s to %(who)s (%(ref)s) waits for the merchant to complete the order; "
                 "the money is held in your wallet until then.")
    else:
        text = _("Your transaction of %(amount)s (%(ref)s) is pending; expected by %(when)s.")
    text = text % {"amount": amount, "who": who or "—", "ref": ref, "when": when or "—"}
    actions: list[dict[str, str]] = []
    if txn.cancellable:
        if reason != "awaiting_claim":
            text += " " + _("It has not been handed over yet, so you can still cancel it.")
        actions.append({"action": "cancel", "target": ref, "key": "cancel-" + secrets.token_hex(8),
                        "label": _("Cancel %(amount)s to %(who)s") % {"amount": amount, "who": who or ref}})
    elif reason in ("awaiting_bank", "awaiting_biller") and txn.submitted_at is not None:
        text += " " + _("It was already handed over and can no longer be cancelled.")
    actions.append({"action": "open", "target": ref, "label": _("Details"),
                    "url": reverse("payments:detail", kwargs={"txn_id": ref})})
    return text, actions


def _pending(user: User, reasons: tuple[str, ...] | None) -> list[Any]:
    from django.apps import apps

    if not apps.is_installed("okpay.payments"):
        return []
    from okpay.payments.models import Transaction

    qs = (Transaction.objects.filter(user=user, status="pending").select_related("biller", "counterparty_user")
          .order_by("-created_at", "-pk"))
    if reasons:
        qs = qs.filter(pending_reason__in=reasons)
    return list(qs[:5])


def refund_requests(user: User, lang: str) -> list[str]:
    """The customer's own refund requests to merchants (newest first), in plain words."""
    from django.apps import apps

    if not apps.is_installed("okpay.merchants"):
        return []
    from okpay.merchants.emails import decline_reason_text
    from okpay.merchants.models import RefundRequest
    from okpay.payments.money import format_money

    lines = []
    rows = (RefundRequest.objects.filter(customer=user)
            .select_related("intent__merchant", "intent__customer_txn", "refund", "bill_txn", "refund_txn")
            .order_by("-created_at", "-pk")[:5])
    for req in rows:
        if req.intent is None:  # a bill payment's request: the biller decides (merchants.bill_refunds)
            bill = req.bill_txn
            assert bill is not None
            facts = {"amount": format_money(req.amount, bill.currency), "merchant": bill.counterparty_name,
                     "ref": bill.public_id, "when": _date(req.created_at, lang),
                     "reason": decline_reason_text(req) or "—"}
        else:
            facts = {"amount": format_money(req.amount, req.intent.currency), "merchant": req.intent.merchant.name,
                     "ref": req.intent.customer_txn.public_id if req.intent.customer_txn is not None
                     else req.public_id, "when": _date(req.created_at, lang), "reason": req.decline_reason or "—"}
        if req.status == "pending":
            lines.append(_("Your refund request of %(amount)s to %(merchant)s (%(ref)s, sent %(when)s) is waiting "
                           "for the merchant's decision.") % facts)
        elif req.status == "approved":
            refund = req.refund if req.intent is not None else None
            if refund is not None and refund.status == "pending":
                lines.append(_("%(merchant)s approved your refund of %(amount)s (%(ref)s); the money is on its way "
                               "and reaches your wallet as soon as the merchant's account covers it.") % facts)
            elif refund is not None and refund.status == "failed":
                lines.append(_("%(merchant)s approved your refund of %(amount)s (%(ref)s), but it could not be paid. "
                               "Talk to a person and we will follow it up with the merchant.") % facts)
            else:
                lines.append(_("%(merchant)s approved your refund of %(amount)s (%(ref)s); the money is back in your "
                               "wallet.") % facts)
        else:
            lines.append(_("%(merchant)s declined your refund request of %(amount)s (%(ref)s): %(reason)s. If you "
                           "disagree, talk to a person and we will look into it.") % facts)
    return lines


def _article_dict(article: Any) -> dict[str, str]:
    summary = article.summary.strip()
    if len(summary) > 120:
        summary = summary[:117].rstrip() + "…"
    return {"title": article.title, "summary": summary, "url": article.get_absolute_url(), "slug": article.slug}


def _articles(text: str, lang: str, limit: int = 2) -> list[dict[str, str]]:
    from django.apps import apps

    if not apps.is_installed("okpay.helpcenter"):
        return []
    from okpay.helpcenter.selectors import suggest_articles

    return [_article_dict(article) for article in suggest_articles(text, lang, limit=limit)]


def _with_flow_article(articles: list[dict[str, str]], flow: str, lang: str,
                       first: str = "") -> list[dict[str, str]]:
    """The flow's own article (or ``first``) first among the links (the one a hand-off attaches)."""
    from django.apps import apps

    if not apps.is_installed("okpay.helpcenter"):
        return articles
    own = [a for a in articles if a["slug"] == first] if first else []
    own = own or ([] if first else [a for a in articles if a["slug"] in FLOW_ARTICLES[flow]])
    if own:
        return own[:1] + [a for a in articles if a is not own[0]]
    from okpay.core.errors import NotFound
    from okpay.helpcenter.selectors import article_get

    try:
        own_article = _article_dict(article_get(first or FLOW_ARTICLES[flow][0], lang=lang))
        return [own_article, *[a for a in articles if a["slug"] != own_article["slug"]]]
    except NotFound:
        return articles


def _handoff_button() -> dict[str, str]:
    return {"action": "handoff", "label": _("Talk to a person")}


def _contact_link() -> dict[str, str]:
    return {"action": "open", "target": "contact", "label": _("Contact support"),
            "url": reverse("helpcenter:contact")}


def _reset_send(email: str, *, ip: str | None, articles: list[dict[str, str]]) -> Answer:
    """Step 2 of the reset flow: the identity app's own reset request (same answer for every address,
    rate-limited per address and per IP exactly like the reset page)."""
    from django.conf import settings

    from okpay.core.errors import RateLimited
    from okpay.identity.services import password_reset_request

    email = email.strip()[:254]
    actions = [{"action": "open", "target": "password-reset", "label": _("Reset on the web page"),
                "url": reverse("identity:password-reset")}, _handoff_button()]
    try:
        password_reset_request(email=email, ip=ip, user_agent="okpay-chat")
    except RateLimited:
        return Answer(_("Too many reset links were asked for just now. Wait an hour and try again, or talk to a "
                        "person."), {"flow": "reset", "step": "limited", "articles": articles, "actions": actions},
                      "reset", "account")
    body = "\n".join([
        _("Step 2 of 3: if %(email)s belongs to an OKPay account, a reset link is on its way to it. The link is "
          "valid for %(minutes)d minutes and works once.") % {
            "email": email, "minutes": settings.OKPAY_PASSWORD_RESET_TTL_MINUTES},
        _("Step 3 of 3: open the link, choose a new password with letters, digits and symbols, type it a second "
          "time to confirm it, then sign in with it."),
        _("No email after a few minutes? Check your spam folder, or talk to a person."),
    ])
    return Answer(body, {"flow": "reset", "step": "sent", "articles": articles, "actions": actions},
                  "reset", "account")


def _reset_flow(text: str, *, ip: str | None, articles: list[dict[str, str]]) -> Answer:
    found = EMAIL.search(text or "")
    if found:
        return _reset_send(found.group(0), ip=ip, articles=articles)
    body = _("I can send you a password reset link. Step 1 of 3: type the email address your OKPay account is "
             "registered with.")
    actions = [{"action": "open", "target": "password-reset", "label": _("Reset on the web page"),
                "url": reverse("identity:password-reset")}, _handoff_button()]
    return Answer(body, {"flow": "reset", "step": "ask_email", "articles": articles, "actions": actions},
                  "reset", "account")


def _two_factor_flow(user: User | None, articles: list[dict[str, str]]) -> Answer:
    from okpay.identity.services import two_factor_enabled

    link = {"action": "open", "target": "2fa", "label": _("Turn on two-factor authentication"),
            "url": reverse("identity:2fa")}
    if user is not None and two_factor_enabled(user):
        body = _("Two-factor authentication is already on for your account. On the two-factor page you can make "
                 "new recovery codes or move it to a new phone.")
        link = {**link, "label": _("Two-factor page")}
        step = "already_on"
    else:
        lines = [] if user is not None else [_("Sign in first: the button below takes you there.")]
        lines += [
            _("Turning on two-factor authentication takes a minute:"),
            _("1. Open the two-factor page (button below) and confirm your password."),
            _("2. Scan the QR code with an authenticator app (Google Authenticator, Microsoft Authenticator…)."),
            _("3. Type the 6-digit code the app shows."),
            _("4. Keep the recovery codes somewhere safe: they let you in if you lose your phone."),
        ]
        body, step = "\n".join(lines), "steps"
    return Answer(body, {"flow": "2fa", "step": step, "articles": articles, "actions": [link, _handoff_button()]},
                  "2fa", "security")


def refundable_payments(user: User, text: str, lang: str) -> tuple[list[str], list[dict[str, str]]]:
    """The customer's own purchases (merchant payments, bill payments) that can still be refunded,
    each with an "ask for a refund" link to the merchants app's request page; the one the message
    names (its reference or the merchant's name) when it names one, else the three newest."""
    from django.apps import apps

    if not apps.is_installed("okpay.merchants"):
        return [], []
    from okpay.merchants.bill_refunds import bill_refundable, bill_window_ends
    from okpay.merchants.services import intent_for_customer_txn, refund_expected_by, refundable_left
    from okpay.payments.models import Transaction
    from okpay.payments.money import format_money

    now = timezone.now()
    rows = []
    for txn in (Transaction.objects.filter(user=user, type__in=("payment", "bill_payment"), direction="debit")
                .select_related("biller").order_by("-created_at", "-pk")[:30]):
        intent = intent_for_customer_txn(txn) if txn.type == "payment" else None
        if intent is not None:
            until, left, name = refund_expected_by(intent), refundable_left(intent), intent.merchant.name
        elif bill_refundable(txn):
            until, left = bill_window_ends(txn), txn.amount - txn.refunded_amount
            name = (txn.biller.name_en if lang == "en" else txn.biller.name) if txn.biller else txn.counterparty_name
        else:
            continue
        if until is None or until < now or left <= 0:
            continue
        rows.append((txn, name, until, left))
    low = (text or "").lower()
    named = [r for r in rows if r[0].public_id.lower() in low or (r[1] and r[1].lower() in low)]
    lines, actions = [], []
    for txn, name, until, left in (named or rows)[:3]:
        facts = {"amount": format_money(left, txn.currency), "merchant": name, "ref": txn.public_id,
                 "when": _date(txn.created_at, lang), "until": _date(until, lang)}
        lines.append(_("%(amount)s paid to %(merchant)s on %(when)s (%(ref)s): you can ask for a refund until "
                       "%(until)s.") % facts)
        actions.append({"action": "open", "target": txn.public_id,
                        "label": _("Ask for a refund: %(amount)s, %(merchant)s") % facts,
                        "url": reverse("merchants:refund-request-new", kwargs={"txn_id": txn.public_id})})
    return lines, actions


def _refund_flow(text: str, user: User | None, lang: str, articles: list[dict[str, str]]) -> Answer:
    parts = [_("Step 1, the policy: a purchase from a merchant or a bill payment can be refunded within the "
               "merchant's refund window, by asking the merchant on that payment; a transfer to a person cannot be "
               "refunded, only cancelled while it is still pending.")]
    actions: list[dict[str, str]] = []
    # "Declined", "no answer", "what happened": the customer's own requests come first.
    status = bool(REFUND_STATUS.search((text or "").lower()))
    if user is None:
        parts.append(_("Sign in and ask again, and I can show which of your payments can still be refunded."))
    else:
        if status:
            parts.extend(refund_requests(user, lang))
        lines, buttons = refundable_payments(user, text, lang)
        if lines:
            parts.append(_("Step 2, your payments that can still be refunded: choose the right one."))
            parts.extend(lines)
            actions.extend(buttons)
        else:
            parts.append(_("None of your recent purchases can still be refunded (the window has closed or it was "
                           "refunded already)."))
        for txn in _pending(user, None):
            if txn.cancellable:
                line, cancel = explain_transaction(txn, lang)
                parts.append(line)
                actions.extend(cancel)
        if not status:
            parts.extend(refund_requests(user, lang))
    parts.append(_("Step 3: the merchant decides, and an approved refund comes back to your wallet. No answer, or "
                   "declined and you disagree? Talk to a person."))
    actions.append(_handoff_button())
    step = "status" if status else "policy"
    return Answer("\n".join(parts), {"flow": "refund", "step": step, "articles": articles, "actions": actions},
                  "refund", "payment")


def _unsure(articles: list[dict[str, str]]) -> Answer:
    """Neither a flow nor an article that shares the question's words: say so and offer a person
    (whose ticket carries the conversation and the closest article, if any)."""
    body = _("I am not sure I understood. Could you say it in other words, or talk to a person?")
    if articles:
        body += "\n" + _("The closest help article I found:")
    return Answer(body, {"articles": articles[:1], "actions": [_handoff_button()], "unsure": True}, "unsure", "")


def _urgent(text: str, user: User | None, lang: str) -> Answer:
    """Money taken by someone else: a person at once (a high-priority security ticket), and the one
    thing the customer can do meanwhile, freeze the account."""
    parts = [_("This needs a person now: I am passing you to customer service.")]
    actions: list[dict[str, str]] = []
    if user is not None and user.frozen:
        parts.append(_("Your account was frozen on %(when)s, so no money can leave it. Only customer "
                       "service can unfreeze it after checking your identity: ask for a person.")
                     % {"when": _date(user.frozen_at, lang)})
    else:
        parts.append(_("If someone else may be using your account, freeze it at once in your security settings, "
                       "then talk to a person."))
        actions.append({"action": "open", "target": "security", "label": _("Security settings"),
                        "url": reverse("identity:security")})
    articles = _articles(text, lang)
    return Answer("\n".join(parts), {"articles": articles, "actions": actions, "handoff": True}, "security",
                  "security")


def answer(*, text: str, user: User | None, lang: str, previous: dict[str, Any] | None = None,
           ip: str | None = None) -> Answer:
    """What the assistant says to ``text`` (in the active language ``lang``). ``previous`` is the
    data of the assistant's last message in this conversation (a flow's step waiting for an answer);
    ``ip`` the customer's address (the reset email's rate limit)."""
    intent = classify(text)
    handoff = _handoff_button()
    if intent == "handoff":
        return Answer(_("Of course. I will find a person for you."), {"actions": [], "handoff": True},
                      intent, CATEGORY_OF_INTENT.get(intent, ""))
    if urgent(text):
        return _urgent(text, user, lang)
    previous = previous or {}
    if previous.get("flow") == "reset" and previous.get("step") == "ask_email" and EMAIL.search(text or ""):
        return _reset_flow(text, ip=ip, articles=list(previous.get("articles") or []))
    articles = _articles(text, lang)
    named = article_cue(text)  # "close my account", "turn off 2fa": no flow, that article
    flow = "" if named else flow_of(text, articles)
    if flow:
        first = "refund-request-status" if flow == "refund" and REFUND_STATUS.search(text.lower()) else ""
        articles = _with_flow_article(articles, flow, lang, first)
    if flow == "reset":
        return _reset_flow(text, ip=ip, articles=articles)
    if flow == "2fa":
        return _two_factor_flow(user, articles)
    if flow == "refund":
        return _refund_flow(text, user, lang, articles)
    if flow == "pending" and intent not in ("withdrawal", "bill"):
        intent = "cancel" if re.search(_CANCEL, text.lower()) else "pending"
    if named:
        articles = _with_flow_article(articles, "", lang, named)
    elif not flow and intent == "help" and (not articles or coverage(text, articles[0]["slug"], lang)
                                          < COVERAGE_THRESHOLD):
        return _unsure(articles)
    category = CATEGORY_OF_INTENT.get(intent, "") or CATEGORY_OF_FLOW.get(flow, "")
    parts: list[str] = []
    actions: list[dict[str, str]] = []
    if user is not None:
        if intent in INTENT_REASONS:
            pending = _pending(user, INTENT_REASONS[intent])
            if pending and flow == "pending":
                parts.append(_("Let us look at it step by step: what is pending, why, and until when."))
            for txn in pending:
                line, buttons = explain_transaction(txn, lang)
                parts.append(line)
                actions.extend(buttons)
            if intent == "refund":
                parts.extend(refund_requests(user, lang))
            if not pending and intent in ("pending", "cancel", "withdrawal", "bill"):
                parts.append(_("You have no pending transactions right now: everything has finished."))
            if pending and flow == "pending":
                parts.append(_("Changed your mind? Cancel it with the button below while it is allowed. Past the "
                               "date, or something looks wrong? Contact support."))
                actions.append(_contact_link())
        if intent in ("frozen", "lockout", "security") or (intent in ("help",) and user.frozen):
            if user.frozen:
                parts.append(_("Your account was frozen on %(when)s, so no money can leave it. Only customer "
                               "service can unfreeze it after checking your identity: ask for a person.")
                             % {"when": _date(user.frozen_at, lang)})
            elif intent == "frozen":
                parts.append(_("Your account is not frozen: payments can leave it normally."))
        if intent in ("lockout", "security"):
            since = timezone.now() - timedelta(days=1)
            locked = (SecurityEvent.objects.filter(user=user, kind=SecurityEvent.Kind.LOCKED_OUT, at__gte=since)
                      .order_by("-at").first())
            if locked is not None:
                minutes = int((locked.detail or {}).get("cool_off_minutes") or 15)
                parts.append(_("Sign-in to your account was locked on %(when)s after repeated wrong passwords. It "
                               "unlocks by itself %(minutes)d minutes later; if it was not you, change your "
                               "password now.") % {"when": _date(locked.at, lang), "minutes": minutes})
            elif intent == "lockout":
                parts.append(_("Your account has no sign-in lockout in the last 24 hours."))
        if intent == "security" and not user.frozen:
            parts.append(_("If someone else may be using your account, freeze it at once in your security settings, "
                           "then talk to a person."))
            actions.append({"action": "open", "target": "security", "label": _("Security settings"),
                            "url": reverse("identity:security")})
    elif intent in INTENT_REASONS or intent in ("frozen", "lockout"):
        parts.append(_("Sign in and ask again, and I can look at your own payments and account."))
        if flow == "pending":
            parts.append(_("A pending payment finishes by itself: its page in your transactions shows why it "
                           "waits and the date it is expected by. If that date has passed, contact support."))
            actions.append(_contact_link())
    if articles:
        parts.append(_("These help articles may answer it:") if parts else
                     _("I found these help articles for you:"))
    elif not parts:
        parts.append(_("I am not sure I understood. Could you say it in other words, or talk to a person?"))
    actions.append(handoff)
    data: dict[str, Any] = {"articles": articles, "actions": actions}
    if flow:
        data["flow"] = flow
    return Answer("\n".join(parts), data, intent, category)


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()
