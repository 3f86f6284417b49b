"""The long tabs of the .xlsx master (a form tab of a city: 100,000+ rows) written as
sheet XML, not as openpyxl cells.

openpyxl builds an object per cell and then serialises it: 3.6 million cells cost about
two minutes and 1 GiB at city scale, on every cycle in which one row changed. Here
openpyxl renders the tab with its header and first row only (styles, widths, frozen
panes, conditional colours, page set-up, all as for any tab), and the other rows are
appended to that sheet's XML as text, straight into the saved zip. Values are written
as openpyxl writes them: numbers and booleans as such, dates as serial numbers in the
tab's DD/MM/YYYY style, text as inline strings (never a formula; a text that starts
like one keeps openpyxl's quote-prefix style)."""
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
from sheets_sync.stores.xlsxio import CELL_CHARS, FORMULA_START, writable

BULK_ROWS = 2000       # a tab with more rows than this is written here
CHUNK_ROWS = 5000      # rows joined into one string before they go to the zip
EPOCH = dt.datetime(1899, 12, 30)


@dataclass
class BulkRows:
    """Rows of one tab still to be written after openpyxl's first `first_row`."""
    title: str
    rows: list[list]          # the rows after the first data row, in order
    first_row: int            # sheet row of rows[0]
    date_style: int           # cellXfs index of DD/MM/YYYY
    quote_style: int          # cellXfs index of a quote-prefixed text


def fits(spec) -> bool:
    """A long plain table: nothing below or beside its rows (totals, a side table, a chart)."""
    return len(spec.rows) > BULK_ROWS and not spec.footer and spec.side is None and not spec.chart


def save(book, bulk: list[BulkRows], path, tab_titles) -> None:
    """Save `book` to `path` with the bulk rows in; tab_titles(zipfile) -> {part: title}."""
    buf = io.BytesIO()
    book.save(buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        parts = tab_titles(z)
    data = fill(buf.getvalue(), bulk, parts)
    del buf
    with open(path, "wb") as f:
        f.write(data)


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


def fill(data: bytes, bulk: list[BulkRows], tab_parts: dict[str, str]) -> bytes:
    """The saved workbook `data` with each BulkRows' rows appended to its tab's XML.
    tab_parts: zip part name -> tab title."""
    parts = {title: part for part, title in tab_parts.items()}
    wanted = {parts[b.title]: b for b in bulk if b.title in parts}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as z, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED,
                                                                    compresslevel=ZIP_LEVEL) as w:
        for info in z.infolist():
            b = wanted.get(info.filename)
            if b is None:
                w.writestr(info, z.read(info.filename), compresslevel=ZIP_LEVEL)
                continue
            _write_part(w, info, z.read(info.filename).decode("utf-8"), b)
    return out.getvalue()


def _write_part(w: zipfile.ZipFile, info: zipfile.ZipInfo, xml: str, b: BulkRows) -> None:
    head, sep, tail = xml.partition("</sheetData>")
    if not sep:
        raise ValueError(f"tab {b.title}: no sheetData")
    if head.endswith("<sheetData/>"):      # an empty tab: openpyxl wrote the short form
        head = head[: -len("<sheetData/>")] + "<sheetData>"
    last = b.first_row + len(b.rows) - 1
    width = max((len(r) for r in b.rows), default=1)
    head = re.sub(r'<dimension ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"/>',
                  lambda m: f'<dimension ref="A1:{_wider(m, width)}{max(last, int(m.group(4) or m.group(2)))}"/>',
                  head, count=1)
    letters = [get_column_letter(c) for c in range(1, width + 1)]
    # by name, the part takes the ZipFile's own method and level (ZIP_LEVEL)
    with w.open(info.filename, "w", force_zip64=True) as f, ThreadPoolExecutor(1) as deflate:
        f.write(head.encode("utf-8"))
        # zlib deflates a chunk without the GIL while the next chunk's XML is made here;
        # one write in flight at a time, in order
        pending = None
        for i in range(0, len(b.rows), CHUNK_ROWS):
            chunk = b.rows[i: i + CHUNK_ROWS]
            text = "".join(_row(b.first_row + i + k, values, letters, b) for k, values in enumerate(chunk))
            data = text.encode("utf-8", "replace")   # a lone surrogate: "?", not a failed master
            if pending is not None:
                pending.result()
            pending = deflate.submit(f.write, data)
        if pending is not None:
            pending.result()
        f.write((sep + tail).encode("utf-8"))


def _wider(m, width: int) -> str:
    shown = m.group(3) or m.group(1)
    letter = get_column_letter(width)
    return letter if (len(letter), letter) > (len(shown), shown) else shown


def _row(r: int, values: list, letters: list[str], b: BulkRows) -> str:
    cells = []
    for c, v in enumerate(values):
        if type(v) is str:   # most cells: plain text, the fast way (same output as _cell)
            if not v:
                continue
            if len(v) <= CELL_CHARS and _PLAIN.fullmatch(v) is not None and not v.startswith(FORMULA_START):
                cells.append(f'<c r="{letters[c]}{r}" t="inlineStr"><is><t xml:space="preserve">{v}</t></is></c>')
                continue
        elif v is None:
            continue
        cells.append(_cell(f"{letters[c]}{r}", v, b))
    return f'<row r="{r}">{"".join(cells)}</row>'


# text that needs neither XML escaping nor removal of control characters (one character
# class: linear)
_PLAIN = re.compile(r"[^&<>\x00-\x1f\ud800-\udfff]*")


def _cell(ref: str, v, b: BulkRows) -> str:
    if isinstance(v, bool):
        return f'<c r="{ref}" t="b"><v>{int(v)}</v></c>'
    if isinstance(v, (int, float)):
        if isinstance(v, float) and not math.isfinite(v):
            return ""
        return f'<c r="{ref}" t="n"><v>{v!r}</v></c>'
    if isinstance(v, (dt.datetime, dt.date)):
        return f'<c r="{ref}" s="{b.date_style}" t="n"><v>{_serial(v)}</v></c>'
    text = writable(str(v))   # as the openpyxl path: no control characters, <= 32,767 characters
    style = f' s="{b.quote_style}"' if text.startswith(FORMULA_START) else ""
    return f'<c r="{ref}"{style} t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>'


def _serial(v) -> str:
    if isinstance(v, dt.datetime):
        delta = v.replace(tzinfo=None) - EPOCH
        return repr(delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6)
    return str((v - EPOCH.date()).days)
