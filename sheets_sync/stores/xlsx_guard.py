"""What calamine will allocate for a workbook, found before it parses.

calamine (Rust) aborts the whole process when an allocation fails, with no Python
error to catch: a sheet's cells become one dense rectangle from A1 to the farthest
cell placed, and the shared-strings table reserves the uniqueCount it announces. So
the parts calamine reads are the ones held to the limits, found as calamine finds
them (workbook.xml and its relationships, whatever the part names), and:

- a sheet written as Excel, LibreOffice and openpyxl write it (every <c> and <row>
  opens with r="...", attributes as name="value") is scanned as bytes
  (extent, numpy);
- any other sheet (references missing, spaces around '=', prefixes, quotes...) is
  parsed with expat, placing cells as calamine does: exact, and slower, for files no
  common program writes;
- a shared-strings table's first element is read with expat (comments, processing
  instructions and attribute order do not hide its uniqueCount).
"""
from __future__ import annotations

import posixpath
import re
import zipfile
from xml.parsers import expat

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CHUNK = 1 << 20
MAX_BOOK_XML = 2_000_000   # workbook.xml and its relationships: a page of text in a real file


class Unplaceable(ValueError):
    """The workbook's structure (workbook.xml, its relationships) cannot be read."""


def workbook_parts(z: zipfile.ZipFile) -> tuple[dict[str, str], set[str]]:
    """({sheet part: tab title}, {shared-strings parts}) as calamine resolves them."""
    from defusedxml.ElementTree import fromstring

    trees = {}
    for name in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
        try:
            info = z.getinfo(name)
        except KeyError:
            raise Unplaceable(f"bagian {name} tidak ada") from None
        if info.file_size > MAX_BOOK_XML:
            raise Unplaceable(f"bagian {name} terlalu besar")
        try:
            trees[name] = fromstring(z.read(name))
        except Exception as e:  # noqa: BLE001 - defusedxml's refusals, bad XML
            raise Unplaceable(f"bagian {name} tidak terbaca") from e
    rels, strings = {}, {"xl/sharedStrings.xml"}
    for r in trees["xl/_rels/workbook.xml.rels"].iter():
        if r.tag.rsplit("}", 1)[-1] == "Relationship":
            target = _part(r.get("Target", ""))
            rels[r.get("Id")] = target
            if r.get("Type", "").endswith("/sharedStrings"):
                strings.add(target)
    sheets = {}
    for el in trees["xl/workbook.xml"].iter():
        if el.tag.rsplit("}", 1)[-1] == "sheet":
            rid = el.get(f"{{{_REL_NS}}}id") or next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
            if rid in rels:
                sheets[rels[rid]] = el.get("name", "")
    return sheets, strings


def _part(target: str) -> str:
    target = target.replace("\\", "/")
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(f"xl/{target}")


# ------------------------------------------------------------------ shared strings
def first_element(z: zipfile.ZipFile, part: str, limit: int = 1 << 22) -> tuple[str, dict]:
    """(Local name, attributes) of a part's first element, read with expat up to
    `limit` bytes; ("", {}) when there is none that soon or it is not XML."""
    found: list = []
    p = expat.ParserCreate()

    def start(name, attrs):
        if not found:
            found.append((name.rsplit(":", 1)[-1], {k.rsplit(":", 1)[-1]: v for k, v in attrs.items()}))
            raise _Found

    p.StartElementHandler = start
    read = 0
    try:
        with z.open(part) as f:
            while read < limit and (chunk := f.read(1 << 16)):
                read += len(chunk)
                p.Parse(chunk, False)
    except _Found:
        pass
    except expat.ExpatError:
        return "", {}
    return found[0] if found else ("", {})


class _Found(Exception):
    pass


def roots(z: zipfile.ZipFile) -> dict[str, tuple[str, dict]]:
    """{part: its first element (first_element)} of every part of the zip, read once for
    the strings tables and the workbooks a reader may find there."""
    return {i.filename: first_element(z, i.filename) for i in z.infolist() if not i.is_dir()}


def announced_strings(z: zipfile.ZipFile, part: str, root: tuple[str, dict]) -> int:
    """The uniqueCount (or count) a shared-strings table announces, 0 when none; `root`:
    the part's first element."""
    name, attrs = root
    if name == "" and z.getinfo(part).file_size > (1 << 22) and _xmlish(z, part):
        raise Unplaceable(f"bagian {part} tidak dimulai dengan elemen XML")
    if name != "sst":
        return 0
    most = 0
    for key in ("uniqueCount", "count"):
        m = re.fullmatch(r"\s*0*(\d{1,30})\s*", attrs.get(key, ""))
        if m:
            most = max(most, int(m.group(1)))
    return most


