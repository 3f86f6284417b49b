"""Find a form inside a grid of cell values, whatever backend the grid came from.

A grid is a list of rows (lists of raw values) as a tab holds them, row 1 first.
The header row is found by its texts (a title row above it is fine), the status
columns (Status | Keterangan | Diperiksa) sit to the right of the form, and the
data rows below become a DataFrame indexed by the sheet's own row numbers.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sheets_sync import codes

from sheets_sync.validate.fields import as_text, is_blank, types_of
from sheets_sync.forms import Form, FormSet, norm_header

HEADER_SCAN_ROWS = 30
STATUS_KEYS = ("status", "message", "checked")


@dataclass
class Problem:
    """A workbook-level problem (codes.WORKBOOK_CODES) shown in the Rekap."""
    code: str
    params: dict = field(default_factory=dict)

    def text(self) -> str:
        """The Indonesian text staff read: the one place a Problem becomes words."""
        return codes.render(self.code, **self.params)


@dataclass
class SheetData:
    form: str
    title: str                    # the tab's name
    header_row: int               # 1-based
    columns: dict[str, int]       # column key -> 1-based column number
    status_columns: dict[str, int]  # status/message/checked -> 1-based column number
    frame: pd.DataFrame           # raw input values; index = sheet row numbers
    current: pd.DataFrame         # status/message/checked as the sheet shows them now
    content_hash: str = ""
    status_header_now: dict = field(default_factory=dict)  # key -> header cell value now
    filled: dict = field(default_factory=dict)   # (row, col) -> value a merged cell gave it
    above: tuple | None = None    # (row, col, value now) of the cell above the Status header
    problems: list = field(default_factory=list)   # found beside the tab's rows, not instead of them


class ColumnGrid:
    """A tab held column at a time: equal-length Arrow string arrays, every cell text
    ('' when empty), as a CSV read by Arrow gives them, or object arrays of cell values
    (None when empty), as a big .xlsx tab is mapped. Indexing gives rows as lists, as a
    grid of rows does (padded with the empty cells), for the few rows the header search
    reads; the rows below the header are only ever taken column at a time (`below`).
    `extent`: (width, cells) as the rows of a row grid would count them."""

    def __init__(self, columns: list, extent: tuple[int, int] | None = None):
        self.columns = columns
        self._rows = len(columns[0]) if columns else 0
        self._below: dict[int, list] = {}
        self.extent = extent or (len(columns), len(columns) * self._rows)

    def __len__(self) -> int:
        return self._rows

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._rows))]
        j = i + self._rows if i < 0 else i
        if not 0 <= j < self._rows:
            raise IndexError(i)
        return [c[j] if isinstance(c, np.ndarray) else c[j].as_py() for c in self.columns]

    def __iter__(self):
        return (self[i] for i in range(self._rows))

    def below(self, header_row: int) -> list:
        """The _Cells of every column for the rows below `header_row` (kept: the status
        column search and the data read the same cells)."""
        if header_row not in self._below:
            self._below[header_row] = [_Cells(c[header_row:]) if isinstance(c, np.ndarray)
                                       else _Cells.of_texts(c.slice(header_row)) for c in self.columns]
        return self._below[header_row]


def find_header(grid: list[list], form: Form) -> tuple[int, dict[str, int]] | None:
    """(header row, {key: column}) of the row matching most of the form's headers."""
    best = None
    for r, row in enumerate(grid[:HEADER_SCAN_ROWS], start=1):
        cols = {}
        for c, v in enumerate(row, start=1):
            if v is None or not isinstance(v, str) or len(v) > 200:
                continue
            n = norm_header(v)
            for col in form.columns:
                if col.key not in cols and n in col.names:
                    cols[col.key] = c
                    break
        if len(cols) >= 2 and (best is None or len(cols) > len(best[1])):
            best = (r, cols)
    return best


