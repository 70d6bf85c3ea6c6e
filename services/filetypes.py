"""Decide an attachment's type from its bytes alone: CSV, PDF, JPEG, PNG or GIF.

Invariants:

- The name and the client's content type are never consulted; only the content is.
- Each format's structure is walked, not just its magic bytes, so truncated files, files with
  trailing data (e.g. GIF/JS, PNG/ZIP polyglots) and corrupt images are refused.
- The file is read in bounded pieces (at most one 64 KiB chunk, one CSV field, or one
  1 MiB CSV line at a time); a 25 MiB upload never sits in memory.
- Anything that is not one of the five types raises
  ``AttachmentRejected(ErrorCode.ATTACHMENT_TYPE_NOT_ALLOWED, ...)``; nothing else escapes for bad
  content (an ``OSError`` reading our own staged file is a server fault and propagates).

Decisions:

- PDF: ``%PDF-1.x``/``%PDF-2.0`` at offset 0 and ``%%EOF`` in the last 1 KiB. PDFs naming
  active content (``/JavaScript``, ``/JS``, ``/Launch``, ``/EmbeddedFile(s)``, ``/RichMedia``,
  ``/XFA``, ``/SubmitForm``, ``/ImportData``, ``/GoToE``; ``#xx`` escapes decoded) are refused:
  a partner portal has no need for scripted or file-carrying PDFs. Names inside compressed
  object streams are not inspected; clamd's PDF engine scans those, and downloads are always
  ``Content-Disposition: attachment`` with ``nosniff``.
- CSV (``_check_csv``): UTF-8 (optional BOM), no
  control characters but tab/CR/LF, one delimiter among ``, ; TAB |`` giving the same number
  of fields (≥ 2) on every non-empty row. A single column is accepted only when there are at
  least two rows, every cell is at most 100 characters and no cell contains ``<`` or ``>``,
  so prose and markup are not "CSV". Formula injection: a cell (or any part of it between
  ``, ; TAB |``, in case a spreadsheet picks another delimiter) starting, after spaces, with
  ``=`` or ``@``, or with ``+``/``-`` unless the rest is a plain number (``-5``, ``-3.2e4``,
  ``+1,5``, a lone ``-``), or a cell starting with TAB or CR, refuses the file.
"""

from __future__ import annotations

import csv
import io
import re
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from services.errors import AttachmentRejected, ErrorCode

CHUNK = 64 * 1024
ALLOWED = "CSV, PDF, JPEG, PNG or GIF"
_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_PDF_HEADER = re.compile(rb"%PDF-(1\.[0-7]|2\.0)")
_PDF_ACTIVE = frozenset(
    {b"JavaScript", b"JS", b"Launch", b"EmbeddedFile", b"EmbeddedFiles", b"RichMedia", b"XFA"}
    | {b"SubmitForm", b"ImportData", b"GoToE"}
)
_PDF_NAME = re.compile(rb"/([^\x00\t\n\x0c\r ()<>\[\]{}/%]*)")
_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_CSV_DELIMITERS = (",", ";", "\t", "|")
_CSV_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CELL_START = re.compile(r'(?:^|[,;\t|])[ "]*([=@+-])([^,;\t|]*)')
_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?%?|[+-]")
_CSV_MAX_LINE = 1024 * 1024
_CSV_SAMPLE_ROWS = 50


class _Malformed(Exception):
    """The content is not a valid file of the type it claims to be; ``args[0]`` says why."""


def sniff_file(path: Path) -> str:
    """Return the content type of ``path`` or raise ``AttachmentRejected``."""
    try:
        with path.open("rb") as f:
            head = f.read(16)
            f.seek(0)
            if head.startswith(_PNG_SIG):
                return _check_png(f)
            if head.startswith(b"\xff\xd8\xff"):
                return _check_jpeg(f)
            if head[:6] in (b"GIF87a", b"GIF89a"):
                return _check_gif(f)
            if head.startswith(b"%PDF-"):
                return _check_pdf(f, path.stat().st_size)
            if not head:
                raise _Malformed("the file is empty")
            return _check_csv(path)
    except _Malformed as e:
        raise AttachmentRejected(
            ErrorCode.ATTACHMENT_TYPE_NOT_ALLOWED, f"File refused: {e.args[0]}. Allowed: {ALLOWED}."
        ) from None