# ------------------------------------------------------------------ sheets
def parsed_extent(z: zipfile.ZipFile, part: str, stop) -> tuple[int, int, int, int]:
    """(<row> tags, <c> tags, farthest row and column of a cell with content) of a sheet,
    parsed with expat and placed as calamine places cells: by their reference, else
    after the cell before in the row (a row without one: after the row before).
    `stop(rows, cells, far_row, far_col)` is asked every megabyte: True ends the parse
    (a limit passed)."""
    st = {"rows": 0, "cells": 0, "row": 0, "col": 0, "far_r": 0, "far_c": 0, "in_c": False, "filled": False,
          "at": (0, 0)}

    def start(name, attrs):
        local = name.rsplit(":", 1)[-1]
        if st["in_c"]:
            st["filled"] = True
            return
        if local == "mergeCell":
            st["cells"] += 1
            return
        if local == "row":
            st["rows"] += 1
            r = _attr(attrs, "r")
            st["row"] = int(r) if r is not None and r.strip().isdigit() else st["row"] + 1
            st["col"] = 0
        elif local == "c":
            ref = _ref(_attr(attrs, "r"))
            if ref is not None:
                st["row"], st["col"] = ref
            else:
                st["col"] += 1
            st["in_c"], st["filled"], st["at"] = True, False, (st["row"], st["col"])
            st["cells"] += 1   # every <c>, as the byte count does: an empty one costs the parse too

    def end(name):
        if name.rsplit(":", 1)[-1] == "c" and st["in_c"]:
            st["in_c"] = False
            if st["filled"]:
                st["far_r"], st["far_c"] = max(st["far_r"], st["at"][0]), max(st["far_c"], st["at"][1])

    def text(data):
        if st["in_c"] and data.strip():
            st["filled"] = True

    p = expat.ParserCreate()
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, text
    try:
        with z.open(part) as f:
            while chunk := f.read(_CHUNK):
                p.Parse(chunk, False)
                if stop(st["rows"], st["cells"], st["far_r"], st["far_c"]):
                    break
    except expat.ExpatError as e:   # what expat cannot follow is not left to calamine either
        raise Unplaceable(f"XML tab tidak utuh (baris {e.lineno})") from None
    return st["rows"], st["cells"], st["far_r"], st["far_c"]


def _attr(attrs: dict, key: str):
    for k, v in attrs.items():
        if k.rsplit(":", 1)[-1] == key:
            return v
    return None


_REF = re.compile(r"\s*([A-Za-z]{1,7})0*(\d{1,12})\s*")


def _ref(value) -> tuple[int, int] | None:
    """(Row, column) of a reference as calamine reads it (case and leading zeros
    ignored); None when there is none or it is not one."""
    if value is None:
        return None
    m = _REF.fullmatch(value)
    if m is None:
        return None
    col = 0
    for ch in m.group(1).upper():
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col


def _xmlish(z: zipfile.ZipFile, part: str) -> bool:
    with z.open(part) as f:
        return f.read(64).lstrip().startswith(b"<")


def holds(z: zipfile.ZipFile, part: str, word: bytes) -> bool:
    """Whether a part's bytes contain `word` (streamed; a word across two reads found)."""
    tail = b""
    with z.open(part) as f:
        while chunk := f.read(_CHUNK):
            if word in tail + chunk[:len(word)] or word in chunk:
                return True
            tail = chunk[-len(word):]
    return False


def sheet_entries(z: zipfile.ZipFile, found: dict[str, tuple[str, dict]]) -> int:
    """The most <sheet> entries of any part whose root is a workbook (calamine parses each
    entry, even several naming one part); `found`: roots(z)."""
    most = 0
    for part, (name, _) in found.items():
        if name != "workbook" or z.getinfo(part).file_size > MAX_BOOK_XML:
            continue
        entries: list = []
        p = expat.ParserCreate()
        p.StartElementHandler = lambda tag, attrs: entries.append(tag) if tag.rsplit(":", 1)[-1] == "sheet" else None
        try:
            p.Parse(z.read(part), True)
        except expat.ExpatError:
            pass
        most = max(most, len(entries))
    return most


# ------------------------------------------------------------------ sheets written plainly: the byte scan
_WINDOW = 16   # bytes read after r=": the letters, the digits and the closing quote


