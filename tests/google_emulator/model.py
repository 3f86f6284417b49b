"""In-memory model: spreadsheets, sheets, cells, Drive files and the shared state."""
from __future__ import annotations

import copy
import datetime as _dt
import random
import string
import threading
import time
from typing import Any, Dict, Iterator, List, Optional, Tuple

SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"
FOLDER_MIME = "application/vnd.google-apps.folder"
DEFAULT_USER_EMAIL = "emulator-user@emulator.invalid"
DEFAULT_USER_NAME = "Emulator User"

DEFAULT_FORMAT = {
    "backgroundColor": {"red": 1, "green": 1, "blue": 1},
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM",
    "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {
        "foregroundColor": {},
        "fontFamily": "arial,sans,sans-serif",
        "fontSize": 10,
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
        "foregroundColorStyle": {"rgbColor": {}},
    },
    "backgroundColorStyle": {"rgbColor": {"red": 1, "green": 1, "blue": 1}},
}


def _theme_color(kind, r=None, g=None, b=None):
    rgb = {}
    for key, val in (("red", r), ("green", g), ("blue", b)):
        if val:
            rgb[key] = val
    return {"colorType": kind, "color": {"rgbColor": rgb}}


DEFAULT_THEME = {
    "primaryFontFamily": "Arial",
    "themeColors": [
        _theme_color("TEXT"),
        _theme_color("BACKGROUND", 1, 1, 1),
        _theme_color("ACCENT1", 0.25882354, 0.52156866, 0.95686275),
        _theme_color("ACCENT2", 0.91764706, 0.2627451, 0.20784314),
        _theme_color("ACCENT3", 0.9843137, 0.7372549, 0.015686275),
        _theme_color("ACCENT4", 0.20392157, 0.65882355, 0.3254902),
        _theme_color("ACCENT5", 1, 0.42745098, 0.003921569),
        _theme_color("ACCENT6", 0.27450982, 0.7411765, 0.7764706),
        _theme_color("LINK", 0.06666667, 0.33333334, 0.8),
    ],
}

DEFAULT_ROW_PX = 21
DEFAULT_COL_PX = 100


class Cell:
    """One cell.  ``value`` is the entered non-formula value; ``formula`` the
    formula text.  ``fmt`` (userEnteredFormat) dicts are never mutated in place."""

    __slots__ = ("value", "formula", "fmt", "note", "validation", "extra")

    def __init__(self):
        self.value: Any = None
        self.formula: Optional[str] = None
        self.fmt: Optional[Dict[str, Any]] = None
        self.note: Optional[str] = None
        self.validation: Optional[Dict[str, Any]] = None
        self.extra: Optional[Dict[str, Any]] = None

    def has_value(self) -> bool:
        return self.value is not None or self.formula is not None

    def is_blank(self) -> bool:
        return (self.value is None and self.formula is None and not self.fmt and self.note is None
                and self.validation is None and not self.extra)

    def copy(self) -> "Cell":
        c = Cell()
        c.value = self.value
        c.formula = self.formula
        c.fmt = self.fmt
        c.note = self.note
        c.validation = self.validation
        c.extra = dict(self.extra) if self.extra else None
        return c

    def number_format(self) -> Optional[Dict[str, Any]]:
        return (self.fmt or {}).get("numberFormat")

    def is_text_format(self) -> bool:
        nf = self.number_format()
        return bool(nf) and nf.get("type") == "TEXT"