def locate_form(grid: list[list], form: Form, forms: FormSet, title: str, merges=(), filled=None,
                hashed: bool = True):
    """SheetData for the form in this grid, or a Problem saying why not. `merges`: the
    tab's merged ranges (first row, first col, last row, last col; 1-based), whose
    value is given to every row they cover in a data column; `filled`: such values
    found by an earlier read, put back (a write's answer holds only some rows).
    hashed=False leaves content_hash empty (`validate FILE` keeps no state: on
    300,000 rows the hash is a tenth of its run)."""
    found = find_header(grid, form)
    if found is None:
        missing = [c.header for c in form.columns if not c.header_optional]
        return Problem("HEADER_MISSING", {"tab": title, "kolom": ", ".join(missing)})
    header_row, cols = found
    missing = [c.header for c in form.columns if c.key not in cols and not c.header_optional]
    if missing:
        return Problem("HEADER_MISSING", {"tab": title, "kolom": ", ".join(missing)})
    placed = [cols[c.key] for c in form.columns if c.key in cols]
    if placed != sorted(placed):
        moved = [c.header for c, nxt in zip(form.columns, form.columns[1:])
                 if c.key in cols and nxt.key in cols and cols[c.key] > cols[nxt.key]]
        return Problem("HEADER_ORDER", {"tab": title, "kolom": ", ".join(moved)})
    status_cols = _status_columns(grid[header_row - 1], max(placed), forms,
                                  lambda: _free_from(grid, header_row, forms), set(placed))
    typed = {c for k, c in cols.items() if not form.column(k).prefilled}
    fills = merge_fills(grid, merges, header_row, set(cols.values()), typed) if merges else dict(filled or {})
    if fills:
        grid = with_fills(grid, fills)
    frame, current = _data(grid, header_row, cols, status_cols, form)
    header_now = {k: _cell(grid[header_row - 1], c) for k, c in status_cols.items()}
    return SheetData(form.key, title, header_row, cols, status_cols, frame, current,
                     content_hash(frame) if hashed else "", header_now, fills,
                     _above(grid, header_row, status_cols["status"]),
                     unknown_headers(grid, header_row, cols, status_cols, form, forms, title))


# An optional column (No HP, e-mail on the Pengguna Layanan form) whose header an OPD
# renamed is simply absent to find_header: its cells would be dropped without a word.
# A header the form does not know, over cells that look like that column's type, is
# reported. Only the first rows below the header are looked at: a renamed column shows
# itself at once, and a big tab must not pay for a check it nearly always passes.
UNKNOWN_SAMPLE_ROWS = 500
_PHONE_MARKS = re.compile(r"[\s+\-().]")
_JUDUL_CHARS = 60   # a header quoted in the Rekap and e-mails: a header, not a paragraph


def _phone_like(v) -> bool:
    """9-15 digits once spaces and + - ( ) . are taken out (or a whole number of them)."""
    if isinstance(v, bool):
        return False
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, int):
        v = str(abs(v))
    if not isinstance(v, str):
        return False
    digits = _PHONE_MARKS.sub("", v)
    return digits.isascii() and digits.isdigit() and 9 <= len(digits) <= 15


def _email_like(v) -> bool:
    return isinstance(v, str) and "@" in v


_LOOKS_LIKE = {"phone": _phone_like, "email": _email_like}


def unknown_headers(grid, header_row: int, cols: dict, status_cols: dict, form: Form, forms: FormSet,
                    title: str) -> list[Problem]:
    """HEADER_UNKNOWN for each optional column (not prefilled) that was not found while a
    header cell the form does not know sits over cells that mostly look like it."""
    wanted = [c for c in form.columns
              if c.header_optional and not c.prefilled and c.key not in cols and c.type in _LOOKS_LIKE]
    if not wanted:
        return []
    known = {n for c in form.columns for n in c.names} | {norm_header(h) for h in forms.status_headers.values()}
    taken = set(cols.values()) | set(status_cols.values())
    out = []
    for c, v in enumerate(grid[header_row - 1], start=1):
        if not wanted:
            break
        if c in taken or not isinstance(v, str) or is_blank(v) or norm_header(v) in known:
            continue
        cells = [x for x in _column_below(grid, header_row, c) if not is_blank(x)]
        col = next((w for w in wanted if _mostly(cells, _LOOKS_LIKE[w.type])), None)
        if col is not None:
            wanted.remove(col)
            out.append(Problem("HEADER_UNKNOWN", {"tab": title, "judul": _judul(v), "kolom": col.header}))
    return out


