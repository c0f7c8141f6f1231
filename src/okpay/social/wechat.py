"""WeChat Official Account push security: the signatures, the replay window and safe mode.

Plaintext mode (明文模式): ``signature = sha1(sorted(token, timestamp, nonce))`` in the query. It does
not cover the body, so on its own a signature seen once (in a log, a proxy) could carry any XML;
OKPay therefore refuses a ``timestamp`` outside ``OKPAY_CTI_TOLERANCE_SECONDS`` and accepts each
``timestamp``+``nonce`` once (``social.WebhookNonce``, kept for the window).

Safe mode (安全模式, recommended; ``OKPAY_WECHAT_ENCODING_AES_KEY``): the body is
``<xml><ToUserName/><Encrypt>base64</Encrypt></xml>`` and ``msg_signature = sha1(sorted(token,
timestamp, nonce, Encrypt))`` covers it. ``Encrypt`` is AES-256-CBC (key = base64 of the 43-character
EncodingAESKey + "=", IV = its first 16 bytes, PKCS#7 padding to 32 bytes) of
``16 random bytes + len(msg) (4 bytes, big-endian) + msg + AppID``; the AppID must be ours.
With the key set, a push that is not encrypted is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PAD_BLOCK = 32


class WeChatCryptoError(ValueError):
    """The encrypted body cannot be ours: bad base64, padding, length or AppID."""


def signature(*parts: str) -> str:
    joined = "".join(sorted(parts)).encode()
    return hashlib.sha1(joined).hexdigest()  # noqa: S324 - WeChat's own scheme  # nosec B324


def signature_matches(expected_parts: tuple[str, ...], given: str) -> bool:
    return bool(given) and hmac.compare_digest(signature(*expected_parts), given.lower())


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte key from the 43-character EncodingAESKey; ``ValueError`` if it is not one."""
    if len(encoding_aes_key) != 43:
        raise ValueError("an EncodingAESKey has 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as exc:
        raise ValueError("an EncodingAESKey is base64") from exc
    if len(key) != 32:
        raise ValueError("an EncodingAESKey decodes to 32 bytes")
    return key


def decrypt(encoding_aes_key: str, encrypted: str, appid: str) -> bytes:
    key = aes_key(encoding_aes_key)
    try:
        data = base64.b64decode(encrypted.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WeChatCryptoError("not base64") from exc
    if not data or len(data) % 16:
        raise WeChatCryptoError("not whole AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= PAD_BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise WeChatCryptoError("bad padding")
    plain = plain[:-pad]
    if len(plain) < 20:
        raise WeChatCryptoError("too short")
    (length,) = struct.unpack(">I", plain[16:20])
    message, sender_appid = plain[20:20 + length], plain[20 + length:]
    if len(message) != length or not appid or not hmac.compare_digest(sender_appid, appid.encode()):
        raise WeChatCryptoError("not for our AppID")
    return message


def encrypt(encoding_aes_key: str, message: bytes, appid: str) -> str:
    """What WeChat does (used by the tests' fake platform, and for an encrypted reply)."""
    key = aes_key(encoding_aes_key)
    plain = os.urandom(16) + struct.pack(">I", len(message)) + message + appid.encode()
    pad = PAD_BLOCK - len(plain) % PAD_BLOCK
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()
