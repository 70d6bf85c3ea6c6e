"""Signed one-click unsubscribe tokens (RFC 8058): `<user id>.<HMAC-SHA256>` in base64url.

The key is derived from `LIAISON_JWT_SECRET` for this one purpose, so an unsubscribe token is
never a bearer token and a bearer token is never an unsubscribe token. Tokens do not expire:
an unsubscribe link in an old e-mail keeps working.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

_PURPOSE = b"liaison:notifications:unsubscribe:v1"


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def unsubscribe_token(secret: str, user_id: uuid.UUID) -> str:
    mac = hmac.new(_key(secret), user_id.bytes, hashlib.sha256).digest()
    return f"{_b64(user_id.bytes)}.{_b64(mac)}"


def read_unsubscribe_token(secret: str, token: str) -> uuid.UUID | None:
    """The user a token was signed for, or None when it is malformed or forged."""
    user_part, _, mac_part = token.partition(".")
    try:
        user_bytes, mac = _unb64(user_part), _unb64(mac_part)
        user_id = uuid.UUID(bytes=user_bytes)
    except ValueError:
        return None
    expected = hmac.new(_key(secret), user_id.bytes, hashlib.sha256).digest()
    return user_id if hmac.compare_digest(mac, expected) else None
