"""The long tabs of the .xlsx master (a form tab of a city: 100,000+ rows) written as
sheet XML, not as openpyxl cells.

openpyxl builds an object per cell and then serialises it: 3.6 million cells cost about
two minutes and 1 GiB at city scale, on every cycle in which one row changed. Here
openpyxl renders the tab with its header and first row only (styles, widths, frozen
panes, conditional colours, page set-up, all as for any tab), and the other rows are
added to that sheet's XML as text, in blocks (one OPD's rows, at most BLOCK_ROWS), each
deflated apart so that the next write copies the blocks that did not change
(xlsx_blocks.py). Values are written as openpyxl writes them: numbers and booleans as
such, dates as serial numbers in the tab's DD/MM/YYYY style, text as inline strings
(never a formula; a text that starts like one keeps openpyxl's quote-prefix style)."""
from __future__ import annotations

import datetime as dt
import io
import math
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from xml.sax.saxutils import escape

from openpyxl.utils import get_column_letter

from sheets_sync.fileio import ZIP_LEVEL
from sheets_sync.stores import RowGroup
from sheets_sync.stores.xlsx_blocks import (Previous, Segment, ZipOut, deflate, keyed_blocks,
                                           part_blocks, rows_to_json)
from sheets_sync.stores.xlsxio import CELL_CHARS, FORMULA_START, writable

BULK_ROWS = 2000       # a tab with more rows than this is written here
EPOCH = dt.datetime(1899, 12, 30)


@dataclass
class Part:
    """One OPD's rows of a long tab: `hit` (row count, block keys) when the master on
    disk holds them under the group's key, to be copied; else rows made and rendered."""
    group: RowGroup
    hit: tuple[int, list[str]] | None = None


@dataclass
class BulkRows:
    """Rows of one tab written after openpyxl's header row."""
    title: str
    parts: list[Part]
    n: int                    # rows in all
    width: int                # columns
    first_row: int            # sheet row of the first data row
    date_style: int           # cellXfs index of DD/MM/YYYY
    quote_style: int          # cellXfs index of a quote-prefixed text


def plan(spec, previous: Previous | None) -> tuple[list[Part], int] | None:
    """A long plain table (nothing below or beside its rows: totals, a side table, a
    chart) as parts and its row count; None for any other tab (openpyxl renders it)."""
    if spec.footer or spec.side is not None or spec.chart:
        return None
    groups = spec.groups if spec.groups is not None else [RowGroup(None, lambda: spec.rows)]
    parts = [Part(g, previous.group(spec.title, g.key) if previous is not None and g.key else None)
             for g in groups]
    n = sum(p.hit[0] if p.hit is not None else len(p.group.rows()) for p in parts)
    return (parts, n) if n > BULK_ROWS else None


def short_rows(spec, previous: Previous | None) -> tuple[list[list], dict]:
    """A tab openpyxl renders as cells: its rows (a group the master on disk holds under
    its key is taken from there, not made: an OPD nobody edited is not decoded for a
    short tab either) and {group key: rows as JSON} to keep for the next write."""
    if spec.groups is None:
        return spec.rows, {}
    rows, keep = [], {}
    for g in spec.groups:
        got = previous.small_rows(spec.title, g.key) if previous is not None and g.key else None
        got = g.rows() if got is None else got
        rows += got
        body = rows_to_json(got) if g.key else None
        if body is not None:
            keep[g.key] = body
    return rows, keep


def width_of(spec, parts: list[Part]) -> int:
    made = (len(r) for p in parts if p.hit is None for r in p.group.rows())
    return max(len(spec.header), max(made, default=1))


def save(book, bulk: list[BulkRows], path, tab_titles, previous: Previous | None = None) -> dict:
    """Save `book` to `path` with the bulk rows in; tab_titles(zipfile) -> {part: title}.
    Blocks whose rows `previous` (the master being replaced) already holds are copied
    compressed. Returns the new file's block manifest: {title: {"part", "at", "blocks"}}."""
    buf = io.BytesIO()
    book.save(buf)
    data = buf.getvalue()
    del buf
    with zipfile.ZipFile(io.BytesIO(data)) as z, open(path, "wb") as f:
        parts = {title: part for part, title in tab_titles(z).items()}
        wanted = {parts[b.title]: b for b in bulk if b.title in parts}
        src = previous.reader() if previous is not None else None
        try:
            return _write_zip(z, f, wanted, previous, src)
        finally:
            if src is not None:
                src.close()


