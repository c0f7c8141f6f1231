"""Text → search tokens, the same way for the index and for queries, whatever the database.

Chinese runs are segmented by jieba (search mode, so 登录密码 also yields 登录 and 密码), Latin
words are lower-cased and lightly stemmed (refunds → refund, cancelled → cancel), stop words
of both languages are dropped. Synonyms of wallet vocabulary expand a query (never the index),
so a staff member adding a synonym needs no reindex.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable

import jieba

from okpay.helpcenter.segmenter import CompactTokenizer

logger = logging.getLogger("okpay.helpcenter.search")

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(rf"[{_CJK}]+|[a-z0-9]+")
_HAS_CJK = re.compile(rf"[{_CJK}]")

# Words a wallet's customers use that jieba's general dictionary splits badly.
WALLET_WORDS = (
    "待处理", "处理中", "退钱", "退款", "退费", "双重验证", "两步验证", "二次验证", "恢复码", "备用码",
    "防钓鱼码", "反钓鱼码", "提现", "充值", "登录密码", "支付密码", "人工客服", "在线客服", "客服热线",
    "验证码", "钱包", "钱包号", "收款方", "转错", "到账", "未到账", "冻结", "解冻", "注销", "销户",
    "限额", "账单", "缴费", "电费", "水费", "燃气费", "话费", "手机号", "邮箱", "验证邮件", "重置链接",
    "垃圾邮件", "钓鱼", "网络钓鱼", "假冒", "官方渠道", "官方帐号", "官方账号", "风控", "风险审核",
    "商户", "退款政策", "部分退款", "回拨", "工单", "异地登录", "新设备", "验证器", "认证器",
    "解绑", "不想要", "关掉", "可疑邮件", "钓鱼邮件", "假邮件", "垃圾箱", "收不到", "没收到", "进不去",
    "登不上", "被盗", "盗刷", "防盗", "被拦", "拦截", "点不动", "不满意", "开通", "买错",
)

_segmenter: CompactTokenizer | None = None
_segmenter_lock = threading.Lock()


def _jieba() -> CompactTokenizer:
    """The process's one segmenter: jieba over its dictionary in a shared trie (okpay.helpcenter.segmenter)."""
    global _segmenter
    if _segmenter is not None:
        return _segmenter
    with _segmenter_lock:
        if _segmenter is None:
            from django.conf import settings

            jieba.setLogLevel(logging.WARNING)
            segmenter = CompactTokenizer(settings.VAR_DIR / "cache")
            for word in WALLET_WORDS:
                segmenter.add_word(word, freq=20000)
            _segmenter = segmenter
    return _segmenter


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOP_ZH = _words("""
的 了 吗 呢 吧 啊 呀 我 我的 你 你的 您 您的 他 她 它 我们 怎么 怎样 怎么样 如何 什么 为什么 为何 是
在 有 和 与 及 要 想 能 能不能 可以 可不可以 会 被 把 给 让 一个 这 那 这个 那个 还 就 都 也 请问 请
一下 该 办 怎么办 哪里 哪儿 哪个 多久 吗? 呢? 么 啥 咋 咋办 得 地 着 过 又 很 太 已经 但是 可是 如果
因为 所以 自己 时候 现在 一直 没 没有 不 不能 不了 还是 或者 之后 以后 然后 应该 需要 是否 怎么回事
回事 里 上 下 到 从 对 向 意思 一下子
""")
STOP_EN = _words("""
a an the i me my mine you your we our us he she it its they them their is am are was were be been
being do does did doing done how what why when where which who whom can could should would will
shall may might must to of in on at by for from with about into onto than then there here this that
these those and or but if as so not no nor don t s d ll m re ve im ive id dont didnt cant wont isnt
hasnt havent doesnt any some just still yet also too very again get got getting have has had having
please help okpay wallet
""")
# "okpay" and "wallet" are in nearly every article: as query terms they only blur the ranking.
STOP_ZH = STOP_ZH | {"okpay", "钱包"}

_DOUBLE = re.compile(r"([bdfgklmnprtz])\1$")


def _undouble(word: str) -> str:
    return word[:-1] if _DOUBLE.search(word) else word


