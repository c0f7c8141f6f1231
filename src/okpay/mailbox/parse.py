"""Reading one RFC 5322 message with the standard library (``email.policy.default``): who sent
it, whether a machine did, what the receiving MTA thought of it, its text, its attachments, and
for a delivery-status notification which of our messages it bounced."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses, parseaddr

MSGID_RE = re.compile(r"<[^<>\s]{1,250}>")
TICKET_RE = re.compile(r"\bOK-\d{4}-\d{6}\b")
# one "method=result prop=value ..." of an Authentication-Results header (RFC 8601), comments removed
AUTH_RESULT_RE = re.compile(r"(spf|dkim|dmarc)\s*=\s*([a-z]+)\b(.*)", re.IGNORECASE | re.DOTALL)
AUTH_PROP_RE = re.compile(r"\b((?:header|smtp)\.[a-z]+)\s*=\s*(\"[^\"]*\"|[^\s;]+)", re.IGNORECASE)
AUTH_COMMENT_RE = re.compile(r"\([^()]*\)")
# where a reply's quoted history begins
QUOTE_START_RE = re.compile(r"^\s*(On .{1,200} wrote:|.{0,80}\d{1,2}:\d{2}.{0,80}写道[:：]|在.{1,200}写道[:：]|"
                            r"-{2,}\s*Original Message\s*-{2,}|-{2,}\s*原始邮件\s*-{2,}|From: .+<[^>]+>)\s*$",
                            re.MULTILINE)
CJK_RE = re.compile(r"[\u4e00-\u9fff]")

# category → words that suggest it (checked in this order; the most hits wins, ties go first)
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "security": ("密码", "盗", "被骗", "诈骗", "钓鱼", "冻结", "验证码", "陌生", "异常登录", "hacked", "stolen",
                 "fraud", "phishing", "scam", "password", "2fa", "two-factor", "freeze", "unauthori"),
    "complaint": ("投诉", "不满", "太差", "欺骗", "complain", "unacceptable", "terrible", "disappointed"),
    "payment": ("付款", "支付", "转账", "退款", "提现", "充值", "到账", "扣款", "账单", "待处理", "payment", "paid",
                "pay ", "refund", "transfer", "withdraw", "top-up", "top up", "topup", "charge", "bill", "pending",
                "money"),
    "account": ("账户", "账号", "注册", "登录", "邮箱", "手机号", "实名", "account", "sign in", "log in", "login",
                "register", "sign up", "email address", "verify", "verification"),
    "technical": ("崩溃", "打不开", "闪退", "报错", "错误", "页面", "app", "crash", "error", "bug", "not working",
                  "doesn't work", "page", "website"),
    "feedback": ("建议", "希望", "反馈", "功能", "suggest", "feedback", "feature", "idea", "would be nice"),
}


class NotAnEmail(ValueError):
    pass


@dataclass
class Attachment:
    name: str
    content_type: str
    data: bytes


@dataclass
class Parsed:
    message: EmailMessage
    message_id: str
    sender: str
    sender_name: str
    subject: str
    references: list[str]
    automatic: bool
    x_loop: list[str]
    authentication: str  # pass | fail | none
    text: str = ""
    html: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    dropped_inline: int = 0


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except (ValueError, IndexError, TypeError):  # a header the parser cannot make sense of
        return ""
    return " ".join(str(value or "").split())


def parse(raw: bytes) -> Parsed:
    """The parts of ``raw`` the mailbox acts on; ``NotAnEmail`` when it is not a message."""
    if not raw.strip():
        raise NotAnEmail("empty input")
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    from_header = _header(msg, "From")
    name, sender = parseaddr(from_header)
    if not from_header or "@" not in sender or len(sender) > 254 or not msg.keys():
        raise NotAnEmail("no valid From: header")
    found = MSGID_RE.search(_header(msg, "Message-ID"))
    # without a Message-ID the message's own bytes name it (a resubmission is still a duplicate)
    message_id = found.group(0) if found else f"<{hashlib.sha256(raw).hexdigest()}@no-message-id.invalid>"
    references = MSGID_RE.findall(_header(msg, "In-Reply-To")) + list(
        reversed(MSGID_RE.findall(_header(msg, "References"))))
    auto_submitted = _header(msg, "Auto-Submitted").lower()
    precedence = _header(msg, "Precedence").lower()
    automatic = bool((auto_submitted and not auto_submitted.startswith("no")) or precedence in {"bulk", "list", "junk"}
                     or _header(msg, "List-Id") or _header(msg, "X-Autoreply") or _header(msg, "X-Autorespond"))
    x_loop = [a.lower() for _n, a in getaddresses([str(v) for v in (msg.get_all("X-Loop") or [])]) if a]
    parsed = Parsed(message=msg, message_id=message_id, sender=sender.strip().lower(), sender_name=name.strip(),
                    subject=_header(msg, "Subject"), references=references, automatic=automatic, x_loop=x_loop,
                    authentication="none")
    return parsed


def _aligned(domain: str, from_domain: str) -> bool:
    """Strict alignment: the domain SPF or DKIM authenticated is the From: domain itself (DMARC's
    relaxed mode needs the public suffix list; a DMARC pass covers it)."""
    domain = domain.strip().strip(".").lower().rpartition("@")[2]
    return bool(domain) and domain == from_domain


def authentication(msg: Message, authserv_id: str = "", sender: str = "") -> str:
    """What the receiving MTA found out about the ``From:`` address (``sender``): ``pass``,
    ``fail`` or ``none``.

    Anyone can write an ``Authentication-Results`` header, so only one counts: the topmost one
    whose authserv-id is ``authserv_id`` (our MTA adds its own on top, RFC 8601 §5). Without an
    ``authserv_id`` nothing counts and the answer is ``none``. In that header, ``pass`` needs
    ``dmarc=pass``, or a ``dkim=pass`` (``header.d``) or ``spf=pass`` (``smtp.mailfrom``) of the
    From: domain itself (an SPF pass for the attacker's own domain proves nothing about
    ``alice@okpay.example``); ``fail`` is any spf, dkim or dmarc failure without such a DMARC pass."""
    if not authserv_id:
        return "none"
    from_domain = (sender or parseaddr(_header(msg, "From"))[1]).strip().lower().rpartition("@")[2]
    try:
        values = msg.get_all("Authentication-Results") or []
    except (ValueError, IndexError, TypeError):
        return "none"
    for value in values:
        text = AUTH_COMMENT_RE.sub(" ", " ".join(str(value).split()))
        first = text.split(";", 1)[0].split()
        if not first or first[0].lower() != authserv_id.strip().lower():
            continue
        results: list[tuple[str, str, dict[str, str]]] = []
        for part in text.split(";")[1:]:
            match = AUTH_RESULT_RE.match(part.strip())
            if match:
                props = {k.lower(): v.strip('"').lower() for k, v in AUTH_PROP_RE.findall(match.group(3))}
                results.append((match.group(1).lower(), match.group(2).lower(), props))
        if any(method == "dmarc" and result == "pass" and props.get("header.from", from_domain) == from_domain
               for method, result, props in results):
            return "pass"
        if any(result == "fail" for _method, result, _props in results):
            return "fail"
        for method, result, props in results:
            signer = props.get("header.d") or props.get("header.i", "") if method == "dkim" else \
                props.get("smtp.mailfrom", "") if method == "spf" else ""
            if result == "pass" and _aligned(signer, from_domain):
                return "pass"
        return "none"  # the topmost header of our MTA decides; the ones below it may be anybody's
    return "none"


def _content(part: Message) -> str:
    try:
        return str(part.get_content())  # type: ignore[attr-defined]
    except (LookupError, UnicodeError, KeyError, AssertionError):
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def body_and_attachments(parsed: Parsed) -> None:
    """Fill in the text (the plain part, else the HTML part) and the attachments. Inline images
    (``cid:`` pictures of an HTML mail) are dropped with the remote ones: we show no images."""
    msg = parsed.message
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    if plain is not None:
        parsed.text = _content(plain)
    elif html is not None:
        parsed.html = _content(html)
    for part in msg.iter_attachments():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        if disposition != "attachment" and part.get_content_maintype() == "image" and part.get("Content-ID"):
            parsed.dropped_inline += 1
            continue
        if part in (plain, html):
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            data = part.as_bytes() if part.get_content_type() == "message/rfc822" else b""
        parsed.attachments.append(Attachment(name=part.get_filename() or "attachment",
                                             content_type=part.get_content_type(), data=data))


def strip_quoted(text: str) -> str:
    """A reply without the history it quotes ("On … wrote:" and the ``>`` lines after it)."""
    match = QUOTE_START_RE.search(text)
    if match and match.start() > 0:
        text = text[: match.start()]
    lines = text.rstrip().splitlines()
    while lines and lines[-1].lstrip().startswith(">"):
        lines.pop()
    return "\n".join(lines).strip()


def guess_category(subject: str, text: str) -> str:
    haystack = f"{subject}\n{text[:4000]}".lower()
    best, hits = "account", 0
    for category, words in CATEGORY_WORDS.items():
        n = sum(1 for w in words if w in haystack)
        if n > hits:
            best, hits = category, n
    return best


def guess_lang(subject: str, text: str) -> str:
    return "zh-hans" if CJK_RE.search(f"{subject}{text[:2000]}") else "en"


@dataclass
class Bounce:
    original_message_id: str
    failed: list[tuple[str, str]]  # (address, status and diagnostic)


def bounce(msg: EmailMessage) -> Bounce | None:
    """A delivery-status notification (RFC 3464, ``multipart/report; report-type=delivery-status``):
    the Message-ID it reports on and the recipients whose delivery failed. None for other mail."""
    if msg.get_content_type() != "multipart/report" or \
            str(msg.get_param("report-type", "")).lower() != "delivery-status":
        return None
    failed: list[tuple[str, str]] = []
    original = ""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/delivery-status", "message/global-delivery-status"):
            payload = part.get_payload()
            blocks: list[Message] = [b for b in payload if isinstance(b, Message)] if isinstance(payload, list) \
                else [HeaderParser().parsestr(str(payload))]
            for block in blocks[1:] if len(blocks) > 1 else blocks:  # the first block is about the message
                action = str(block.get("Action", "")).strip().lower()
                recipient = str(block.get("Final-Recipient", "") or block.get("Original-Recipient", ""))
                address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
                if action == "failed" and "@" in address:
                    status = " ".join(str(block.get("Status", "")).split())
                    diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
                    failed.append((address, f"{status} {diagnostic}".strip()[:200]))
        elif ctype == "message/rfc822" and not original:
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                found = MSGID_RE.search(str(inner[0].get("Message-ID", "")))
                original = found.group(0) if found else ""
        elif ctype == "text/rfc822-headers" and not original:
            headers = HeaderParser().parsestr(_content(part))
            found = MSGID_RE.search(str(headers.get("Message-ID", "")))
            original = found.group(0) if found else ""
    return Bounce(original_message_id=original, failed=failed)