def _read(f: BinaryIO, n: int, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise _Malformed(f"the {what} is truncated")
    return data


def _at_end(f: BinaryIO, what: str) -> None:
    if f.read(1):
        raise _Malformed(f"the {what} has data after its end")


def _check_png(f: BinaryIO) -> str:
    f.read(8)
    first, seen_idat = True, False
    while True:
        length, ctype = struct.unpack(">I4s", _read(f, 8, "PNG"))
        if length > 0x7FFFFFFF or not ctype.isalpha():
            raise _Malformed("the PNG has a corrupt chunk")
        if first and (ctype != b"IHDR" or length != 13):
            raise _Malformed("the PNG does not start with a header chunk")
        crc, remaining, data = zlib.crc32(ctype), length, b""
        while remaining:
            data = _read(f, min(remaining, CHUNK), "PNG")
            crc, remaining = zlib.crc32(data, crc), remaining - len(data)
        if struct.unpack(">I", _read(f, 4, "PNG"))[0] != crc:
            raise _Malformed("the PNG has a chunk with a bad checksum")
        if first:
            width, height, depth, colour = struct.unpack(">IIBB", data[:10])
            if (
                not (width and height)
                or colour not in (0, 2, 3, 4, 6)
                or depth not in (1, 2, 4, 8, 16)
            ):
                raise _Malformed("the PNG header is invalid")
        first, seen_idat = False, seen_idat or ctype == b"IDAT"
        if ctype == b"IEND":
            if not seen_idat or length:
                raise _Malformed("the PNG has no image data")
            _at_end(f, "PNG")
            return "image/png"


def _check_jpeg(f: BinaryIO) -> str:
    f.read(2)
    seen_frame = False
    marker = _next_marker(f)
    while True:
        if marker == 0xD9:
            raise _Malformed("the JPEG ends before its image data")
        if 0xD0 <= marker <= 0xD7 or marker in (0x01, 0xD8):
            raise _Malformed("the JPEG has a misplaced marker")
        (length,) = struct.unpack(">H", _read(f, 2, "JPEG"))
        if length < 2:
            raise _Malformed("the JPEG has a corrupt segment")
        _skip(f, length - 2, "JPEG")
        seen_frame = seen_frame or (0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC))
        if marker != 0xDA:
            marker = _next_marker(f)
            continue
        if not seen_frame:
            raise _Malformed("the JPEG has no frame header")
        marker = _scan_entropy(f)
        if marker == 0xD9:
            _at_end(f, "JPEG")
            return "image/jpeg"


def _next_marker(f: BinaryIO) -> int:
    if _read(f, 1, "JPEG") != b"\xff":
        raise _Malformed("the JPEG has a corrupt segment")
    byte = _read(f, 1, "JPEG")
    while byte == b"\xff":  # fill bytes
        byte = _read(f, 1, "JPEG")
    return byte[0]


def _scan_entropy(f: BinaryIO) -> int:
    """Skip entropy-coded data; return the first marker that is not stuffing or a restart."""
    while True:
        chunk = f.read(CHUNK)
        if not chunk:
            raise _Malformed("the JPEG is truncated")
        at = chunk.find(b"\xff")
        while at != -1:
            if at + 1 == len(chunk):
                chunk += _read(f, 1, "JPEG")
            following = chunk[at + 1]
            if following not in (0x00, 0xFF) and not 0xD0 <= following <= 0xD7:
                f.seek(at + 2 - len(chunk), io.SEEK_CUR)
                return following
            at = chunk.find(b"\xff", at + 1)


def _skip(f: BinaryIO, n: int, what: str) -> None:
    while n:
        n -= len(_read(f, min(n, CHUNK), what))


