"""Opaque public identifiers with a type prefix (``usr_``, ``txn_``, ``pi_`` ...).

Rows keep integer primary keys (fast joins, keyset paging); the public id is a separate
unique column of 20 random base-58 characters (≈ 117 bits), so ids neither leak volumes
nor can be guessed.
"""

from __future__ import annotations

import secrets

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def random_token(length: int = 20) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(prefix: str) -> str:
    return f"{prefix}_{random_token()}"

