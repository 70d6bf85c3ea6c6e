"""CSV rows of messaging statistics, safe to open in a spreadsheet.

A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return would be read as a
formula by Excel, LibreOffice or Google Sheets (CSV injection); such a cell is prefixed
with a single quote, which those programs show as text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from services.analytics import Bucket

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
HEADER = (
    "key",
    "label",
    "messages_sent",
    "messages_received",
    "conversations_started",
    "conversations_with_reply",
    "median_first_response_seconds",
    "attachments",
    "attachments_infected",
)


def escape_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def bucket_cells(bucket: Bucket) -> list[object]:
    return [
        bucket.key,
        bucket.label,
        bucket.messages_sent,
        bucket.messages_received,
        bucket.conversations_started,
        bucket.conversations_with_reply,
        bucket.median_first_response_seconds,
        bucket.attachments,
        bucket.attachments_infected,
    ]


def csv_lines(buckets: Iterable[Bucket]) -> Iterator[str]:
    """The header, then one line per bucket, each cell escaped."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    rows: Iterable[Iterable[object]] = [HEADER]
    for row in (*rows, *(bucket_cells(b) for b in buckets)):
        writer.writerow([escape_cell(cell) for cell in row])
        yield out.getvalue()
        out.seek(0)
        out.truncate()