def _mostly(cells: list, looks_like) -> bool:
    """More than half of the filled cells look like it (a few typos do not hide a column)."""
    return bool(cells) and sum(map(looks_like, cells)) * 2 > len(cells)


def _column_below(grid, header_row: int, c: int) -> list:
    """The first UNKNOWN_SAMPLE_ROWS cells of column `c` below the header."""
    end = header_row + UNKNOWN_SAMPLE_ROWS
    if isinstance(grid, ColumnGrid):
        if c > len(grid.columns):
            return []
        part = grid.columns[c - 1][header_row:end]
        return part.tolist() if isinstance(part, np.ndarray) else part.to_pylist()
    return [_cell(r, c) for r in grid[header_row:end]]


def _judul(text: str) -> str:
    """A header as the Rekap quotes it: one line, not too long."""
    one = " ".join(text.split())
    return one if len(one) <= _JUDUL_CHARS else one[:_JUDUL_CHARS - 1] + "…"


def merge_fills(grid: list[list], merges, header_row: int, data_cols: set[int], typed: set[int]) -> dict:
    """{(row, col): value} for the rows a vertical merge covers below its first row,
    in the form's data columns (staff merge "Unit Kerja" over a block of rows; the
    file keeps the value in the first row only). A covered row with nothing else
    typed in the form's columns (`typed`: not the prefilled No) stays empty: merging
    over blank rows adds no rows."""
    out = {}
    # each row of a column is looked at once: merges overlap only in a hostile file
    # (Excel refuses them), where 5,000 copies of one range took minutes; the first wins
    done: dict[int, int] = {}
    for r0, c0, r1, _c1 in sorted(set(merges), key=lambda m: (m[1], m[0])):
        if r1 <= r0 or r0 <= header_row or c0 not in data_cols or r0 > len(grid):
            continue
        value = _cell(grid[r0 - 1], c0)
        start, end = max(r0 + 1, done.get(c0, 0) + 1), min(r1, len(grid))
        done[c0] = max(done.get(c0, 0), end)
        if is_blank(value):
            continue
        for r in range(start, end + 1):
            row = grid[r - 1]
            if is_blank(_cell(row, c0)) and any(not is_blank(_cell(row, c)) for c in typed if c != c0):
                out[(r, c0)] = value
    return out


def with_fills(grid: list[list], fills: dict) -> list[list]:
    """A copy of the grid (only the touched rows copied) with the fills in blank cells."""
    grid = list(grid)
    for (r, c), value in fills.items():
        if r > len(grid):
            continue
        row = list(grid[r - 1])
        if len(row) < c:
            row.extend([None] * (c - len(row)))
        if is_blank(row[c - 1]):
            row[c - 1] = value
        grid[r - 1] = row
    return grid


def _above(grid, header_row: int, col: int) -> tuple | None:
    """(row, col, value) of the cell just above a header cell: where the worker puts its
    one-line summary or a notice (None when the header is the first row)."""
    if header_row <= 1:
        return None
    return header_row - 1, col, _cell(grid[header_row - 2], col)


def notice_cell(grid: list[list], form: Form, forms: FormSet) -> tuple | None:
    """Where a tab whose headers do not match the form gets its notice: above the
    Status header of the row that matches the form best (None: no such row, or it is
    the first row)."""
    found = find_header(grid, form)
    if found is None:
        return None
    header_row, cols = found
    status = _status_columns(grid[header_row - 1], max(cols.values()), forms,
                             lambda: _free_from(grid, header_row, forms), set(cols.values()))
    return _above(grid, header_row, status["status"])


