"""Opaque, signed pagination cursors.

A cursor is the keyset position of a row, JSON-encoded and signed with an HMAC so that a
client cannot forge positions; anything that fails to decode is `InvalidCursor`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import orjson

from services.errors import ErrorCode, InvalidCursor, InvalidInput

_MAC_BYTES = 12


class CursorCodec:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"liaison-cursor:" + secret.encode()).digest()

    def encode(self, kind: str, *values: Any) -> str:
        # orjson: ~10x cheaper than json.dumps, and an inbox page encodes 20 cursors. The
        # standard library takes what orjson refuses (a lone surrogate in a name).
        try:
            payload = orjson.dumps([kind, *values])
        except orjson.JSONEncodeError:
            payload = json.dumps([kind, *values], separators=(",", ":")).encode()
        mac = hmac.digest(self._key, payload, "sha256")[:_MAC_BYTES]
        return base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")

    def decode(self, kind: str, cursor: str) -> list[Any]:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            mac, payload = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
            expected = hmac.digest(self._key, payload, "sha256")[:_MAC_BYTES]
            if not hmac.compare_digest(mac, expected):
                raise ValueError("bad signature")
            decoded = json.loads(payload)
        except (ValueError, TypeError, UnicodeDecodeError):
            raise InvalidCursor("The cursor is not valid.") from None
        if not isinstance(decoded, list) or not decoded or decoded[0] != kind:
            raise InvalidCursor("The cursor does not belong to this list.")
        return decoded[1:]


def check_page_size(first: int | None, maximum: int, *, name: str = "first") -> int | None:
    if first is None:
        return None
    if first < 0 or first > maximum:
        raise InvalidInput(
            ErrorCode.INVALID_ARGUMENT, f"'{name}' must be between 0 and {maximum}.", (name,)
        )
    return first


def page_size(first: int | None, maximum: int, default: int = 20) -> int:
    """`first` of a connection field (null meaning the default), checked against `maximum`."""
    return check_page_size(default if first is None else first, maximum) or 0