def stem(word: str) -> str:
    """A deliberately small English stemmer; it only has to agree with itself."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if len(word) > 4 and word.endswith(("ies", "ied")):
        return word[:-3] + "y"
    if word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    elif word.endswith("ed") and len(word) > 4:
        word = word[:-2]
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return _undouble(word)


def clean(text: str, *, drop_format: bool = True) -> str:
    """Without control characters (NUL cannot even be stored in PostgreSQL) and lone surrogates;
    with ``drop_format`` also without invisible format characters (zero-width spaces ...)."""
    drop = {"Cc", "Cs", "Cf"} if drop_format else {"Cc", "Cs"}
    return "".join(ch if unicodedata.category(ch) not in drop else " " for ch in text or "")


def normalize(text: str) -> str:
    """NFKC (full-width → ASCII), lower case, typographic apostrophes dropped."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return text.replace("'", "").replace("’", "")


def has_cjk(text: str) -> bool:
    return bool(_HAS_CJK.search(text))


def tokens(text: str, *, keep_stop: bool = False) -> list[str]:
    """Index and query tokens of ``text`` (order kept, duplicates kept)."""
    segmenter = _jieba()
    out: list[str] = []
    for run in _RUN.findall(normalize(text)):
        if _HAS_CJK.match(run):
            for word in segmenter.cut_for_search(run, HMM=False):
                word = word.strip()
                if word and (keep_stop or word not in STOP_ZH):
                    out.append(word)
        else:
            word = stem(run)
            if keep_stop or (run not in STOP_EN and word not in STOP_EN):
                out.append(word)
    return out


_CJK_RUN = re.compile(rf"[{_CJK}]+")


def cjk_runs(text: str) -> list[str]:
    return _CJK_RUN.findall(text)


def segments(run: str) -> list[str]:
    """A Chinese run cut once, without the search mode's overlapping parts (for sound-alike typos)."""
    return [word for word in _jieba().cut(run, HMM=False) if word.strip()]


def index_text(*parts: str) -> str:
    return " ".join(token for part in parts for token in tokens(part))


