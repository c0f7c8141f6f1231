"""Formatting money at the edge (templates, receipts, emails): integers of minor units in, text out."""

from __future__ import annotations

SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$"}


def format_money(amount: int, currency: str = "CNY", *, sign: str = "") -> str:
    units, cents = divmod(abs(int(amount)), 100)
    text = f"{units:,}.{cents:02d}"
    symbol = SYMBOLS.get(currency)
    body = f"{symbol}{text}" if symbol else f"{text} {currency}"
    return f"{sign}{body}"


def parse_money(text: str) -> int | None:
    """``"10.5"`` → 1050; ``None`` for anything that is not a plain positive amount with at most
    two decimals (forms only; the API takes integers of minor units)."""
    text = (text or "").strip().replace(",", "").replace("¥", "")
    if not text or len(text) > 16:
        return None
    units, _, cents = text.partition(".")
    if (not units.isdigit() and units != "") or (cents and (not cents.isdigit() or len(cents) > 2)):
        return None
    value = int(units or "0") * 100 + int((cents or "0").ljust(2, "0"))
    return value if value > 0 else None
