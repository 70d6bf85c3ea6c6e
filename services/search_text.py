"""Search queries and snippets, with the index's own tokeniser (`models.search_index`):
a query's words are what the index would store for the same text, so punctuation and FTS
syntax characters (`"`, `*`, `:`, `(`, `NEAR`…) are plain separators or words, never
operators.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from models.search_index import WORD, fold, words
from services.errors import ErrorCode, InvalidInput

MAX_QUERY_CHARS = 500
MAX_QUERY_WORDS = 16
SNIPPET_CHARS = 200


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """Folded words; every one must match, the last also as a prefix."""

    terms: tuple[str, ...]

    def postgres(self) -> str:
        """A `to_tsquery` text: terms are letters and digits only, so nothing is syntax."""
        quoted = [f"'{t}'" for t in self.terms]
        quoted[-1] += ":*"
        return " & ".join(quoted)

    def sqlite(self) -> str:
        """An FTS5 MATCH expression: each term a quoted string, the last a prefix query."""
        quoted = [f'"{t}"' for t in self.terms]
        quoted[-1] += "*"
        return " AND ".join(quoted)

    def matches_folded(self, folded: str) -> bool:
        return folded in self.terms or folded.startswith(self.terms[-1])

    def matches(self, word: str) -> bool:
        return self.matches_folded(fold(word))

    def hits(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of each matching word of `text`, an NFKC-normalised string."""
        if text.isascii():  # lower-casing ASCII keeps every position: fold once, not per word
            return [
                (m.start(), m.end())
                for m in WORD.finditer(text.lower())
                if self.matches_folded(m.group())
            ]
        return [(m.start(), m.end()) for m in WORD.finditer(text) if self.matches(m.group())]


def parse_query(raw: str) -> SearchQuery:
    """The words of a search query; INVALID_ARGUMENT when there are none or too many."""
    if len(raw) > MAX_QUERY_CHARS:
        raise InvalidInput(
            ErrorCode.INVALID_ARGUMENT,
            f"query has at most {MAX_QUERY_CHARS} characters.",
            ("query",),
        )
    # Split again after folding: every term is letters and digits only, whatever folding did.
    terms = [t.group() for m in words(raw) for t in WORD.finditer(fold(m.group()))]
    if not terms:
        raise InvalidInput(
            ErrorCode.INVALID_ARGUMENT, "query has no word to search for.", ("query",)
        )
    if len(terms) > MAX_QUERY_WORDS:
        raise InvalidInput(
            ErrorCode.INVALID_ARGUMENT, f"query has at most {MAX_QUERY_WORDS} words.", ("query",)
        )
    return SearchQuery(tuple(dict.fromkeys(terms)))


@dataclass(frozen=True, slots=True)
class Snippet:
    text: str
    highlights: list[tuple[int, int]]  # (start, length) in characters of `text`


def snippet(query: SearchQuery, texts: Sequence[str]) -> Snippet:
    """At most SNIPPET_CHARS of the first text that has a match, around its first match,
    with every matching word in it marked. Plain text on one line; `…` marks a cut end."""
    for raw in texts:
        text = _flat(raw)
        hits = query.hits(text)
        if hits:
            return _around(text, hits)
    return _around(_flat(texts[0]) if texts else "", [])


def _flat(raw: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", raw).split())


def _around(text: str, hits: list[tuple[int, int]]) -> Snippet:
    start, end, prefix, suffix = 0, len(text), "", ""
    if len(text) > SNIPPET_CHARS:
        first = hits[0][0] if hits else 0
        start = max(0, min(first - SNIPPET_CHARS // 3, len(text) - SNIPPET_CHARS + 1))
        if start > 0:
            space = text.find(" ", start, first)  # begin at a word when one is near
            start = space + 1 if space >= 0 and text[start - 1] != " " else start
            prefix = "…"
        room = SNIPPET_CHARS - len(prefix)
        if len(text) - start > room:
            end, suffix = start + room - 1, "…"
    marks = []
    for hit_start, hit_end in hits:
        a, b = max(hit_start, start), min(hit_end, end)
        if a < b:
            marks.append((len(prefix) + a - start, b - a))
    return Snippet(prefix + text[start:end] + suffix, marks)
