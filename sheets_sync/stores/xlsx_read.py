"""Reading .xlsx cell values fast: python-calamine (Rust) instead of openpyxl.

calamine returns some cells differently from openpyxl's read-only reader, which
the rest of the worker was built on; `grid()` maps them back so that the verdicts
are the same whichever reader ran (tests/test_xlsx_readers.py compares both):

    calamine                      openpyxl (what the worker expects)
    whole numbers as 5.0          5 (int)
    a date cell as date           datetime at midnight
    empty cells as ''             None
    error cells (#N/A) as ''      the error text '#N/A'  (read from the sheet XML)

Error cells are rare: the sheet XML is streamed through once looking for `t="e"`
(a byte search, no XML parse), and only the few places found are matched.
`validate FILE` starts calamine's parse early, in a thread (`Parsing`; it releases the
GIL), and loads pandas meanwhile: numpy and pandas are imported here only when a big
tab is mapped.
"""
from __future__ import annotations

import datetime as dt
import posixpath
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from xml.sax.saxutils import unescape

import python_calamine

_EMPTY = ()
_ERROR_CELL = re.compile(rb'<c\b[^>]*?\br="([A-Z]{1,3})(\d{1,7})"[^>]*?\bt="e"[^>]*>(?:(?!</c>).){0,200}?<v>([^<]{1,40})</v>',
                         re.S)
_ERROR_CELL_T_FIRST = re.compile(rb'<c\b[^>]*?\bt="e"[^>]*?\br="([A-Z]{1,3})(\d{1,7})"[^>]*>(?:(?!</c>).){0,200}?<v>([^<]{1,40})</v>',
                                 re.S)


class ReadError(Exception):
    """The workbook cannot be read (corrupt, encrypted, not .xlsx); `kind` names
    calamine's error (PasswordError, ZipError, XmlError...)."""

    def __init__(self, message: str, kind: str = ""):
        super().__init__(message)
        self.kind = kind


class Parsing:
    """A workbook being read in the background: `check()` (the limits) and then calamine
    parse the tabs `keep(title)` accepts (None: all) in a thread (it releases the GIL). `result()` scans the sheet
    XML for error cells in the caller's thread, which has nothing else to do by then
    (on two cores, a third busy thread beside the import and the parse slowed both),
    and waits for the parse; a failure is raised there."""

    def __init__(self, path, keep=None, check=None):
        self._path, self._keep = path, keep
        pool = ThreadPoolExecutor(1, thread_name_prefix="xlsx-read")
        self._parsed = pool.submit(_checked_parse, str(path), keep, check)
        pool.shutdown(wait=False)   # the thread ends with its task

    def result(self):
        """(calamine workbook, {title: parsed sheet}, {title: {(row, col): error text}})."""
        errors = _error_cells(self._path, self._keep)
        return (*self._parsed.result(), errors)


def _checked_parse(path: str, keep, check):
    if check is not None:   # the limits first: calamine aborts the process on some files
        check()
    return _parse(path, keep)


def _parse(path: str, keep):
    book = python_calamine.CalamineWorkbook.from_path(path)
    try:
        return book, {n: book.get_sheet_by_name(n) for n in book.sheet_names if keep is None or keep(n)}
    except BaseException:
        book.close()
        raise


def _parse_and_scan(path, keep):
    book, sheets = _parse(str(path), keep)
    try:
        return book, sheets, _error_cells(path, keep)
    except BaseException:
        book.close()
        raise