def _free_from(grid, header_row: int, forms: FormSet) -> int:
    """Last column a person typed in, below the header, not counting a trailing
    Status | Keterangan | Diperiksa triple of ours whose headers were all deleted: a
    note in a column without a header is never taken for free space. A status word
    under a header (an 'OK' left in a Status column whose neighbours were moved or
    deleted) proves nothing about the cells right of it: they may be a person's."""
    words = {"OK", "PERIKSA", "SALAH"}
    header = grid[header_row - 1]
    named = _last_filled(header, len(header))
    if isinstance(grid, ColumnGrid):
        return _free_from_columns(grid.below(header_row), words, named)
    used = 0
    for r in grid[header_row:]:
        if len(r) <= used:   # cannot reach past what is known: 300,000 equal rows cost one look
            continue
        last = _last_filled(r, len(r))
        for p in (last - 2, last - 1, last):   # our headerless triple starts with a status word
            if p > named and isinstance(r[p - 1], str) and r[p - 1].strip() in words:
                last = _last_filled(r, p - 1)
                break
        used = max(used, last)
    return used


def _free_from_columns(cells: list, words: set, named: int = 0) -> int:
    """_free_from on columns: each row's last filled column, moved left of a status word
    found at it or one or two columns before it (right of `named`, the last header
    cell), as the row loop does; the largest.
    Rows are taken by their last filled column, right to left, and a few at a time:
    one row that does not move proves the answer, so a tab whose rows all end at the
    same column looks at a thousand of them, not every one."""
    if not cells or not len(cells[0].values):
        return 0
    filled = ~np.column_stack([c.blank for c in cells])
    last = _last_true(filled, len(cells))
    best = 0
    for end in np.unique(last)[::-1].tolist():
        if end <= best:
            break
        at = np.flatnonzero(last == end)
        for batch in (at[:1024], at[1024:]):
            if len(batch):
                best = max(best, int(_moved_last(cells, filled, batch, end, words, named).max()))
            if best == end:
                return best
    return best


def _moved_last(cells: list, filled: np.ndarray, at: np.ndarray, end: int, words: set,
                named: int = 0) -> np.ndarray:
    """For rows `at`, whose last filled column is `end`: that column, or the last filled
    one left of the first of end-2, end-1, end (right of `named`) holding a status word."""
    out = np.full(len(at), end)
    moved = np.zeros(len(at), dtype=bool)
    for k in (2, 1, 0):
        p = end - k
        if p < 1 or p <= named:
            continue
        hit = np.zeros(len(at), dtype=bool)
        rest = np.flatnonzero(~moved)
        hit[rest] = _status_words(cells[p - 1], words, at[rest])
        out[hit] = _last_true(filled[at[hit], :p - 1], p - 1) if p > 1 else 0
        moved |= hit
    return out


def _status_words(cells: "_Cells", words: set, at: np.ndarray) -> np.ndarray:
    """Which text cells at positions `at` are a status word once stripped: a substring
    search (no regex) finds the few candidates, str.strip() decides."""
    texts = cells.texts.take(pa.array(at))
    hit = np.zeros(len(at), dtype=bool)
    for w in words:
        hit |= _filled(pc.match_substring(texts, w))
    found = np.flatnonzero(hit)
    hit[found] = [v.strip() in words for v in cells.values[at[found]].tolist()]
    return hit


def _last_true(mask: np.ndarray, width: int) -> np.ndarray:
    """Per row, the 1-based column of the last True, or 0."""
    return np.where(mask.any(axis=1), width - np.argmax(mask[:, ::-1], axis=1), 0)


def _last_filled(row, upto: int) -> int:
    """1-based column of the last non-blank cell among the first `upto`, or 0."""
    for c in range(upto, 0, -1):
        if not is_blank(row[c - 1]):
            return c
    return 0


