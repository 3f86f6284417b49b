"""Sheets API v4: spreadsheets.get/create, the values.* family and sheets.copyTo.

spreadsheets.batchUpdate lives in ``batch.py``.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from . import a1, fields, formula
from .errors import ApiError, invalid, invalid_value, not_found, permission_denied
from .model import (DEFAULT_COL_PX, DEFAULT_ROW_PX, SPREADSHEET_MIME, Cell, DriveFile, Sheet,
                    Spreadsheet, State)
from .values import (DATE_TYPES, FormulaError, format_number, is_number, json_number,
                     locale_info, parse_user_entered)

SHEET_URL = "https://docs.google.com/spreadsheets/d/{}/edit"


# --------------------------------------------------------------------------- lookup

def lookup(state: State, spreadsheet_id: str) -> Spreadsheet:
    if spreadsheet_id in state.denied:
        raise permission_denied()
    f = state.files.get(spreadsheet_id)
    ss = state.spreadsheets.get(spreadsheet_id)
    if f is None or ss is None:
        if f is not None:
            raise invalid("This operation is not supported for this document")
        raise not_found()
    return ss


def new_spreadsheet(state: State, title: str, parents: Optional[List[str]] = None,
                    locale: str = "en_US", time_zone: str = "Etc/GMT",
                    sheets: Optional[List[Dict[str, Any]]] = None) -> Tuple[Spreadsheet, DriveFile]:
    """Create a spreadsheet and its Drive file together."""
    sid = state.new_file_id(44)
    now = state.clock.now()
    f = DriveFile(sid, title, SPREADSHEET_MIME, list(parents) if parents else [state.root_id], now)
    f.permissions.append(owner_permission(state))
    state.created(f)
    ss = Spreadsheet(sid, title, locale, time_zone)
    specs = sheets or [{}]
    used_ids: List[int] = []
    for i, spec in enumerate(specs):
        props = dict(spec.get("properties") or {})
        if "sheetId" in props and props["sheetId"] is not None:
            sheet_id = int(props["sheetId"])
        else:
            sheet_id = 0 if i == 0 and 0 not in used_ids else state.new_int_id(used_ids)
        used_ids.append(sheet_id)
        grid = dict(props.get("gridProperties") or {})
        grid.setdefault("rowCount", 1000)
        grid.setdefault("columnCount", 26)
        sheet_props = {"sheetId": sheet_id, "title": props.get("title") or f"Sheet{i + 1}", "index": i,
                       "sheetType": props.get("sheetType") or "GRID", "gridProperties": grid}
        for key in ("hidden", "tabColor", "tabColorStyle", "rightToLeft"):
            if props.get(key) is not None:
                sheet_props[key] = props[key]
        ss.sheets.append(Sheet(sheet_props))
    state.files[sid] = f
    state.spreadsheets[sid] = ss
    state.changes.append({"seq": len(state.changes) + 1, "fileId": sid, "time": now, "removed": False})
    return ss, f


def owner_permission(state: State) -> Dict[str, Any]:
    return {"kind": "drive#permission", "id": permission_id_for(state.user_email), "type": "user",
            "emailAddress": state.user_email, "role": "owner", "displayName": state.user_name,
            "deleted": False, "pendingOwner": False}


def permission_id_for(key: str) -> str:
    import hashlib
    digest = hashlib.sha256(key.lower().encode()).hexdigest()
    return str(int(digest[:16], 16)).rjust(20, "0")[:20]


# --------------------------------------------------------------------------- ranges

@dataclass
class Ref:
    sheet: Sheet
    r0: int
    r1: int
    c0: int
    c1: int
    single: bool
    open_rows: bool
    open_cols: bool

    def text(self, always_quote: bool = False) -> str:
        return a1.format_range(self.sheet.title, self.r0, self.r1, self.c0, self.c1, always_quote)

    def check_start(self, prefix: str = "") -> "Ref":
        """Google refuses a range that starts at or past the grid's last row/column
        (one that only ends past it is clamped)."""
        sheet = self.sheet
        if self.r0 >= sheet.row_count or self.c0 >= sheet.col_count:
            text = a1.format_open(sheet.title, self.r0, None if self.open_rows else self.r1,
                                  self.c0, None if self.open_cols else self.c1)
            raise invalid(f"{prefix}Range ({text}) exceeds grid limits. "
                          f"Max rows: {sheet.row_count}, max columns: {sheet.col_count}")
        return self


def resolve(ss: Spreadsheet, text: str, clamp: bool = True, prefix: str = "") -> Ref:
    if not isinstance(text, str) or not text.strip():
        raise invalid(f"Unable to parse range: {text}")
    try:
        name, cells = a1.split_sheet(text)
        sheet = None
        if name is None:
            sheet = ss.sheet_by_title(text.strip())
            if sheet is not None:
                cells = None
            else:
                sheet = ss.first_grid_sheet()
        else:
            sheet = ss.sheet_by_title(name)
        if sheet is None:
            raise a1.A1Error(text)
        if cells is None:
            part = a1.CellPart(0, 0, None, None, False)
        else:
            part = a1.parse_cells(cells)
    except a1.A1Error:
        raise invalid(f"Unable to parse range: {text}")
    rows, cols = sheet.row_count, sheet.col_count
    r0, c0 = part.r0 or 0, part.c0 or 0
    r1 = part.r1 if part.r1 is not None else rows
    c1 = part.c1 if part.c1 is not None else cols
    ref = Ref(sheet, r0, max(r1, r0 + 1), c0, max(c1, c0 + 1), part.single, part.r1 is None, part.c1 is None)
    if clamp:
        ref.check_start(prefix)
        ref.r1 = max(min(ref.r1, rows), r0 + 1)
        ref.c1 = max(min(ref.c1, cols), c0 + 1)
    return ref


def grid_limit_error(sheet: Sheet, r0: int, r1: int, c0: int, c1: int) -> ApiError:
    return invalid(f"Range ({a1.format_range(sheet.title, r0, r1, c0, c1)}) exceeds grid limits. "
                   f"Max rows: {sheet.row_count}, max columns: {sheet.col_count}")


# --------------------------------------------------------------------------- evaluation

class Calc:
    """Per-request evaluation of formulas (memoised, cycle-safe)."""

    def __init__(self, ss: Spreadsheet):
        self.ss = ss
        self.loc = locale_info(ss.locale)
        self.cache: Dict[Tuple[int, int, int], Any] = {}
        self.active: set = set()

    def effective(self, sheet: Sheet, r: int, c: int, cell: Optional[Cell] = None) -> Any:
        if cell is None:
            cell = sheet.get(r, c)
            if cell is None:
                return None
        if cell.formula is None:
            return cell.value
        key = (sheet.sheet_id, r, c)
        if key in self.cache:
            return self.cache[key]
        if key in self.active:
            return FormulaError("#REF!", "Circular dependency detected. To resolve with iterative "
                                         "calculation, see File > Settings.")
        self.active.add(key)
        try:
            value = formula.evaluate(cell.formula, _FormulaCtx(self, sheet))
        finally:
            self.active.discard(key)
        self.cache[key] = value
        return value

    def render(self, sheet: Sheet, r: int, c: int, cell: Cell, option: str, dt_option: str) -> Any:
        if option == "FORMULA" and cell.formula is not None:
            return cell.formula
        value = self.effective(sheet, r, c, cell)
        if value is None:
            return "" if cell.formula is not None else None
        if isinstance(value, FormulaError):
            return value.code
        if isinstance(value, bool):
            if option == "FORMATTED_VALUE":
                return "TRUE" if value else "FALSE"
            return value
        if isinstance(value, str):
            return value
        nf = cell.number_format() or (_formula_format(cell.formula) if cell.formula else None)
        if option == "FORMATTED_VALUE":
            return format_number(value, nf, self.loc)
        if dt_option == "FORMATTED_STRING" and nf and nf.get("type") in DATE_TYPES:
            return format_number(value, nf, self.loc)
        return json_number(value)

    def effective_format(self, fmt: Optional[Dict[str, Any]], align: Optional[str], has_value: bool):
        """defaultFormat overlaid with the cell's format; shared between identical cells."""
        key = (id(fmt), align, has_value)
        cache = self.__dict__.setdefault("_fmt_cache", {})
        hit = cache.get(key)
        if hit is not None and hit[0] is fmt:
            return hit[1]
        eff_fmt = copy.deepcopy(self.ss.props.get("defaultFormat") or {})
        _deep_merge(eff_fmt, fmt or {})
        if align:
            eff_fmt["horizontalAlignment"] = align
        if has_value:
            eff_fmt.setdefault("hyperlinkDisplayType", "PLAIN_TEXT")
        cache[key] = (fmt, eff_fmt)
        return eff_fmt

    def formatted(self, sheet: Sheet, r: int, c: int, cell: Cell) -> Optional[str]:
        return self.render(sheet, r, c, cell, "FORMATTED_VALUE", "SERIAL_NUMBER")


