"""A master tab (SheetSpec) rendered with openpyxl: the table, its totals, the
verdict colours, a chart beside the table with fixed series colours, and the page
set-up. The .xlsx master is rewritten whole at every write, so colours are plain
cell fills (what LibreOffice and Excel show alike); only a long tab gets one
conditional format per colour instead, for speed."""
from __future__ import annotations

import math

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from sheets_sync.stores import SheetSpec
from sheets_sync.stores.xlsx_write import note_height
from sheets_sync.stores.xlsxio import BOLD, set_value, write_table

CM_PER_ROW = 0.53        # a default row (15 pt) in centimetres
CM_PER_WIDTH = 0.19      # one unit of column width in centimetres (about 7 px)


def render_sheet(ws, spec: SheetSpec, rows_written: int | None = None, total: int | None = None) -> int:
    """Renders the tab; with rows_written, only that many of its rows (the rest go in
    as XML, xlsx_bulk.py) but everything else as if all `total` (default: its rows)
    were there. Returns the sheet row of the first data row."""
    start = 1
    if spec.note:
        set_value(ws, 1, 1, spec.note).font = BOLD
        start = 3
    bottom = _table(ws, spec, start, rows_written, len(spec.rows) if total is None else total)
    if spec.side is not None:
        _side(ws, spec, start)
    if spec.chart and spec.rows:
        bottom = max(bottom, _chart(ws, spec, start))
    if spec.fit_page:
        _page(ws, spec, start, bottom)
    return start + 1


def _table(ws, spec: SheetSpec, start: int, rows_written: int | None, total: int) -> int:
    """Header, rows, totals under one empty row (they are not rows of the table),
    colours and wrapping; returns the last row of the table."""
    rows = spec.rows if rows_written is None else spec.rows[:rows_written]
    write_table(ws, spec.header, rows, start_row=start, widths=spec.widths)
    if spec.freeze_cols:
        ws.freeze_panes = ws.cell(row=start + 1, column=spec.freeze_cols + 1)
    heads = list(zip(spec.header, spec.widths)) + (list(zip(spec.side.header, spec.side.widths)) if spec.side else [])
    if any(len(h) > w for h, w in heads):   # wrapped headers, not cut
        ws.row_dimensions[start].height = 30
    last = start + total
    for r, values in enumerate(spec.footer, start=last + 2):
        for c, v in enumerate(values, start=1):
            if v is not None and v != "":
                set_value(ws, r, c, v).font = BOLD
    _colour(ws, spec, start + 1, last)
    bottom = last + (len(spec.footer) + 1 if spec.footer else 0)
    _wrap(ws, spec, start + 1, bottom)
    return bottom


FILL_ROWS = 2000   # above this, one conditional format per colour: a fill per cell costs seconds


def _colour(ws, spec: SheetSpec, first: int, last: int) -> None:
    """The verdict colours (codes.STATUS_COLORS) on cells whose text starts with a key."""
    if last - first >= FILL_ROWS:
        return _colour_rules(ws, spec, first, last)
    for col, palette in spec.colors.items():
        styles = {key: (PatternFill("solid", start_color=bg, end_color=bg), Font(color=fg, bold=True))
                  for key, (bg, fg) in palette.items()}
        for row in ws.iter_rows(min_row=first, max_row=last, min_col=col, max_col=col):
            cell = row[0]
            text = cell.value if isinstance(cell.value, str) else ""
            hit = next((style for key, style in styles.items() if text.startswith(key)), None)
            if hit:
                cell.fill, cell.font = hit


def _colour_rules(ws, spec: SheetSpec, first: int, last: int) -> None:
    from openpyxl.formatting.rule import Rule
    from openpyxl.styles.differential import DifferentialStyle

    for col, palette in spec.colors.items():
        letter = get_column_letter(col)
        for key, (bg, fg) in palette.items():
            style = DifferentialStyle(fill=PatternFill("solid", start_color=bg, end_color=bg, bgColor=bg),
                                      font=Font(color=fg, bold=True))
            ws.conditional_formatting.add(f"{letter}{first}:{letter}{last}", Rule(
                type="beginsWith", operator="beginsWith", text=key, dxf=style,
                formula=[f'LEFT({letter}{first},{len(key)})="{key}"']))