def _status_columns(header: list, last_form_col: int, forms: FormSet, used=lambda: 0,
                    form_cols: set = frozenset()) -> dict[str, int]:
    """Existing Status/Keterangan/Diperiksa headers right of the form, else the three
    side by side elsewhere (moved left by the OPD), else the first free columns after
    everything in the header row. `used()`: the last column typed in below the header
    (asked only when no status header exists); `form_cols`: the form's columns."""
    wanted = {k: norm_header(forms.status_headers[k]) for k in STATUS_KEYS}
    moved = _moved_block(header, last_form_col, form_cols, wanted)
    if moved:
        return moved
    seen: dict[str, list[int]] = {k: [] for k in STATUS_KEYS}
    for c, v in enumerate(header, start=1):
        if c > last_form_col and isinstance(v, str):
            for k, h in wanted.items():
                if norm_header(v) == h:
                    seen[k].append(c)
    for c in seen[STATUS_KEYS[0]]:   # our three side by side, even beside an OPD's own 'Keterangan'
        if all(c + i in seen[k] for i, k in enumerate(STATUS_KEYS)):
            return {k: c + i for i, k in enumerate(STATUS_KEYS)}
    found = {k: cols[0] for k, cols in seen.items() if cols}
    if len(found) == len(STATUS_KEYS):
        return found
    block = _rest_of_block(found, last_form_col)
    if block:
        return block
    # one or two of the headers, not where ours would be: an OPD's own column (its own
    # 'Keterangan' notes, typed right of the form): ours go after it, never onto it
    in_header = [c for c, v in enumerate(header, start=1) if not is_blank(v)]
    start = max([last_form_col] + in_header) + 1
    start = max(start, used() + 1)
    found = {}
    for k in STATUS_KEYS:
        if k not in found:
            found[k] = start
            start += 1
    return found


def _moved_block(header: list, last_form_col: int, form_cols: set, wanted: dict) -> dict | None:
    """Our three headers side by side, in order, left of the form's last column (the OPD
    cut them and inserted them at column A): still ours, so they are kept up to date
    instead of going stale beside three new ones. None when any of them sits right of
    the form (the search there decides) or they are not one block."""
    if any(c > last_form_col and isinstance(v, str) and norm_header(v) in wanted.values()
           for c, v in enumerate(header, start=1)):
        return None
    at = {k: {c for c, v in enumerate(header, start=1)
              if c not in form_cols and isinstance(v, str) and norm_header(v) == h} for k, h in wanted.items()}
    for c in sorted(at[STATUS_KEYS[0]]):
        if all(c + i in at[k] for i, k in enumerate(STATUS_KEYS)):
            return {k: c + i for i, k in enumerate(STATUS_KEYS)}
    return None


def _rest_of_block(found: dict, last_form_col: int) -> dict | None:
    """Some of the worker's three headers found side by side (someone renamed one, e.g.
    'Status' to 'STATUS VERIFIKASI'): the missing ones are the neighbours in the same
    block, where their header is written back; None when the found ones are not one block."""
    if not found:
        return None
    key, col = next((k, found[k]) for k in STATUS_KEYS if k in found)
    base = col - STATUS_KEYS.index(key)
    block = {k: base + i for i, k in enumerate(STATUS_KEYS)}
    if base <= last_form_col or any(block[k] != c for k, c in found.items()):
        return None
    return block


COLUMNAR_FROM_ROWS = 2_000   # below this a plain loop is cheaper than pandas' fixed costs


def _data(grid, header_row, cols, status_cols, form):
    """The data rows below the header as two DataFrames (inputs, status cells): a
    plain loop for a small tab, column at a time for a big one (the same result;
    tests/test_layout.py holds them together)."""
    if len(grid) - header_row < COLUMNAR_FROM_ROWS:
        return _data_rows(grid, header_row, cols, status_cols, form)
    return _data_columns(grid, header_row, cols, status_cols, form)