class Sheet:
    # Cell storage and per-sheet lists; a lazy clone copies them on first use.
    _LAZY = ("rows", "row_meta", "col_meta", "protected", "cond", "charts", "merges", "basic_filter", "banded")

    def __init__(self, props: Dict[str, Any]):
        self.props = props
        self.rows: Dict[int, Dict[int, Cell]] = {}
        self.row_meta: Dict[int, Dict[str, Any]] = {}
        self.col_meta: Dict[int, Dict[str, Any]] = {}
        self.protected: List[Dict[str, Any]] = []
        self.cond: List[Dict[str, Any]] = []
        self.charts: List[Dict[str, Any]] = []
        self.merges: List[Dict[str, Any]] = []
        self.basic_filter: Optional[Dict[str, Any]] = None
        self.banded: List[Dict[str, Any]] = []

    # properties ---------------------------------------------------------
    @property
    def sheet_id(self) -> int:
        return self.props["sheetId"]

    @property
    def title(self) -> str:
        return self.props["title"]

    @property
    def grid(self) -> Dict[str, Any]:
        return self.props.setdefault("gridProperties", {"rowCount": 1000, "columnCount": 26})

    @property
    def row_count(self) -> int:
        return self.grid.get("rowCount", 0) if self.props.get("sheetType", "GRID") == "GRID" else 0

    @property
    def col_count(self) -> int:
        return self.grid.get("columnCount", 0) if self.props.get("sheetType", "GRID") == "GRID" else 0

    # cells ---------------------------------------------------------------
    def get(self, r: int, c: int) -> Optional[Cell]:
        row = self.rows.get(r)
        return row.get(c) if row else None

    def ensure(self, r: int, c: int) -> Cell:
        row = self.rows.get(r)
        if row is None:
            row = self.rows[r] = {}
        cell = row.get(c)
        if cell is None:
            cell = row[c] = Cell()
        return cell

    def tidy(self, r: int, c: int) -> None:
        row = self.rows.get(r)
        if row is None:
            return
        cell = row.get(c)
        if cell is not None and cell.is_blank():
            del row[c]
        if not row:
            del self.rows[r]

    def cells_in(self, r0: int, r1: int, c0: int, c1: int) -> Iterator[Tuple[int, int, Cell]]:
        """Existing cells inside the box, row-major."""
        if len(self.rows) < (r1 - r0):
            rows = sorted(r for r in self.rows if r0 <= r < r1)
        else:
            rows = [r for r in range(r0, r1) if r in self.rows]
        for r in rows:
            row = self.rows[r]
            if len(row) < (c1 - c0):
                cols = sorted(c for c in row if c0 <= c < c1)
            else:
                cols = [c for c in range(c0, c1) if c in row]
            for c in cols:
                yield r, c, row[c]

    def __getattr__(self, name: str) -> Any:
        # only called for attributes not set yet: materialise a lazy clone's storage
        if name in Sheet._LAZY:
            src = self.__dict__.get("_src")
            if src is not None:
                if name == "rows":
                    value: Any = {r: {c: cell.copy() for c, cell in row.items()} for r, row in src.rows.items()}
                else:
                    value = copy.deepcopy(getattr(src, name))
                self.__dict__[name] = value
                return value
        raise AttributeError(name)

    def lazy_clone(self) -> "Sheet":
        """A clone whose storage is copied from this sheet only when first touched."""
        s = Sheet.__new__(Sheet)
        s.__dict__["props"] = copy.deepcopy(self.props)
        s.__dict__["_src"] = self
        return s

    def peek(self, name: str) -> Any:
        """Read storage without materialising a lazy clone's copy."""
        if name in self.__dict__:
            return self.__dict__[name]
        src = self.__dict__.get("_src")
        return src.peek(name) if src is not None else getattr(self, name)

    def finalize(self) -> None:
        """After a successful batch: take over untouched storage from the source."""
        src = self.__dict__.pop("_src", None)
        if src is not None:
            for name in Sheet._LAZY:
                if name not in self.__dict__:
                    self.__dict__[name] = getattr(src, name)

    def clone(self) -> "Sheet":
        s = Sheet(copy.deepcopy(self.props))
        s.rows = {r: {c: cell.copy() for c, cell in row.items()} for r, row in self.rows.items()}
        s.row_meta = copy.deepcopy(self.row_meta)
        s.col_meta = copy.deepcopy(self.col_meta)
        s.protected = copy.deepcopy(self.protected)
        s.cond = copy.deepcopy(self.cond)
        s.charts = copy.deepcopy(self.charts)
        s.merges = copy.deepcopy(self.merges)
        s.basic_filter = copy.deepcopy(self.basic_filter)
        s.banded = copy.deepcopy(self.banded)
        return s


