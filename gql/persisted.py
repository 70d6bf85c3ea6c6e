"""Persisted queries: Apollo's automatic persisted queries and a manifest allowlist.

- **APQ** (`extensions.persistedQuery {version: 1, sha256Hash}`): a client sends the hash
  alone; an unknown hash answers `PERSISTED_QUERY_NOT_FOUND` (HTTP 200, not cached), and the
  client sends hash and text together, which registers the text (after checking that it is
  the hash's text) in a bounded in-process LRU. Each server process keeps its own: a client
  whose hash lands on another worker registers it there too, as the protocol expects.
- **Manifest** (`LIAISON_PERSISTED_QUERIES=<manifest.json>`, Apollo's persisted query manifest
  format): its documents may be sent by hash alone in every environment; in production the
  server runs *only* those documents — any other text, over HTTP or a websocket, answers
  `PERSISTED_QUERY_NOT_IN_LIST`, and APQ registration is off. The manifest is read, checked
  (every id the SHA-256 of its body, every body valid against the schema) and compiled at
  start-up: a broken manifest stops the server from starting.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cachetools import LRUCache
from graphql import GraphQLError, parse
from graphql.validation import validate

from gql.settings import SettingsError

_SHA256 = re.compile(r"[0-9a-f]{64}")
# Texts longer than this are not kept for APQ (they still run when sent in full).
APQ_MAX_QUERY_BYTES = 64 * 1024


class PersistedQueryError(Exception):
    """A persisted-query request that cannot be served; answered as a typed JSON error."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    @property
    def headers(self) -> dict[str, str]:
        # As Apollo Server does: the client is about to register the text; never cache this.
        if self.code == "PERSISTED_QUERY_NOT_FOUND":
            return {"Cache-Control": "private, no-cache, must-revalidate"}
        return {}


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def load_manifest(path: Path) -> dict[str, str]:
    """Apollo's persisted query manifest as {sha256: body}; SettingsError when it is wrong."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise SettingsError(f"LIAISON_PERSISTED_QUERIES: cannot read {path}: {error}") from None
    if not (
        isinstance(data, dict)
        and data.get("format") == "apollo-persisted-query-manifest"
        and data.get("version") == 1
        and isinstance(data.get("operations"), list)
    ):
        raise SettingsError(
            f"LIAISON_PERSISTED_QUERIES: {path} is not an apollo-persisted-query-manifest, "
            "version 1, with a list of operations"
        )
    documents: dict[str, str] = {}
    for index, operation in enumerate(data["operations"]):
        body = operation.get("body") if isinstance(operation, dict) else None
        op_id = operation.get("id") if isinstance(operation, dict) else None
        if not isinstance(body, str) or not isinstance(op_id, str):
            raise SettingsError(f"LIAISON_PERSISTED_QUERIES: operation {index} needs id and body")
        if sha256_hex(body) != op_id:
            raise SettingsError(
                f"LIAISON_PERSISTED_QUERIES: operation {index} ({operation.get('name')!r}): "
                "its id is not the SHA-256 of its body"
            )
        documents[op_id] = body
    return documents


class PersistedQueries:
    """Turns a request's query text and extensions into the text to run, or refuses."""

    def __init__(
        self, manifest: Mapping[str, str] | None, *, enforce: bool, apq_size: int = 1000
    ) -> None:
        self.manifest = dict(manifest or {})
        self.enforce = enforce and manifest is not None
        self.apq_size = apq_size
        self._apq: LRUCache[str, str] = LRUCache(apq_size)

    def resolve(self, query: Any, extensions: Any) -> Any:
        """The query text to execute (the one given, or the one a hash names)."""
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        if persisted is None:
            if self.enforce and isinstance(query, str) and sha256_hex(query) not in self.manifest:
                raise _not_in_list()
            return query
        if not isinstance(persisted, dict) or persisted.get("version") != 1:
            raise PersistedQueryError(
                "PERSISTED_QUERY_NOT_SUPPORTED", "Unsupported persisted query version."
            )
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise PersistedQueryError(
                "BAD_REQUEST", "persistedQuery.sha256Hash must be 64 lowercase hex digits."
            )
        if query is None:
            text = self.manifest.get(digest)
            if text is None and not self.enforce:
                text = self._apq.get(digest)
            if text is None:
                raise PersistedQueryError(
                    "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound", status=200
                )
            return text
        if not isinstance(query, str) or sha256_hex(query) != digest:
            raise PersistedQueryError("BAD_REQUEST", "provided sha does not match query")
        if digest in self.manifest:
            return query
        if self.enforce:
            raise _not_in_list()
        if len(query) <= APQ_MAX_QUERY_BYTES:
            self._apq[digest] = query
        return query


def _not_in_list() -> PersistedQueryError:
    return PersistedQueryError(
        "PERSISTED_QUERY_NOT_IN_LIST",
        "This server runs only the operations of its persisted query manifest.",
    )


def check_documents(schema: Any, documents: Mapping[str, str], rules: list[Any]) -> None:
    """Parse and validate every manifest body against the schema; SettingsError if one fails."""
    for digest, body in documents.items():
        try:
            document = parse(body)
        except GraphQLError as error:
            raise SettingsError(
                f"LIAISON_PERSISTED_QUERIES: {digest[:12]}… does not parse: {error.message}"
            ) from None
        errors = validate(schema, document, rules)
        if errors:
            raise SettingsError(
                f"LIAISON_PERSISTED_QUERIES: {digest[:12]}… is not valid: {errors[0].message}"
            )