_DATE_FORMULA = re.compile(r"^=\s*(DATE|TODAY|NOW|DATEVALUE|EDATE|EOMONTH)\s*\(", re.I)


def _formula_format(text: str) -> Optional[Dict[str, Any]]:
    """Sheets formats date-returning formulas as dates automatically."""
    m = _DATE_FORMULA.match(text)
    if not m:
        return None
    return {"type": "DATE_TIME" if m.group(1).upper() == "NOW" else "DATE"}


class _FormulaCtx:
    def __init__(self, calc: Calc, sheet: Sheet):
        self.calc = calc
        self.sheet = sheet

    def _sheet(self, title):
        if title is None:
            return self.sheet
        s = self.calc.ss.sheet_by_title(title)
        if s is None:
            raise _RefError()
        return s

    def value(self, title, r, c):
        try:
            s = self._sheet(title)
        except _RefError:
            return FormulaError("#REF!", f"Unresolved sheet name '{title}'.")
        return self.calc.effective(s, r, c)

    def range(self, title, r0, r1, c0, c1):
        try:
            s = self._sheet(title)
        except _RefError:
            return [[FormulaError("#REF!", f"Unresolved sheet name '{title}'.")]]
        r1 = s.row_count if r1 is None else min(r1, s.row_count)
        c1 = s.col_count if c1 is None else min(c1, s.col_count)
        out = [[None] * max(c1 - c0, 0) for _ in range(max(r1 - r0, 0))]
        for r, c, cell in s.cells_in(r0, r1, c0, c1):
            out[r - r0][c - c0] = self.calc.effective(s, r, c, cell)
        return out


