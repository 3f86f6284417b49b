"""Writing a few status cells into an .xlsx by editing the sheet XML in the zip.

Loading a 50,000-row workbook into openpyxl and saving it again takes tens of
seconds and rewrites every part of the file (styles renumbered, formula results
dropped, unknown extensions lost). The worker only ever writes its own status
cells, so it edits just those <c> elements of the sheets concerned and copies every
other part's content unchanged: the cost follows the number of cells written and
the size of the sheets touched, and everything a person made stays as it was.

`patch_cells` returns False when the XML is of a shape it does not edit safely
(rows or cells without references, a self-closed sheetData, a non-text value); the
store then falls back to openpyxl.
"""
from __future__ import annotations

import re
import zipfile
from xml.sax.saxutils import escape

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

from sheets_sync.fileio import ZIP_LEVEL, atomic_write
from sheets_sync.stores.xlsx_read import sheet_parts

_ROW = re.compile(rb"<row\b[^>]*>")
_ROW_NUM = re.compile(rb'\br="(\d+)"')
_CELL = re.compile(rb"<c\b[^>]*?(?:/>|>.*?</c>)", re.S)
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')
_STYLE = re.compile(rb'\bs="(\d+)"')
_SPANS = re.compile(rb'\s+spans="[^"]*"')
_MERGE = re.compile(rb'<mergeCell\b[^>]*\bref="([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?"')
_COLS = re.compile(rb"<col\b[^>]*>")
_COL_ATTR = re.compile(rb'\b(min|max|style)="(\d+)"')
_WIDTH = re.compile(rb'\bwidth="(\d{1,4}(?:\.\d{1,12})?)"')
_HEIGHT_ATTRS = re.compile(rb'\s+(?:ht|customHeight)="[^"]*"')
_DIMENSION = re.compile(rb'<dimension\b[^>]*\bref="([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?"[^>]*/>')


class Unsupported(Exception):
    """The sheet's XML has a shape this editor leaves to openpyxl."""


def patch_cells(path, writes: dict[str, dict[tuple[int, int], str]], before_replace=None,
                fit: dict[str, tuple[int, int]] | None = None, optional=frozenset()) -> bool:
    """Set the given cells ({tab: {(row, col): text}}) of the workbook at `path`,
    atomically; '' empties a cell (its style stays). fit: {tab: (column, first data row)}:
    the column whose wrapped text sets the height of the data rows written (Keterangan);
    optional: (tab, row, col)
    cells left out, not refused, when a merged range covers them (the summary line).
    False: not done, use openpyxl."""
    if any(not isinstance(v, str) for cells in writes.values() for v in cells.values()):
        return False
    try:
        with zipfile.ZipFile(path) as z:
            parts = sheet_parts(z)
            if any(title not in parts for title in writes):
                return False
            infos = z.infolist()
            new = {parts[t]: patch_sheet(z.read(parts[t]), cells, (fit or {}).get(t),
                                         {(r, c) for tab, r, c in optional if tab == t})
                   for t, cells in writes.items()}
            contents = [(info, new.get(info.filename)) for info in infos]

            def write(tmp):
                with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
                    for info, data in contents:
                        out.writestr(_copy_info(info), z.read(info.filename) if data is None else data,
                                     compresslevel=ZIP_LEVEL)

            atomic_write(path, write, before_replace=before_replace)
    except Unsupported:
        return False
    return True