# --- Synonyms ---------------------------------------------------------------------------------
# Each group lists ways customers say one thing; a query that contains any of them also looks
# for all the others. Multi-word English phrases are matched on word boundaries.
SYNONYMS: dict[str, tuple[tuple[str, ...], ...]] = {
    "zh-hans": (
        ("退款", "退钱", "退费", "退回", "退还", "能退", "可以退", "refund"),
        ("密码", "登录密码", "口令", "password"),
        ("待处理", "处理中", "pending", "审核中", "还没到账", "未到账", "没到账", "卡住", "没完成", "未完成"),
        ("双重验证", "两步验证", "二次验证", "双因素", "双重认证", "2fa", "动态码", "验证器", "谷歌验证器", "认证器",
         "two factor", "authenticator"),
        ("恢复码", "备用码", "救援码", "recovery code", "backup code"),
        ("转账", "汇款", "转钱", "打钱", "付款给", "transfer"),
        ("提现", "取现", "提款", "提到银行卡", "转到银行卡", "到银行卡", "withdraw", "withdrawal"),
        ("充值", "充钱", "存钱", "加钱", "top up", "topup"),
        ("冻结", "封号", "被封", "止付", "frozen", "freeze"),
        ("锁定", "被锁", "锁住", "锁了", "好几次", "多次", "次数太多", "进不去", "输错", "locked"),
        ("锁定", "被锁", "锁住", "锁了", "locked"),
        ("客服", "人工", "人工客服", "联系客服", "在线客服", "客服电话", "热线", "support"),
        ("钓鱼", "网络钓鱼", "诈骗", "骗子", "假冒", "冒充", "假的", "山寨", "被骗", "举报", "是真的吗", "真的假的",
         "是不是真的", "微信", "短信说", "点链接", "phishing", "scam"),
        ("手机号", "手机号码", "电话号码", "手机"),
        ("邮箱", "电子邮件", "邮件", "email"),
        ("注销", "销户", "关闭账户", "删除账户", "删号", "关闭账号", "删除账号", "注销账号", "关掉账号"),
        ("限额", "额度", "上限", "限制", "limit"),
        ("账单", "缴费", "水电费", "电费", "水费", "燃气费", "话费"),
        ("取消", "撤销", "撤回", "取消付款", "买错"),
        ("关闭", "关掉", "停用", "解绑", "不想要", "不要了", "去掉"),
        ("转错", "转错人", "打错", "付错", "错误收款人", "转给陌生人", "不小心转"),
        ("领取", "未领取", "没领取", "没有账户", "没注册", "还没注册", "没有OKPay账户", "邀请邮件"),
        ("登录提醒", "异地登录", "新设备", "陌生设备", "不是我", "别的地方登录", "其他地方登录", "有人登录",
         "被人登录"),
        ("防钓鱼码", "反钓鱼码", "安全码"),
        ("验证邮箱", "激活", "验证邮件", "邮箱验证", "verify email"),
        ("商家", "商户", "网店", "店铺", "购物", "买东西", "网购"),
        ("账户活动", "登录记录", "登录历史", "登录设备", "会话", "其他设备", "下线", "退出登录", "踢下线"),
        ("闪退", "崩溃", "白屏", "转圈", "打不开", "页面异常", "显示不正常", "点不动", "页面卡"),
        ("建议", "意见", "反馈", "投诉", "不满意", "不满", "差评", "服务差", "太差"),
        ("注册", "开户", "创建账户", "新用户", "开个钱包", "开钱包", "开通", "sign up", "register"),
        ("可疑邮件", "钓鱼邮件", "假邮件", "邮件是不是", "防钓鱼码"),
        ("垃圾邮件", "垃圾箱", "邮件没收到", "邮件收不到", "收不到邮件", "没收到邮件", "邮件还没来", "spam"),
        ("安全", "安全建议", "防止被盗", "防盗", "更安全", "盗刷", "保护账户", "资金安全"),
        ("客服能做什么", "服务范围", "范围", "帮忙", "能帮", "帮什么"),
        ("风险审核", "风控", "被拦", "拦截", "拦下", "转账审核"),
        ("修改", "更改", "更换", "改一下", "改成", "换成"),
        ("功能", "介绍", "能干嘛", "能做什么", "是干嘛的", "有什么用", "干什么的"),
    ),
    "en": (
        ("refund", "money back", "reimburse", "reimbursement", "chargeback", "return my money"),
        ("password", "passcode", "login password", "passwd"),
        ("pending", "processing", "on hold", "stuck", "not arrived", "hasnt arrived", "not received", "hasnt completed",
         "not completed", "incomplete", "says pending"),
        ("2fa", "two factor", "two-factor", "two step", "2 step", "mfa", "authenticator", "totp", "otp"),
        ("recovery code", "backup code", "rescue code", "one time code", "one-time code", "single use code"),
        ("transfer", "send money", "sent money", "pay someone", "send cash"),
        ("withdraw", "withdrawal", "cash out", "payout", "to my bank"),
        ("top up", "topup", "top-up", "add money", "deposit", "load money", "load my wallet", "fund my wallet"),
        ("frozen", "freeze", "blocked", "suspended"),
        ("locked", "locked out", "lockout", "too many attempts", "too many tries", "wrong password"),
        ("support", "customer service", "agent", "human", "contact", "helpdesk", "hotline", "talk to someone",
         "talk to a person", "speak to", "real person"),
        ("phishing", "scam", "fraud", "fake", "impersonate", "impersonating", "spoof", "is this real", "is it real",
         "real or fake", "pretend", "pretending to be", "whatsapp", "wechat", "telegram", "sms says", "text says",
         "click link", "click the link"),
        ("phone number", "mobile number", "cell number", "phone"),
        ("close account", "delete account", "cancel account", "deactivate", "close my account"),
        ("limit", "maximum", "cap", "daily limit"),
        ("bill", "utility", "electricity", "water bill", "gas bill", "mobile top-up"),
        ("cancel", "undo", "stop payment", "revoke"),
        ("turn off", "switch off", "disable", "remove", "deactivate", "unlink", "dont want", "get rid of"),
        ("wrong person", "wrong recipient", "mistake", "wrong account", "by mistake", "wrong guy", "wrong number"),
        ("unclaimed", "no account", "not registered", "claim", "without an account", "doesnt have an account",
         "dont have an account", "has no account", "not signed up", "invitation"),
        ("login alert", "sign-in alert", "new device", "wasnt me", "not me", "someone logged in", "someone signed in",
         "someone else logged in", "someone logged into"),
        ("anti-phishing code", "anti phishing code", "security phrase"),
        ("verify email", "verification email", "confirm email", "activate account", "activation"),
        ("merchant", "shop", "store", "seller", "online shopping", "purchase", "refund window"),
        ("sign in", "log in", "login", "signin"),
        ("account activity", "login history", "sign-in history", "signed-in devices", "sessions", "devices",
         "sign out", "log out", "logged in devices", "who logged in", "who has logged in", "who has logged into"),
        ("forgot password", "reset password", "new password", "cant remember", "remember my password",
         "recover password", "forgot my password", "forgotten password"),
        ("no email", "not getting", "never came", "never arrived", "didnt receive", "didnt get", "missing email",
         "not receiving", "email not received"),
        ("sign up", "register", "registration", "create an account", "open an account", "new account", "open a wallet",
         "get a wallet"),
        ("crash", "not loading", "wont load", "broken", "blank page", "keeps spinning", "page frozen", "cant click",
         "not responding", "page stuck", "unresponsive"),
        ("security tips", "stay safe", "keep safe", "protect", "secure", "best practices", "account security",
         "security advice"),
        ("review", "under review", "being reviewed", "security check", "risk review", "held for review"),
        ("suspicious email", "phishing email", "fake email", "scam email", "email asking", "anti-phishing code"),
        ("complaint", "complain", "unhappy", "not happy", "dissatisfied", "terrible", "awful", "bad service",
         "poor service", "feedback"),
        ("change", "update", "edit", "modify"),
        ("refused", "declined", "rejected", "refund declined", "nothing happened", "no answer"),
        ("what can okpay do", "what can this wallet do", "what does okpay do", "features", "introduction",
         "about okpay"),
        ("what can support do", "what does support do", "help with", "scope", "what can customer service do"),
    ),
}

