"""Display names for attachments.

The user's filename is only ever shown and offered as the download name; storage keys are
generated elsewhere and never derived from it. Invariants of ``display_filename``:

- the result is a single path component (no ``/`` or ``\\``), never ``.``/``..``, and never
  starts with a dot or ends with a dot or space;
- it holds no control characters, no format characters (bidi overrides and isolates, LRM/RLM,
  zero-width characters, BOM: Unicode category ``Cf``), no unassigned or surrogate code
  points, none of ``< > : " | ? *``, and no runs of whitespace;
- it is NFC-normalised, at most ``MAX_LENGTH`` characters, and not empty (``attachment``);
- it ends with an extension matching the detected content type (``.jpg`` and ``.jpeg`` both
  count for JPEG); a wrong one is kept and the right one appended (``report.exe.pdf``).
"""

from __future__ import annotations

import re
import unicodedata

MAX_LENGTH = 200
DEFAULT_STEM = "attachment"
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "text/csv": (".csv",),
    "application/pdf": (".pdf",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/gif": (".gif",),
}
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Cn", "Co"})
_RESERVED = re.compile(r'[<>:"|?*]')
_NOT_ASCII_SAFE = re.compile(r"[^A-Za-z0-9._()+-]+")


def display_filename(raw: str | None, content_type: str) -> str:
    """Return a safe name to show for an upload named ``raw`` whose bytes are ``content_type``."""
    name = re.split(r"[/\\]", raw or "")[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(
        " " if ch.isspace() else ch
        for ch in name
        if ch.isspace() or unicodedata.category(ch) not in _DROPPED_CATEGORIES
    )
    name = _RESERVED.sub("_", name)
    name = " ".join(name.split()).lstrip(". ").rstrip(". ")
    allowed = EXTENSIONS.get(content_type, ())
    extension = next((e for e in allowed if name.lower().endswith(e)), None)
    if extension is None:
        extension = allowed[0] if allowed else ""
    else:
        name = name[: len(name) - len(extension)]
    return _fit(name, extension)


def _fit(stem: str, extension: str) -> str:
    """Join ``stem`` and ``extension`` in at most ``MAX_LENGTH`` characters, keeping the latter."""
    stem = stem[: MAX_LENGTH - len(extension)].rstrip(". ")
    return (stem or DEFAULT_STEM) + extension


def ascii_fallback(name: str) -> str:
    """An ASCII-only version of a display name for the ``filename=`` Content-Disposition
    parameter: letters lose their accents, anything else outside ``[A-Za-z0-9._()+-]`` becomes
    ``_``, and the extension is kept. Never contains quotes, backslashes or spaces."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    stem, dot, extension = folded.rpartition(".")
    if not dot:
        stem, extension = folded, ""
    stem = _NOT_ASCII_SAFE.sub("_", stem).strip("._")
    extension = _NOT_ASCII_SAFE.sub("", extension)
    stem = stem or DEFAULT_STEM
    return f"{stem}.{extension}" if extension else stem