class _RefError(Exception):
    pass


# --------------------------------------------------------------------------- reading values

def read_values(calc: Calc, ref: Ref, major: str, option: str, dt_option: str) -> Dict[str, Any]:
    sheet = ref.sheet
    grid: Dict[Tuple[int, int], Any] = {}
    if ref.r0 < sheet.row_count and ref.c0 < sheet.col_count:
        for r, c, cell in sheet.cells_in(ref.r0, ref.r1, ref.c0, ref.c1):
            if cell.has_value():
                grid[(r, c)] = calc.render(sheet, r, c, cell, option, dt_option)
    out: Dict[str, Any] = {"range": ref.text(), "majorDimension": "COLUMNS" if major == "COLUMNS" else "ROWS"}
    if not grid:
        return out
    if major == "COLUMNS":
        last_col = max(c for _, c in grid)
        cols = []
        for c in range(ref.c0, last_col + 1):
            rows_here = [r for (r, cc) in grid if cc == c]
            if not rows_here:
                cols.append([])
                continue
            last = max(rows_here)
            cols.append([grid.get((r, c), "") for r in range(ref.r0, last + 1)])
        out["values"] = cols
    else:
        last_row = max(r for r, _ in grid)
        per_row: Dict[int, int] = {}
        for (r, c) in grid:
            if c > per_row.get(r, -1):
                per_row[r] = c
        rows = []
        for r in range(ref.r0, last_row + 1):
            if r not in per_row:
                rows.append([])
                continue
            rows.append([grid.get((r, c), "") for c in range(ref.c0, per_row[r] + 1)])
        out["values"] = rows
    return out


def _render_opts(params: Dict[str, List[str]]):
    option = _param(params, "valueRenderOption") or "FORMATTED_VALUE"
    dt_option = _param(params, "dateTimeRenderOption") or "SERIAL_NUMBER"
    major = _param(params, "majorDimension") or "ROWS"
    if option not in ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"):
        raise invalid(f"Invalid value at 'value_render_option' (type.googleapis.com/google.apps.sheets.v4."
                      f"ValueRenderOption), \"{option}\"")
    if dt_option not in ("SERIAL_NUMBER", "FORMATTED_STRING"):
        raise invalid(f"Invalid value at 'date_time_render_option' (type.googleapis.com/google.apps.sheets.v4."
                      f"DateTimeRenderOption), \"{dt_option}\"")
    if major not in ("ROWS", "COLUMNS", "DIMENSION_UNSPECIFIED"):
        raise invalid(f"Invalid value at 'major_dimension' (type.googleapis.com/google.apps.sheets.v4."
                      f"Dimension), \"{major}\"")
    return option, dt_option, major


def _param(params: Dict[str, List[str]], name: str) -> Optional[str]:
    vals = params.get(name)
    return vals[-1] if vals else None


def _bool_param(params: Dict[str, List[str]], name: str) -> bool:
    v = _param(params, name)
    return v is not None and v.lower() in ("true", "1", "yes")


def values_get(state: State, sid: str, range_text: str, params) -> Dict[str, Any]:
    ss = lookup(state, sid)
    option, dt_option, major = _render_opts(params)
    ref = resolve(ss, range_text)
    return read_values(Calc(ss), ref, major, option, dt_option)


def values_batch_get(state: State, sid: str, params) -> Dict[str, Any]:
    ss = lookup(state, sid)
    option, dt_option, major = _render_opts(params)
    ranges = params.get("ranges") or []
    refs = [resolve(ss, r, prefix=f"Invalid range[{i}]: ") for i, r in enumerate(ranges)]
    calc = Calc(ss)
    out: Dict[str, Any] = {"spreadsheetId": ss.id}
    if refs:
        out["valueRanges"] = [read_values(calc, ref, major, option, dt_option) for ref in refs]
    return out


# --------------------------------------------------------------------------- writing values

def _check_values(values: Any, field: str) -> List[List[Any]]:
    if values is None:
        return []
    if not isinstance(values, list):
        raise invalid_value(field, values)
    for i, row in enumerate(values):
        if row is None:
            continue
        if not isinstance(row, list):
            raise invalid_value(f"{field}[{i}]", row)
        for j, v in enumerate(row):
            if isinstance(v, (dict, list)):
                raise invalid_value(f"{field}[{i}][{j}]", v, "type.googleapis.com/google.protobuf.Value")
    return [row or [] for row in values]


def _major(body: Dict[str, Any], field: str) -> str:
    major = body.get("majorDimension") or "ROWS"
    if major not in ("ROWS", "COLUMNS", "DIMENSION_UNSPECIFIED"):
        raise invalid(f"Invalid value at '{field}.major_dimension' (type.googleapis.com/google.apps.sheets.v4."
                      f"Dimension), \"{major}\"")
    return major