def _wrap(ws, spec: SheetSpec, first: int, last: int) -> None:
    """Wrapped columns, and rows tall enough for them: LibreOffice keeps the default
    height of a row written by openpyxl, so a long name would run over the next row."""
    if last - first >= FILL_ROWS:   # a long tab (Masalah of a bad season): left as it is, for speed
        return
    wrap = Alignment(wrap_text=True, vertical="top")
    for r in range(first, last + 1):
        height = None
        for col in spec.wrap:
            cell = ws.cell(row=r, column=col)
            cell.alignment = wrap
            width = spec.widths[col - 1] if col <= len(spec.widths) else 10
            # the OPD tabs' estimate: a message that fits one line keeps a one-line row
            height = max(height or 0, note_height(str(cell.value or ""), width) or 0) or None
        if height:
            ws.row_dimensions[r].height = height
            for cell in ws[r]:   # the row's other cells at the top too, beside the wrapped text
                if cell.column not in spec.wrap:
                    cell.alignment = Alignment(vertical="top")


def _side_col(spec: SheetSpec) -> int:
    return len(spec.header) + 2   # one empty column between the tables


def _side(ws, spec: SheetSpec, start: int) -> None:
    side, col = spec.side, _side_col(spec)
    for c, h in enumerate(side.header, start=col):
        set_value(ws, start, c, h).font = BOLD
        ws.cell(row=start, column=c).alignment = Alignment(wrap_text=True, vertical="top")
    for r, values in enumerate(side.rows, start=start + 1):
        for c, v in enumerate(values, start=col):
            set_value(ws, r, c, v)
    for c, w in enumerate(side.widths, start=col):
        ws.column_dimensions[get_column_letter(c)].width = w


def _chart(ws, spec: SheetSpec, start: int) -> int:
    """The chart beside its table; returns the last row it covers (for the print area)."""
    from openpyxl.chart import BarChart, LineChart, Reference

    c = spec.chart
    table, col0 = (spec.side, _side_col(spec) - 1) if c.get("table") == "side" else (spec, 0)
    n = len(table.rows)
    if c.get("kind") == "line":
        chart = LineChart()
        chart.height, chart.y_axis.title = 7.5, "%"
        chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 100
    else:
        chart = BarChart()
        chart.type, chart.grouping, chart.overlap = "bar", "stacked", 100
        chart.height = max(7.5, 0.5 * n + 3)
        chart.y_axis.delete = chart.x_axis.delete = False   # LibreOffice hides axes left unset
        chart.x_axis.scaling.orientation = "maxMin"           # the first OPD on top, as in the table
    chart.title = c["title"]
    chart.width = _chart_width(ws, c, table, col0)
    last = start + n
    for col in c["series_cols"]:
        chart.add_data(Reference(ws, min_col=col0 + col, min_row=start, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=col0 + c["categories_col"], min_row=start + 1, max_row=last))
    for series, (fill, line) in zip(chart.series, c.get("colors") or []):
        _paint(series, fill, line, c.get("kind") == "line")
    anchor = c.get("anchor") or f"{get_column_letter(col0 + 1)}{last + 3}"
    ws.add_chart(chart, anchor)
    first_row = int("".join(ch for ch in anchor if ch.isdigit()))
    return first_row + math.ceil(chart.height / CM_PER_ROW)


def _chart_width(ws, c: dict, table: SheetSpec, col0: int) -> float:
    """As wide as the columns it is meant to cover (the Rekap's empty columns)."""
    if c.get("anchor"):
        first = ws[c["anchor"]].column
        widths = [ws.column_dimensions[get_column_letter(first + i)].width or 9 for i in range(c["width_columns"])]
    else:
        widths = table.widths[: c.get("width_columns", 8)]
    return round(sum(widths) * CM_PER_WIDTH, 1)


def _paint(series, fill: str, line: str, is_line: bool) -> None:
    """Fixed colours: the default palette makes OK blue and SALAH green in LibreOffice."""
    from openpyxl.chart.shapes import GraphicalProperties

    props = series.graphicalProperties
    if is_line:
        props.line.solidFill = fill
        props.line.width = 28575   # 2.25 pt
        series.smooth = False
        series.marker.symbol = "circle"   # a season's first day is a single point
        series.marker.graphicalProperties = GraphicalProperties(solidFill=fill)
        return
    props.solidFill = fill
    props.line.solidFill = line


def _page(ws, spec: SheetSpec, start: int, bottom: int) -> None:
    """Landscape, the header row repeated; shrunk to one page ("page") or to one page
    wide, as many pages down as it takes ("width": a long history stays readable)."""
    width = len(spec.header) + (1 + len(spec.side.header) if spec.side is not None else 0)
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1 if spec.fit_page == "page" else 0
    ws.print_area = f"A1:{get_column_letter(width)}{bottom}"
    ws.print_title_rows = f"{start}:{start}"
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
