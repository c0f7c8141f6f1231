"""What the desk needs to exist in every database: roles as groups with permissions, the default
SLA policies (the seed's 24-hour promise) and the canned replies drawn from the seed's FAQ.
Idempotent; run after every migrate (and after a test flush)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from okpay.support.models import CannedReply, Channel, Priority, SlaPolicy

AGENT_PERMS = ["view_desk", "reply_ticket", "assign_ticket", "view_customer_context", "act_on_account"]
SUPERVISOR_PERMS = [*AGENT_PERMS, "view_all_teams", "approve_action", "view_dashboard", "manage_canned"]
ROLE_PERMS: dict[str, list[str]] = {
    "customer": [],
    "merchant": [],
    "agent": AGENT_PERMS,
    "supervisor": SUPERVISOR_PERMS,
    "admin": SUPERVISOR_PERMS,
}

H = 60
# (first response, next response, resolution) in minutes. Email and the web form: first reply
# within 24 h (the seed's promise); phone and urgent: 1 h.
DEFAULT_SLA: dict[str, dict[str, tuple[int, int, int]]] = {
    Channel.WEB: {Priority.LOW: (24 * H, 24 * H, 120 * H), Priority.NORMAL: (24 * H, 24 * H, 72 * H),
                  Priority.HIGH: (8 * H, 8 * H, 48 * H), Priority.URGENT: (1 * H, 2 * H, 24 * H)},
    Channel.EMAIL: {Priority.LOW: (24 * H, 24 * H, 120 * H), Priority.NORMAL: (24 * H, 24 * H, 72 * H),
                    Priority.HIGH: (8 * H, 8 * H, 48 * H), Priority.URGENT: (1 * H, 2 * H, 24 * H)},
    Channel.API: {Priority.LOW: (24 * H, 24 * H, 120 * H), Priority.NORMAL: (24 * H, 24 * H, 72 * H),
                  Priority.HIGH: (8 * H, 8 * H, 48 * H), Priority.URGENT: (1 * H, 2 * H, 24 * H)},
    Channel.PHONE: dict.fromkeys(Priority.values, (1 * H, 4 * H, 24 * H)),
    Channel.CHAT: {Priority.LOW: (10, 30, 24 * H), Priority.NORMAL: (5, 15, 24 * H),
                   Priority.HIGH: (3, 10, 8 * H), Priority.URGENT: (1, 5, 4 * H)},
    Channel.SOCIAL: {Priority.LOW: (12 * H, 24 * H, 72 * H), Priority.NORMAL: (8 * H, 12 * H, 72 * H),
                     Priority.HIGH: (4 * H, 8 * H, 48 * H), Priority.URGENT: (1 * H, 2 * H, 24 * H)},
    # OKPay's own alert that a promise was missed (support.promises): the customer is already waiting
    Channel.ALERT: dict.fromkeys(Priority.values, (2 * H, 8 * H, 24 * H)),
}

# The seed's four FAQ answers, as the first canned replies (zh-Hans and English).
SEED_CANNED: list[dict[str, Any]] = [
    {"key": "reset-password", "category": "account", "zh": (
        "如何重置密码",
        "{customer_name}您好，\n\n重置 OKPay 钱包密码的步骤：\n"
        "1. 打开 OKPay 官网登录页，点击“忘记密码？”；\n2. 输入与账户关联的电子邮箱；\n"
        "3. 查收包含重置链接的邮件并点击链接（链接一小时内有效，只能使用一次）；\n"
        "4. 设置新密码：包含字母、数字和特殊字符；\n5. 再次输入确认新密码；\n6. 用新密码登录，确认重置成功。\n\n"
        "如果没有收到重置邮件，请检查垃圾邮件文件夹，或直接回复本工单（{ticket_number}）。\n"
        "OKPay 客服从不会向您索要密码或验证码。\n\n{agent_name}\nOKPay 官方客服"),
     "en": (
        "How to reset your password",
        "Hello {customer_name},\n\nTo reset your OKPay wallet password:\n"
        "1. Open the sign-in page on the official OKPay site and choose \"Forgot password?\";\n"
        "2. Enter the email address of your account;\n"
        "3. Open the email with the reset link and follow it (it works once, within an hour);\n"
        "4. Choose a new password with letters, digits and a symbol;\n5. Enter it a second time to confirm;\n"
        "6. Sign in with the new password.\n\n"
        "If the email does not arrive, check your spam folder or reply to this ticket ({ticket_number}).\n"
        "OKPay support never asks for your password or a verification code.\n\n{agent_name}\nOKPay support")},
    {"key": "transaction-security", "category": "security", "zh": (
        "如何保证交易安全",
        "{customer_name}您好，\n\n保护账户与交易安全的建议：\n"
        "• 在“账户安全”中启用双重验证；\n• 定期查看交易记录和账户活动，发现可疑情况立即修改密码并联系客服；\n"
        "• 保持设备和应用为最新版本；\n• 使用强密码，不使用容易猜到的信息；\n"
        "• 警惕网络钓鱼：只相信官方渠道，每封 OKPay 邮件都带有您的防钓鱼码。\n\n{agent_name}\nOKPay 官方客服"),
     "en": (
        "Keeping your transactions safe",
        "Hello {customer_name},\n\nTo keep your account and payments safe:\n"
        "• Turn on two-factor authentication under Account security;\n"
        "• Check your transactions and account activity regularly; if anything looks odd, change your "
        "password and contact us;\n• Keep your device and apps up to date;\n• Use a strong password;\n"
        "• Beware of phishing: trust official channels only; every OKPay email shows your anti-phishing code."
        "\n\n{agent_name}\nOKPay support")},
    {"key": "pending-transaction", "category": "payment", "zh": (
        "交易显示“待处理”",
        "{customer_name}您好，\n\n交易 {transaction_id} 显示“待处理”是正常现象，并不表示交易没有进行：\n"
        "1. 请确认金额和收款方信息无误；\n2. 处理通常需要一些时间，高峰时段状态可能延迟更新；\n"
        "3. 我们已为您核实交易状态及原因，详情见本工单；\n4. 如确认付款未成功，可按提示重新发起支付。\n\n"
        "{agent_name}\nOKPay 官方客服"),
     "en": (
        "A transaction shows \"pending\"",
        "Hello {customer_name},\n\nTransaction {transaction_id} showing \"pending\" is normal and does not "
        "mean it is not happening:\n1. Check the amount and the recipient;\n"
        "2. Processing takes some time, and at peak hours the status may update later;\n"
        "3. We have checked its status and the reason for you, see this ticket;\n"
        "4. If the payment did not go through, you can start it again.\n\n{agent_name}\nOKPay support")},
    {"key": "cancel-or-refund", "category": "payment", "zh": (
        "取消或退款",
        "{customer_name}您好，\n\n取消或退款的步骤：\n1. 先阅读退款政策；\n2. 登录 OKPay 钱包，找到该笔交易；\n"
        "3. 待处理的交易可以直接取消，已完成的商户付款可以点击“申请退款”并填写原因；\n"
        "4. 如果无法自行完成，我们会在本工单（{ticket_number}）中协助您；\n"
        "5. 退款到账需要一定时间，请耐心等待。\n\n{agent_name}\nOKPay 官方客服"),
     "en": (
        "Cancelling or refunding a payment",
        "Hello {customer_name},\n\nTo cancel or get a refund:\n1. Read the refund policy first;\n"
        "2. Sign in to your OKPay wallet and open the transaction;\n"
        "3. A pending transaction can be cancelled directly; for a completed payment to a shop choose "
        "\"Request a refund\" and give the reason;\n"
        "4. If you cannot complete it yourself, we help you in this ticket ({ticket_number});\n"
        "5. A refund takes some time to reach your balance.\n\n{agent_name}\nOKPay support")},
]


# Supervisors search the audit log (read-only in the admin: okpay.audit allows no change there).
EXTRA_PERMS: dict[str, list[tuple[str, str]]] = {
    "supervisor": [("audit", "view_auditrecord")],
    "admin": [("audit", "view_auditrecord")],
}


@transaction.atomic
def roles_sync() -> None:
    perms = {p.codename: p for p in Permission.objects.filter(content_type__app_label="support",
                                                              codename__in=SUPERVISOR_PERMS)}
    for role, codenames in ROLE_PERMS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = [perms[c] for c in codenames if c in perms]
        wanted += list(Permission.objects.filter(
            content_type__app_label__in=[a for a, _c in EXTRA_PERMS.get(role, [])],
            codename__in=[c for _a, c in EXTRA_PERMS.get(role, [])]))
        group.permissions.add(*wanted)


@transaction.atomic
def sla_defaults_load() -> None:
    for channel, by_priority in DEFAULT_SLA.items():
        for priority, (first, nxt, resolution) in by_priority.items():
            SlaPolicy.objects.get_or_create(
                channel=channel, priority=priority,
                defaults={"first_response_minutes": first, "next_response_minutes": nxt,
                          "resolution_minutes": resolution, "warn_before_minutes": min(60, max(1, first // 4))})


@transaction.atomic
def canned_seed_load() -> None:
    for item in SEED_CANNED:
        for lang, key in (("zh-hans", "zh"), ("en", "en")):
            title, body = item[key]
            CannedReply.objects.get_or_create(key=item["key"], lang=lang, defaults={
                "title": title, "body": body, "category": item["category"], "from_seed": True})


def on_post_migrate(sender: Any, **kwargs: Any) -> None:
    if getattr(sender, "label", None) != "support":
        return
    from django.contrib.auth.management import create_permissions

    create_permissions(sender, verbosity=0, using=kwargs.get("using", "default"))
    roles_sync()
    sla_defaults_load()
    canned_seed_load()
