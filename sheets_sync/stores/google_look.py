"""The look of a master tab on Google Sheets, as batchUpdate requests (pure: no
network): column widths, wrapped columns, the verdict colours as conditional
formats (the values are rewritten row by row, the formats stay), the frozen header
and the chart (addChart once, updateChartSpec when its ranges move).

The same SheetSpec fields as the .xlsx master (stores/xlsx_master.py); Google's API
has no print set-up, so `fit_page` has no effect here."""
from __future__ import annotations

import hashlib
import json
import re

from sheets_sync.stores import SheetSpec


def rgb(hex_color: str) -> dict:
    return {"red": int(hex_color[0:2], 16) / 255, "green": int(hex_color[2:4], 16) / 255,
            "blue": int(hex_color[4:6], 16) / 255}


def pixels(width: float) -> int:
    """An .xlsx column width (characters) in pixels, as Sheets shows it."""
    return int(width * 7 + 5)


def header_row(spec: SheetSpec) -> int:
    """0-based row of the header (a note takes row 0 and an empty row 1)."""
    return 2 if spec.note else 0


def side_col(spec: SheetSpec) -> int:
    """0-based first column of the side table: one empty column after the main one."""
    return len(spec.header) + 1


def _gr(sheet_id: int, r0, r1, c0, c1) -> dict:
    out = {"sheetId": sheet_id}
    for k, v in (("startRowIndex", r0), ("endRowIndex", r1), ("startColumnIndex", c0), ("endColumnIndex", c1)):
        if v is not None:
            out[k] = v
    return out


def look_hash(spec: SheetSpec) -> str:
    """What the look depends on: a new hash means the tab's formats are laid again.
    The number of rows counts only where a chart's ranges or the totals follow it, so
    an edit that adds a row to Masalah or a form tab costs no request for the look."""
    side = spec.side
    moves = bool(spec.chart or spec.footer)
    key = [spec.widths, spec.wrap, spec.freeze_cols, sorted((c, sorted(p.items())) for c, p in spec.colors.items()),
           spec.chart, bool(spec.note), len(spec.header), len(spec.rows) if moves else None,
           None if side is None else [side.widths, len(side.header), len(side.rows) if moves else None]]
    return hashlib.blake2b(json.dumps(key, default=str).encode(), digest_size=8).hexdigest()


def format_requests(sheet_id: int, spec: SheetSpec) -> list[dict]:
    """Widths, frozen header, bold wrapped header, bold totals, wrapped columns, colour rules."""
    head = header_row(spec)
    reqs = []
    widths = [(i, w) for i, w in enumerate(spec.widths)]
    if spec.side is not None:
        widths += [(side_col(spec) + i, w) for i, w in enumerate(spec.side.widths)]
    for i, w in widths:
        reqs.append({"updateDimensionProperties": {
            "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": i, "endIndex": i + 1},
            "properties": {"pixelSize": pixels(w)}, "fields": "pixelSize"}})
    reqs.append({"updateSheetProperties": {"properties": {"sheetId": sheet_id, "gridProperties": {
        "frozenRowCount": head + 1, "frozenColumnCount": spec.freeze_cols}},
        "fields": "gridProperties.frozenRowCount,gridProperties.frozenColumnCount"}})
    reqs.append({"repeatCell": {"range": _gr(sheet_id, head, head + 1, 0, None),
                                "cell": {"userEnteredFormat": {"textFormat": {"bold": True}, "wrapStrategy": "WRAP",
                                                               "verticalAlignment": "TOP"}},
                                "fields": "userEnteredFormat(textFormat.bold,wrapStrategy,verticalAlignment)"}})
    if spec.footer:   # the totals bold; rows that held them before (fewer OPDs then) plain again
        below = head + 1 + len(spec.rows) + 1
        reqs.append(_bold(sheet_id, head + 1, None, False))
        reqs.append(_bold(sheet_id, below, below + len(spec.footer), True))
    for col in spec.wrap:
        reqs.append({"repeatCell": {"range": _gr(sheet_id, head + 1, None, col - 1, col),
                                    "cell": {"userEnteredFormat": {"wrapStrategy": "WRAP"}},
                                    "fields": "userEnteredFormat.wrapStrategy"}})
    for col, palette in spec.colors.items():
        for key, (bg, fg) in palette.items():
            reqs.append({"addConditionalFormatRule": {"index": 0, "rule": {
                "ranges": [_gr(sheet_id, head + 1, None, col - 1, col)],
                "booleanRule": {"condition": {"type": "TEXT_STARTS_WITH", "values": [{"userEnteredValue": key}]},
                                "format": {"backgroundColor": rgb(bg),
                                           "textFormat": {"foregroundColor": rgb(fg), "bold": True}}}}}})
    return reqs


def _bold(sheet_id: int, r0, r1, bold: bool) -> dict:
    return {"repeatCell": {"range": _gr(sheet_id, r0, r1, 0, None),
                           "cell": {"userEnteredFormat": {"textFormat": {"bold": bold}}},
                           "fields": "userEnteredFormat.textFormat.bold"}}


def rule_count(spec: SheetSpec) -> int:
    """How many conditional format rules format_requests adds (to remove them later)."""
    return sum(len(p) for p in spec.colors.values())


def chart_spec(sheet_id: int, spec: SheetSpec) -> dict:
    c = spec.chart
    on_side = c.get("table") == "side"
    table, col0 = (spec.side, side_col(spec)) if on_side else (spec, 0)
    head = header_row(spec)
    last = head + 1 + len(table.rows)
    line = c.get("kind") == "line"

    def source(col):
        return {"sourceRange": {"sources": [_gr(sheet_id, head, last, col0 + col - 1, col0 + col)]}}

    series = [{"series": source(col), "targetAxis": "LEFT_AXIS" if line else "BOTTOM_AXIS",
               "colorStyle": {"rgbColor": rgb(color[0])}}
              for col, color in zip(c["series_cols"], c.get("colors") or [("000000", "")] * len(c["series_cols"]))]
    basic = {"chartType": "LINE" if line else "BAR", "legendPosition": "RIGHT_LEGEND", "headerCount": 1,
             "axis": [{"position": "BOTTOM_AXIS"}, {"position": "LEFT_AXIS"}],
             "domains": [{"domain": source(c["categories_col"])}], "series": series}
    if not line:
        basic["stackedType"] = "STACKED"
    return {"title": c["title"], "basicChart": basic}


def chart_position(sheet_id: int, spec: SheetSpec) -> dict:
    c = spec.chart
    head = header_row(spec)
    if c.get("anchor"):
        m = re.fullmatch(r"([A-Z]+)(\d+)", c["anchor"])
        col = 0
        for ch in m.group(1):
            col = col * 26 + ord(ch) - 64
        col, row = col - 1, int(m.group(2)) - 1
        width = sum(pixels(w) for w in spec.widths[col: col + c.get("width_columns", 8)]) or 600
    else:   # under the side table
        col, row = side_col(spec), head + len(spec.side.rows) + 3
        width = sum(pixels(w) for w in spec.side.widths) or 600
    n = len(spec.side.rows if c.get("table") == "side" else spec.rows)
    height = 300 if c.get("kind") == "line" else max(300, 20 * n + 100)
    return {"overlayPosition": {"anchorCell": {"sheetId": sheet_id, "rowIndex": row, "columnIndex": col},
                                "widthPixels": width, "heightPixels": height}}