def read_grids(path, only: str | None = None, wanted=None, merges: dict | None = None,
               ahead: Parsing | None = None, columnar: bool = False) -> dict[str, list[list]]:
    """Every tab's cell values (formulas as their last computed value), as openpyxl's
    read-only reader gives them: rows as lists, blank rows as (), trailing blank rows cut.
    `merges`, if given, receives {tab: merged ranges (first row, first col, last row,
    last col), 1-based} of the tabs read. `ahead`: this file's Parsing, started earlier
    by the caller (of at least the tabs wanted). columnar=True: a big tab comes as a
    layout.ColumnGrid (the same cells, no list per row)."""
    def keep(name):
        return (only is None or name == only) and (wanted is None or wanted(name))
    try:
        # without `ahead`, in this thread: the cycle reads many small workbooks, and a
        # thread's own malloc arena would keep its pages (peak RSS is a goal there)
        book, sheets, errors = ahead.result() if ahead else _parse_and_scan(path, keep)
    except Exception as e:  # noqa: BLE001 - calamine's errors are many; the caller reports one
        from sheets_sync.stores import StoreError   # here: pandas is loaded while the parse runs
        if isinstance(e, StoreError):   # the check's refusal (check_package), as it is
            raise
        raise ReadError(str(e), type(e).__name__) from e
    try:
        out = {}
        for name in list(sheets):
            sheet = sheets.pop(name)
            if not keep(name):
                continue
            rows = sheet.to_python(skip_empty_area=False)
            if merges is not None:
                merges[name] = _ranges(sheet.merged_cell_ranges or [])
            del sheet   # calamine's own copy of the cells (~90 MB at 300,000 rows) goes before they are mapped
            grid = _column_grid(rows, errors.get(name, {})) if columnar else None
            out[name] = grid if grid is not None else _grid(rows, errors.get(name, {}))
        return out
    except Exception as e:  # noqa: BLE001
        raise ReadError(str(e), type(e).__name__) from e
    finally:
        book.close()


def merged_ranges(path, title: str) -> list[tuple[int, int, int, int]]:
    """Merged ranges of one tab as (first row, first col, last row, last col), 1-based."""
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        ranges = book.get_sheet_by_name(title).merged_cell_ranges or []
    finally:
        book.close()
    return _ranges(ranges)


def _ranges(ranges) -> list[tuple[int, int, int, int]]:
    return [(r0 + 1, c0 + 1, r1 + 1, c1 + 1) for (r0, c0), (r1, c1) in ranges]


_MERGE_CELL = re.compile(rb'<mergeCell\b[^>]{0,200}?\bref="([A-Z]{1,3})(\d{1,7}):([A-Z]{1,3})(\d{1,7})"')


def merged_ranges_xml(path, names) -> dict[str, list[tuple[int, int, int, int]]]:
    """{tab: merged ranges} read from the sheet XML itself (openpyxl's read-only
    reader does not give them): the <mergeCells> block follows the cell data, so
    only the text after its last cell is searched (linear, once)."""
    out = {}
    try:
        with zipfile.ZipFile(path) as z:
            parts = sheet_parts(z)
            for name in names:
                part = parts.get(name)
                if part is None:
                    continue
                xml = z.read(part)
                start = xml.rfind(b"</sheetData>")
                out[name] = [(int(r0), _col_number(c0.decode()), int(r1), _col_number(c1.decode()))
                             for c0, r0, c1, r1 in _MERGE_CELL.findall(xml, max(start, 0))]
    except (zipfile.BadZipFile, KeyError, OSError):
        return {}
    return out


COLUMNAR_FROM_ROWS = 2_000   # below this the plain loop is cheaper than numpy's fixed costs


def _grid(rows: list[list], errors: dict[tuple[int, int], str]) -> list:
    """calamine's rows (a rectangle, '' for empty) as openpyxl gives them: values mapped,
    each row cut after its last cell, blank rows as (), trailing blank rows cut; the
    error cells put in. A big tab is mapped column at a time (the same result:
    tests/test_xlsx_readers.py holds the two together)."""
    out = _mapped_rows(rows) if len(rows) < COLUMNAR_FROM_ROWS else _mapped_columns(rows)
    if out is None:   # not a rectangle (never seen from calamine): the plain loop copes
        out = _mapped_rows(rows)
    last = len(out)
    while last and out[last - 1] is _EMPTY:
        last -= 1
    for (r, c), text in errors.items():
        if r > len(out):
            out.extend([_EMPTY] * (r - len(out)))
        row = list(out[r - 1])
        row.extend([None] * (c - len(row)))
        row[c - 1] = text
        out[r - 1] = row
        last = max(last, r)
    return out[:last]


