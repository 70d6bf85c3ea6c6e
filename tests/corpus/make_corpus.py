"""Regenerate the upload corpus: ``python tests/corpus/make_corpus.py``.

Deterministic: the same bytes and ``manifest.json`` every run. Each entry names a stored file,
the filename to upload it as, and the expected outcome, either
``{"accept": <content type>, "display_name": <sanitised name>}`` or ``{"reject": <ErrorCode>}``.
Cases too big or too many to keep as files are described under ``"generated"``.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
TYPE = "ATTACHMENT_TYPE_NOT_ALLOWED"
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data)
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png() -> bytes:
    ihdr = struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0)  # 2x1 RGB
    idat = zlib.compress(b"\x00\xff\x00\x00\x00\x00\xff", 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + (png_chunk(b"IEND", b""))
    )


def jpeg(*, eoi: bool = True, frame: bool = True) -> bytes:
    """A decodable 1x1 grey baseline JPEG with one-symbol Huffman tables."""

    def segment(marker: int, data: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(data) + 2) + data

    app0 = segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    dqt = segment(0xDB, b"\x00" + b"\x01" * 64)
    sof = segment(0xC0, b"\x08\x00\x01\x00\x01\x01\x01\x11\x00")
    dht = segment(0xC4, b"\x00" + b"\x01" + b"\x00" * 15 + b"\x00")  # DC: "0" -> diff 0
    dht += segment(0xC4, b"\x10" + b"\x01" + b"\x00" * 15 + b"\x00")  # AC: "0" -> EOB
    sos = segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    scan = b"\x3f"  # bits 0 (DC) 0 (EOB), padded with ones
    body = b"\xff\xd8" + app0 + dqt + (sof if frame else b"") + dht + sos + scan
    return body + (b"\xff\xd9" if eoi else b"")


def gif(version: bytes = b"89a", width: bytes = b"\x01\x00") -> bytes:
    screen = width + b"\x01\x00\x80\x00\x00" + b"\x00\x00\x00\xff\xff\xff"
    control = b"\x21\xf9\x04\x01\x00\x00\x00\x00" if version == b"89a" else b""
    image = b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00"
    return b"GIF" + version + screen + control + image + b"\x3b"


def pdf(extra: bytes = b"", *, eof: bool = True) -> bytes:
    """A one-page PDF with a correct xref table; ``extra`` goes into the catalog."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + extra + b">>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n" % (len(objects) + 1, xref)
    return out + (b"%%EOF\n" if eof else b"")


def accept(file: str, data: bytes, upload_as: str, kind: str, display: str) -> dict[str, Any]:
    return {
        "file": file,
        "data": data,
        "upload_as": upload_as,
        "accept": kind,
        "display_name": display,
    }


def reject(file: str, data: bytes, upload_as: str, why: str, code: str = TYPE) -> dict[str, Any]:
    return {"file": file, "data": data, "upload_as": upload_as, "reject": code, "why": why}