def _data_rows(grid, header_row, cols, status_cols, form):
    keys = list(cols)
    records, statuses, index = [], [], []
    header_texts = {norm_header(c.header) for c in form.columns}
    for r in range(header_row, len(grid)):
        row = grid[r]
        # Blank is None whatever the backend says: Sheets returns "" for an empty
        # cell left of a filled one and omits trailing ones; the hash must not care.
        values = [None if is_blank(v := _cell(row, cols[k])) else v for k in keys]
        status = [_cell(row, status_cols[k]) for k in STATUS_KEYS]
        if all(is_blank(v) for v in values) and all(is_blank(v) for v in status):
            continue
        if _stray_header(values, header_texts) or _column_numbers(values, keys, cols):
            continue
        index.append(r + 1)
        records.append(values)
        statuses.append(status)
    idx = pd.Index(index, dtype="int64", name="row")
    frame = pd.DataFrame(records, index=idx, columns=keys, dtype=object) if records else \
        pd.DataFrame({k: pd.Series(dtype=object) for k in keys}, index=idx)
    current = pd.DataFrame(statuses, index=idx, columns=list(STATUS_KEYS), dtype=object) \
        if statuses else pd.DataFrame({k: pd.Series(dtype=object) for k in STATUS_KEYS}, index=idx)
    return frame, current


def _data_columns(grid, header_row, cols, status_cols, form):
    """Column at a time: the body becomes one object array (no Python call per cell),
    each column's text cells one Arrow array, and blank detection, the skipped rows
    and the column selection are numpy/Arrow operations."""
    keys = list(cols)
    n = len(grid) - header_row
    if isinstance(grid, ColumnGrid):
        below = grid.below(header_row)
        none = _Cells(np.full(n, None, dtype=object))

        def column(c):
            return below[c - 1] if c <= len(below) else none
    else:
        body = _body(grid[header_row:], max([cols[k] for k in keys] + [status_cols[k] for k in STATUS_KEYS]))

        def column(c):
            return _Cells(body[:, c - 1])
    inputs = [column(cols[k]) for k in keys]
    status_cells = [column(status_cols[k]) for k in STATUS_KEYS]
    status = [c.values for c in status_cells]
    blank = np.column_stack([c.blank for c in inputs])
    # Blank is None whatever the backend says: Sheets returns "" for an empty
    # cell left of a filled one and omits trailing ones; the hash must not care.
    values = np.column_stack([c.values for c in inputs])
    values[blank] = None
    keep = ~(blank.all(axis=1) & np.column_stack([c.blank for c in status_cells]).all(axis=1))
    keep &= ~_odd_rows(values, inputs, blank, keep, keys, cols, form)
    index = pd.Index(np.arange(header_row + 1, header_row + 1 + n, dtype="int64")[keep],
                     dtype="int64", name="row")
    frame = pd.DataFrame(values[keep], index=index, columns=keys, dtype=object)
    current = pd.DataFrame(np.column_stack(status)[keep], index=index, columns=list(STATUS_KEYS), dtype=object)
    return frame, current


def _body(rows: list, width: int) -> np.ndarray:
    """The first `width` columns of ragged rows (backends omit trailing empty cells) as
    one object array padded with None: rows of one length at a time go through
    numpy's own list conversion (a C loop), so a tab costs one pass per distinct length."""
    out = np.full((len(rows), width), None, dtype=object)
    if not rows:
        return out
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    for n in np.unique(lengths).tolist():
        if n == 0:
            continue
        at = np.flatnonzero(lengths == n)
        block = np.empty((len(at), n), dtype=object)
        if len(at) == len(rows):   # one length (a CSV): no gather, no scatter
            block[:] = rows
            out[:, :min(n, width)] = block[:, :width]
            break
        block[:] = [rows[i] for i in at.tolist()]
        out[at, :min(n, width)] = block[:, :width]
    return out