# Between the words of an English phrase a customer may put a few small words: "cancel my
# okpay account" says "cancel account", "confirm my email" says "confirm email".
_GAP = r"(?:[\s\-]+(?:my|the|a|an|this|that|your|okpay|of))*[\s\-]*"
_phrase_cache: dict[str, list[tuple[re.Pattern[str], tuple[str, ...]]]] = {}


def _group_patterns(lang: str) -> list[tuple[re.Pattern[str], tuple[str, ...]]]:
    if lang not in _phrase_cache:
        patterns = []
        for group in SYNONYMS.get(lang, ()):
            alternatives = []
            for phrase in group:
                phrase_n = normalize(phrase)
                if has_cjk(phrase_n):
                    alternatives.append(re.escape(phrase_n))
                else:
                    alternatives.append(r"(?<![a-z0-9])" + re.escape(phrase_n).replace(r"\ ", _GAP)
                                        + r"(?:s|es|ed|d|ing)?(?![a-z0-9])")
            patterns.append((re.compile("|".join(alternatives)), group))
        _phrase_cache[lang] = patterns
    return _phrase_cache[lang]


_group_token_cache: dict[tuple[str, tuple[str, ...]], list[str]] = {}


def _group_tokens(lang: str, group: tuple[str, ...]) -> list[str]:
    """The tokens of a synonym group's phrases, segmented once per process (they are constants)."""
    key = (lang, group)
    if key not in _group_token_cache:
        # A lone character of a phrase (退 of 退回) would match half the help centre.
        _group_token_cache[key] = [t for phrase in group for t in tokens(phrase) if len(t) > 1 or not has_cjk(t)]
    return _group_token_cache[key]


def synonym_tokens(query: str, lang: str) -> list[str]:
    """The tokens of every synonym of a phrase found in ``query``."""
    text = normalize(query)
    if lang == "zh-hans":  # "关闭okpay账号" says 关闭账号; spaces between Chinese words say nothing
        text = f"{text} " + re.sub(rf"(?<=[{_CJK}])\s*(?:okpay\s*)?(?=[{_CJK}])", "", text)
    extra: list[str] = []
    for pattern, group in _group_patterns(lang):
        if pattern.search(text):
            extra.extend(_group_tokens(lang, group))
    return extra


def unique(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out