CSV_OK = b"name,amount,date\nAlice,12.50,2024-01-02\nBob,7,2024-01-03\n"
ENTRIES: list[dict[str, Any]] = [
    # Valid files of each allowed type.
    accept("valid.pdf", pdf(), "brief.pdf", "application/pdf", "brief.pdf"),
    accept("valid.png", png(), "logo.png", "image/png", "logo.png"),
    accept("valid.jpg", jpeg(), "photo.jpg", "image/jpeg", "photo.jpg"),
    accept("valid_jpeg_ext.jpg", jpeg(), "photo.JPEG", "image/jpeg", "photo.jpeg"),
    accept("valid87a.gif", gif(b"87a"), "old.gif", "image/gif", "old.gif"),
    accept("valid89a.gif", gif(), "anim.gif", "image/gif", "anim.gif"),
    accept("comma.csv", CSV_OK, "sales.csv", "text/csv", "sales.csv"),
    accept("semicolon.csv", b"name;amount\nAlice;12,50\nBob;7\n", "eu.csv", "text/csv", "eu.csv"),
    accept("tab.tsv", b"name\tamount\nAlice\t12.50\n", "data.tsv", "text/csv", "data.tsv.csv"),
    accept("pipe.csv", b"a|b|c\n1|2|3\n", "pipes.csv", "text/csv", "pipes.csv"),
    accept(
        "bom.csv",
        b"\xef\xbb\xbfname,city\nJos\xc3\xa9,M\xc3\xa1laga\n",
        "bom.csv",
        "text/csv",
        "bom.csv",
    ),
    accept(
        "quoted_newlines.csv",
        b'id,note\r\n1,"two\r\nlines, with comma"\r\n2,"say ""hi"""\r\n',
        "notes.csv",
        "text/csv",
        "notes.csv",
    ),
    accept(
        "negatives.csv",
        b"item,delta,sci\na,-5,-3.2e4\nb,+1.5,-\nc,-0.25,+7E-3\n",
        "numbers.csv",
        "text/csv",
        "numbers.csv",
    ),
    accept(
        "single_column.csv",
        b"email\nalice@example.com\nbob@example.com\n",
        "emails.csv",
        "text/csv",
        "emails.csv",
    ),
    accept(
        "eicar_in.csv", b"name,payload\neicar," + EICAR + b"\n", "test.csv", "text/csv", "test.csv"
    ),
    # Filenames: the content is valid, the name is sanitised.
    accept("passwd.csv", CSV_OK, "../../etc/passwd", "text/csv", "passwd.csv"),
    accept("rtl.pdf", pdf(), "report\u202efdp.exe", "application/pdf", "reportfdp.exe.pdf"),
    accept("winpath.png", png(), "C:\\Users\\x\\a.png", "image/png", "a.png"),
    accept("long_name.png", png(), "n" * 300 + ".png", "image/png", "n" * 196 + ".png"),
    accept(
        "control_name.pdf",
        pdf(),
        "in\x07voice\x1b[31m\r\n.pdf",
        "application/pdf",
        "invoice[31m.pdf",
    ),
    accept("zero_width.gif", gif(), "\u200bcat\u200d\ufeff.gif", "image/gif", "cat.gif"),
    accept("dotfile.csv", CSV_OK, "..hidden.csv", "text/csv", "hidden.csv"),
    accept("spaces.png", png(), "  spaced \t  out  .png. ", "image/png", "spaced out.png"),
    accept("empty_name.png", png(), "", "image/png", "attachment.png"),
    accept("wrong_ext.pdf", pdf(), "report.exe", "application/pdf", "report.exe.pdf"),
    accept("reserved.gif", gif(), 'a<b>:c?"*|.gif', "image/gif", "a_b__c____.gif"),
    accept("nfc.csv", CSV_OK, "cafe\u0301.csv", "text/csv", "caf\u00e9.csv"),
    # Refused: not one of the allowed types, whatever the name says.
    reject(
        "elf_as.pdf",
        b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56 + b"\x02\x00\x3e\x00",
        "invoice.pdf",
        "ELF executable",
    ),
    reject(
        "pe_as.jpg",
        b"MZ\x90\x00\x03\x00\x00\x00"
        + b"\x00" * 52
        + b"This program cannot be run in DOS mode.\r\n",
        "photo.jpg",
        "PE executable",
    ),
    reject(
        "html_as.png",
        b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>\n",
        "image.png",
        "HTML",
    ),
    reject(
        "image.svg",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>\n',
        "image.svg",
        "SVG",
    ),
    reject(
        "xml_svg_as.png",
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>\n',
        "logo.png",
        "SVG with XML declaration",
    ),
    reject(
        "polyglot_gif_js.gif",
        b"GIF89a/*" + gif()[8:] + b"*/=alert(1);",
        "cat.gif",
        "GIF/JS polyglot",
    ),
    reject(
        "gif_trailing_script.gif",
        gif() + b"<script>alert(1)</script>",
        "cat.gif",
        "data after GIF trailer",
    ),
    reject("gif_truncated.gif", gif()[:-1], "cat.gif", "GIF without trailer"),
    reject("gif_header_only.gif", b"GIF89a", "cat.gif", "GIF header only"),
    reject("png_truncated.png", png()[:-10], "logo.png", "truncated PNG"),
    reject("png_trailing.png", png() + b"PK\x03\x04garbage", "logo.png", "PNG with trailing data"),
    reject(
        "png_bad_crc.png",
        png()[:29] + b"\x00\x00\x00\x00" + png()[33:],
        "logo.png",
        "PNG IHDR CRC wrong",
    ),
    reject("png_signature_only.png", b"\x89PNG\r\n\x1a\n", "logo.png", "PNG signature only"),
    reject("jpeg_truncated.jpg", jpeg(eoi=False), "photo.jpg", "JPEG without EOI"),
    reject(
        "jpeg_trailing.jpg",
        jpeg() + b"<?php system($_GET['c']); ?>",
        "photo.jpg",
        "JPEG with trailing data",
    ),
    reject("jpeg_no_frame.jpg", jpeg(frame=False), "photo.jpg", "JPEG without SOF"),
    reject("empty.png", b"", "empty.png", "empty file"),
    reject("empty.csv", b"", "empty.csv", "0-byte CSV"),
    reject("blank_lines.csv", b"\n\r\n\n", "blank.csv", "CSV with no rows"),
    reject(
        "zip_as.pdf",
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 20 + b"a.txt",
        "doc.pdf",
        "ZIP",
    ),
    reject(
        "zip_as.csv",
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 20 + b"a.txt",
        "doc.csv",
        "ZIP",
    ),
    reject(
        "pdf_javascript.pdf",
        pdf(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >> "),
        "doc.pdf",
        "PDF with JavaScript",
    ),
    reject(
        "pdf_hex_javascript.pdf",
        pdf(b"/OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >> "),
        "doc.pdf",
        "PDF with #-escaped JavaScript",
    ),
    reject(
        "pdf_launch.pdf",
        pdf(b"/OpenAction << /S /Launch /F (cmd.exe) >> "),
        "doc.pdf",
        "PDF with Launch action",
    ),
    reject(
        "pdf_embedded.pdf",
        pdf(b"/Names << /EmbeddedFiles << /Names [] >> >> "),
        "doc.pdf",
        "PDF with embedded files",
    ),
    reject("pdf_no_eof.pdf", pdf(eof=False), "doc.pdf", "PDF without %%EOF"),
    reject(
        "pdf_bad_version.pdf", b"%PDF-9.9\n" + pdf()[9:], "doc.pdf", "PDF with an unknown version"
    ),
    reject("nul.csv", b"a,b\n1,\x002\n3,4\n", "data.csv", "NUL byte in CSV"),
    reject("escape.csv", b"a,b\n1,\x1b[31mred\n", "data.csv", "ANSI escape in CSV"),
    reject("formula_cmd.csv", b"name,value\nx,=cmd|' /C calc'!A0\n", "data.csv", "=cmd formula"),
    reject(
        "formula_at.csv", b"name,value\nx,@SUM(1+1)*cmd|' /C calc'!A0\n", "data.csv", "@ formula"
    ),
    reject("formula_plus.csv", b"name,value\nx,+cmd|' /C calc'!A0\n", "data.csv", "+ formula"),
    reject("formula_minus.csv", b"name,value\nx,-2+3+cmd|' /C calc'!A0\n", "data.csv", "- formula"),
    reject(
        "formula_quoted_space.csv",
        b'name,value\nx," =HYPERLINK(""http://x"")"\n',
        "data.csv",
        "formula after spaces in quotes",
    ),
    reject(
        "formula_other_delim.csv",
        b"name;note\nx;see a,=1+1\n",
        "data.csv",
        "formula after a comma in a ; file",
    ),
    reject("cell_tab.csv", b"name,value\nx,\tfoo\n", "data.csv", "cell starting with a tab"),
    reject("ragged.csv", b"a,b,c\n1,2\n3,4,5,6\n", "data.csv", "rows with different field counts"),
    reject("latin1.csv", b"name,city\nJos\xe9,M\xe1laga\n", "data.csv", "Latin-1, not UTF-8"),
    reject("utf16.csv", "a,b\n1,2\n".encode("utf-16"), "data.csv", "UTF-16"),
    reject(
        "html_as.csv",
        b"<html><body><table><tr><td>1</td></tr></table></body></html>\n",
        "data.csv",
        "HTML",
    ),
    reject(
        "prose.csv",
        b"Dear partner we would like to follow up on the invoice we sent last week\n",
        "letter.csv",
        "one line of prose",
    ),
    reject("json_as.csv", b'{\n  "a": 1,\n  "b": [1, 2, 3]\n}\n', "data.csv", "JSON"),
    reject("unterminated_quote.csv", b'a,b\n1,"oops\n', "data.csv", "unterminated quote"),
]
GENERATED = [
    {
        "name": "oversized",
        "upload_as": "big.csv",
        "size": "max_attachment_bytes + 1",
        "content": "comma.csv repeated to the size",
        "reject": "ATTACHMENT_TOO_LARGE",
    },
    {
        "name": "at_limit",
        "upload_as": "big.pdf",
        "size": "max_attachment_bytes",
        "content": "valid.pdf padded with PDF comment lines before the final %%EOF",
        "accept": "application/pdf",
        "display_name": "big.pdf",
    },
    {
        "name": "eleven_files",
        "count": "max_attachments + 1",
        "file": "comma.csv",
        "upload_as": "sales.csv",
        "reject": "TOO_MANY_ATTACHMENTS",
    },
    {
        "name": "one_bad_among_good",
        "files": ["comma.csv", "valid.png", "elf_as.pdf"],
        "reject": TYPE,
        "note": "nothing of the message is stored",
    },
]


def main() -> None:
    manifest = []
    for entry in ENTRIES:
        (HERE / entry["file"]).write_bytes(entry["data"])
        manifest.append({k: v for k, v in entry.items() if k != "data"})
    manifest[[e["file"] for e in manifest].index("eicar_in.csv")]["infected"] = True
    text = json.dumps({"files": manifest, "generated": GENERATED}, indent=2, ensure_ascii=True)
    (HERE / "manifest.json").write_text(text + "\n")


if __name__ == "__main__":
    main()