def _write_zip(z: zipfile.ZipFile, f, wanted: dict, previous, src) -> dict:
    out, manifest = ZipOut(f), {}
    for info in z.infolist():
        xml = z.read(info.filename)
        b = wanted.get(info.filename)
        if b is None:
            out.add(info.filename, info.date_time, [deflate(xml, ZIP_LEVEL, final=True)])
            continue
        segments, groups = _tab_segments(xml.decode("utf-8"), b, previous, src)
        at = out.add(info.filename, info.date_time, segments)
        manifest[b.title] = {"part": info.filename, "at": at, "blocks": part_blocks(segments), "groups": groups}
    out.close()
    return manifest


def style_ids(book) -> tuple[int, int]:
    """The workbook's style indexes for a date and a quote-prefixed text, registered
    through a scratch tab (styles stay in the workbook when the tab is removed)."""
    ws = book.create_sheet("_bulk_styles")
    date = ws.cell(row=1, column=1)
    date.number_format = "DD/MM/YYYY"
    text = ws.cell(row=1, column=2)
    text.quotePrefix = True
    ids = date.style_id, text.style_id
    book.remove(ws)
    return ids


def _tab_segments(xml: str, b: BulkRows, previous, src) -> tuple[list[Segment], dict]:
    """A long tab's part: openpyxl's head (with the dimension of all rows), a segment
    per block of rows (copied from `previous` when it holds the same rows), the tail.
    Also {group key: [rows, block keys]} for the manifest."""
    head, sep, tail = xml.partition("</sheetData>")
    if not sep:
        raise ValueError(f"tab {b.title}: no sheetData")
    if head.endswith("<sheetData/>"):      # an empty tab: openpyxl wrote the short form
        head = head[: -len("<sheetData/>")] + "<sheetData>"
    head = _fit_head(head, b)
    last = b.first_row + b.n - 1
    head = re.sub(r'<dimension ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"/>',
                  lambda m: f'<dimension ref="A1:{_wider(m, b.width)}{max(last, int(m.group(4) or m.group(2)))}"/>',
                  head, count=1)
    segments, groups = [deflate(head.encode("utf-8"), ZIP_LEVEL)], {}
    # zlib deflates a block without the GIL while the next block's XML is made here
    with ThreadPoolExecutor(1) as pool:
        blocks = _Blocks(b, previous, src, pool)
        for part in b.parts:
            got = _copied(part, b.title, previous, src)
            if got is not None:
                segments += got
                keys, n = [s.key for s in got], part.hit[0]
            else:
                keys, n = blocks.render(part.group.rows(), segments), len(part.group.rows())
            if part.group.key is not None:
                groups[part.group.key] = [n, keys]
    segments = [s.result() if not isinstance(s, Segment) else s for s in segments]
    return segments + [deflate((sep + tail).encode("utf-8"), ZIP_LEVEL, final=True)], groups


def _copied(part: Part, title: str, previous, src) -> list[Segment] | None:
    """A hit's blocks read from the master on disk; None (make the rows) if one is not there."""
    if part.hit is None:
        return None
    got = [previous.copy(src, title, key) for key in part.hit[1]]
    if all(s is not None for s in got):
        return got
    if len(part.group.rows()) != part.hit[0]:   # the head already counts the manifest's rows
        raise ValueError(f"tab {title}: jumlah baris kelompok tidak cocok dengan peta blok master")
    return None


