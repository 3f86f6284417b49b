"""spreadsheets.batchUpdate: the request kinds, applied atomically.

Requests run against a clone of the spreadsheet; the clone replaces the
original only when every request succeeded, so a failing request changes
nothing (as in Google).
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import a1, fields, formula
from .errors import invalid, invalid_value, unknown_field
from .model import DEFAULT_ROW_PX, Cell, Sheet, Spreadsheet, State
from .sheets import (Calc, cond_format_json, grid_range_json, lookup, protected_json, sheet_props_json,
                     spreadsheet_json, strip_nulls, _body_dict)
from .values import is_number


class ReqError(Exception):
    """A request failed validation; message goes after 'Invalid requests[i].kind: '."""


# Google request kinds the emulator does not model (answered with a clear 400).
KNOWN_UNSUPPORTED = {
    "addBanding", "addDataSource", "addDimensionGroup", "addFilterView", "addSlicer", "copyPaste",
    "createDeveloperMetadata", "cutPaste", "deleteBanding", "deleteDataSource", "deleteDeveloperMetadata",
    "deleteDimensionGroup", "deleteDuplicates", "deleteFilterView", "duplicateFilterView",
    "pasteData", "randomizeRange", "refreshDataSource", "textToColumns", "trimWhitespace", "updateBanding",
    "updateDataSource", "updateDeveloperMetadata", "updateDimensionGroup", "updateEmbeddedObjectBorder",
    "updateEmbeddedObjectPosition", "updateFilterView", "updateSlicerSpec", "insertRange",
    "autoFill", "cancelDataSourceRefresh", "addTable", "deleteTable", "updateTable",
}


class Ctx:
    def __init__(self, state: State, ss: Spreadsheet):
        self.state = state
        self.ss = ss

    def sheet(self, sheet_id: Any) -> Sheet:
        sid = sheet_id if sheet_id is not None else 0
        sheet = self.ss.sheet_by_id(sid)
        if sheet is None:
            raise ReqError(f"No grid with id: {sid}")
        return sheet

    def box(self, gr: Optional[Dict[str, Any]]) -> Tuple[Sheet, int, int, int, int]:
        gr = gr or {}
        if not isinstance(gr, dict):
            raise ReqError("Invalid range")
        sheet = self.sheet(gr.get("sheetId"))
        rows, cols = sheet.row_count, sheet.col_count
        r0 = gr.get("startRowIndex") or 0
        c0 = gr.get("startColumnIndex") or 0
        r1 = gr.get("endRowIndex")
        c1 = gr.get("endColumnIndex")
        r1 = rows if r1 is None else r1
        c1 = cols if c1 is None else c1
        if r0 < 0 or c0 < 0 or r1 < r0 or c1 < c0:
            raise ReqError("Invalid range: start index must be less than or equal to end index.")
        if r0 >= rows or c0 >= cols:
            # refused when it starts at/past the grid; a range that only ends past it is clamped
            text = a1.format_open(sheet.title, r0, gr.get("endRowIndex"), c0, gr.get("endColumnIndex"))
            raise ReqError(f"Range ({text}) exceeds grid limits. Max rows: {rows}, max columns: {cols}")
        return sheet, r0, min(r1, rows), c0, min(c1, cols)

    def dim_range(self, dr: Optional[Dict[str, Any]], default_all: bool = True):
        dr = dr or {}
        sheet = self.sheet(dr.get("sheetId"))
        dim = dr.get("dimension")
        if dim not in ("ROWS", "COLUMNS"):
            raise ReqError("dimension must be ROWS or COLUMNS")
        count = sheet.row_count if dim == "ROWS" else sheet.col_count
        start = dr.get("startIndex") or 0
        end = dr.get("endIndex")
        end = count if end is None else end
        if start < 0 or end < start:
            raise ReqError(f"Invalid dimension range: startIndex[{start}] must be less than endIndex[{end}]")
        return sheet, dim, start, end, count


# --------------------------------------------------------------------------- helpers

def _mask(text: Any, what: str) -> Dict[str, Any]:
    if not text or not isinstance(text, str):
        raise ReqError(f"At least one field must be specified in '{what}'.")
    try:
        mask = fields.parse(text)
    except fields.FieldMaskError:
        raise ReqError(f"Invalid field mask: {text}")
    if not mask:
        raise ReqError(f"At least one field must be specified in '{what}'.")
    return mask


def _leaves(mask: Dict[str, Any], prefix=()) -> List[Tuple[str, ...]]:
    out = []
    for k, v in mask.items():
        if v is True:
            out.append(prefix + (k,))
        else:
            out.extend(_leaves(v, prefix + (k,)))
    return out


def _get_path(obj: Any, path) -> Tuple[bool, Any]:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return False, None
        obj = obj[key]
    return True, obj


def _set_path(obj: Dict[str, Any], path, present: bool, value: Any) -> None:
    for key in path[:-1]:
        nxt = obj.get(key)
        if not isinstance(nxt, dict):
            if not present:
                return
            nxt = obj[key] = {}
        obj = nxt
    if present and value is not None:
        obj[path[-1]] = copy.deepcopy(value)
    else:
        obj.pop(path[-1], None)


def _title_taken(ss: Spreadsheet, title: str, except_id: Any = None) -> bool:
    low = title.lower()
    return any(s.title.lower() == low and s.sheet_id != except_id for s in ss.sheets)


def _normalise_color_style(style: Any) -> Optional[Dict[str, Any]]:
    if not isinstance(style, dict):
        return None
    out = {}
    if isinstance(style.get("rgbColor"), dict):
        out["rgbColor"] = {k: v for k, v in style["rgbColor"].items() if v is not None}
    if style.get("themeColor"):
        out["themeColor"] = style["themeColor"]
    return out or None


def _shift_index(i: Optional[int], start: int, n: int, insert: bool, is_end: bool) -> Optional[int]:
    if i is None:
        return None
    if insert:
        if is_end:
            return i + n if i > start else i
        return i + n if i >= start else i
    stop = start + n
    if i >= stop:
        return i - n
    if i > start:
        return start
    return i


def _shift_grid_range(gr: Dict[str, Any], dim: str, start: int, n: int, insert: bool) -> Dict[str, Any]:
    k0, k1 = ("startRowIndex", "endRowIndex") if dim == "ROWS" else ("startColumnIndex", "endColumnIndex")
    s, e = gr.get(k0), gr.get(k1)
    ns = _shift_index(s, start, n, insert, False)
    ne = _shift_index(e, start, n, insert, True)
    out = dict(gr)
    if s is not None:
        out[k0] = ns
    if e is not None:
        out[k1] = ne
    return out  # a range whose rows/columns were all deleted ends up empty (start == end)


def _ranges_on(ss: Spreadsheet, sheet: Sheet):
    """Every stored GridRange on ``sheet`` (as (container, key) pairs for rewriting)."""
    sid = sheet.sheet_id
    for pr in sheet.protected:
        if pr.get("range") is not None:
            yield pr, "range"
        for i, _ in enumerate(pr.get("unprotectedRanges") or []):
            yield pr["unprotectedRanges"], i
    for rule in sheet.cond:
        for i, _ in enumerate(rule.get("ranges") or []):
            yield rule["ranges"], i
    for i, _ in enumerate(sheet.merges):
        yield sheet.merges, i
    if sheet.basic_filter and sheet.basic_filter.get("range"):
        yield sheet.basic_filter, "range"
    for nr in ss.named_ranges:
        if (nr.get("range") or {}).get("sheetId", 0) == sid:
            yield nr, "range"


def shift_dimension(ss: Spreadsheet, sheet: Sheet, dim: str, start: int, n: int, insert: bool,
                    inherit_from_before: bool = False) -> None:
    """Insert (or delete) ``n`` rows/columns at ``start``, moving everything after."""
    if n <= 0:
        return
    if dim == "ROWS":
        new_rows: Dict[int, Dict[int, Cell]] = {}
        for r, row in sheet.rows.items():
            nr = _shift_index(r, start, n, insert, False)
            if not insert and start <= r < start + n:
                continue
            new_rows[nr] = row
        sheet.rows = new_rows
        meta = {}
        for r, m in sheet.row_meta.items():
            if not insert and start <= r < start + n:
                continue
            meta[_shift_index(r, start, n, insert, False)] = m
        sheet.row_meta = meta
        sheet.grid["rowCount"] = sheet.row_count + (n if insert else -n)
        if sheet.grid.get("frozenRowCount", 0) > sheet.row_count:
            sheet.grid["frozenRowCount"] = sheet.row_count
    else:
        for r, row in list(sheet.rows.items()):
            new_row = {}
            for c, cell in row.items():
                if not insert and start <= c < start + n:
                    continue
                new_row[_shift_index(c, start, n, insert, False)] = cell
            if new_row:
                sheet.rows[r] = new_row
            else:
                del sheet.rows[r]
        meta = {}
        for c, m in sheet.col_meta.items():
            if not insert and start <= c < start + n:
                continue
            meta[_shift_index(c, start, n, insert, False)] = m
        sheet.col_meta = meta
        sheet.grid["columnCount"] = sheet.col_count + (n if insert else -n)
        if sheet.grid.get("frozenColumnCount", 0) > sheet.col_count:
            sheet.grid["frozenColumnCount"] = sheet.col_count
    if insert:
        src = start - 1 if inherit_from_before else start + n
        _inherit_formats(sheet, dim, src, start, n)
    _rewrite_formulas(ss, lambda text, host: formula.shift_references(text, host, sheet.title, dim, start, n, insert))
    # stored ranges
    for container, key in list(_ranges_on(ss, sheet)):
        container[key] = _shift_grid_range(container[key], dim, start, n, insert)
    sheet.merges = [m for m in sheet.merges if _nonempty(m)]
    for rule in sheet.cond:
        rule["ranges"] = [g for g in rule.get("ranges") or [] if _nonempty(g)]
    sheet.cond = [rule for rule in sheet.cond if rule.get("ranges")]
    sheet.protected = [pr for pr in sheet.protected if pr.get("range") is None or _nonempty(pr["range"])]
    for pr in sheet.protected:
        if pr.get("unprotectedRanges"):
            pr["unprotectedRanges"] = [g for g in pr["unprotectedRanges"] if _nonempty(g)]
    if sheet.basic_filter and sheet.basic_filter.get("range") and not _nonempty(sheet.basic_filter["range"]):
        sheet.basic_filter = None


def _rewrite_formulas(ss: Spreadsheet, fn) -> None:
    """Rewrite every formula in the spreadsheet (copying a lazy sheet only if one changes)."""
    for s in ss.sheets:
        rows = s.peek("rows")
        todo = [(r, c, fn(cell.formula, s.title)) for r, row in rows.items() for c, cell in row.items()
                if cell.formula is not None]
        todo = [(r, c, new) for r, c, new in todo if new != rows[r][c].formula]
        for r, c, new in todo:
            s.rows[r][c].formula = new


def _nonempty(gr: Dict[str, Any]) -> bool:
    for k0, k1 in (("startRowIndex", "endRowIndex"), ("startColumnIndex", "endColumnIndex")):
        s, e = gr.get(k0), gr.get(k1)
        if e is not None and (s or 0) >= e:
            return False
    return True


def _inherit_formats(sheet: Sheet, dim: str, src: int, start: int, n: int) -> None:
    if src < 0:
        return
    if dim == "ROWS":
        row = sheet.rows.get(src)
        if not row:
            return
        for c, cell in row.items():
            if cell.fmt:
                for r in range(start, start + n):
                    sheet.ensure(r, c).fmt = cell.fmt
    else:
        for r, row in list(sheet.rows.items()):
            cell = row.get(src)
            if cell is not None and cell.fmt:
                for c in range(start, start + n):
                    sheet.ensure(r, c).fmt = cell.fmt


# --------------------------------------------------------------------------- cell data updates

_WRITABLE = ("userEnteredValue", "userEnteredFormat", "note", "dataValidation", "textFormatRuns",
             "hyperlink", "pivotTable", "dataSourceTable", "chipRuns")


def _cell_to_dict(cell: Optional[Cell]) -> Dict[str, Any]:
    d: Dict[str, Any] = {}
    if cell is None:
        return d
    if cell.formula is not None:
        d["userEnteredValue"] = {"formulaValue": cell.formula}
    elif cell.value is not None:
        v = cell.value
        if isinstance(v, bool):
            d["userEnteredValue"] = {"boolValue": v}
        elif is_number(v):
            d["userEnteredValue"] = {"numberValue": v}
        else:
            d["userEnteredValue"] = {"stringValue": v}
    if cell.fmt:
        d["userEnteredFormat"] = cell.fmt
    if cell.note is not None:
        d["note"] = cell.note
    if cell.validation:
        d["dataValidation"] = cell.validation
    if cell.extra:
        d.update(cell.extra)
    return d


def _masked_update(dst: Dict[str, Any], src: Dict[str, Any], mask: Dict[str, Any]) -> None:
    for key, sub in mask.items():
        if key == "*":
            for k in _WRITABLE:
                if src.get(k) is not None:
                    dst[k] = copy.deepcopy(src[k])
                else:
                    dst.pop(k, None)
            continue
        if sub is True:
            if isinstance(src, dict) and src.get(key) is not None:
                dst[key] = copy.deepcopy(src[key])
            else:
                dst.pop(key, None)
        else:
            child = dict(dst.get(key) or {}) if isinstance(dst.get(key), dict) else {}
            _masked_update(child, (src.get(key) or {}) if isinstance(src, dict) else {}, sub)
            if child:
                dst[key] = child
            else:
                dst.pop(key, None)


def _dict_to_cell(sheet: Sheet, r: int, c: int, d: Dict[str, Any]) -> None:
    cell = sheet.get(r, c)
    if cell is None:
        if not d:
            return
        cell = sheet.ensure(r, c)
    uev = d.get("userEnteredValue") or {}
    cell.value = None
    cell.formula = None
    if "formulaValue" in uev and uev["formulaValue"] is not None:
        cell.formula = str(uev["formulaValue"])
    elif "numberValue" in uev and uev["numberValue"] is not None:
        cell.value = uev["numberValue"]
    elif "boolValue" in uev and uev["boolValue"] is not None:
        cell.value = bool(uev["boolValue"])
    elif "stringValue" in uev and uev["stringValue"] not in (None, ""):
        cell.value = str(uev["stringValue"])
    cell.fmt = strip_nulls(d["userEnteredFormat"]) if d.get("userEnteredFormat") else None
    note = d.get("note")
    cell.note = note if note else None
    cell.validation = d.get("dataValidation") or None
    extra = {k: d[k] for k in _WRITABLE[4:] if d.get(k) is not None}
    cell.extra = extra or None
    sheet.tidy(r, c)


def _apply_cell(sheet: Sheet, r: int, c: int, src: Dict[str, Any], mask: Dict[str, Any]) -> None:
    d = _cell_to_dict(sheet.get(r, c))
    _masked_update(d, src if isinstance(src, dict) else {}, mask)
    _dict_to_cell(sheet, r, c, d)


# --------------------------------------------------------------------------- handlers

def h_add_sheet(ctx: Ctx, p: Dict[str, Any]):
    props = dict((p or {}).get("properties") or {})
    ss = ctx.ss
    title = props.get("title")
    if not title:
        n = len(ss.sheets) + 1
        while _title_taken(ss, f"Sheet{n}"):
            n += 1
        title = f"Sheet{n}"
    if _title_taken(ss, title):
        raise ReqError(f"A sheet with the name \"{title}\" already exists. Please enter another name.")
    taken = [s.sheet_id for s in ss.sheets]
    if props.get("sheetId") is not None:
        sheet_id = int(props["sheetId"])
        if sheet_id in taken:
            raise ReqError(f"Sheet with id {sheet_id} already exists.")
    else:
        sheet_id = ctx.state.new_int_id(taken)
    sheet_type = props.get("sheetType") or "GRID"
    new_props: Dict[str, Any] = {"sheetId": sheet_id, "title": title, "index": 0, "sheetType": sheet_type}
    if sheet_type == "GRID":
        grid = dict(props.get("gridProperties") or {})
        grid["rowCount"] = grid.get("rowCount") or 1000
        grid["columnCount"] = grid.get("columnCount") or 26
        new_props["gridProperties"] = {k: v for k, v in grid.items() if v is not None}
    for key in ("hidden", "rightToLeft"):
        if props.get(key):
            new_props[key] = True
    style = _normalise_color_style(props.get("tabColorStyle")) or (
        _normalise_color_style({"rgbColor": props["tabColor"]}) if props.get("tabColor") else None)
    if style:
        new_props["tabColorStyle"] = style
    sheet = Sheet(new_props)
    index = props.get("index")
    if index is None or index > len(ss.sheets):
        index = len(ss.sheets)
    ss.sheets.insert(max(index, 0), sheet)
    ss.reindex()
    return {"addSheet": {"properties": sheet_props_json(sheet)}}


def h_delete_sheet(ctx: Ctx, p: Dict[str, Any]):
    sheet = ctx.sheet((p or {}).get("sheetId"))
    ss = ctx.ss
    if len(ss.sheets) == 1:
        raise ReqError("You can't remove all the sheets in a document.")
    if not any(not s.props.get("hidden") for s in ss.sheets if s is not sheet):
        raise ReqError("You can't remove all the visible sheets in a document.")
    ss.sheets.remove(sheet)
    ss.named_ranges = [nr for nr in ss.named_ranges if (nr.get("range") or {}).get("sheetId", 0) != sheet.sheet_id]
    ss.reindex()
    return None


def h_duplicate_sheet(ctx: Ctx, p: Dict[str, Any]):
    p = p or {}
    src = ctx.sheet(p.get("sourceSheetId"))
    ss = ctx.ss
    new = src.clone()
    taken = [s.sheet_id for s in ss.sheets]
    if p.get("newSheetId") is not None:
        if p["newSheetId"] in taken:
            raise ReqError(f"Sheet with id {p['newSheetId']} already exists.")
        new.props["sheetId"] = p["newSheetId"]
    else:
        new.props["sheetId"] = ctx.state.new_int_id(taken)
    title = p.get("newSheetName")
    if not title:
        base = f"Copy of {src.title}"
        title, n = base, 1
        while _title_taken(ss, title):
            n += 1
            title = f"{base} {n}"
    elif _title_taken(ss, title):
        raise ReqError(f"A sheet with the name \"{title}\" already exists. Please enter another name.")
    new.props["title"] = title
    for pr in new.protected:
        pr["protectedRangeId"] = ctx.state.new_int_id()
        if pr.get("range") is not None:
            pr["range"]["sheetId"] = new.props["sheetId"]
    for rule in new.cond:
        for g in rule.get("ranges") or []:
            g["sheetId"] = new.props["sheetId"]
    new.charts = []
    index = p.get("insertSheetIndex")
    if index is None or index > len(ss.sheets):
        index = len(ss.sheets)
    ss.sheets.insert(index, new)
    ss.reindex()
    return {"duplicateSheet": {"properties": sheet_props_json(new)}}


def _move_sheet(ss: Spreadsheet, sheet: Sheet, index: int) -> None:
    cur = ss.sheets.index(sheet)
    index = max(0, min(index, len(ss.sheets)))
    ss.sheets.pop(cur)
    if index > cur:
        index -= 1
    ss.sheets.insert(index, sheet)
    ss.reindex()


def _resize(sheet: Sheet, rows: Optional[int], cols: Optional[int]) -> None:
    if rows is not None:
        if rows < 1:
            raise ReqError("Sheet must have at least one row.")
        for r in [r for r in sheet.rows if r >= rows]:
            del sheet.rows[r]
        sheet.row_meta = {r: m for r, m in sheet.row_meta.items() if r < rows}
        sheet.grid["rowCount"] = rows
    if cols is not None:
        if cols < 1:
            raise ReqError("Sheet must have at least one column.")
        for r, row in list(sheet.rows.items()):
            for c in [c for c in row if c >= cols]:
                del row[c]
            if not row:
                del sheet.rows[r]
        sheet.col_meta = {c: m for c, m in sheet.col_meta.items() if c < cols}
        sheet.grid["columnCount"] = cols


_SHEET_WRITABLE = ("title", "index", "gridProperties", "hidden", "tabColor", "tabColorStyle", "rightToLeft")


def h_update_sheet_properties(ctx: Ctx, p: Dict[str, Any]):
    p = p or {}
    props = p.get("properties") or {}
    sheet = ctx.sheet(props.get("sheetId"))
    mask = _mask(p.get("fields"), "fields")
    leaves = _leaves(mask)
    if ("*",) in leaves:
        leaves = [(k,) for k in _SHEET_WRITABLE if k in props]
    ss = ctx.ss
    pending_rows = pending_cols = None
    for path in leaves:
        top = path[0]
        present, value = _get_path(props, path)
        if top == "title":
            if not value:
                raise ReqError("Sheet title must not be empty.")
            if _title_taken(ss, value, sheet.sheet_id):
                raise ReqError(f"A sheet with the name \"{value}\" already exists. Please enter another name.")
            old_title = sheet.title
            sheet.props["title"] = value
            if old_title != value:
                _rewrite_formulas(ss, lambda text, host: formula.rename_references(text, old_title, value))
        elif top == "index":
            _move_sheet(ss, sheet, value if present and value is not None else len(ss.sheets))
        elif top == "gridProperties":
            sub = path[1:]
            if not sub:
                grid = value or {}
                pending_rows = grid.get("rowCount", sheet.row_count)
                pending_cols = grid.get("columnCount", sheet.col_count)
                for key in ("frozenRowCount", "frozenColumnCount", "hideGridlines",
                            "rowGroupControlAfter", "columnGroupControlAfter"):
                    _set_path(sheet.grid, (key,), key in grid, grid.get(key))
                continue
            key = sub[0]
            if key == "rowCount":
                pending_rows = value if present and value is not None else 0
            elif key == "columnCount":
                pending_cols = value if present and value is not None else 0
            elif key in ("frozenRowCount", "frozenColumnCount", "hideGridlines", "rowGroupControlAfter",
                         "columnGroupControlAfter"):
                _set_path(sheet.grid, (key,), present, value)
            else:
                raise ReqError(f"Invalid field mask: gridProperties.{key}")
        elif top == "hidden":
            if present and value:
                if not any(not s.props.get("hidden") for s in ss.sheets if s is not sheet):
                    raise ReqError("You can't hide all the sheets in a document.")
                sheet.props["hidden"] = True
            else:
                sheet.props.pop("hidden", None)
        elif top in ("tabColor", "tabColorStyle"):
            if top == "tabColor":
                style = _normalise_color_style({"rgbColor": value}) if present and value else None
            else:
                style = _normalise_color_style(value) if present else None
            if style:
                sheet.props["tabColorStyle"] = style
            else:
                sheet.props.pop("tabColorStyle", None)
            sheet.props.pop("tabColor", None)
        elif top == "rightToLeft":
            if present and value:
                sheet.props["rightToLeft"] = True
            else:
                sheet.props.pop("rightToLeft", None)
        elif top in ("sheetId", "sheetType"):
            continue
        else:
            raise ReqError(f"Invalid field mask: {'.'.join(path)}")
    if pending_rows is not None or pending_cols is not None:
        _resize(sheet, pending_rows, pending_cols)
    g = sheet.grid
    if g.get("frozenRowCount", 0) > sheet.row_count or g.get("frozenColumnCount", 0) > sheet.col_count:
        raise ReqError("Frozen rows/columns must fit in the sheet.")
    return None


_SS_WRITABLE = ("title", "locale", "autoRecalc", "timeZone", "defaultFormat", "iterativeCalculationSettings",
                "spreadsheetTheme")


def h_update_spreadsheet_properties(ctx: Ctx, p: Dict[str, Any]):
    p = p or {}
    props = p.get("properties") or {}
    mask = _mask(p.get("fields"), "fields")
    leaves = _leaves(mask)
    if ("*",) in leaves:
        leaves = [(k,) for k in _SS_WRITABLE if k in props]
    for path in leaves:
        if path[0] not in _SS_WRITABLE:
            raise ReqError(f"Invalid field mask: {'.'.join(path)}")
        present, value = _get_path(props, path)
        if path == ("title",) and not value:
            raise ReqError("Spreadsheet title must not be empty.")
        _set_path(ctx.ss.props, path, present, value)
    return None


def h_set_data_validation(ctx: Ctx, p: Dict[str, Any]):
    p = p or {}
    sheet, r0, r1, c0, c1 = ctx.box(p.get("range"))
    rule = strip_nulls(copy.deepcopy(p.get("rule"))) if p.get("rule") else None
    for r in range(r0, r1):
        for c in range(c0, c1):
            if rule:
                sheet.ensure(r, c).validation = rule
            else:
                cell = sheet.get(r, c)
                if cell is not None:
                    cell.validation = None
                    sheet.tidy(r, c)
    return None


def _all_protected(ss: Spreadsheet):
    for s in ss.sheets:
        for pr in s.protected:
            yield s, pr


def h_add_protected_range(ctx: Ctx, p: Dict[str, Any]):
    pr_in = dict((p or {}).get("protectedRange") or {})
    ss = ctx.ss
    if pr_in.get("namedRangeId"):
        nr = next((n for n in ss.named_ranges if n.get("namedRangeId") == pr_in["namedRangeId"]), None)
        if nr is None:
            raise ReqError(f"No named range with id: {pr_in['namedRangeId']}")
        sheet = ctx.sheet((nr.get("range") or {}).get("sheetId"))
    else:
        rng = pr_in.get("range") or {}
        sheet, *_ = ctx.box(rng)
    taken = [pr["protectedRangeId"] for _, pr in _all_protected(ss)]
    pid = pr_in.get("protectedRangeId")
    if pid is None:
        pid = ctx.state.new_int_id(taken)
    elif pid in taken:
        raise ReqError(f"Protected range with id {pid} already exists.")
    stored = strip_nulls(copy.deepcopy(pr_in))
    stored["protectedRangeId"] = pid
    if stored.get("range") is not None:
        stored["range"] = {k: v for k, v in stored["range"].items()}
    sheet.protected.append(stored)
    return {"addProtectedRange": {"protectedRange": protected_json(ctx.state, stored, for_reply=True)}}


def h_update_protected_range(ctx: Ctx, p: Dict[str, Any]):
    p = p or {}
    pr_in = p.get("protectedRange") or {}
    pid = pr_in.get("protectedRangeId")
    found = next((pr for _, pr in _all_protected(ctx.ss) if pr["protectedRangeId"] == pid), None)
    if found is None:
        raise ReqError(f"No protected range with id: {pid}")
    mask = _mask(p.get("fields"), "fields")
    for path in _leaves(mask):
        if path[0] == "*":
            for k, v in pr_in.items():
                if k != "protectedRangeId":
                    found[k] = copy.deepcopy(v)
            continue
        present, value = _get_path(pr_in, path)
        _set_path(found, path, present, strip_nulls(value) if present else None)
    if found.get("range") is not None:
        ctx.box(found["range"])
    return None


def h_delete_protected_range(ctx: Ctx, p: Dict[str, Any]):
    pid = (p or {}).get("protectedRangeId")
    for sheet, pr in list(_all_protected(ctx.ss)):
        if pr["protectedRangeId"] == pid:
            sheet.protected.remove(pr)
            return None
    raise ReqError(f"No protected range with id: {pid}")


def h_repeat_cell(ctx: Ctx, p: Dict[str, Any]):
    p = p or {}
    sheet, r0, r1, c0, c1 = ctx.box(p.get("range"))
    mask = _mask(p.get("fields"), "fields")
    src = p.get("cell") or {}
    for r in range(r0, r1):
        for c in range(c0, c1):
            _apply_cell(sheet, r, c, src, mask)
    return None


def h_update_cells(ctx: Ctx, p: Dict[str, Any]):
    p = p or {}
    mask = _mask(p.get("fields"), "fields")
    rows = p.get("rows") or []
    if not isinstance(rows, list):
        raise ReqError("rows must be a list")
    if p.get("range") is not None:
        sheet, r0, r1, c0, c1 = ctx.box(p["range"])
        bounded = True
    else:
        start = p.get("start") or {}
        sheet = ctx.sheet(start.get("sheetId"))
        r0, c0 = start.get("rowIndex") or 0, start.get("columnIndex") or 0
        r1, c1 = sheet.row_count, sheet.col_count
        bounded = False
    width = max((len((row or {}).get("values") or []) for row in rows), default=0)
    last_row = (r1 if bounded else sheet.row_count) - 1
    last_col = (c1 if bounded else sheet.col_count) - 1
    if r0 + len(rows) - 1 > last_row:
        raise ReqError(f"Attempting to write row: {r0 + len(rows) - 1}, beyond the last requested row of: {last_row}")
    if c0 + width - 1 > last_col:
        raise ReqError(f"Attempting to write column: {c0 + width - 1}, beyond the last requested column of: "
                       f"{last_col}")
    for i, row in enumerate(rows):
        for j, cd in enumerate((row or {}).get("values") or []):
            _apply_cell(sheet, r0 + i, c0 + j, cd or {}, mask)
    if bounded:
        for r in range(r0, r1):
            for c in range(c0, c1):
                i, j = r - r0, c - c0
                if i < len(rows) and j < len((rows[i] or {}).get("values") or []):
                    continue
                if sheet.get(r, c) is not None:
                    _apply_cell(sheet, r, c, {}, mask)
    return None


def h_append_cells(ctx: Ctx, p: Dict[str, Any]):
    p = p or {}
    sheet = ctx.sheet(p.get("sheetId"))
    mask = _mask(p.get("fields"), "fields")
    rows = p.get("rows") or []
    last = max((r for r, row in sheet.rows.items() if row), default=-1)
    start = last + 1
    need = start + len(rows)
    if need > sheet.row_count:
        sheet.grid["rowCount"] = need
    width = max((len((row or {}).get("values") or []) for row in rows), default=0)
    if width > sheet.col_count:  # rows are added as needed, columns never
        raise ReqError(f"Attempting to write column: {width - 1}, beyond the last requested column of: "
                       f"{sheet.col_count - 1}")
    for i, row in enumerate(rows):
        for j, cd in enumerate((row or {}).get("values") or []):
            _apply_cell(sheet, start + i, j, cd or {}, mask)
    return None


def h_insert_dimension(ctx: Ctx, p: Dict[str, Any]):
    p = p or {}
    dr = p.get("range") or {}
    sheet, dim, start, end, count = ctx.dim_range(dr)
    if dr.get("endIndex") is None:
        raise ReqError("endIndex must be specified")
    if start > count:
        raise ReqError(f"Invalid dimension range: startIndex[{start}] is after the last "
                       f"{'row' if dim == 'ROWS' else 'column'} in grid [{count - 1}]")
    if end <= start:
        raise ReqError(f"Invalid dimension range: startIndex[{start}] must be less than endIndex[{end}]")
    inherit = bool(p.get("inheritFromBefore"))
    if inherit and start == 0:
        raise ReqError("Cannot inherit properties from before when inserting at the start of the sheet.")
    shift_dimension(ctx.ss, sheet, dim, start, end - start, True, inherit)
    return None


def h_delete_dimension(ctx: Ctx, p: Dict[str, Any]):
    sheet, dim, start, end, count = ctx.dim_range((p or {}).get("range"))
    if end > count:
        raise ReqError(f"Invalid dimension range: endIndex[{end}] is after the last "
                       f"{'row' if dim == 'ROWS' else 'column'} in grid [{count}]")
    if end <= start:
        return None
    if end - start >= count:
        raise ReqError(f"You can't delete all the {'rows' if dim == 'ROWS' else 'columns'} on the sheet.")
    shift_dimension(ctx.ss, sheet, dim, start, end - start, False)
    return None


def h_append_dimension(ctx: Ctx, p: Dict[str, Any]):
    p = p or {}
    sheet = ctx.sheet(p.get("sheetId"))
    length = p.get("length") or 0
    if length <= 0:
        raise ReqError("length must be greater than 0")
    if p.get("dimension") == "ROWS":
        sheet.grid["rowCount"] = sheet.row_count + length
    elif p.get("dimension") == "COLUMNS":
        sheet.grid["columnCount"] = sheet.col_count + length
    else:
        raise ReqError("dimension must be ROWS or COLUMNS")
    return None


def h_move_dimension(ctx: Ctx, p: Dict[str, Any]):
    p = p or {}
    sheet, dim, start, end, count = ctx.dim_range(p.get("source"))
    dest = p.get("destinationIndex")
    if dest is None or dest < 0 or dest > count:
        raise ReqError("Invalid destinationIndex")
    order = list(range(count))
    block = order[start:end]
    rest = order[:start] + order[end:]
    ins = dest if dest <= start else dest - (end - start)
    new_order = rest[:ins] + block + rest[ins:]
    mapping = {old: new for new, old in enumerate(new_order)}
    if dim == "ROWS":
        sheet.rows = {mapping.get(r, r): row for r, row in sheet.rows.items()}
        sheet.row_meta = {mapping.get(r, r): m for r, m in sheet.row_meta.items()}
    else:
        sheet.rows = {r: {mapping.get(c, c): cell for c, cell in row.items()} for r, row in sheet.rows.items()}
        sheet.col_meta = {mapping.get(c, c): m for c, m in sheet.col_meta.items()}
    return None


def h_update_dimension_properties(ctx: Ctx, p: Dict[str, Any]):
    p = p or {}
    sheet, dim, start, end, count = ctx.dim_range(p.get("range"))
    if end > count:
        raise ReqError(f"Invalid dimension range: endIndex[{end}] is after the last index [{count}]")
    mask = _mask(p.get("fields"), "fields")
    props = p.get("properties") or {}
    meta = sheet.row_meta if dim == "ROWS" else sheet.col_meta
    for i in range(start, end):
        m = dict(meta.get(i) or {})
        for path in _leaves(mask):
            if path[0] == "*":
                m.update({k: v for k, v in props.items() if v is not None})
                continue
            present, value = _get_path(props, path)
            _set_path(m, path, present, value)
        if m:
            meta[i] = m
        else:
            meta.pop(i, None)
    return None


# Arial advance widths (1/1000 em) for text width estimates in autoResizeDimensions.
_WIDTHS = {c: 556 for c in "0123456789abdeghnopqu"}
_WIDTHS.update({c: 500 for c in "cksvxyzJ"})
_WIDTHS.update({c: 222 for c in "ijl"})
_WIDTHS.update({"f": 278, "t": 278, "r": 333, "m": 833, "w": 722, " ": 278, ".": 278, ",": 278,
                ":": 278, ";": 278, "-": 333, "_": 556, "'": 191, '"': 355, "!": 278, "?": 556,
                "(": 333, ")": 333, "/": 278, "@": 1015, "%": 889, "&": 667, "#": 556, "$": 556})
_WIDTHS.update({c: 667 for c in "ABEKPSVXY"})
_WIDTHS.update({c: 722 for c in "CDHNRUw"})
_WIDTHS.update({c: 611 for c in "FTZ"})
_WIDTHS.update({c: 778 for c in "GOQ"})
_WIDTHS.update({"I": 278, "L": 556, "M": 833, "W": 944})


def text_width_px(text: str, font_size: float = 10) -> int:
    # calibrated on recorded traffic: 1024 x "A" in Arial 10 -> 8691 px
    scale = font_size * 1.27143 / 1000.0
    widest = 0.0
    for line in text.split("\n"):
        widest = max(widest, sum(_WIDTHS.get(ch, 600) for ch in line) * scale)
    return int(round(widest + 7))


def h_auto_resize_dimensions(ctx: Ctx, p: Dict[str, Any]):
    p = p or {}
    sheet, dim, start, end, count = ctx.dim_range(p.get("dimensions"))
    calc = Calc(ctx.ss)
    sizes: Dict[int, int] = {}
    for r, row in sheet.rows.items():
        for c, cell in row.items():
            idx = c if dim == "COLUMNS" else r
            if not (start <= idx < end) or not cell.has_value():
                continue
            text = calc.formatted(sheet, r, c, cell) or ""
            size = ((cell.fmt or {}).get("textFormat") or {}).get("fontSize") or 10
            if dim == "COLUMNS":
                px = text_width_px(str(text), size)
            else:
                px = max(DEFAULT_ROW_PX, int(round(size * 1.7 * (str(text).count("\n") + 1) + 4)))
            sizes[idx] = max(sizes.get(idx, 0), px)
    meta = sheet.col_meta if dim == "COLUMNS" else sheet.row_meta
    for idx, px in sizes.items():
        m = dict(meta.get(idx) or {})
        m["pixelSize"] = px
        meta[idx] = m
    return None


def h_add_conditional_format_rule(ctx: Ctx, p: Dict[str, Any]):
    p = p or {}
    rule = strip_nulls(copy.deepcopy(p.get("rule") or {}))
    ranges = rule.get("ranges") or []
    if not ranges:
        raise ReqError("At least one range must be specified.")
    if not rule.get("booleanRule") and not rule.get("gradientRule"):
        raise ReqError("Either booleanRule or gradientRule must be specified.")
    sheet = None
    for gr in ranges:
        s, *_ = ctx.box(gr)
        if sheet is not None and s is not sheet:
            raise ReqError("All ranges must be on the same sheet.")
        sheet = s
    index = p.get("index") or 0
    index = max(0, min(index, len(sheet.cond)))
    sheet.cond.insert(index, rule)
    return None


def h_update_conditional_format_rule(ctx: Ctx, p: Dict[str, Any]):
    p = p or {}
    sheet = ctx.sheet(p.get("sheetId") if p.get("sheetId") is not None else
                      ((((p.get("rule") or {}).get("ranges") or [{}])[0]).get("sheetId")))
    index = p.get("index") or 0
    if not 0 <= index < len(sheet.cond):
        raise ReqError(f"No conditional format on sheet: {sheet.sheet_id} at index: {index}")
    old = sheet.cond[index]
    if p.get("rule") is not None:
        new = strip_nulls(copy.deepcopy(p["rule"]))
        sheet.cond[index] = new
        return {"updateConditionalFormatRule": {"newRule": cond_format_json(new), "oldRule": cond_format_json(old),
                                                "newIndex": index, "oldIndex": index}}
    new_index = p.get("newIndex") or 0
    sheet.cond.pop(index)
    sheet.cond.insert(new_index, old)
    return {"updateConditionalFormatRule": {"newRule": cond_format_json(old), "newIndex": new_index,
                                            "oldIndex": index}}


def h_delete_conditional_format_rule(ctx: Ctx, p: Dict[str, Any]):
    p = p or {}
    sheet = ctx.sheet(p.get("sheetId"))
    index = p.get("index") or 0
    if not 0 <= index < len(sheet.cond):
        raise ReqError(f"No conditional format on sheet: {sheet.sheet_id} at index: {index}")
    rule = sheet.cond.pop(index)
    return {"deleteConditionalFormatRule": {"rule": cond_format_json(rule)}}


def _all_chart_ids(ss: Spreadsheet) -> List[int]:
    return [ch["chartId"] for s in ss.sheets for ch in s.charts]


def h_add_chart(ctx: Ctx, p: Dict[str, Any]):
    chart = strip_nulls(copy.deepcopy((p or {}).get("chart") or {}))
    ss = ctx.ss
    if not chart.get("spec"):
        raise ReqError("chart.spec must be specified")
    taken = _all_chart_ids(ss) + [s.sheet_id for s in ss.sheets]
    cid = chart.get("chartId")
    if cid is None:
        cid = ctx.state.new_int_id(taken)
    elif cid in taken:
        raise ReqError(f"An object with id {cid} already exists.")
    chart["chartId"] = cid
    pos = chart.get("position") or {"newSheet": True}
    if pos.get("overlayPosition"):
        ov = pos["overlayPosition"]
        anchor = ov.get("anchorCell") or {}
        host = ctx.sheet(anchor.get("sheetId"))
        ov.setdefault("widthPixels", 600)
        ov.setdefault("heightPixels", 371)
        anchor.setdefault("rowIndex", 0)
        anchor.setdefault("columnIndex", 0)
        if not anchor.get("sheetId"):
            anchor.pop("sheetId", None)
        ov["anchorCell"] = anchor
    elif pos.get("sheetId") is not None:
        host = ctx.sheet(pos["sheetId"])
    else:
        n = 1
        while _title_taken(ss, f"Chart{n}"):
            n += 1
        host = Sheet({"sheetId": ctx.state.new_int_id(taken + [cid]), "title": f"Chart{n}", "index": 0,
                      "sheetType": "OBJECT"})
        ss.sheets.append(host)
        ss.reindex()
        pos = {"sheetId": host.sheet_id}
    chart["position"] = pos
    host.charts.append(chart)
    return {"addChart": {"chart": copy.deepcopy(chart)}}


def _find_chart(ss: Spreadsheet, cid: Any):
    for s in ss.sheets:
        for ch in s.charts:
            if ch["chartId"] == cid:
                return s, ch
    return None, None


def h_update_chart_spec(ctx: Ctx, p: Dict[str, Any]):
    p = p or {}
    _, ch = _find_chart(ctx.ss, p.get("chartId"))
    if ch is None:
        raise ReqError(f"No chart with id: {p.get('chartId')}")
    ch["spec"] = strip_nulls(copy.deepcopy(p.get("spec") or {}))
    return None


def h_delete_embedded_object(ctx: Ctx, p: Dict[str, Any]):
    oid = (p or {}).get("objectId")
    s, ch = _find_chart(ctx.ss, oid)
    if ch is None:
        raise ReqError(f"No object with id: {oid}")
    s.charts.remove(ch)
    if s.props.get("sheetType") == "OBJECT" and not s.charts and len(ctx.ss.sheets) > 1:
        ctx.ss.sheets.remove(s)
        ctx.ss.reindex()
    return None


def h_merge_cells(ctx: Ctx, p: Dict[str, Any]):
    p = p or {}
    gr = p.get("range") or {}
    sheet, r0, r1, c0, c1 = ctx.box(gr)
    kind = p.get("mergeType") or "MERGE_ALL"
    boxes = []
    if kind == "MERGE_ALL":
        boxes = [(r0, r1, c0, c1)]
    elif kind == "MERGE_COLUMNS":
        boxes = [(r0, r1, c, c + 1) for c in range(c0, c1)]
    elif kind == "MERGE_ROWS":
        boxes = [(r, r + 1, c0, c1) for r in range(r0, r1)]
    else:
        raise ReqError(f"Unknown mergeType: {kind}")
    for br0, br1, bc0, bc1 in boxes:
        if (br1 - br0) * (bc1 - bc0) <= 1:
            continue
        for m in sheet.merges:
            if not (br1 <= m.get("startRowIndex", 0) or br0 >= m.get("endRowIndex", 0)
                    or bc1 <= m.get("startColumnIndex", 0) or bc0 >= m.get("endColumnIndex", 0)):
                raise ReqError("You can't merge cells that overlap an existing merge.")
        sheet.merges.append({"sheetId": sheet.sheet_id, "startRowIndex": br0, "endRowIndex": br1,
                             "startColumnIndex": bc0, "endColumnIndex": bc1})
    return None


def h_unmerge_cells(ctx: Ctx, p: Dict[str, Any]):
    sheet, r0, r1, c0, c1 = ctx.box((p or {}).get("range"))
    sheet.merges = [m for m in sheet.merges
                    if r1 <= m.get("startRowIndex", 0) or r0 >= m.get("endRowIndex", 0)
                    or c1 <= m.get("startColumnIndex", 0) or c0 >= m.get("endColumnIndex", 0)]
    return None


def h_add_named_range(ctx: Ctx, p: Dict[str, Any]):
    nr = strip_nulls(copy.deepcopy((p or {}).get("namedRange") or {}))
    name = nr.get("name")
    if not name:
        raise ReqError("Named range name must be specified.")
    if any(n.get("name", "").lower() == name.lower() for n in ctx.ss.named_ranges):
        raise ReqError(f"A named range with the name \"{name}\" already exists.")
    ctx.box(nr.get("range"))
    nr.setdefault("namedRangeId", str(ctx.state.new_int_id()))
    ctx.ss.named_ranges.append(nr)
    return {"addNamedRange": {"namedRange": dict(nr, range=grid_range_json(nr.get("range") or {}))}}


def h_delete_named_range(ctx: Ctx, p: Dict[str, Any]):
    nid = (p or {}).get("namedRangeId")
    before = len(ctx.ss.named_ranges)
    ctx.ss.named_ranges = [n for n in ctx.ss.named_ranges if n.get("namedRangeId") != nid]
    if len(ctx.ss.named_ranges) == before:
        raise ReqError(f"No named range with id: {nid}")
    return None


def h_update_named_range(ctx: Ctx, p: Dict[str, Any]):
    p = p or {}
    nr_in = p.get("namedRange") or {}
    nr = next((n for n in ctx.ss.named_ranges if n.get("namedRangeId") == nr_in.get("namedRangeId")), None)
    if nr is None:
        raise ReqError(f"No named range with id: {nr_in.get('namedRangeId')}")
    for path in _leaves(_mask(p.get("fields"), "fields")):
        if path[0] == "*":
            nr.update({k: v for k, v in nr_in.items() if v is not None})
            continue
        present, value = _get_path(nr_in, path)
        _set_path(nr, path, present, value)
    return None


def h_set_basic_filter(ctx: Ctx, p: Dict[str, Any]):
    flt = strip_nulls(copy.deepcopy((p or {}).get("filter") or {}))
    sheet, *_ = ctx.box(flt.get("range"))
    sheet.basic_filter = flt
    return None


def h_clear_basic_filter(ctx: Ctx, p: Dict[str, Any]):
    ctx.sheet((p or {}).get("sheetId")).basic_filter = None
    return None


def h_update_borders(ctx: Ctx, p: Dict[str, Any]):
    p = p or {}
    sheet, r0, r1, c0, c1 = ctx.box(p.get("range"))
    for r in range(r0, r1):
        for c in range(c0, c1):
            sides = {}
            if r == r0 and p.get("top"):
                sides["top"] = p["top"]
            if r == r1 - 1 and p.get("bottom"):
                sides["bottom"] = p["bottom"]
            if c == c0 and p.get("left"):
                sides["left"] = p["left"]
            if c == c1 - 1 and p.get("right"):
                sides["right"] = p["right"]
            if r < r1 - 1 and p.get("innerHorizontal"):
                sides["bottom"] = p["innerHorizontal"]
            if r > r0 and p.get("innerHorizontal"):
                sides["top"] = p["innerHorizontal"]
            if c < c1 - 1 and p.get("innerVertical"):
                sides["right"] = p["innerVertical"]
            if c > c0 and p.get("innerVertical"):
                sides["left"] = p["innerVertical"]
            if not sides:
                continue
            cell = sheet.ensure(r, c)
            fmt = copy.deepcopy(cell.fmt or {})
            borders = fmt.setdefault("borders", {})
            for k, v in sides.items():
                if v.get("style") == "NONE":
                    borders.pop(k, None)
                else:
                    borders[k] = strip_nulls(copy.deepcopy(v))
            if not borders:
                fmt.pop("borders")
            cell.fmt = fmt or None
            sheet.tidy(r, c)
    return None


def h_sort_range(ctx: Ctx, p: Dict[str, Any]):
    p = p or {}
    sheet, r0, r1, c0, c1 = ctx.box(p.get("range"))
    specs = p.get("sortSpecs") or [{"dimensionIndex": c0, "sortOrder": "ASCENDING"}]
    calc = Calc(ctx.ss)
    rows = []
    for r in range(r0, r1):
        row = sheet.rows.get(r) or {}
        rows.append((r, {c: row[c] for c in range(c0, c1) if c in row}))

    def key_for(item, idx):
        r, cells = item
        cell = cells.get(idx)
        v = calc.effective(sheet, r, idx, cell) if cell is not None else None
        if v is None:
            return (3, 0)
        if is_number(v):
            return (0, v)
        if isinstance(v, bool):
            return (2, v)
        return (1, str(v).lower())

    for spec in reversed(specs):
        idx = spec.get("dimensionIndex", c0)
        desc = spec.get("sortOrder") == "DESCENDING"
        blanks = [item for item in rows if key_for(item, idx)[0] == 3]
        filled = [item for item in rows if key_for(item, idx)[0] != 3]
        filled.sort(key=lambda item: key_for(item, idx), reverse=desc)
        rows = filled + blanks
    for i, (_, cells) in enumerate(rows):
        r = r0 + i
        row = sheet.rows.get(r)
        if row is not None:
            for c in range(c0, c1):
                row.pop(c, None)
        if cells:
            sheet.rows.setdefault(r, {}).update(cells)
        if r in sheet.rows and not sheet.rows[r]:
            del sheet.rows[r]
    return None


def h_find_replace(ctx: Ctx, p: Dict[str, Any]):
    import re as _re
    p = p or {}
    find = p.get("find")
    if not find:
        raise ReqError("find must be specified")
    repl = p.get("replacement") or ""
    flags = 0 if p.get("matchCase") else _re.I
    pattern = find if p.get("searchByRegex") else _re.escape(find)
    if p.get("matchEntireCell"):
        pattern = f"^(?:{pattern})$"
    try:
        rx = _re.compile(pattern, flags)
    except _re.error as e:
        raise ReqError(f"Invalid regular expression: {e}")
    if p.get("range"):
        sheet, r0, r1, c0, c1 = ctx.box(p["range"])
        targets = [(sheet, r0, r1, c0, c1)]
    elif p.get("allSheets"):
        targets = [(s, 0, s.row_count, 0, s.col_count) for s in ctx.ss.sheets if s.props.get("sheetType", "GRID") == "GRID"]
    else:
        s = ctx.sheet(p.get("sheetId"))
        targets = [(s, 0, s.row_count, 0, s.col_count)]
    values = occ = 0
    rows_changed, sheets_changed, formulas = set(), set(), 0
    for sheet, r0, r1, c0, c1 in targets:
        for r, c, cell in list(sheet.cells_in(r0, r1, c0, c1)):
            if cell.formula is not None and p.get("includeFormulas"):
                new, n = rx.subn(repl, cell.formula)
                if n:
                    cell.formula = new
                    formulas += 1
            elif isinstance(cell.value, str):
                new, n = rx.subn(repl, cell.value)
                if n:
                    cell.value = new or None
                    sheet.tidy(r, c)
                else:
                    continue
            else:
                continue
            values += 1
            occ += n
            rows_changed.add((sheet.sheet_id, r))
            sheets_changed.add(sheet.sheet_id)
    out: Dict[str, Any] = {}
    if values:
        out = {"valuesChanged": values, "occurrencesChanged": occ, "rowsChanged": len(rows_changed),
               "sheetsChanged": len(sheets_changed)}
        if formulas:
            out["formulasChanged"] = formulas
    return {"findReplace": out}


def h_delete_range(ctx: Ctx, p: Dict[str, Any]):
    p = p or {}
    sheet, r0, r1, c0, c1 = ctx.box(p.get("range"))
    dim = p.get("shiftDimension")
    if dim not in ("ROWS", "COLUMNS"):
        raise ReqError("shiftDimension must be ROWS or COLUMNS")
    if dim == "ROWS":
        n = r1 - r0
        new_rows: Dict[int, Dict[int, Cell]] = {}
        for r, row in sheet.rows.items():
            for c, cell in row.items():
                if c0 <= c < c1:
                    if r0 <= r < r1:
                        continue
                    nr = r - n if r >= r1 else r
                else:
                    nr = r
                new_rows.setdefault(nr, {})[c] = cell
        sheet.rows = new_rows
    else:
        n = c1 - c0
        for r, row in list(sheet.rows.items()):
            if not r0 <= r < r1:
                continue
            new_row = {}
            for c, cell in row.items():
                if c0 <= c < c1:
                    continue
                new_row[c - n if c >= c1 else c] = cell
            sheet.rows[r] = new_row
            if not new_row:
                del sheet.rows[r]
    return None


HANDLERS: Dict[str, Callable[[Ctx, Dict[str, Any]], Any]] = {
    "addSheet": h_add_sheet,
    "deleteSheet": h_delete_sheet,
    "duplicateSheet": h_duplicate_sheet,
    "updateSheetProperties": h_update_sheet_properties,
    "updateSpreadsheetProperties": h_update_spreadsheet_properties,
    "setDataValidation": h_set_data_validation,
    "addProtectedRange": h_add_protected_range,
    "updateProtectedRange": h_update_protected_range,
    "deleteProtectedRange": h_delete_protected_range,
    "repeatCell": h_repeat_cell,
    "updateCells": h_update_cells,
    "appendCells": h_append_cells,
    "insertDimension": h_insert_dimension,
    "deleteDimension": h_delete_dimension,
    "appendDimension": h_append_dimension,
    "moveDimension": h_move_dimension,
    "updateDimensionProperties": h_update_dimension_properties,
    "autoResizeDimensions": h_auto_resize_dimensions,
    "addConditionalFormatRule": h_add_conditional_format_rule,
    "updateConditionalFormatRule": h_update_conditional_format_rule,
    "deleteConditionalFormatRule": h_delete_conditional_format_rule,
    "addChart": h_add_chart,
    "updateChartSpec": h_update_chart_spec,
    "deleteEmbeddedObject": h_delete_embedded_object,
    "mergeCells": h_merge_cells,
    "unmergeCells": h_unmerge_cells,
    "addNamedRange": h_add_named_range,
    "deleteNamedRange": h_delete_named_range,
    "updateNamedRange": h_update_named_range,
    "setBasicFilter": h_set_basic_filter,
    "clearBasicFilter": h_clear_basic_filter,
    "updateBorders": h_update_borders,
    "sortRange": h_sort_range,
    "findReplace": h_find_replace,
    "deleteRange": h_delete_range,
}


def batch_update(state: State, sid: str, body: Any, params) -> Dict[str, Any]:
    ss = lookup(state, sid)
    body = _body_dict(body)
    requests = body.get("requests")
    if requests is None or requests == []:
        raise invalid("Must specify at least one request.")
    if not isinstance(requests, list):
        raise invalid_value("requests", requests, "type.googleapis.com/google.apps.sheets.v4.Request")
    work = ss.clone(lazy=True)
    ctx = Ctx(state, work)
    replies: List[Dict[str, Any]] = []
    for i, req in enumerate(requests):
        if not isinstance(req, dict):
            raise invalid_value(f"requests[{i}]", req, "type.googleapis.com/google.apps.sheets.v4.Request")
        kinds = [k for k, v in req.items() if v is not None]
        if not kinds:
            raise invalid(f"Invalid requests[{i}]: No request set.")
        for k in kinds:
            if k not in HANDLERS and k not in KNOWN_UNSUPPORTED:
                raise unknown_field(k, f"requests[{i}]")
        if len(kinds) > 1:
            raise invalid(f"Invalid requests[{i}]: Only one request kind may be set per request "
                          f"(found {', '.join(kinds)}).")
        kind = kinds[0]
        handler = HANDLERS.get(kind)
        if handler is None:
            raise invalid(f"Invalid requests[{i}].{kind}: this request kind is not supported by the "
                          f"local Google Sheets emulator.")
        payload = req[kind]
        if not isinstance(payload, dict):
            raise invalid_value(f"requests[{i}].{kind}", payload,
                                f"type.googleapis.com/google.apps.sheets.v4.{kind[0].upper()}{kind[1:]}Request")
        try:
            reply = handler(ctx, payload)
        except ReqError as e:
            raise invalid(f"Invalid requests[{i}].{kind}: {e}")
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            raise invalid(f"Invalid requests[{i}].{kind}: {e}")
        replies.append(reply or {})
    # commit
    for sheet in work.sheets:
        sheet.finalize()
    state.spreadsheets[ss.id] = work
    f = state.files.get(ss.id)
    if f is not None and f.name != work.title:
        f.name = work.title
    state.touch(ss.id)
    out: Dict[str, Any] = {"spreadsheetId": ss.id, "replies": replies}
    if body.get("includeSpreadsheetInResponse"):
        out["updatedSpreadsheet"] = spreadsheet_json(state, work, bool(body.get("responseIncludeGridData")),
                                                     body.get("responseRanges") or None)
    return out