def extent(xml: bytes) -> tuple[int, int] | None:
    """(Largest row, largest column) calamine would make of a piece of sheet XML, 0 where
    none; None when the piece is not written plainly (_plain), for expat to place. calamine makes a tab one dense rectangle from A1 to its farthest cell before
    anything can be counted: a lone cell typed at XFD1048576 asks it for 17 billion cells
    (the process aborts), so the extent is held to the limits before it parses. From the
    cells' references (r="XFD1048576"): in a plain piece every cell has one. numpy over
    the bytes: no Python per cell (a regex over every reference of a 300,000-row tab took
    1.6 s). Read as calamine reads them: lower case as upper, leading zeros, any
    number of letters; one too long for the window reads as huge. An element without
    content (<c r="XFD9" s="1"/>: a format) is not placed. Something else in r="" ($A$1,
    a text) is not counted: calamine refuses the file or it is no reference. The piece
    must not cut a tag in two (check_package cuts at a '<')."""
    import numpy as np

    a = np.frombuffer(xml, dtype=np.uint8)
    eq = np.flatnonzero(a == 61)                     # every '=', then its neighbours
    eq = eq[(eq >= 2) & (eq < len(a) - 1)]
    if not _plain(a, eq):
        return None
    eq = eq[a[eq - 1] == 114]                        # r=
    at = eq[a[eq - 2] == 32] + 2                     # ' r="', the only form a plain piece has
    empty = _empty_element(a, at)
    at = at[~empty & _in_cell_tag(a, at)]            # plain: every cell has its reference
    if not len(at):
        return 0, 0
    quotes = np.flatnonzero(a == 34)
    ends = np.searchsorted(quotes, at)
    longest = int((quotes[ends] - at).max()) if ends.max() < len(quotes) else _WINDOW
    # the window: the longest value and its closing quote (letters and digits stop there),
    # _WINDOW at most; a narrower one holds every reference whole
    width = min(_WINDOW, longest + 1)
    padded = np.concatenate([a[at.min():at.max() + width], np.zeros(width, dtype=np.uint8)])
    w = padded[(at - at.min())[:, None] + np.arange(width)]
    w = np.where((w >= 97) & (w <= 122), w - 32, w)  # calamine reads r="xfd9" as XFD9
    letter = (w >= 65) & (w <= 90)
    digit = (w >= 48) & (w <= 57)
    letter[:, -1] = digit[:, -1] = False             # argmin finds an end in every row
    n_letters = np.argmin(letter, axis=1)            # letters come first (argmin: the first non-letter)
    rest = np.take_along_axis(digit, (n_letters[:, None] + np.arange(width)).clip(max=width - 1), axis=1)
    n_digits = np.argmin(rest, axis=1)
    end = np.take_along_axis(w, (n_letters + n_digits)[:, None].clip(max=width - 1), axis=1)[:, 0]
    ref = (n_digits >= 1) & ((end == 34) | (end == 39))
    if width == _WINDOW and (n_letters + n_digits >= _WINDOW - 1).any():
        return 1 << 40, 1 << 40                      # longer than the window: farther than any limit
    if not ref.any():                                # r="$A$1", a text: calamine refuses or ignores it
        return 0, 0
    return _number(w[ref], n_letters[ref], n_digits[ref])


_WS = (32, 9, 10, 13)
_TABLES: dict = {}


def _table(name: str):
    """A 256-entry lookup (byte -> bool): a fancy index, where np.isin sorts."""
    import numpy as np

    if name not in _TABLES:
        t = np.zeros(256, dtype=bool)
        t[list(_WS) + ([62, 47] if name == "end" else [])] = True
        _TABLES[name] = t
    return _TABLES[name]


def _plain(a, eq) -> bool:
    """Whether a piece is written as Excel, LibreOffice and openpyxl write sheets: every
    <c> and <row> tag opening with r="…", attributes as name="value" (no space around
    '=', no single quotes, a space before each), no namespace prefix on a tag name.
    Only such a piece is left to the byte scan; any other goes to expat."""
    import numpy as np

    ws, end = _table("ws"), _table("end")
    prev, nxt = a[eq - 1], a[eq + 1]
    if ws[prev].any() or ws[nxt].any() or (nxt == 39).any():
        return False
    if ((prev == 114) & ((a[eq - 2] == 34) | (a[eq - 2] == 39))).any():   # "r= : no space before r
        return False
    pad = np.concatenate([a, np.zeros(16, dtype=np.uint8)])
    if _prefixed(a, pad):
        return False
    lt = np.flatnonzero(a == 60)
    first = pad[lt + 1]                              # one look at every tag, then only at <c… and <r…
    for tag in (b"c", b"row"):
        n = len(tag)
        at = lt[first == tag[0]]
        for i, ch in enumerate(tag[1:], start=2):
            at = at[pad[at + i] == ch]
        after = at[end[pad[at + 1 + n]]] + 1 + n
        if not ((pad[after] == 32) & (pad[after + 1] == 114) & (pad[after + 2] == 61)
                & (pad[after + 3] == 34)).all():
            return False
    return True


