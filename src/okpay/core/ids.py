"""Opaque public identifiers with a type prefix (``usr_``, ``txn_``, ``pi_`` ...).

Rows keep integer primary keys (fast joins, keyset paging); the public id is a separate
unique column of 20 random base-58 characters (≈ 117 bits), so ids neither leak volumes
nor can be guessed.
"""

from __future__ import annotations

import secrets

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def random_token(length: int = 20) -> str:
    """``length`` characters drawn uniformly from the alphabet, from one read of the OS's random
    source (``secrets.choice`` per character read it once per character: ~200 system calls per
    transfer, decision 0004). Bytes of 232 and above are dropped so that each of the 58 characters
    is exactly as likely (232 = 4 × 58)."""
    out: list[str] = []
    while len(out) < length:
        out.extend(_ALPHABET[b % 58] for b in secrets.token_bytes(length + 8) if b < 232)
    return "".join(out[:length])


def new_id(prefix: str) -> str:
    return f"{prefix}_{random_token()}"