def _transpose(values: List[List[Any]]) -> List[List[Any]]:
    width = max((len(r) for r in values), default=0)
    return [[(values[j][i] if i < len(values[j]) else None) for j in range(len(values))]
            for i in range(width)]


def _input_option(value: Optional[str]) -> str:
    if not value:
        raise invalid("'valueInputOption' is required but not specified")
    if value not in ("RAW", "USER_ENTERED"):
        raise invalid(f"Invalid value at 'value_input_option' (type.googleapis.com/google.apps.sheets.v4."
                      f"ValueInputOption), \"{value}\"")
    return value


def set_cell_value(sheet: Sheet, r: int, c: int, value: Any, option: str, loc: Dict[str, Any]) -> None:
    cell = sheet.get(r, c)
    if option == "RAW":
        if value == "" or value is None:
            kind, val, auto = "empty", None, None
        elif isinstance(value, bool):
            kind, val, auto = "bool", value, None
        elif is_number(value):
            kind, val, auto = "number", (float(value) if abs(value) >= 2 ** 53 else value), None
        else:
            kind, val, auto = "string", str(value), None
    else:
        kind, val, auto = parse_user_entered(value, loc, cell is not None and cell.is_text_format())
    if kind == "skip":
        return
    if kind == "empty":
        if cell is not None:
            cell.value = None
            cell.formula = None
            sheet.tidy(r, c)
        return
    if cell is None:
        cell = sheet.ensure(r, c)
    if kind == "formula":
        cell.formula = val
        cell.value = None
    else:
        cell.value = val
        cell.formula = None
    if auto and not (cell.fmt and cell.fmt.get("numberFormat")):
        new_fmt = dict(cell.fmt or {})
        new_fmt["numberFormat"] = auto
        cell.fmt = new_fmt


def _plan_write(ref: Ref, values: List[List[Any]], bounded: bool):
    nrows = len(values)
    ncols = max((len(r) for r in values), default=0)
    sheet = ref.sheet
    if bounded:
        if nrows > ref.r1 - ref.r0:
            raise invalid(f"Requested writing within range [{ref.text(True)}], but tried writing to row "
                          f"[{ref.r0 + nrows}]")
        if ncols > ref.c1 - ref.c0:
            raise invalid(f"Requested writing within range [{ref.text(True)}], but tried writing to column "
                          f"[{a1.col_letters(ref.c0 + ncols - 1)}]")
    return nrows, ncols


def _write(sheet: Sheet, r0: int, c0: int, values: List[List[Any]], option: str, loc) -> Dict[str, int]:
    rows_set, cols_set, cells = set(), set(), 0
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            if v is None:
                continue
            set_cell_value(sheet, r0 + i, c0 + j, v, option, loc)
            rows_set.add(r0 + i)
            cols_set.add(c0 + j)
            cells += 1
    return {"rows": rows_set, "cols": cols_set, "cells": cells}


def _update_response(ss: Spreadsheet, sheet: Sheet, r0: int, c0: int, nrows: int, ncols: int,
                     stats: Dict[str, Any], include: bool, calc_opts) -> Dict[str, Any]:
    out: Dict[str, Any] = {"spreadsheetId": ss.id}
    if nrows and ncols:
        out["updatedRange"] = a1.format_range(sheet.title, r0, r0 + nrows, c0, c0 + ncols)
    else:
        out["updatedRange"] = a1.format_range(sheet.title, r0, r0 + 1, c0, c0 + 1)
    if stats["rows"]:
        out["updatedRows"] = len(stats["rows"])
        out["updatedColumns"] = len(stats["cols"])
        out["updatedCells"] = stats["cells"]
    if include:
        option, dt_option = calc_opts
        ref = Ref(sheet, r0, r0 + max(nrows, 1), c0, c0 + max(ncols, 1), False, False, False)
        out["updatedData"] = read_values(Calc(ss), ref, "ROWS", option, dt_option)
    return out


def _response_render(params) -> Tuple[str, str]:
    return (_param(params, "responseValueRenderOption") or "FORMATTED_VALUE",
            _param(params, "responseDateTimeRenderOption") or "SERIAL_NUMBER")


def prepare_update(ss: Spreadsheet, range_text: str, body: Dict[str, Any], field: str):
    ref = resolve(ss, range_text, clamp=False)
    values = _check_values(body.get("values"), f"{field}.values")
    if _major(body, field) == "COLUMNS":
        values = _transpose(values)
    bounded = not ref.single
    nrows, ncols = _plan_write(ref, values, bounded)
    sheet = ref.sheet
    if nrows and ncols and (ref.r0 + nrows > sheet.row_count or ref.c0 + ncols > sheet.col_count):
        raise grid_limit_error(sheet, ref.r0, ref.r0 + nrows, ref.c0, ref.c0 + ncols)
    if not nrows and (ref.r0 >= sheet.row_count or ref.c0 >= sheet.col_count):
        raise grid_limit_error(sheet, ref.r0, ref.r0 + 1, ref.c0, ref.c0 + 1)
    return ref, values, nrows, ncols