# Python's str.strip()/\s whitespace, in RE2 terms (Arrow's \s is ASCII only)
_SPACE = r"[\s\pZ\x{1c}-\x{1f}\x{85}\x{0b}]"
# ASCII whitespace other than ' ' (Python's \s): a column without these bytes squeezes
# its spaces with a plain substring replace instead of a regex
_OTHER_SPACE = np.zeros(256, dtype=bool)
_OTHER_SPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31]] = True


class _Cells:
    """One body column: its values, its text cells as an Arrow array aligned with the
    rows (null where a cell is not text), so that string rules run in Arrow's kernels,
    and which cells are blank (None, NaN, NA, NaT, or text of only whitespace)."""

    def __init__(self, values: np.ndarray, texts: pa.Array | None = None):
        self.values = values
        if texts is None:
            texts, only_text = _texts(values)
        else:
            only_text = True
        self.texts = texts
        # only text: a null is a cell pd.isna calls missing (None, NaN, NA, NaT)
        blank = self.texts.is_null().to_numpy(zero_copy_only=False) if only_text else pd.isna(values)
        if self.texts.null_count < len(self.texts):
            blank |= _filled(pc.match_substring_regex(self.texts, f"^{_SPACE}*$"))
        self.blank = blank

    @classmethod
    def of_texts(cls, texts: pa.Array) -> "_Cells":
        """A column that is all text already (a ColumnGrid's): no conversion to Arrow."""
        texts = texts.cast(pa.string()) if texts.type != pa.string() else texts
        return cls(_objects(texts), texts)

    def header_like(self, header_texts: set, at: np.ndarray) -> np.ndarray:
        """Of the text cells at positions `at`: could it be a header text? (A superset
        of norm_header(v) in header_texts: non-ASCII text may casefold onto a header.)"""
        texts = self.texts.take(pa.array(at))
        data = texts.buffers()[2]
        if data is None or not _OTHER_SPACE[np.frombuffer(data, dtype=np.uint8)].any():
            squeezed = pc.replace_substring(texts, " ", "")
        else:
            squeezed = pc.replace_substring_regex(texts, f"{_SPACE}+", "")
        hit = pc.or_(pc.is_in(pc.ascii_lower(squeezed), value_set=pa.array(sorted(header_texts))),
                     pc.invert(pc.string_is_ascii(texts)))
        return _filled(hit)

    def numberish(self, at: np.ndarray) -> np.ndarray:
        """Of the cells at positions `at`: could it be a column number (1, 2.0, '3',
        '(4)')? A superset of the exact rule in _column_numbers."""
        values = self.values[at]
        types = types_of(values)
        out = np.zeros(len(values), dtype=bool)
        num = np.flatnonzero((types == int) | (types == float))
        if len(num):
            nums = values[num].astype(float)
            out[num] = (nums >= 0) & (nums < 1000)
        out |= _filled(pc.match_substring_regex(self.texts.take(pa.array(at)), r"^\s*\(?\d{1,3}(\.0)?\)?\s*$"))
        return out


REPEATS_FROM = 8_192   # a shorter column is converted as it is


def _objects(texts: pa.Array) -> np.ndarray:
    """The texts as Python strs. A long column that repeats its values (units, job
    titles, dates as a CSV gives them) makes each distinct text once and shares it:
    a tenth of the objects, memory a VM must first fault in (~12 µs a page cold). A
    sample of its first rows decides, so a column of names pays no hashing."""
    if len(texts) < REPEATS_FROM or texts.null_count:
        return texts.to_numpy(zero_copy_only=False)
    head = texts.slice(0, 4_096)
    if pc.count_distinct(head).as_py() * 2 > len(head):
        return texts.to_numpy(zero_copy_only=False)
    enc = texts.dictionary_encode()
    return enc.dictionary.to_numpy(zero_copy_only=False)[enc.indices.to_numpy()]


