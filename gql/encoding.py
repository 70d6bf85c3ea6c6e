"""JSON out: orjson, with the standard library for the few values orjson refuses."""

from __future__ import annotations

import json

import orjson


def dumps(data: object) -> bytes:
    """Compact JSON as bytes. orjson refuses a lone surrogate (echoed from a request into an
    error message) and integers beyond 64 bits; those bodies take `json.dumps`."""
    try:
        return orjson.dumps(data)
    except TypeError:
        return json.dumps(data, separators=(",", ":")).encode()
