"""openpyxl helpers shared by the .xlsx store, the master and the export:
formula-safe cell writes and tables of values (saving: sheets_sync/fileio.py)."""
from __future__ import annotations

import copy
import datetime as dt

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

FORMULA_START = ("=", "+", "-", "@")
CELL_CHARS = 32_767
BOLD = Font(bold=True)


def print_to_width(ws, landscape: bool = True) -> None:
    """A4, one page wide and as many pages down as it takes (not a page per column)."""
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0


def set_value(ws, row: int, col: int, value):
    """Write a value so that text from OPD input never becomes a formula."""
    cell = ws.cell(row=row, column=col)
    if isinstance(value, str):      # a control character or lone surrogate typed in one OPD's cell
        value = writable(value)     # must not fail the whole master (openpyxl refuses them)
    cell.value = value
    if isinstance(value, str) and value.startswith(FORMULA_START):
        cell.data_type = "s"
        cell.quotePrefix = True
    elif isinstance(value, (dt.date, dt.datetime)):
        cell.number_format = "DD/MM/YYYY"
    return cell


def writable(text: str) -> str:
    """`text` as a worksheet can hold it: no control characters, a lone surrogate as '?',
    at most Excel's 32,767 characters (longer, Excel calls the whole master damaged)."""
    text = ILLEGAL_CHARACTERS_RE.sub("", text[:CELL_CHARS])
    return text if text.isascii() else text.encode("utf-8", "replace").decode("utf-8")


def like_column(ws, cell):
    """A cell openpyxl adds has no style, where one a person types into takes its
    column's: give it the column's alignment, protection and (if it has none of its
    own) number format, e.g. Keterangan's wrap, an unlocked input column, phone as text."""
    dim = ws.column_dimensions.get(cell.column_letter)
    if dim is None or not dim.has_style:
        return cell
    cell.alignment = copy.copy(dim.alignment)
    cell.protection = copy.copy(dim.protection)
    if cell.number_format == "General":
        cell.number_format = dim.number_format
    return cell


def write_table(ws, header: list[str], rows: list[list], *, start_row: int = 1,
                widths: list[int] | None = None):
    for c, h in enumerate(header, start=1):
        set_value(ws, start_row, c, h).font = BOLD
    for r, values in enumerate(rows, start=start_row + 1):
        for c, v in enumerate(values, start=1):
            if v is not None and v != "":
                set_value(ws, r, c, v)
    ws.freeze_panes = ws.cell(row=start_row + 1, column=1)
    for c, w in enumerate(widths or [], start=1):
        ws.column_dimensions[get_column_letter(c)].width = w
    for c in range(1, len(header) + 1):
        ws.cell(row=start_row, column=c).alignment = Alignment(wrap_text=True, vertical="top")