def _texts(values: np.ndarray) -> tuple[pa.Array, bool]:
    """(The text cells as an Arrow string array, null elsewhere; whether the column held
    only text and missing values): one conversion when it does (a CSV, most tabs),
    else by the cells' types."""
    try:
        return pa.array(values, type=pa.string(), from_pandas=True), True
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        ids, kinds = pd.factorize(types_of(values))   # is_blank's test: str subclasses are text too
        is_text = np.array([issubclass(k, str) for k in kinds.tolist()], dtype=bool)[ids]
        return pa.array(np.where(is_text, values, None), type=pa.string(), from_pandas=True), False


def _filled(mask: pa.Array) -> np.ndarray:
    """An Arrow boolean array as numpy, null (not text) as False."""
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False)


def _odd_rows(values: np.ndarray, cells: list, blank: np.ndarray, keep: np.ndarray, keys, cols, form) -> np.ndarray:
    """Rows that are a header pasted again, or the '1 2 3 ...' numbering row: the
    exact per-row rules run only on the few rows a column-wise pre-check lets through."""
    header_texts = {norm_header(c.header) for c in form.columns}
    out = np.zeros(len(values), dtype=bool)
    if not keep.any():
        return out
    # a pasted header: at least two texts, the first a header text; only each row's
    # first text is looked at, so a CSV's rows cost one column, not all of them
    texts = np.column_stack([c.texts.is_valid().to_numpy(zero_copy_only=False) for c in cells]) & ~blank
    first = np.argmax(texts, axis=1)
    maybe_header = keep & (texts.sum(axis=1) >= 2)
    for j, c in enumerate(cells):
        at = np.flatnonzero(maybe_header & (first == j))
        if len(at):
            maybe_header[at[~c.header_like(header_texts, at)]] = False
    # a numbering row: every filled cell numberish, at least 3 of them; each column
    # narrows the candidates, so only the first looks at every row
    maybe_numbers = keep & ((~blank).sum(axis=1) >= 3)
    for j, c in enumerate(cells):
        at = np.flatnonzero(maybe_numbers & ~blank[:, j])
        if not len(at):
            continue
        maybe_numbers[at[~c.numberish(at)]] = False
    for i in np.flatnonzero(maybe_header | maybe_numbers).tolist():
        row = values[i].tolist()
        out[i] = _stray_header(row, header_texts) or _column_numbers(row, keys, cols)
    return out


def _cell(row, col: int):
    return row[col - 1] if col - 1 < len(row) else None


def _stray_header(values, header_texts) -> bool:
    """A header row pasted again among the data (its first text is a header)."""
    texts = [v for v in values if isinstance(v, str)]
    if len(texts) < 2 or norm_header(texts[0]) not in header_texts:
        return False
    return sum(norm_header(t) in header_texts for t in texts) * 2 >= len(texts)


def _column_numbers(values, keys, cols) -> bool:
    """The '1 2 3 4 ...' row many government templates put under the headers."""
    filled = [(v, cols[k]) for v, k in zip(values, keys) if not is_blank(v)]
    return len(filled) >= 3 and all(as_text(v) in (str(c), f"({c})") for v, c in filled) \
        or len(filled) >= 3 and all(as_text(v) == str(i) for i, (v, _) in enumerate(filled, 1))


def content_hash(frame: pd.DataFrame) -> str:
    """Hash of the input cells (not the status columns): same hash, same verdicts."""
    h = hashlib.sha256()
    h.update(repr(list(frame.columns)).encode())
    h.update(frame.index.to_numpy().tobytes())
    for col in frame.columns:
        h.update(repr(frame[col].tolist()).encode("utf-8", "replace"))
    return h.hexdigest()


def row_hashes(frame: pd.DataFrame) -> list[str]:
    """One hash per row of input values, to notice a row that was edited (stable
    across processes, unlike hash())."""
    return [hashlib.blake2b(repr(r).encode("utf-8", "replace"), digest_size=8).hexdigest()
            for r in frame.to_numpy(dtype=object).tolist()]
