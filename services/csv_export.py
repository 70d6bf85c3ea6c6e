"""CSV rows of messaging statistics, safe to open in a spreadsheet.

A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return would be read as a
formula by Excel, LibreOffice or Google Sheets (CSV injection); such a cell is prefixed
with a single quote, which those programs show as text. Spreadsheets skip leading
whitespace (spaces, line breaks, no-break spaces) and invisible characters before deciding,
and some read the full-width forms of these signs, so those count too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from services.analytics import Bucket

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠", "|", "%")
# Skipped before the first significant character: whitespace (str.isspace) and these.
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
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
    if isinstance(value, int | float) and not isinstance(value, bool):
        return text  # a number the export itself wrote, never a formula
    significant = text.lstrip().lstrip(INVISIBLE).lstrip()
    if text.startswith(FORMULA_TRIGGERS) or significant.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


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