def values_update(state: State, sid: str, range_text: str, params, body) -> Dict[str, Any]:
    ss = lookup(state, sid)
    body = _body_dict(body)
    option = _input_option(_param(params, "valueInputOption"))
    ref, values, nrows, ncols = prepare_update(ss, range_text, body, "data")
    loc = locale_info(ss.locale)
    stats = _write(ref.sheet, ref.r0, ref.c0, values, option, loc)
    state.touch(ss.id)
    return _update_response(ss, ref.sheet, ref.r0, ref.c0, nrows, ncols, stats,
                            _bool_param(params, "includeValuesInResponse"), _response_render(params))


def values_batch_update(state: State, sid: str, body) -> Dict[str, Any]:
    ss = lookup(state, sid)
    body = _body_dict(body)
    option = _input_option(body.get("valueInputOption"))
    data = body.get("data") or []
    if not isinstance(data, list):
        raise invalid_value("data", data)
    plans = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise invalid_value(f"data[{i}]", item, "type.googleapis.com/google.apps.sheets.v4.ValueRange")
        plans.append(prepare_update(ss, item.get("range") or "", item, f"data[{i}]"))
    loc = locale_info(ss.locale)
    responses = []
    all_rows, all_cols, all_sheets, total_cells = set(), set(), set(), 0
    include = bool(body.get("includeValuesInResponse"))
    render = (body.get("responseValueRenderOption") or "FORMATTED_VALUE",
              body.get("responseDateTimeRenderOption") or "SERIAL_NUMBER")
    for ref, values, nrows, ncols in plans:
        stats = _write(ref.sheet, ref.r0, ref.c0, values, option, loc)
        responses.append(_update_response(ss, ref.sheet, ref.r0, ref.c0, nrows, ncols, stats, include, render))
        sid_ = ref.sheet.sheet_id
        all_rows |= {(sid_, r) for r in stats["rows"]}
        all_cols |= {(sid_, c) for c in stats["cols"]}
        if stats["cells"]:
            all_sheets.add(sid_)
        total_cells += stats["cells"]
    if plans:
        state.touch(ss.id)
    out: Dict[str, Any] = {"spreadsheetId": ss.id}
    if total_cells:
        out["totalUpdatedRows"] = len(all_rows)
        out["totalUpdatedColumns"] = len(all_cols)
        out["totalUpdatedCells"] = total_cells
        out["totalUpdatedSheets"] = len(all_sheets)
    if responses:
        out["responses"] = responses
    return out


def _has_value(sheet: Sheet, r: int, c: int) -> bool:
    cell = sheet.get(r, c)
    return cell is not None and cell.has_value()


def find_table(sheet: Sheet, ref: Ref) -> Optional[Tuple[int, int, int, int]]:
    """The 'table' values.append appends to: the region of contiguous data
    around the last value found inside the input range."""
    last = None
    r_hi = min(ref.r1, sheet.row_count)
    c_hi = min(ref.c1, sheet.col_count)
    for r, c, cell in sheet.cells_in(ref.r0, r_hi, ref.c0, c_hi):
        if cell.has_value():
            last = (r, c)
    if last is None:
        return None
    r0, c0 = last
    r1, c1 = r0 + 1, c0 + 1
    rows, cols = sheet.row_count, sheet.col_count
    changed = True
    while changed:
        changed = False
        lo_c, hi_c = max(c0 - 1, 0), min(c1 + 1, cols)
        if r0 > 0 and any(_has_value(sheet, r0 - 1, c) for c in range(lo_c, hi_c)):
            r0 -= 1
            changed = True
        if r1 < rows and any(_has_value(sheet, r1, c) for c in range(lo_c, hi_c)):
            r1 += 1
            changed = True
        lo_r, hi_r = max(r0 - 1, 0), min(r1 + 1, rows)
        if c0 > 0 and any(_has_value(sheet, r, c0 - 1) for r in range(lo_r, hi_r)):
            c0 -= 1
            changed = True
        if c1 < cols and any(_has_value(sheet, r, c1) for r in range(lo_r, hi_r)):
            c1 += 1
            changed = True
    return r0, r1, c0, c1


