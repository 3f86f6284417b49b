"""A1 notation: parsing ranges like ``'My Sheet'!A1:C3`` and formatting them back.

Ranges are resolved against a sheet into half-open grid coordinates
``(r0, r1, c0, c1)`` (0-based, end exclusive), like the Sheets API GridRange.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Tuple

_ENDPOINT = re.compile(r"^\$?([A-Za-z]{0,3})\$?(\d{0,7})$")
_SIMPLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CELLISH = re.compile(r"^(?:[A-Za-z]{1,3}\d+|[Rr]\d+[Cc]\d+|[Rr]\d*|[Cc]\d*)$")


class A1Error(ValueError):
    """The text is not valid A1 notation."""


def col_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    if index < 0:
        raise ValueError(index)
    out = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def col_index(letters: str) -> int:
    """A -> 0, Z -> 25, AA -> 26."""
    n = 0
    for ch in letters.upper():
        if not "A" <= ch <= "Z":
            raise A1Error(letters)
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def needs_quotes(title: str) -> bool:
    """Google quotes sheet names unless they are plain identifiers that cannot
    be mistaken for a cell reference."""
    return not _SIMPLE_NAME.match(title) or bool(_CELLISH.match(title))


def sheet_prefix(title: str, always_quote: bool = False) -> str:
    if always_quote or needs_quotes(title):
        return "'" + title.replace("'", "''") + "'"
    return title


def split_sheet(text: str) -> Tuple[Optional[str], Optional[str]]:
    """Split ``'Sheet'!A1:B2`` into (sheet name or None, cell part or None).

    A text without ``!`` is returned as (None, text); the caller decides whether
    it names a sheet or a range on the first sheet.
    """
    text = text.strip()
    if text.startswith("'"):
        i = 1
        name = []
        while i < len(text):
            ch = text[i]
            if ch == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    name.append("'")
                    i += 2
                    continue
                break
            name.append(ch)
            i += 1
        else:
            raise A1Error(text)
        rest = text[i + 1:]
        if rest == "":
            return "".join(name), None
        if not rest.startswith("!"):
            raise A1Error(text)
        return "".join(name), rest[1:] or None
    if "!" in text:
        pos = text.rfind("!")
        return text[:pos], text[pos + 1:] or None
    return None, text


@dataclass
class CellPart:
    """Parsed cell part, before resolution against a sheet. None = open."""

    r0: Optional[int]
    c0: Optional[int]
    r1: Optional[int]  # exclusive
    c1: Optional[int]  # exclusive
    single: bool  # a single cell such as "B3"


def _endpoint(text: str):
    m = _ENDPOINT.match(text)
    if not m or (not m.group(1) and not m.group(2)):
        raise A1Error(text)
    col = col_index(m.group(1)) if m.group(1) else None
    row = int(m.group(2)) - 1 if m.group(2) else None
    if row is not None and row < 0:
        raise A1Error(text)
    return col, row


def parse_cells(text: str) -> CellPart:
    text = text.strip()
    if not text:
        raise A1Error(text)
    parts = text.split(":")
    if len(parts) == 1:
        col, row = _endpoint(parts[0])
        if col is None or row is None:
            raise A1Error(text)
        return CellPart(row, col, row + 1, col + 1, True)
    if len(parts) != 2:
        raise A1Error(text)
    c_a, r_a = _endpoint(parts[0])
    c_b, r_b = _endpoint(parts[1])
    # "A:B" (columns), "1:2" (rows), "A1:B", "A1:2", "A2:Z" ...
    if c_a is not None and c_b is not None and c_a > c_b:
        c_a, c_b = c_b, c_a
    if r_a is not None and r_b is not None and r_a > r_b:
        r_a, r_b = r_b, r_a
    r0 = r_a if r_a is not None else 0
    c0 = c_a if c_a is not None else 0
    r1 = r_b + 1 if r_b is not None else None
    c1 = c_b + 1 if c_b is not None else None
    return CellPart(r0, c0, r1, c1, False)


def format_cells(r0: int, r1: int, c0: int, c1: int) -> str:
    """Half-open grid box to A1 (``A1`` for a single cell, else ``A1:B2``)."""
    a = f"{col_letters(c0)}{r0 + 1}"
    if r1 - r0 == 1 and c1 - c0 == 1:
        return a
    return f"{a}:{col_letters(c1 - 1)}{r1}"


def format_range(title: str, r0: int, r1: int, c0: int, c1: int, always_quote: bool = False) -> str:
    return sheet_prefix(title, always_quote) + "!" + format_cells(r0, r1, c0, c1)


def format_open(title: str, r0: int, r1: Optional[int], c0: int, c1: Optional[int]) -> str:
    """A1 text of a box whose end row or column may be open (``A1001:B``, ``AA1:2``),
    as Google names ranges in its grid-limit errors."""
    start = f"{col_letters(c0)}{r0 + 1}"
    if r1 is not None and c1 is not None:
        text = format_cells(r0, r1, c0, c1)
    elif r1 is None and c1 is not None:
        text = f"{start}:{col_letters(c1 - 1)}"
    elif c1 is None and r1 is not None:
        text = f"{start}:{r1}"
    else:
        text = start
    return sheet_prefix(title) + "!" + text
