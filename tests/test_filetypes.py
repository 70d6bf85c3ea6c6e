"""Every corpus file through type detection and filename sanitising, as the manifest says."""

from __future__ import annotations

import importlib.util
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from services.errors import AttachmentRejected
from services.filenames import MAX_LENGTH, ascii_fallback, display_filename
from services.filetypes import sniff_file

CORPUS = Path(__file__).parent / "corpus"
MANIFEST: dict[str, Any] = json.loads((CORPUS / "manifest.json").read_text())
FILES: list[dict[str, Any]] = MANIFEST["files"]


def test_corpus_is_large_enough_and_matches_its_generator() -> None:
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert len(FILES) >= 40
    for entry in generator.ENTRIES:
        assert (CORPUS / entry["file"]).read_bytes() == entry["data"], entry["file"]


@pytest.mark.parametrize("entry", FILES, ids=[e["file"] for e in FILES])
def test_corpus_entry_has_the_expected_outcome(entry: dict[str, Any]) -> None:
    path = CORPUS / entry["file"]
    if "reject" in entry:
        with pytest.raises(AttachmentRejected) as caught:
            sniff_file(path)
        assert caught.value.code == entry["reject"]
        assert "Allowed: CSV, PDF, JPEG, PNG or GIF" in caught.value.message
    else:
        content_type = sniff_file(path)
        assert content_type == entry["accept"]
        assert display_filename(entry["upload_as"], content_type) == entry["display_name"]


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_large_png_with_chunks_bigger_than_the_read_size_is_accepted(tmp_path: Path) -> None:
    width = height = 300
    raw = b"".join(b"\x00" + bytes(range(256)) * 3 + bytes(3 * width - 768) for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path = tmp_path / "big.png"
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(raw, 0))
        + png_chunk(b"IEND", b"")
    )
    assert path.stat().st_size > 200_000
    assert sniff_file(path) == "image/png"


def test_jpeg_entropy_data_with_markers_across_read_boundaries(tmp_path: Path) -> None:
    valid = (CORPUS / "valid.jpg").read_bytes()
    sos_end = valid.rindex(b"\x3f\xff\xd9")
    # stuffed 0xFF00 pairs and restart markers straddling the 64 KiB read boundary
    entropy = b"\x12" * (65536 - sos_end - 1) + b"\xff\x00" + b"\xff\xd0" * 3 + b"\x34" * 10
    path = tmp_path / "long.jpg"
    path.write_bytes(valid[:sos_end] + entropy + b"\xff\xd9")
    assert sniff_file(path) == "image/jpeg"
    path.write_bytes(valid[:sos_end] + entropy + b"\xff\xd9\x00")
    with pytest.raises(AttachmentRejected):
        sniff_file(path)


def test_large_csv_is_accepted_and_a_late_formula_is_found(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    rows = "".join(f"{i},name {i},-{i}.5\n" for i in range(200_000))
    path.write_text("id,name,delta\n" + rows)
    assert sniff_file(path) == "text/csv"
    path.write_text("id,name,delta\n" + rows + "1,x,=1+1\n")
    with pytest.raises(AttachmentRejected, match="formula"):
        sniff_file(path)


def test_pdf_active_name_split_across_read_boundary_is_found(tmp_path: Path) -> None:
    valid = (CORPUS / "valid.pdf").read_bytes()
    padding = b"%" + b"x" * (65536 - 9 - 5 - 2) + b"\n"  # the name straddles 64 KiB
    path = tmp_path / "split.pdf"
    path.write_bytes(valid[:9] + padding + b"/JavaScript " + valid[9:])
    with pytest.raises(AttachmentRejected, match="active content"):
        sniff_file(path)


@pytest.mark.parametrize(
    ("raw", "content_type", "expected"),
    [
        (None, "text/csv", "attachment.csv"),
        ("..", "image/png", "attachment.png"),
        ("a/b\\c.gif", "image/gif", "c.gif"),
        ("x\u2066y\u2069z\u200e\u200f.pdf", "application/pdf", "xyz.pdf"),
        ("é" * 250 + ".jpeg", "image/jpeg", "é" * (MAX_LENGTH - 5) + ".jpeg"),
        ("a.png", "image/gif", "a.png.gif"),
    ],
)
def test_display_filename(raw: str | None, content_type: str, expected: str) -> None:
    assert display_filename(raw, content_type) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("é mañana.csv", "e_manana.csv"),
        ('a"b\\c;d.png', "a_b_c_d.png"),
        ("отчёт.pdf", "attachment.pdf"),
        ("noext", "noext"),
    ],
)
def test_ascii_fallback(name: str, expected: str) -> None:
    assert ascii_fallback(name) == expected