def _copy_info(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    out = zipfile.ZipInfo(info.filename, info.date_time)
    out.compress_type = zipfile.ZIP_DEFLATED if info.compress_type != zipfile.ZIP_STORED else zipfile.ZIP_STORED
    out.external_attr, out.create_system = info.external_attr, info.create_system
    return out


# ------------------------------------------------------------------ one sheet
def patch_sheet(xml: bytes, cells: dict[tuple[int, int], str], fit: tuple[int, int] | None = None,
                optional=frozenset()) -> bytes:
    """The sheet XML with the cells set: one pass to find the rows, then splices."""
    start = xml.find(b"<sheetData")
    end = xml.find(b"</sheetData>")
    if start < 0 or end < 0:
        raise Unsupported("sheetData")
    cells = _refuse_merged(xml, end, cells, optional)
    styles = _column_styles(xml, start)
    heights = _heights(cells, fit, _column_width(xml, start, fit[0])) if fit and fit[0] in styles else {}
    by_row: dict[int, dict[int, str]] = {}
    for (r, c), value in cells.items():
        by_row.setdefault(r, {})[c] = value
    rows = _rows_written(xml, start, end, sorted(by_row))
    pieces, pos = [], 0
    new_rows = []
    for r in sorted(by_row):
        if r in rows:
            a, b = rows[r]
            pieces += [xml[pos:a], _patch_row(xml[a:b], r, by_row[r], styles, heights.get(r, False))]
            pos = b
        else:
            new_rows.append(r)
    pieces.append(xml[pos:])
    out = b"".join(pieces)
    if new_rows:
        out = _insert_rows(out, {r: by_row[r] for r in new_rows}, styles, heights)
    return _grow_dimension(out, cells)


def _column_styles(xml: bytes, before: int) -> dict[int, bytes]:
    """Column -> the style its <col> gives (Keterangan's wrap): a cell the worker adds
    takes it, as a cell typed into that column would."""
    out: dict[int, bytes] = {}
    for m in _COLS.finditer(xml, 0, before):
        attrs = dict(_COL_ATTR.findall(m.group(0)))
        if b"style" in attrs and b"min" in attrs:
            lo, hi = int(attrs[b"min"]), int(attrs.get(b"max", attrs[b"min"]))
            if hi - lo < 16_384:
                out.update({c: attrs[b"style"] for c in range(lo, hi + 1)})
    return out


def _refuse_merged(xml: bytes, after: int, cells, optional=frozenset()) -> dict:
    """A merged range over a cell to write: openpyxl's path unmerges the worker's own
    status cells or reports the tab (the rules live in the store, not here); an
    optional cell under a merge is left out. Returns the cells to write."""
    out = dict(cells)
    for m in _MERGE.finditer(xml, after):
        c0, r0 = _col(m.group(1)), int(m.group(2))
        c1, r1 = (_col(m.group(3)), int(m.group(4))) if m.group(3) else (c0, r0)
        hit = [(r, c) for r, c in out if r0 <= r <= r1 and c0 <= c <= c1]
        if any(rc not in optional for rc in hit):
            raise Unsupported("merged cell")
        for rc in hit:
            del out[rc]
    return out


# Row heights for wrapped notes: Excel and LibreOffice do not fit a row to its text
# when they open a file, so a row whose note wraps gets a height, up to a few lines
# (the whole note shows in the cell and its tooltip-like edit line anyway).
LINE_POINTS, MAX_LINES = 15, 6


def note_height(text: str, width_chars: float) -> float | None:
    """Points for a row showing `text` wrapped in a column `width_chars` wide; None
    for a single line (the row keeps the default height)."""
    per_line = max(int(width_chars * 1.1), 10)   # ordinary text is narrower than the '0' a width counts
    lines = min(MAX_LINES, -(-len(text) // per_line)) if text else 1
    return LINE_POINTS * lines if lines > 1 else None


def _heights(cells, fit: tuple[int, int], width: float) -> dict[int, float | None]:
    col, first = fit
    return {r: note_height(v, width) for (r, c), v in cells.items() if c == col and r >= first}


def _column_width(xml: bytes, before: int, col: int | None) -> float:
    for m in _COLS.finditer(xml, 0, before):
        attrs = dict(_COL_ATTR.findall(m.group(0)))
        width = _WIDTH.search(m.group(0))
        if col and b"min" in attrs and int(attrs[b"min"]) <= col <= int(attrs.get(b"max", attrs[b"min"])):
            return float(width.group(1)) if width else 8.43
    return 8.43


def _rows_written(xml: bytes, start: int, end: int, wanted: list[int]) -> dict[int, tuple[int, int]]:
    """Row number -> (start, end) of (at least) the rows to write. A one-cell edit
    writes a handful of rows of 50,000: each is looked up by its opening tag in one
    forward pass (rows come in ascending order, and '<' never appears unescaped in
    text). A row not found so (a new row, rows out of order, 'r' not the first
    attribute) falls back to the scan of every row."""
    rows, pos = {}, start
    for r in wanted:
        at = xml.find(b'<row r="%d"' % r, pos, end)
        if at < 0:
            return _rows(xml, start, end)
        head_end = xml.find(b">", at, end)
        if head_end < 0:
            raise Unsupported("unclosed row")
        if xml[head_end - 1:head_end] == b"/":
            rows[r] = (at, head_end + 1)
        else:
            close = xml.find(b"</row>", head_end, end)
            if close < 0:
                raise Unsupported("unclosed row")
            rows[r] = (at, close + 6)
        pos = rows[r][1]
    return rows


def _rows(xml: bytes, start: int, end: int) -> dict[int, tuple[int, int]]:
    """Row number -> (start, end) of its whole <row> element."""
    rows = {}
    for m in _ROW.finditer(xml, start, end):
        num = _ROW_NUM.search(m.group(0))
        if num is None:
            raise Unsupported("row without r")
        if m.group(0).endswith(b"/>"):
            rows[int(num.group(1))] = (m.start(), m.end())
        else:
            close = xml.find(b"</row>", m.end(), end)
            if close < 0:
                raise Unsupported("unclosed row")
            rows[int(num.group(1))] = (m.start(), close + 6)
    return rows


def _patch_row(row: bytes, r: int, values: dict[int, str], styles: dict[int, bytes] | None = None,
               height=False) -> bytes:
    """height: False leaves the row's height alone; None makes it the default; points."""
    head_end = row.find(b">") + 1
    head = row[:head_end]
    if head.endswith(b"/>"):
        head, body = head[:-2].rstrip() + b">", b""
    else:
        body = row[head_end:-6]
    head = _SPANS.sub(b"", head)          # an optional hint; wrong once cells are added
    if height is not False:
        head = _HEIGHT_ATTRS.sub(b"", head)
        if height:
            head = head[:-1] + f' ht="{height:g}" customHeight="1">'.encode()
    cells = []
    for m in _CELL.finditer(body):
        ref = _CELL_REF.search(m.group(0)[: m.group(0).find(b">") + 1])
        if ref is None:
            raise Unsupported("cell without r")
        cells.append((_col(ref.group(1)), m.group(0)))
    have = dict(cells)
    for c, value in values.items():
        style = _STYLE.search(have[c][: have[c].find(b">") + 1]) if c in have else None
        have[c] = _cell(r, c, value, style.group(1) if style else (styles or {}).get(c))
    return head + b"".join(have[c] for c in sorted(have)) + b"</row>"


def _cell(r: int, c: int, value: str, style: bytes | None) -> bytes:
    ref = f"{get_column_letter(c)}{r}".encode()
    s = b' s="' + style + b'"' if style else b""
    if value == "":
        return b'<c r="' + ref + b'"' + s + b"/>"
    text = escape(ILLEGAL_CHARACTERS_RE.sub("", value)).encode("utf-8")
    return (b'<c r="' + ref + b'"' + s + b' t="inlineStr"><is><t xml:space="preserve">' + text
            + b"</t></is></c>")


def _insert_rows(xml: bytes, rows: dict[int, dict[int, str]], styles: dict[int, bytes] | None = None,
                 heights: dict | None = None) -> bytes:
    """Rows that did not exist yet, each before the first row after it (rare: a
    status for a row the sheet XML never listed)."""
    for r in sorted(rows):
        start, end = xml.find(b"<sheetData"), xml.find(b"</sheetData>")
        if end < 0 or xml[start:xml.find(b">", start) + 1].endswith(b"/>"):
            raise Unsupported("empty sheetData")
        later = [a for n, (a, _) in _rows(xml, start, end).items() if n > r]
        at = min(later) if later else end
        ht = (heights or {}).get(r)
        tall = f' ht="{ht:g}" customHeight="1"'.encode() if ht else b""
        new = b'<row r="' + str(r).encode() + b'"' + tall + b'>' + b"".join(
            _cell(r, c, v, (styles or {}).get(c)) for c, v in sorted(rows[r].items())) + b"</row>"
        xml = xml[:at] + new + xml[at:]
    return xml


def _grow_dimension(xml: bytes, cells) -> bytes:
    m = _DIMENSION.search(xml, 0, 4096)
    if m is None or not cells:
        return xml
    c0, r0 = _col(m.group(1)), int(m.group(2))
    c1, r1 = (_col(m.group(3)), int(m.group(4))) if m.group(3) else (c0, r0)
    rmax, cmax = max(r for r, _ in cells), max(c for _, c in cells)
    if rmax <= r1 and cmax <= c1:
        return xml
    ref = f"{get_column_letter(c0)}{r0}:{get_column_letter(max(c1, cmax))}{max(r1, rmax)}".encode()
    return xml[:m.start()] + b'<dimension ref="' + ref + b'"/>' + xml[m.end():]


def _col(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n