def values_append(state: State, sid: str, range_text: str, params, body) -> Dict[str, Any]:
    from .batch import shift_dimension  # local import: batch imports this module
    ss = lookup(state, sid)
    body = _body_dict(body)
    option = _input_option(_param(params, "valueInputOption"))
    insert_option = _param(params, "insertDataOption") or "OVERWRITE"
    if insert_option not in ("OVERWRITE", "INSERT_ROWS"):
        raise invalid(f"Invalid value at 'insert_data_option' (type.googleapis.com/google.apps.sheets.v4."
                      f"InsertDataOption), \"{insert_option}\"")
    ref = resolve(ss, range_text)
    values = _check_values(body.get("values"), "data.values")
    if _major(body, "data") == "COLUMNS":
        values = _transpose(values)
    sheet = ref.sheet
    table = find_table(sheet, ref)
    if table is None:
        r0, c0 = ref.r0, ref.c0
    else:
        r0, c0 = table[1], table[2]
    nrows = len(values)
    ncols = max((len(r) for r in values), default=0)
    if insert_option == "INSERT_ROWS" and nrows and r0 < sheet.row_count:
        shift_dimension(ss, sheet, "ROWS", r0, nrows, insert=True)
    if c0 + ncols > sheet.col_count:  # append adds rows, never columns
        first = max(c0, sheet.col_count)
        raise grid_limit_error(sheet, ref.r0, ref.r0 + 1, first, c0 + ncols)
    if r0 + nrows > sheet.row_count:
        sheet.grid["rowCount"] = r0 + nrows
    stats = _write(sheet, r0, c0, values, option, locale_info(ss.locale))
    state.touch(ss.id)
    out: Dict[str, Any] = {"spreadsheetId": ss.id}
    if table is not None:
        out["tableRange"] = a1.format_range(sheet.title, table[0], table[1], table[2], table[3])
    out["updates"] = _update_response(ss, sheet, r0, c0, nrows, ncols, stats,
                                      _bool_param(params, "includeValuesInResponse"), _response_render(params))
    return out


def clear_ref(ref: Ref) -> None:
    sheet = ref.sheet
    for r, c, cell in list(sheet.cells_in(ref.r0, min(ref.r1, sheet.row_count), ref.c0,
                                          min(ref.c1, sheet.col_count))):
        if cell.has_value():
            cell.value = None
            cell.formula = None
            sheet.tidy(r, c)


def values_clear(state: State, sid: str, range_text: str) -> Dict[str, Any]:
    ss = lookup(state, sid)
    ref = resolve(ss, range_text)
    clear_ref(ref)
    state.touch(ss.id)
    return {"spreadsheetId": ss.id, "clearedRange": ref.text()}


def values_batch_clear(state: State, sid: str, body) -> Dict[str, Any]:
    ss = lookup(state, sid)
    body = _body_dict(body)
    ranges = body.get("ranges") or []
    if not isinstance(ranges, list):
        raise invalid_value("ranges", ranges)
    refs = [resolve(ss, r, prefix=f"Invalid range[{i}]: ") for i, r in enumerate(ranges)]
    for ref in refs:
        clear_ref(ref)
    state.touch(ss.id)
    out: Dict[str, Any] = {"spreadsheetId": ss.id}
    if refs:
        out["clearedRanges"] = [ref.text() for ref in refs]
    return out


def _body_dict(body: Any) -> Dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise invalid("Invalid JSON payload received. Expected an object.")
    return body


# --------------------------------------------------------------------------- JSON views

def color_json(color: Any) -> Dict[str, Any]:
    if not isinstance(color, dict):
        return {}
    return {k: v for k, v in color.items() if v not in (None, 0) and not (k == "alpha" and v == 1)}


def color_style_json(style: Any) -> Dict[str, Any]:
    if not isinstance(style, dict):
        return {}
    out = {}
    if isinstance(style.get("rgbColor"), dict):
        out["rgbColor"] = color_json(style["rgbColor"])
    if style.get("themeColor"):
        out["themeColor"] = style["themeColor"]
    return out


def sheet_props_json(sheet: Sheet) -> Dict[str, Any]:
    p = sheet.props
    out: Dict[str, Any] = {"sheetId": p["sheetId"], "title": p["title"], "index": p.get("index", 0),
                           "sheetType": p.get("sheetType", "GRID")}
    if out["sheetType"] == "GRID":
        g = p.get("gridProperties") or {}
        gp: Dict[str, Any] = {"rowCount": g.get("rowCount", 0), "columnCount": g.get("columnCount", 0)}
        for key in ("frozenRowCount", "frozenColumnCount"):
            if g.get(key):
                gp[key] = g[key]
        for key in ("hideGridlines", "rowGroupControlAfter", "columnGroupControlAfter"):
            if g.get(key):
                gp[key] = True
        out["gridProperties"] = gp
    if p.get("hidden"):
        out["hidden"] = True
    if p.get("tabColorStyle"):
        style = color_style_json(p["tabColorStyle"])
        if "rgbColor" in style:
            out["tabColor"] = style["rgbColor"]
        out["tabColorStyle"] = style
    if p.get("rightToLeft"):
        out["rightToLeft"] = True
    return out


def grid_range_json(gr: Dict[str, Any]) -> Dict[str, Any]:
    out = {k: v for k, v in gr.items() if v is not None}
    if not out.get("sheetId"):
        out.pop("sheetId", None)
    return out


def strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value if v is not None]
    return value


def protected_json(state: State, pr: Dict[str, Any], for_reply: bool = False) -> Dict[str, Any]:
    out: Dict[str, Any] = {"protectedRangeId": pr["protectedRangeId"]}
    if pr.get("range") is not None:
        out["range"] = grid_range_json(pr["range"])
    if pr.get("namedRangeId"):
        out["namedRangeId"] = pr["namedRangeId"]
    if pr.get("description"):
        out["description"] = pr["description"]
    if pr.get("warningOnly"):
        out["warningOnly"] = True
    out["requestingUserCanEdit"] = True
    if pr.get("unprotectedRanges"):
        out["unprotectedRanges"] = [grid_range_json(g) for g in pr["unprotectedRanges"]]
    if not pr.get("warningOnly"):
        editors = pr.get("editors") or {}
        ed: Dict[str, Any] = {}
        users = list(editors.get("users") or [])
        if not for_reply and state.user_email not in users:
            users.append(state.user_email)
        if users:
            ed["users"] = users
        if editors.get("groups"):
            ed["groups"] = list(editors["groups"])
        if editors.get("domainUsersCanEdit"):
            ed["domainUsersCanEdit"] = True
        out["editors"] = ed
    return out


