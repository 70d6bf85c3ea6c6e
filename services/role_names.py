"""Role names (SPEC §7): what a name may contain, and when two names are the same.

A name is NFKC-normalised and trimmed, has 1–64 characters, and contains no control,
format (bidi controls, zero-width characters), surrogate, private-use or unassigned code
point. Two names are the same when their `name_key`s are: case, spacing, punctuation and
look-alike characters (Unicode's confusables, as mapped by the `confusables` package) are
folded away, so `Account Admin`, `account_admin` and `АССОUNT_ADMIN` (Cyrillic) all
imitate the built-in `ACCOUNT_ADMIN` and are refused.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from confusables import CONFUSABLE_MAP

from services.errors import ErrorCode, InvalidInput

MAX_NAME_CHARS = 64
# Control, format (bidi and zero-width), surrogate, private use, unassigned; line and
# paragraph separators. A plain space is the only separator allowed.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def clean_name(raw: str, field: tuple[str, ...] = ("name",)) -> str:
    """The name as stored, or InvalidInput (`INVALID_INPUT`) saying what is wrong with it."""
    name = unicodedata.normalize("NFKC", raw)
    for char in name:
        category = unicodedata.category(char)
        if category in _REFUSED_CATEGORIES or (category == "Zs" and char != " "):
            raise InvalidInput(
                ErrorCode.INVALID_INPUT,
                f"A role name may not contain the character U+{ord(char):04X}.",
                field,
            )
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME_CHARS:
        raise InvalidInput(
            ErrorCode.INVALID_INPUT, f"A role name has 1 to {MAX_NAME_CHARS} characters.", field
        )
    return name


# ASCII characters that look alike in common fonts (I and l, 0 and O), folded together.
_ASCII_FOLD = str.maketrans({"0": "o", "1": "l", "i": "l", "5": "s"})


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """The ASCII letter or digit `char` looks like (folded with `_ASCII_FOLD`), else `char`."""
    if char.isascii():
        return char.translate(_ASCII_FOLD)
    candidates = {
        other.lower().translate(_ASCII_FOLD)
        for other in CONFUSABLE_MAP.get(char, ())
        if len(other) == 1 and other.isascii() and other.isalnum()
    }
    if not candidates:
        # Small capitals (ᴀ, ɴ) are missing from the confusables table.
        described = unicodedata.name(char, "")
        if described.startswith("LATIN LETTER SMALL CAPITAL ") and len(described) == 28:
            candidates.add(described[-1].lower().translate(_ASCII_FOLD))
    return min(candidates) if candidates else char


def name_key(name: str) -> str:
    """What makes two role names the same: NFKC, case-folded, look-alikes mapped to one
    ASCII character, and everything but letters and digits dropped."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    # Accents are dropped: À imitates A.
    folded = "".join(
        c for c in unicodedata.normalize("NFD", folded) if unicodedata.category(c) != "Mn"
    )
    key = "".join(c for c in (_fold_char(ch) for ch in folded) if c.isalnum())
    return key or folded