class Spreadsheet:
    def __init__(self, spreadsheet_id: str, title: str, locale: str = "en_US", time_zone: str = "Etc/GMT"):
        self.id = spreadsheet_id
        self.props: Dict[str, Any] = {
            "title": title,
            "locale": locale,
            "autoRecalc": "ON_CHANGE",
            "timeZone": time_zone,
            "defaultFormat": copy.deepcopy(DEFAULT_FORMAT),
            "spreadsheetTheme": copy.deepcopy(DEFAULT_THEME),
        }
        self.sheets: List[Sheet] = []
        self.named_ranges: List[Dict[str, Any]] = []

    @property
    def title(self) -> str:
        return self.props["title"]

    @property
    def locale(self) -> str:
        return self.props.get("locale", "en_US")

    def sheet_by_id(self, sheet_id: Any) -> Optional[Sheet]:
        for s in self.sheets:
            if s.sheet_id == sheet_id:
                return s
        return None

    def sheet_by_title(self, title: str) -> Optional[Sheet]:
        for s in self.sheets:
            if s.title == title:
                return s
        low = title.lower()
        for s in self.sheets:
            if s.title.lower() == low:
                return s
        return None

    def first_grid_sheet(self) -> Optional[Sheet]:
        for s in self.sheets:
            if s.props.get("sheetType", "GRID") == "GRID" and not s.props.get("hidden"):
                return s
        for s in self.sheets:
            if s.props.get("sheetType", "GRID") == "GRID":
                return s
        return None

    def reindex(self) -> None:
        for i, s in enumerate(self.sheets):
            s.props["index"] = i

    def clone(self, lazy: bool = False) -> "Spreadsheet":
        other = Spreadsheet.__new__(Spreadsheet)
        other.id = self.id
        other.props = copy.deepcopy(self.props)
        other.sheets = [s.lazy_clone() if lazy else s.clone() for s in self.sheets]
        other.named_ranges = copy.deepcopy(self.named_ranges)
        return other


class DriveFile:
    def __init__(self, file_id: str, name: str, mime_type: str, parents: List[str], created: str):
        self.id = file_id
        self.name = name
        self.mime_type = mime_type
        self.parents = parents
        self.created_time = created
        self.modified_time = created
        self.version = 1
        self.trashed = False
        self.explicitly_trashed = False
        self.starred = False
        self.description: Optional[str] = None
        self.properties: Dict[str, str] = {}
        self.app_properties: Dict[str, str] = {}
        self.permissions: List[Dict[str, Any]] = []
        self.comments: List[Dict[str, Any]] = []
        self.viewed_time = created
        # who made the last change: (emailAddress, displayName); None until someone changes it
        # (a new file shows its creator, see State.modifier)
        self.modifier: Optional[Tuple[str, str]] = None
        self.modified_by: Dict[str, str] = {}   # emailAddress -> modifiedTime of that user's last change
        # (emulated ms when it happened, version, modifiedTime, modifier) of each change, for drive_lag_s
        self.history: List[Tuple[int, int, str, Optional[Tuple[str, str]]]] = []


_ID_CHARS = string.ascii_letters + string.digits + "-_"


class Clock:
    """Millisecond clock that never repeats or goes back.

    ``offset_ms`` shifts it from real time: tests advance it (``POST /_emulator/clock``)
    instead of sleeping."""

    def __init__(self):
        self._last = 0
        self.offset_ms = 0

    def raw_ms(self) -> int:
        """Emulated wall time in milliseconds (may repeat; for windows and lags)."""
        return int(time.time() * 1000) + self.offset_ms

    def now_ms(self) -> int:
        ms = self.raw_ms()
        if ms <= self._last:
            ms = self._last + 1
        self._last = ms
        return ms

    @staticmethod
    def rfc3339(ms: int) -> str:
        dt = _dt.datetime.fromtimestamp(ms / 1000.0, tz=_dt.timezone.utc)
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"

    def now(self) -> str:
        return self.rfc3339(self.now_ms())