def cond_format_json(rule: Dict[str, Any]) -> Dict[str, Any]:
    out = strip_nulls(copy.deepcopy(rule))
    out["ranges"] = [grid_range_json(g) for g in rule.get("ranges") or []]
    return out


def _typed_value(v: Any) -> Dict[str, Any]:
    if isinstance(v, FormulaError):
        return {"errorValue": {"type": v.type, "message": v.message}}
    if isinstance(v, bool):
        return {"boolValue": v}
    if is_number(v):
        return {"numberValue": json_number(v)}
    return {"stringValue": "" if v is None else str(v)}


def cell_data_json(calc: Calc, ss: Spreadsheet, sheet: Sheet, r: int, c: int, cell: Cell) -> Dict[str, Any]:
    d: Dict[str, Any] = {}
    if cell.has_value():
        d["userEnteredValue"] = ({"formulaValue": cell.formula} if cell.formula is not None
                                 else _typed_value(cell.value))
        eff = calc.effective(sheet, r, c, cell)
        if eff is not None:
            d["effectiveValue"] = _typed_value(eff)
        fv = calc.formatted(sheet, r, c, cell)
        if fv is not None:
            d["formattedValue"] = fv
    if cell.fmt:
        d["userEnteredFormat"] = copy.deepcopy(cell.fmt)
    if cell.has_value() or cell.fmt:
        eff = calc.effective(sheet, r, c, cell) if cell.has_value() else None
        align = None
        if cell.has_value() and "horizontalAlignment" not in (cell.fmt or {}):
            align = "RIGHT" if is_number(eff) else ("CENTER" if isinstance(eff, bool) else "LEFT")
        d["effectiveFormat"] = calc.effective_format(cell.fmt, align, cell.has_value())
    if cell.note is not None:
        d["note"] = cell.note
    if cell.validation:
        d["dataValidation"] = copy.deepcopy(cell.validation)
    if cell.extra:
        for k, v in cell.extra.items():
            d[k] = copy.deepcopy(v)
    return d


def _deep_merge(dst: Dict[str, Any], src: Dict[str, Any]) -> None:
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _deep_merge(dst[k], v)
        else:
            dst[k] = copy.deepcopy(v)


def _dim_meta_json(meta: Optional[Dict[str, Any]], default_px: int) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    meta = meta or {}
    if meta.get("hiddenByUser"):
        out["hiddenByUser"] = True
    out["pixelSize"] = meta.get("pixelSize", default_px)
    if meta.get("developerMetadata"):
        out["developerMetadata"] = meta["developerMetadata"]
    return out


def grid_data_json(calc: Calc, ss: Spreadsheet, sheet: Sheet, r0: int, r1: int, c0: int, c1: int,
                   mask: Any) -> Dict[str, Any]:
    gd: Dict[str, Any] = {}
    if r0:
        gd["startRow"] = r0
    if c0:
        gd["startColumn"] = c0
    r1 = min(r1, sheet.row_count)
    c1 = min(c1, sheet.col_count)
    if fields.selects(mask, ["rowData"]) if isinstance(mask, dict) else True:
        cells: Dict[int, Dict[int, Dict[str, Any]]] = {}
        for r, c, cell in sheet.cells_in(r0, r1, c0, c1):
            data = cell_data_json(calc, ss, sheet, r, c, cell)
            if data:
                cells.setdefault(r, {})[c] = data
        if cells:
            rows = []
            for r in range(r0, max(cells) + 1):
                row = cells.get(r)
                if not row:
                    rows.append({})
                    continue
                rows.append({"values": [row.get(c, {}) for c in range(c0, max(row) + 1)]})
            gd["rowData"] = rows
    if fields.selects(mask, ["rowMetadata"]) if isinstance(mask, dict) else True:
        gd["rowMetadata"] = [_dim_meta_json(sheet.row_meta.get(r), DEFAULT_ROW_PX) for r in range(r0, r1)]
    if fields.selects(mask, ["columnMetadata"]) if isinstance(mask, dict) else True:
        gd["columnMetadata"] = [_dim_meta_json(sheet.col_meta.get(c), DEFAULT_COL_PX) for c in range(c0, c1)]
    return gd