def _check_gif(f: BinaryIO) -> str:
    header = _read(f, 13, "GIF")
    width, height, packed = struct.unpack("<HHB", header[6:11])
    if not (width and height):
        raise _Malformed("the GIF has no size")
    if packed & 0x80:
        _skip(f, 3 << ((packed & 7) + 1), "GIF")
    images = 0
    while True:
        kind = _read(f, 1, "GIF")
        if kind == b"\x3b":
            if not images:
                raise _Malformed("the GIF has no image")
            _at_end(f, "GIF")
            return "image/gif"
        if kind == b"\x21":
            _read(f, 1, "GIF")
        elif kind == b"\x2c":
            packed = _read(f, 9, "GIF")[8]
            if packed & 0x80:
                _skip(f, 3 << ((packed & 7) + 1), "GIF")
            if not 2 <= _read(f, 1, "GIF")[0] <= 8:
                raise _Malformed("the GIF has corrupt image data")
            images += 1
        else:
            raise _Malformed("the GIF has a corrupt block")
        while size := _read(f, 1, "GIF")[0]:  # data sub-blocks up to the 0 terminator
            _skip(f, size, "GIF")


def _check_pdf(f: BinaryIO, size: int) -> str:
    if not _PDF_HEADER.match(f.read(8)):
        raise _Malformed("the PDF header is invalid")
    f.seek(max(0, size - 1024))
    if b"%%EOF" not in f.read(1024):
        raise _Malformed("the PDF is truncated (no %%EOF at its end)")
    f.seek(0)
    carry = b""
    while chunk := f.read(CHUNK):
        buf, carry = carry + chunk, b""
        for m in _PDF_NAME.finditer(buf):
            if m.end() == len(buf):  # the name may continue in the next chunk
                carry = buf[m.start() :]
                break
            _refuse_active(m[1])
        carry = carry[-256:]
    _refuse_active(carry[1:])
    return "application/pdf"


def _refuse_active(name: bytes) -> None:
    if _HEX_ESCAPE.sub(lambda h: bytes.fromhex(h[1].decode()), name) in _PDF_ACTIVE:
        raise _Malformed("the PDF contains active content (scripts, actions or embedded files)")


def _csv_lines(path: Path) -> Iterator[str]:
    """Yield the file's lines, each bounded, refusing non-UTF-8 and control characters."""
    with path.open("rb") as raw, io.TextIOWrapper(raw, "utf-8-sig", newline="") as text:
        try:
            while line := text.readline(_CSV_MAX_LINE):
                if len(line) == _CSV_MAX_LINE and not line.endswith("\n"):
                    raise _Malformed("the CSV has a line longer than 1 MiB")
                if _CSV_CONTROL.search(line):
                    raise _Malformed(
                        "the file holds binary data or control characters, so it is not CSV"
                    )
                yield line
        except UnicodeDecodeError:
            raise _Malformed("the file is not UTF-8 text, so it is not CSV") from None


def _rows(path: Path, delimiter: str, limit: int | None = None) -> Iterator[list[str]]:
    reader = csv.reader(_csv_lines(path), delimiter=delimiter, strict=True)
    try:
        for n, row in enumerate(r for r in reader if r):
            if limit is not None and n >= limit:
                return
            yield row
    except csv.Error:
        raise _Malformed("the file is not well-formed CSV") from None


def _check_csv(path: Path) -> str:
    first = next(_csv_lines(path), "")
    if first.lstrip().startswith("<"):
        raise _Malformed("the file is markup (HTML, SVG or XML), not CSV")
    best, width = ",", 1
    for delimiter in _CSV_DELIMITERS:
        counts = {len(row) for row in _rows(path, delimiter, _CSV_SAMPLE_ROWS)}
        if len(counts) == 1 and (n := counts.pop()) > width:
            best, width = delimiter, n
    rows = 0
    for row in _rows(path, best):
        rows += 1
        if len(row) != width:
            raise _Malformed("the CSV rows have different numbers of fields")
        if width == 1 and (len(row[0]) > 100 or "<" in row[0] or ">" in row[0]):
            raise _Malformed("the file is text, not CSV (a single column of long or markup lines)")
        for cell in row:
            _check_cell(cell)
    if rows == 0:
        raise _Malformed("the CSV has no rows")
    if width == 1 and rows < 2:
        raise _Malformed("the file is text, not CSV (one line, no delimiter)")
    return "text/csv"


def _check_cell(cell: str) -> None:
    if cell[:1] in ("\t", "\r"):
        raise _Malformed("the CSV has a cell starting with a tab or carriage return")
    for m in _CELL_START.finditer(cell):
        if m[1] in "=@" or not _NUMBER.fullmatch((m[1] + m[2]).rstrip(' "')):
            raise _Malformed(
                "the CSV contains a spreadsheet formula (a cell starting with =, @, + or -)"
            )