class _Blocks:
    """Rows rendered in blocks (xlsx_blocks.keyed_blocks), each copied from the master
    on disk when it holds the same rows, else made and deflated in the pool."""

    def __init__(self, b: BulkRows, previous, src, pool):
        self.b, self.previous, self.src, self.pool = b, previous, src, pool
        self.salt = f"{b.title}\0{b.date_style}\0{b.quote_style}"
        self.last = None   # one block in the deflater at a time: memory stays one block's XML

    def render(self, rows: list[list], out: list) -> list[str]:
        keys = []
        for start, end, key in keyed_blocks(self.salt, rows):
            chunk = rows[start:end]
            got = self.previous.copy(self.src, self.b.title, key) if self.previous is not None else None
            if got is None:
                text = "".join([_row(values, self.b) for values in chunk])
                if self.last is not None:
                    self.last.result()
                # a lone surrogate: "?", not a failed master
                got = self.last = self.pool.submit(_block, text.encode("utf-8", "replace"), key)
            out.append(got)
            keys.append(key)
        return keys


def _fit_head(head: str, b: BulkRows) -> str:
    """The head with its last row the header row: rows without references go after
    it. An empty first data row (openpyxl writes one where the panes freeze) is
    dropped; anything else below the header (render_sheet writes nothing there in a
    long tab) is refused, not misplaced."""
    at = head.rfind("<row ")
    m = re.match(r'<row r="(\d+)"[^>]*?(/>|></row>)$', head[at:]) if at >= 0 else None
    if m is not None and int(m.group(1)) == b.first_row:
        head, at = head[:at], head[:at].rfind("<row ")
    m = re.match(r'<row r="(\d+)"', head[at:]) if at >= 0 else None
    if b.first_row > 1 and (m is None or int(m.group(1)) != b.first_row - 1):
        raise ValueError(f"tab {b.title}: openpyxl wrote rows below row {b.first_row - 1}")
    return head


def _block(text: bytes, key: str) -> Segment:
    s = deflate(text, ZIP_LEVEL)
    s.key = key
    return s


def _wider(m, width: int) -> str:
    shown = m.group(3) or m.group(1)
    letter = get_column_letter(width)
    return letter if (len(letter), letter) > (len(shown), shown) else shown


def _row(values: list, b: BulkRows) -> str:
    """One row without references (xlsx_blocks.py): an empty cell between two filled
    ones is an empty <c/>, so that the cells after it keep their columns."""
    cells = []
    gap = 0
    for v in values:
        if type(v) is str:   # most cells: plain text, the fast way (same output as _cell)
            if not v:
                gap += 1
                continue
            if len(v) <= CELL_CHARS and _PLAIN.fullmatch(v) is not None and not v.startswith(FORMULA_START):
                cells.append("<c/>" * gap + f'<c t="inlineStr"><is><t xml:space="preserve">{v}</t></is></c>')
                gap = 0
                continue
        cell = "" if v is None else _cell(v, b)
        if not cell:
            gap += 1
            continue
        cells.append("<c/>" * gap + cell)
        gap = 0
    return f'<row>{"".join(cells)}</row>'


# text that needs neither XML escaping nor removal of control characters (one character
# class: linear)
_PLAIN = re.compile(r"[^&<>\x00-\x1f\ud800-\udfff]*")


def _cell(v, b: BulkRows) -> str:
    """A cell without its reference; "" for a value that writes nothing (NaN, inf)."""
    if isinstance(v, bool):
        return f'<c t="b"><v>{int(v)}</v></c>'
    if isinstance(v, (int, float)):
        if isinstance(v, float) and not math.isfinite(v):
            return ""
        return f'<c t="n"><v>{v!r}</v></c>'
    if isinstance(v, (dt.datetime, dt.date)):
        return f'<c s="{b.date_style}" t="n"><v>{_serial(v)}</v></c>'
    text = writable(str(v))   # as the openpyxl path: no control characters, <= 32,767 characters
    style = f' s="{b.quote_style}"' if text.startswith(FORMULA_START) else ""
    return f'<c{style} t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>'


def _serial(v) -> str:
    if isinstance(v, dt.datetime):
        delta = v.replace(tzinfo=None) - EPOCH
        return repr(delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6)
    return str((v - EPOCH.date()).days)