def spreadsheet_json(state: State, ss: Spreadsheet, include_grid: bool = False,
                     ranges: Optional[List[str]] = None, mask: Any = None) -> Dict[str, Any]:
    by_sheet: Dict[int, List[Ref]] = {}
    order: List[Sheet] = list(ss.sheets)
    if ranges:
        refs = [resolve(ss, r) for r in ranges]
        for ref in refs:
            by_sheet.setdefault(ref.sheet.sheet_id, []).append(ref)
        order = [s for s in ss.sheets if s.sheet_id in by_sheet]
    data_mask = None
    if mask is not None:
        sheets_mask = fields.subtree(mask, ["sheets"])
        if isinstance(sheets_mask, dict) and "data" in sheets_mask:
            include_grid = True
            data_mask = sheets_mask["data"]
    calc = Calc(ss)
    props = dict(ss.props)
    out: Dict[str, Any] = {"spreadsheetId": ss.id, "properties": copy.deepcopy(props)}
    sheets_out = []
    want_sheets = mask is None or fields.selects(mask, ["sheets"])
    for sheet in order if want_sheets else []:
        sj: Dict[str, Any] = {"properties": sheet_props_json(sheet)}
        if include_grid and sheet.props.get("sheetType", "GRID") == "GRID":
            boxes = by_sheet.get(sheet.sheet_id)
            if boxes:
                sj["data"] = [grid_data_json(calc, ss, sheet, b.r0, b.r1, b.c0, b.c1, data_mask) for b in boxes]
            else:
                sj["data"] = [grid_data_json(calc, ss, sheet, 0, sheet.row_count, 0, sheet.col_count, data_mask)]
        if sheet.merges:
            sj["merges"] = [grid_range_json(m) for m in sheet.merges]
        if sheet.cond:
            sj["conditionalFormats"] = [cond_format_json(rule) for rule in sheet.cond]
        if sheet.protected:
            sj["protectedRanges"] = [protected_json(state, pr) for pr in sheet.protected]
        if sheet.basic_filter:
            bf = strip_nulls(copy.deepcopy(sheet.basic_filter))
            if "range" in bf:
                bf["range"] = grid_range_json(bf["range"])
            sj["basicFilter"] = bf
        if sheet.charts:
            sj["charts"] = [strip_nulls(copy.deepcopy(ch)) for ch in sheet.charts]
        if sheet.banded:
            sj["bandedRanges"] = [strip_nulls(copy.deepcopy(b)) for b in sheet.banded]
        sheets_out.append(sj)
    out["sheets"] = sheets_out
    if ss.named_ranges:
        out["namedRanges"] = [dict(nr, range=grid_range_json(nr["range"])) for nr in ss.named_ranges]
    out["spreadsheetUrl"] = SHEET_URL.format(ss.id)
    if mask is not None:
        out = fields.apply(out, mask)
    return out


def spreadsheets_get(state: State, sid: str, params) -> Dict[str, Any]:
    ss = lookup(state, sid)
    include = _bool_param(params, "includeGridData")
    ranges = params.get("ranges") or []
    mask = fields.parse(_param(params, "fields"))
    return spreadsheet_json(state, ss, include, ranges, mask)


def spreadsheets_create(state: State, body, params) -> Dict[str, Any]:
    if state.service_account:
        # a service account has no Drive storage: Sheets' create (into its My Drive) is refused
        raise permission_denied()
    body = _body_dict(body)
    props = body.get("properties") or {}
    title = props.get("title") or "Untitled spreadsheet"
    sheets = body.get("sheets") or None
    titles = set()
    for i, spec in enumerate(sheets or []):
        t = ((spec or {}).get("properties") or {}).get("title") or f"Sheet{i + 1}"
        if t.lower() in titles:
            raise invalid(f"Invalid sheets[{i}]: A sheet with the name \"{t}\" already exists. "
                          f"Please enter another name.")
        titles.add(t.lower())
    ss, f = new_spreadsheet(state, title, None, props.get("locale") or "en_US",
                            props.get("timeZone") or "Etc/GMT", sheets)
    for key in ("autoRecalc", "defaultFormat", "iterativeCalculationSettings", "spreadsheetTheme"):
        if props.get(key) is not None:
            ss.props[key] = props[key]
    for nr in body.get("namedRanges") or []:
        item = dict(nr)
        item.setdefault("namedRangeId", str(state.new_int_id()))
        ss.named_ranges.append(item)
    mask = fields.parse(_param(params, "fields"))
    return spreadsheet_json(state, ss, False, None, mask)


def sheets_copy_to(state: State, sid: str, sheet_id: int, body) -> Dict[str, Any]:
    ss = lookup(state, sid)
    body = _body_dict(body)
    dest_id = body.get("destinationSpreadsheetId")
    if not dest_id:
        raise invalid("Invalid destinationSpreadsheetId")
    dest = lookup(state, dest_id)
    src = ss.sheet_by_id(sheet_id)
    if src is None:
        raise not_found(f"Requested entity was not found.")
    new = src.clone()
    taken = [s.sheet_id for s in dest.sheets]
    new.props["sheetId"] = state.new_int_id(taken)
    base = f"Copy of {src.title}"
    title, n = base, 1
    while dest.sheet_by_title(title) is not None:
        n += 1
        title = f"{base} {n}"
    new.props["title"] = title
    new.protected = []
    dest.sheets.append(new)
    dest.reindex()
    state.touch(dest.id)
    return sheet_props_json(new)