class State:
    """Everything the emulator knows.  Guard every access with ``lock``."""

    def __init__(self):
        self.lock = threading.RLock()
        self.clock = Clock()
        self._rng = random.Random()
        self.service_account = False  # files outside shared drives cannot be created (no storage quota)
        self.drive_lag_ms = 0  # Drive shows version/modifiedTime changes only this long after them
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.clock = Clock()
            self.files: Dict[str, DriveFile] = {}
            self.drives: Dict[str, Dict[str, Any]] = {}  # shared drives by id
            self.drive_requests: Dict[str, str] = {}  # drives.create requestId -> drive id
            self.spreadsheets: Dict[str, Spreadsheet] = {}
            self.changes: List[Dict[str, Any]] = []
            self.user_email = DEFAULT_USER_EMAIL
            self.user_name = DEFAULT_USER_NAME
            # the user making the request being handled, when not the emulator's own user
            # (header X-Emulator-User: a staff edit in a test); set by the server per request
            self.acting: Optional[Tuple[str, str]] = None
            self.denied: set = set()
            self.root_id = "0A" + "".join(self._rng.choice(_ID_CHARS[:62]) for _ in range(17)) + "Uk9PVA"

    # ids ------------------------------------------------------------------
    def new_file_id(self, length: int = 44) -> str:
        while True:
            fid = "1" + "".join(self._rng.choice(_ID_CHARS) for _ in range(length - 1))
            if fid not in self.files:
                return fid

    def new_drive_id(self) -> str:
        while True:
            did = "0A" + "".join(self._rng.choice(_ID_CHARS[:62]) for _ in range(11)) + "Uk9PVA"
            if did not in self.drives and did not in self.files:
                return did

    def drive_of(self, f: "DriveFile") -> Optional[str]:
        """The shared drive a file lives in (walking up its parents), or None for My Drive."""
        return self.drive_of_parents(f.parents)

    def drive_of_parents(self, parents: List[str]) -> Optional[str]:
        seen = set()
        todo = list(parents)
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            if pid in self.drives:
                return pid
            parent = self.files.get(pid)
            if parent is not None:
                todo.extend(parent.parents)
        return None

    def requester(self) -> Tuple[str, str]:
        """(emailAddress, displayName) of whoever makes the request being handled."""
        return self.acting or (self.user_email, self.user_name)

    def visible_change(self, f: "DriveFile") -> Tuple[int, str, Optional[Tuple[str, str]]]:
        """(version, modifiedTime, last modifying user) as Drive shows them now: with
        drive_lag_s, a change (and who made it) shows only that long after it happened."""
        if not self.drive_lag_ms or not f.history:
            return f.version, f.modified_time, f.modifier
        cutoff = self.clock.raw_ms() - self.drive_lag_ms
        version, modified, who = f.history[0][1], f.history[0][2], f.history[0][3]
        for at, v, m, u in f.history:
            if at <= cutoff:
                version, modified, who = v, m, u
        return version, modified, who

    def new_int_id(self, taken=()) -> int:
        taken = set(taken)
        while True:
            n = self._rng.randint(1, 2 ** 31 - 1)
            if n not in taken:
                return n

    # changes --------------------------------------------------------------
    def created(self, f: "DriveFile") -> None:
        """A new file: its creator is its last modifying user."""
        f.modifier = self.requester()
        f.modified_by[f.modifier[0]] = f.modified_time

    def touch(self, file_id: str, removed: bool = False) -> None:
        f = self.files.get(file_id)
        now = self.clock.now()
        if f is not None and not removed:
            if self.drive_lag_ms and not f.history:
                f.history.append((0, f.version, f.modified_time, f.modifier))
            f.modified_time = now
            f.version += 1
            f.modifier = self.requester()
            f.modified_by[f.modifier[0]] = now
            if self.drive_lag_ms:
                at = self.clock.raw_ms()
                f.history.append((at, f.version, f.modified_time, f.modifier))
                # entries older than the lag: only the newest of them can still be shown
                old = [i for i, h in enumerate(f.history) if h[0] <= at - self.drive_lag_ms]
                if len(old) > 1:
                    del f.history[:old[-1]]
        self.changes.append({"seq": len(self.changes) + 1, "fileId": file_id, "time": now,
                             "removed": removed})