def _mapped_rows(rows: list[list]) -> list:
    out = []
    for row in rows:
        if any(v != "" for v in row):
            end = len(row)
            while row[end - 1] == "":     # openpyxl's rows end at their last cell
                end -= 1
            out.append([_value(v) for v in row[:end]])
        else:
            out.append(_EMPTY)
    return out


def _mapped_columns(rows: list[list]) -> list | None:
    """_mapped_rows without a Python call per cell: the rectangle mapped at once
    (_mapped_array), the rows that end at the same column cut together. None when the
    rows are not a rectangle."""
    import numpy as np

    got = _mapped_array(rows)
    if got is None:
        return None
    arr, ends = got
    out: list = [_EMPTY] * len(rows)
    for end in np.unique(ends).tolist():   # rows ending at the same column: one tolist
        if end == 0:
            continue
        at = np.flatnonzero(ends == end)
        if len(at) == len(rows):
            return arr[:, :end].tolist()
        for i, row in zip(at.tolist(), arr[at, :end].tolist()):
            out[i] = row
    return out


def _column_grid(rows: list[list], errors: dict[tuple[int, int], str]):
    """A big tab as a layout.ColumnGrid (for `validate FILE`): the mapped rectangle's
    columns with the error cells put in and trailing blank rows cut, never a Python
    list per row; its extent counted as openpyxl's rows would be. None where the row
    grid must be built (a small tab, not a rectangle, an error cell outside it)."""
    if len(rows) < COLUMNAR_FROM_ROWS:
        return None
    got = _mapped_array(rows)
    if got is None or any(r > len(rows) or c > len(rows[0]) for r, c in errors):
        return None
    arr, ends = got
    for (r, c), text in errors.items():
        arr[r - 1, c - 1] = text
        ends[r - 1] = max(ends[r - 1], c)
    filled = ends.nonzero()[0]
    last = int(filled[-1]) + 1 if len(filled) else 0
    from sheets_sync.validate.layout import ColumnGrid
    return ColumnGrid(list(arr[:last].T.copy()), extent=(int(ends.max(initial=0)), int(ends.sum())))


def _mapped_array(rows: list[list]):
    """(The rectangle as one object array, each mapping of _value done on the cells of
    its type at once; each row's end: its last non-empty column, 0 when blank), or None
    when the rows are not a rectangle."""
    import numpy as np   # here: `validate FILE` starts the parse before pandas is loaded
    import pandas as pd

    from sheets_sync.validate.fields import types_of

    width = len(rows[0])
    if width == 0 or len(set(map(len, rows))) != 1:
        return None
    arr = np.empty((len(rows), width), dtype=object)
    arr[:] = rows
    empty = arr == ""
    types = types_of(arr)
    floats = np.flatnonzero((types == float).ravel())
    if len(floats):
        flat = arr.reshape(-1)
        nums = flat[floats].astype(float)
        whole = np.isfinite(nums) & (nums == np.floor(nums)) & (np.abs(nums) < 2 ** 53)
        flat[floats[whole]] = nums[whole].astype(np.int64).tolist()
    dates = types == dt.date
    if dates.any():   # a date column repeats its dates: each distinct one mapped once
        ids, uniq = pd.factorize(arr[dates])
        arr[dates] = np.array([dt.datetime(d.year, d.month, d.day) for d in uniq.tolist()], dtype=object)[ids]
    arr[empty] = None
    filled = ~empty
    return arr, np.where(filled.any(axis=1), width - np.argmax(filled[:, ::-1], axis=1), 0)


def _value(v):
    if v == "":
        return None
    if isinstance(v, float) and v.is_integer() and abs(v) < 2 ** 53:
        return int(v)
    if type(v) is dt.date:
        return dt.datetime(v.year, v.month, v.day)
    return v


