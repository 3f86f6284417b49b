"""Google Sheets + Drive through gspread and google-auth. The only module that
imports gspread.

Cost per cycle (what the Google quota sees):
- every cycle: one Drive files.list (revisions of every spreadsheet at once);
- the registry (Daftar OPD) is re-read only when the master's revision moved;
- an edited OPD: one values:batchGet of all its form tabs, one files.get version
  check just before writing, one values:batchUpdate (RAW) of changed status cells;
- the master: values:batchClear + values:batchUpdate (chunked at 2 MB), only when
  its content changed.
Tab titles are cached in the state folder, so reading never costs a metadata call
unless a tab was renamed.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
from pathlib import Path

import gspread
from gspread.exceptions import APIError
from gspread.urls import DRIVE_FILES_API_V3_URL

from sheets_sync.codes import TRANSIENT
from sheets_sync.config import ConfigError
from sheets_sync.fileio import PRIVATE, atomic_write_text
from sheets_sync.validate.layout import Problem
from sheets_sync.validate.registry import Opd, parse_registry, shown_value
from sheets_sync.stores import CellWrite, SheetSpec, StoreError, Workbook, workbook_from_grids
from sheets_sync.stores.google_http import GoogleSession, load_credentials

log = logging.getLogger(__name__)
SHEET_MIME = "application/vnd.google-apps.spreadsheet"
FOLDER_MIME = "application/vnd.google-apps.folder"
MAX_REQUEST_BYTES = 2_000_000
_ID = re.compile(r"[A-Za-z0-9_-]{10,}")   # a Drive file id: nothing that could change a request's path
READ_PARAMS = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER",
               "majorDimension": "ROWS"}


def spreadsheet_id(text: str) -> str:
    """The id inside a link (…/spreadsheets/d/<id>/edit…) or the id itself."""
    m = re.search(r"/d/([A-Za-z0-9_-]{10,})", text or "")
    return m.group(1) if m else (text or "").strip()


def quote(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def col_letter(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


class GoogleStore:
    name = "google"
    parallel = 4   # requests in flight at once; the token buckets still hold the quota

    def __init__(self, settings, forms, session: GoogleSession | None = None, *, read_only: bool = False):
        cfg = settings.google or {}
        if not cfg.get("master_id"):
            raise ConfigError("google.master_id (ID atau tautan spreadsheet master) belum diisi.")
        self.forms = forms
        self.master_id = spreadsheet_id(str(cfg["master_id"]))
        self.folder_id = cfg.get("folder_id")
        self.session = session or GoogleSession(
            load_credentials(cfg), reads_per_minute=int(cfg.get("reads_per_minute", 60)),
            writes_per_minute=int(cfg.get("writes_per_minute", 60)), timeout=float(cfg.get("timeout", 30)))
        self.http = gspread.Client(auth=None, session=self.session).http_client
        self.cache_path = Path(settings.state_dir) / "google_cache.json"
        self.cache = _load_json(self.cache_path)
        self._lock = threading.RLock()   # reads and writes run in a few threads
        self._listing: dict[str, str] | None = None
        self.read_only = read_only       # a self-check writes nothing, not even this cache

    # ------------------------------------------------------------- listing
    def list_files(self) -> dict[str, str]:
        """id -> revision of every spreadsheet visible (in the folder if set): 1 request a page."""
        q = f"mimeType='{SHEET_MIME}' and trashed=false"
        if self.folder_id:
            q += f" and '{self.folder_id}' in parents"
        out, token = {}, None
        while True:
            params = {"q": q, "pageSize": 1000, "fields": "nextPageToken,files(id,version,modifiedTime)",
                      "supportsAllDrives": True, "includeItemsFromAllDrives": True}
            if token:
                params["pageToken"] = token
            body = self.call(lambda: self.http.request("get", DRIVE_FILES_API_V3_URL, params=params).json())
            for f in body.get("files", []):
                out[f["id"]] = f"{f.get('version')}|{f.get('modifiedTime')}"
            token = body.get("nextPageToken")
            if not token:
                return out

    def read_registry(self):
        """Raises StoreError when Google does not answer (429/5xx/network after the
        retries): the cycle then goes on from its last good state. A master that
        is not there or not shared is a note: the cycle stops."""
        self._listing = self.list_files()
        rev = self._listing.get(self.master_id)
        reg = self.cache.get("registry")
        if rev is None or reg is None or reg.get("rev") != rev:
            sheet = self.forms.registry["sheet"]
            try:
                grid = self.batch_get(self.master_id, [sheet])[sheet]
            except StoreError as e:
                if e.problem.code in TRANSIENT:
                    raise
                return [], [f"Spreadsheet master tidak bisa dibaca ({e.problem.code})."]
            reg = {"rev": rev, "grid": grid}
            self.cache["registry"] = reg
            self.save_cache()
        opds, notes = parse_registry(reg["grid"], self.forms)
        return self.contain(opds), notes

    def contain(self, opds: list[Opd]) -> list[Opd]:
        """Each OPD refused (a codes.REFUSED problem) whose Berkas / Tautan is not a
        spreadsheet of its own: not a spreadsheet id, the master, the Drive folder, or
        the spreadsheet of another OPD (both rows refused)."""
        checked, owners = [], {}
        for o in opds:
            sid = spreadsheet_id(o.location)
            problem = o.refused
            if problem is None and sid:
                if not _ID.fullmatch(sid):
                    problem = Problem("REG_LOCATION_INVALID", {"baris": o.row, "lokasi": shown_value(o.location),
                                                               "alasan": "bukan tautan atau ID spreadsheet"})
                elif sid == self.master_id:
                    problem = Problem("REG_LOCATION_MASTER", {"baris": o.row})
                elif self.folder_id and sid == spreadsheet_id(str(self.folder_id)):
                    problem = Problem("REG_LOCATION_INVALID", {"baris": o.row, "lokasi": shown_value(o.location),
                                                               "alasan": "itu folder Drive, bukan spreadsheet"})
                else:
                    owners.setdefault(sid, []).append(o.code)
            checked.append((o, sid, problem))
        out = []
        for o, sid, problem in checked:
            if problem is None and sid and len(owners[sid]) > 1:
                problem = Problem("REG_LOCATION_SHARED", {"baris": o.row, "opd": ", ".join(
                    c for c in owners[sid] if c != o.code)})
            out.append(o if problem is None or o.refused else o.with_problem(problem))
        return out

    def revisions(self, opds):
        listing = self._listing if self._listing is not None else self.list_files()
        return {o.code: None if o.refused else listing.get(spreadsheet_id(o.location)) for o in opds}

    def link(self, opd: Opd) -> str:
        if opd.refused:
            return ""
        return f"https://docs.google.com/spreadsheets/d/{spreadsheet_id(opd.location)}/edit"

    # ---------------------------------------------------------------- read
    def read_workbook(self, opd: Opd) -> Workbook:
        if opd.refused:   # the master, the folder, another OPD's spreadsheet: never read
            raise StoreError(opd.refused)
        sid = spreadsheet_id(opd.location)
        if not sid:
            raise StoreError(Problem("WB_NOT_FOUND", {"lokasi": "(kolom Berkas / Tautan kosong)"}))
        rev = (self._listing or {}).get(sid)
        # Provisioned sheets use the forms' own tab names: try them before paying
        # for a metadata read; a renamed tab makes the read fail and we look.
        titles = self.cache.get("tabs", {}).get(sid) or [self.forms[k].sheet for k in opd.forms]
        wanted = self._wanted_tabs(opd, titles)
        try:
            grids = self.batch_get(sid, wanted) if wanted else {}
        except StoreError as e:
            if e.problem.code != "SHEET_MISSING":
                raise
            titles = self._tab_titles(sid, refresh=True)   # a tab was renamed since we cached
            wanted = self._wanted_tabs(opd, titles)
            grids = self.batch_get(sid, wanted) if wanted else {}
        return workbook_from_grids(opd, rev, grids, self.forms)

    def _wanted_tabs(self, opd: Opd, titles: list[str]) -> list[str]:
        out = []
        for key in opd.forms:
            t = next((t for t in titles if self.forms[key].matches_sheet(t)), None)
            if t and t not in out:
                out.append(t)
        return out

    def _tab_titles(self, sid: str, refresh: bool) -> list[str]:
        return list(self._tabs(sid, refresh))

    def _tabs(self, sid: str, refresh: bool) -> dict[str, dict]:
        """title -> {id, rows, cols} of a spreadsheet's tabs, cached."""
        with self._lock:
            tabs = self.cache.setdefault("grids", {})
            if not refresh and sid in tabs:
                return tabs[sid]
        meta = self.call(lambda: self.http.spreadsheets_get(sid, params={"fields": "sheets.properties"}))
        found = {p["title"]: {"id": p["sheetId"], "rows": p.get("gridProperties", {}).get("rowCount", 1000),
                              "cols": p.get("gridProperties", {}).get("columnCount", 26)}
                 for p in (s["properties"] for s in meta.get("sheets", []))}
        with self._lock:
            tabs[sid] = found
            self.cache.setdefault("tabs", {})[sid] = list(found)
            self.save_cache()
        return found

    def batch_get(self, sid: str, titles: list[str]) -> dict[str, list[list]]:
        resp = self.call(lambda: self.http.values_batch_get(sid, [quote(t) for t in titles], dict(READ_PARAMS)))
        return {t: vr.get("values", []) for t, vr in zip(titles, resp.get("valueRanges", []))}

    # --------------------------------------------------------------- write
    def write_cells(self, opd: Opd, wb: Workbook, writes: list[CellWrite]):
        if opd.refused:
            raise StoreError(opd.refused)
        if not writes:
            return wb.revision
        sid = spreadsheet_id(opd.location)
        data = [{"range": r, "values": v} for r, v in value_ranges(writes)]
        for chunk in _chunks(data):
            self.call(lambda: self.http.values_batch_update(sid, {"valueInputOption": "RAW", "data": chunk}))
        return None   # the new revision shows in the next listing; that read settles it

    def stale(self, read):
        """Sheets has no write precondition: one listing just before the writes tells
        which spreadsheets changed since they were read; those are not written."""
        now = self.list_files()
        return {o.code for o, wb in read if now.get(spreadsheet_id(o.location)) != wb.revision}

    def master_revision(self) -> str | None:
        return None   # knowing it after our own write would cost a request; the row cache covers it

    def write_master(self, sheets: list[SheetSpec]) -> None:
        """Only the rows that differ from what was last written, in one
        values:batchUpdate (chunked at 2 MB); rows that disappeared are blanked."""
        self._fit_master(sheets)
        written = self.cache.get("master_rows", {})
        data, new_hashes = [], {}
        for spec in sheets:
            rows = _table(spec)
            old = written.get(spec.title, {"hashes": [], "width": 0})
            hashes = [_row_hash(r) for r in rows]
            width = max([old["width"]] + [len(r) for r in rows])
            data += _changed_runs(spec.title, rows, hashes, old["hashes"], width)
            new_hashes[spec.title] = {"hashes": hashes, "width": max([0] + [len(r) for r in rows])}
        for chunk in _chunks(data):
            self.call(lambda: self.http.values_batch_update(
                self.master_id, {"valueInputOption": "RAW", "data": chunk}))
        self.cache["master_rows"] = {**written, **new_hashes}
        self.save_cache()

    def _fit_master(self, sheets: list[SheetSpec]) -> None:
        """Add missing tabs and grow tabs too small for their table, in one request and
        only when needed: values writes past a tab's grid are refused by the API."""
        cached = self.master_id in self.cache.get("grids", {})
        reqs = self._fit_requests(self._tabs(self.master_id, refresh=False), sheets)
        if reqs and cached:   # the cached tab list may be stale (tabs added by a run killed before it cached
            # them, a tab a person deleted): ask once before changing the structure
            reqs = self._fit_requests(self._tabs(self.master_id, refresh=True), sheets)
        if reqs:
            self.call(lambda: self.http.batch_update(self.master_id, {"requests": reqs}))
            self._tabs(self.master_id, refresh=True)

    @staticmethod
    def _fit_requests(tabs: dict, sheets: list[SheetSpec]) -> list[dict]:
        reqs = []
        for spec in sheets:
            rows = len(_table(spec)) + 10
            cols = max([len(spec.header)] + [len(r) for r in spec.rows]) + 2
            grid = {"rowCount": max(1000, rows * 3 // 2), "columnCount": max(26, cols)}
            tab = tabs.get(spec.title)
            if tab is None:
                reqs.append({"addSheet": {"properties": {"title": spec.title, "gridProperties": grid}}})
            elif tab["rows"] < rows or tab["cols"] < cols:
                reqs.append({"updateSheetProperties": {
                    "properties": {"sheetId": tab["id"], "gridProperties": {
                        "rowCount": max(tab["rows"], grid["rowCount"]), "columnCount": max(tab["cols"], grid["columnCount"])}},
                    "fields": "gridProperties.rowCount,gridProperties.columnCount"}})
        return reqs

    # ------------------------------------------------------------- helpers
    def call(self, fn):
        """One API call; Google's answers become a StoreError for the OPD concerned."""
        try:
            return fn()
        except APIError as e:
            raise StoreError(_problem(e)) from e
        except OSError as e:   # requests' ConnectionError/Timeout after the retries
            raise StoreError(Problem("WB_WRITE_FAILED", {"alasan": f"jaringan: {type(e).__name__}"})) from e

    def save_cache(self) -> None:
        if self.read_only:
            return
        with self._lock:
            atomic_write_text(self.cache_path, json.dumps(self.cache, default=str), mode=PRIVATE)


def _problem(e: APIError) -> Problem:
    code = getattr(e, "code", None) or e.response.status_code
    text = str(e)
    if code == 404:
        return Problem("WB_NOT_FOUND", {"lokasi": "spreadsheet"})
    if code == 403:
        return Problem("WB_NO_ACCESS")
    if code == 400 and "Unable to parse range" in text:
        return Problem("SHEET_MISSING", {"tab": "?", "formulir": "?"})
    return Problem("WB_WRITE_FAILED", {"alasan": f"Google menjawab {code}"})


def value_ranges(writes: list[CellWrite]):
    """Contiguous cells of one row become one range: fewer, smaller ranges."""
    by_row: dict = {}
    for w in writes:
        by_row.setdefault((w.sheet, w.row), {})[w.col] = w.value
    for (sheet, row), cells in sorted(by_row.items()):
        cols = sorted(cells)
        start = prev = cols[0]
        run = [cells[start]]
        for c in cols[1:] + [None]:
            if c is not None and c == prev + 1:
                run.append(cells[c])
                prev = c
                continue
            yield f"{quote(sheet)}!{col_letter(start)}{row}:{col_letter(prev)}{row}", [[_raw(v) for v in run]]
            if c is not None:
                start = prev = c
                run = [cells[c]]


def _chunks(data: list[dict]):
    """Split a values:batchUpdate so that each request stays under 2 MB."""
    chunk, size = [], 0
    for item in data:
        n = len(json.dumps(item, default=str))
        if n > MAX_REQUEST_BYTES and item.get("values") and len(item["values"]) > 1:
            yield from _chunks(_split(item))
            continue
        if chunk and size + n > MAX_REQUEST_BYTES:
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += n
    if chunk:
        yield chunk


def _split(item: dict) -> list[dict]:
    """One big table as two ranges, the second starting where the first ends."""
    m = re.match(r"(.*)!([A-Z]+)(\d+)$", item["range"])
    sheet, col, row = m.group(1), m.group(2), int(m.group(3))
    half = len(item["values"]) // 2
    return [{"range": item["range"], "values": item["values"][:half]},
            {"range": f"{sheet}!{col}{row + half}", "values": item["values"][half:]}]


def _raw(v):
    if v is None:
        return ""
    if isinstance(v, (dt.date, dt.datetime)):
        return v.strftime("%d/%m/%Y")
    if hasattr(v, "item"):   # numpy scalars
        v = v.item()
    if isinstance(v, float) and v != v:
        return ""
    return v


def _table(spec: SheetSpec) -> list[list]:
    rows = []
    if spec.note:
        rows += [[spec.note], []]
    rows.append(list(spec.header))
    rows += [[_raw(v) for v in r] for r in spec.rows]
    return rows


def _row_hash(row: list) -> str:
    import hashlib
    return hashlib.blake2b(json.dumps(row, default=str).encode(), digest_size=8).hexdigest()


def _changed_runs(title: str, rows: list[list], hashes: list[str], old: list[str], width: int) -> list[dict]:
    """Ranges covering runs of rows that differ from the last write; rows beyond the
    new end are written blank so that nothing stale stays visible."""
    n = max(len(rows), len(old))
    diff = [i >= len(rows) or i >= len(old) or hashes[i] != old[i] for i in range(n)]
    out, i = [], 0
    while i < n:
        if not diff[i]:
            i += 1
            continue
        j = i
        while j < n and diff[j]:
            j += 1
        block = [(rows[k] if k < len(rows) else []) for k in range(i, j)]
        block = [r + [""] * (width - len(r)) for r in block]
        out.append({"range": f"{quote(title)}!A{i + 1}", "values": block})
        i = j
    return out


def _load_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


# ------------------------------------------------------------ raw primitives
def raw_http(cfg: dict | None = None):
    """gspread's HTTP client on the configured endpoint (the emulator when
    SHEETS_EMULATOR_HOST is set), for set-up code outside the cycle (demo, benchmarks)."""
    return gspread.Client(auth=None, session=GoogleSession(load_credentials(cfg or {}))).http_client


def create_file(http, name: str, mime: str, parent: str | None) -> str:
    body = {"name": name, "mimeType": mime, **({"parents": [parent]} if parent else {})}
    r = http.request("post", DRIVE_FILES_API_V3_URL, json=body, params={"supportsAllDrives": True})
    return r.json()["id"]


def fill_tabs(http, sid: str, tabs: dict[str, list[list]]) -> None:
    meta = http.spreadsheets_get(sid, params={"fields": "sheets.properties"})
    first = meta["sheets"][0]["properties"]["sheetId"]
    titles = list(tabs)
    reqs = [{"updateSheetProperties": {"properties": {"sheetId": first, "title": titles[0]},
                                       "fields": "title"}}]
    reqs += [{"addSheet": {"properties": {"title": t}}} for t in titles[1:]]
    http.batch_update(sid, {"requests": reqs})
    data = [{"range": f"{quote(t)}!A1", "values": g} for t, g in tabs.items()]
    http.values_batch_update(sid, {"valueInputOption": "RAW", "data": data})
