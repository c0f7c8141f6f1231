"""Demo data of merchants for ``okpay demo``: the demo shop's merchant profile (its storefront is
at /demo-shop/ on the same server)."""

from __future__ import annotations

from okpay.identity.models import User
from okpay.merchants import services
from okpay.merchants.views import DEMO_SHOP_EMAIL


def merchants_demo() -> list[str]:
    """Idempotent: gives the demo merchant user a profile (14-day refunds, auto-approve up to ¥50)."""
    user = User.objects.filter(email=DEMO_SHOP_EMAIL).first()
    if user is None:
        return [f"{DEMO_SHOP_EMAIL} not found: no demo shop"]
    merchant = services.merchant_create(user=user, name="OKPay 演示茶铺", refund_window_days=14,
                                        auto_approve_up_to=5_000)
    return [f"demo shop: {merchant.name} ({merchant.public_id}) at /demo-shop/, dashboard at /merchant/"]