# ------------------------------------------------------------------ error cells
def _error_cells(path, keep=None) -> dict[str, dict[tuple[int, int], str]]:
    """{tab: {(row, col): '#N/A'}} for the tabs `keep(title)` accepts (None: all) whose
    XML holds error cells."""
    try:
        with zipfile.ZipFile(path) as z:
            out = {}
            for name, part in sheet_parts(z).items():
                if keep is None or keep(name):
                    found = _errors_streamed(z, part)
                    if found:
                        out[name] = found
            return out
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, RuntimeError, ValueError):
        return {}   # calamine's parse reports the broken file


_CHUNK = 1 << 22
# bytes kept on both sides of a chunk's end: an error cell's tag around its t="e", plus
# the at most ~300 bytes up to its </v>, fit in this
_TAIL = 4096


def _errors_streamed(z: zipfile.ZipFile, part: str) -> dict[tuple[int, int], str]:
    """The error cells of one sheet XML, read a chunk at a time (a 300,000-row tab's XML
    is ~130 MB unpacked): each t="e" is looked at once, with _TAIL bytes around it."""
    found: dict = {}
    carry, seen = b"", 0    # seen: positions of `carry` below it were looked at
    with z.open(part) as f:
        while True:
            chunk = f.read(_CHUNK)
            buf = carry + chunk
            limit = len(buf) - _TAIL if chunk else len(buf)
            if limit > seen:
                _errors_in(buf, seen, limit, found)
            if not chunk:
                return found
            done = max(limit, seen)
            cut = max(0, done - _TAIL)
            carry, seen = buf[cut:], done - cut


def _errors_in(xml: bytes, start: int = 0, end: int | None = None, found: dict | None = None) -> dict:
    """The error cells of a sheet XML whose t="e" lies in [start, end). Only the few
    places holding t="e" are looked at (bytes.find), each matched from the start of its
    own <c> tag: running the patterns over every cell of a 300,000-row tab took seconds
    for a handful of #N/A."""
    found = {} if found is None else found
    end = len(xml) if end is None else min(len(xml), end + 4)   # a t="e" starting before `end`
    pos = xml.find(b't="e"', start, end)
    while pos != -1:
        cell = _cell_start(xml, pos)
        m = None if cell < 0 else (_ERROR_CELL.match(xml, cell) or _ERROR_CELL_T_FIRST.match(xml, cell))
        if m:
            found[(int(m.group(2)), _col_number(m.group(1).decode()))] = unescape(m.group(3).decode())
        pos = xml.find(b't="e"', pos + 5, end)
    return found


def _cell_start(xml: bytes, pos: int) -> int:
    """Position of the '<c' that opens the tag around `pos`, or -1 (not inside a <c> tag)."""
    start = xml.rfind(b"<", 0, pos)
    if start < 0 or xml[start + 1:start + 2] != b"c" or xml[start + 2:start + 3] not in b" \t\r\n":
        return -1
    return start


_SHEET = re.compile(rb'<sheet\b[^>]*?\bname="([^"]*)"[^>]*?\br:id="([^"]*)"')
_SHEET_ID_FIRST = re.compile(rb'<sheet\b[^>]*?\br:id="([^"]*)"[^>]*?\bname="([^"]*)"')
_REL = re.compile(rb'<Relationship\b[^>]*?\bId="([^"]*)"[^>]*?\bTarget="([^"]*)"')
_REL_TARGET_FIRST = re.compile(rb'<Relationship\b[^>]*?\bTarget="([^"]*)"[^>]*?\bId="([^"]*)"')


def sheet_parts(z: zipfile.ZipFile) -> dict[str, str]:
    """Tab name -> path of its XML part inside the zip."""
    book = z.read("xl/workbook.xml")
    rels = z.read("xl/_rels/workbook.xml.rels")
    targets = {i.decode(): t.decode() for i, t in _REL.findall(rels)}
    targets.update({i.decode(): t.decode() for t, i in _REL_TARGET_FIRST.findall(rels)})
    sheets = {unescape(n.decode()): r.decode() for n, r in _SHEET.findall(book)}
    sheets.update({unescape(n.decode()): r.decode() for r, n in _SHEET_ID_FIRST.findall(book)})
    out = {}
    for name, rid in sheets.items():
        target = targets.get(rid)
        if target:
            out[name] = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
    return out


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n