_CELL_NAMES = (b"c", b"row", b"sheetData")


def _prefixed(a, pad) -> bool:
    """Whether a cell, row or sheetData tag carries a prefix (<x:c>): a ':' with a '<'
    before it and no space, '>' or '/' in between (looked at within 32 bytes; xml:space
    is an attribute, after a space), followed by one of those names. Excel's own
    prefixed tags (<x14:dataValidation>, <mc:AlternateContent> in extLst) hold no cells."""
    import numpy as np

    colon = np.flatnonzero(a == 58)
    if not len(colon):
        return False
    back = pad[np.maximum(colon[:, None] - np.arange(1, 33), 0)]   # the 32 bytes before, nearest first
    lt = back == 60
    stop = _table("end")[back]
    first_lt = np.where(lt.any(axis=1), np.argmax(lt, axis=1), 99)
    first_stop = np.where(stop.any(axis=1), np.argmax(stop, axis=1), 99)
    named = colon[first_lt < first_stop]
    if len(named) > 10_000:
        return True   # a prefix on everything: expat places the cells
    ends = _table("end")
    for at in named.tolist():
        end = at + 1
        while end < len(a) and end - at < 12 and not ends[a[end]]:
            end += 1
        if bytes(a[at + 1:end]) in _CELL_NAMES:
            return True
    return False


def _in_cell_tag(a, at):
    """Whether each reference (inside r="…") is a cell's: in a plain piece every cell tag
    opens with <c r=", so the bytes before it tell (a row's is <row r=")."""
    import numpy as np
    return (a[np.maximum(at - 6, 0)] == 60) & (a[np.maximum(at - 5, 0)] == 99)


_TAG_REST = 48   # bytes after a reference in which its tag usually closes


def _empty_element(a, at):
    """Whether the tag holding each position (inside its r="…" value) is an element
    without content (<c r="XFD9" s="1"/>, <row r="9"></row>): a format on an empty cell
    or row, which calamine does not place, so no extent (a whole column coloured is not
    data). The tag ends at its first '>' outside quotes: one found inside a value
    (x="/>") does not end it. A tag longer than _TAG_REST bytes counts as content."""
    import numpy as np

    after = np.concatenate([a, np.zeros(3, dtype=np.uint8)])
    gt = np.flatnonzero(a == 62)
    nxt = np.searchsorted(gt, at)                    # the first '>' at or after each position
    found = nxt < len(gt)
    close = np.where(found, gt[np.minimum(nxt, max(len(gt) - 1, 0))] if len(gt) else 0, 0)
    found &= close - at < _TAG_REST
    empty = found & ((after[np.maximum(close - 1, 0)] == 47)
                     | ((after[close + 1] == 60) & (after[close + 2] == 47)))
    check = np.flatnonzero(empty)   # few (formatted empty cells): is that '>' outside the quotes?
    if len(check):
        quotes = np.flatnonzero(a == 34)
        n = np.searchsorted(quotes, close[check]) - np.searchsorted(quotes, at[check])
        empty[check[n % 2 == 0]] = False             # r's closing quote, then pairs: odd is outside
    return empty


def _number(w, n_letters, n_digits) -> tuple[int, int]:
    """(Largest row, largest column) of well-formed references. A longer column name is
    always the larger one, so only those are added up; rows may carry leading zeros."""
    import numpy as np

    col = 0
    most = int(n_letters.max())
    if most:
        pick = n_letters == most
        v = np.zeros(int(pick.sum()), dtype=np.int64)
        for k in range(most):
            v = v * 26 + w[pick, k].astype(np.int64) - 64
        col = int(v.max())
    row = np.zeros(len(w), dtype=np.int64)
    for k in range(int(n_digits.max())):
        d = np.take_along_axis(w, (n_letters + k).clip(max=w.shape[1] - 1)[:, None], axis=1)[:, 0].astype(np.int64) - 48
        row = np.where(k < n_digits, row * 10 + d, row)
    return int(row.max()), col
