"""Google Sheets + Drive through gspread and google-auth. The only module that
imports gspread.

Cost per cycle (what the Google quota sees):
- every cycle: one Drive files.list (revisions of every spreadsheet at once; in a
  shared drive with corpora=drive), plus one files.get for each registered
  spreadsheet that is not in that listing (moved out of the folder, in another
  drive, deleted), so that no OPD is silently left unchecked;
- the registry (Daftar OPD) is re-read only when the master's revision moved;
- an edited OPD: one spreadsheets.get of its form tabs (values and tab ids), then
  one spreadsheets.batchUpdate that writes the changed status cells *and* answers
  the form's cells as they are right after that write (responseRanges): the write
  is confirmed by content, not by Drive's version/modifiedTime, which lag real
  edits. Rows whose inputs moved since they were validated get their fresh status
  cells blanked at once and the OPD is read again next cycle;
- the cycle after that write: nothing more. The listing asks lastModifyingUser(me),
  so a revision moved by the worker's own write is told from a person's edit and
  not read (changed_by_us; the cycle decides, with a safety read after
  `baca_ulang_jam` hours for the one edit the listing cannot show);
- the master: one values:batchUpdate of the rows that changed (chunked at 2 MB).
Tab titles are cached in the state folder, so reading never costs a metadata call
unless a tab was renamed. The limits (settings `limits:`) ride on the one read of an
OPD: its ranges stop at the limits and its tabs' grid sizes come in the same answer
(grid_get).
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
from gspread.urls import DRIVE_FILES_API_V3_URL, SPREADSHEET_BATCH_UPDATE_URL

from sheets_sync.codes import TRANSIENT, explain
from sheets_sync.config import ConfigError
from sheets_sync.fileio import PRIVATE, atomic_write_text
from sheets_sync.validate.layout import Problem, SheetData, locate_form, row_hashes
from sheets_sync.validate.registry import Opd, parse_registry, shown_value
from sheets_sync.stores import CellWrite, SheetSpec, StoreError, Workbook, workbook_from_grids
from sheets_sync.stores.google_http import GoogleSession, load_credentials, rate_limited
from sheets_sync.stores.google_look import chart_position, chart_spec, format_requests, look_hash, rule_count

log = logging.getLogger(__name__)
SHEET_MIME = "application/vnd.google-apps.spreadsheet"
FOLDER_MIME = "application/vnd.google-apps.folder"
MAX_REQUEST_BYTES = 2_000_000
# a Drive file id: nothing that could change a request's path. Google's ids are about 44
# characters; 100 leaves room for other kinds while a pasted text is not taken for one.
ID_MAX = 100
_ID = re.compile(rf"[A-Za-z0-9_-]{{10,{ID_MAX}}}")
READ_PARAMS = {"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER",
               "majorDimension": "ROWS"}
# gridProperties: each tab's size, held to the limits (settings `limits:`) in the same answer
GRID_FIELDS = ("sheets(properties(sheetId,title,gridProperties(rowCount,columnCount)),merges,"
               "data(startRow,startColumn,rowData(values(effectiveValue))))")
AREA_PER_CELL = 4   # a tab's grid (rows x columns, empty ones included): at most this x limits.cells,
#                     as the .xlsx store holds the rectangle up to its farthest cell
ODD_ANSWER = "Google menjawab dengan isi yang tidak dikenali"
READ_FAILED = "WB_READ_FAILED"   # a read that did not go through (see call)
# lastModifyingUser(me): whether the last change was made by the worker's own account
# (Drive v3 File; `me` is true when the requesting account made it), see changed_by_us
FILE_FIELDS = "id,version,modifiedTime,trashed,lastModifyingUser(me)"
STORAGE_QUOTA_TEXT = ("Google menolak membuat berkas (403 storageQuotaExceeded): service account tidak punya ruang "
                      "Drive sejak 2024. Pakai folder di Drive bersama (shared drive) dengan service account sebagai "
                      "Pengelola konten, atau masuk dengan akun Google biasa (python -m sheets_sync auth)")
# effectiveValue.errorValue.type -> the text values.get (UNFORMATTED_VALUE) gives for it
ERROR_TEXT = {"DIVIDE_BY_ZERO": "#DIV/0!", "N_A": "#N/A", "REF": "#REF!", "NAME": "#NAME?", "VALUE": "#VALUE!",
              "NUM": "#NUM!", "NULL_VALUE": "#NULL!", "LOADING": "Loading...", "ERROR": "#ERROR!"}


def spreadsheet_id(text: str) -> str:
    """The id inside a link (…/spreadsheets/d/<id>/edit…) or the id itself."""
    m = re.search(r"/d/([A-Za-z0-9_-]{10,})", text or "")
    return m.group(1) if m else (text or "").strip()


def _not_an_id(sid: str) -> str:
    """Why a Berkas / Tautan is not taken for a spreadsheet id, in words."""
    if len(sid) > ID_MAX and re.fullmatch(r"[A-Za-z0-9_-]+", sid):
        return f"ID spreadsheet {len(sid)} karakter, padahal ID Google sekitar 44 karakter"
    return "bukan tautan atau ID spreadsheet"


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
    row_groups = False   # the master's rows are keyed per row there (write_master), not per OPD

    def __init__(self, settings, forms, session: GoogleSession | None = None, *, read_only: bool = False,
                 need_master: bool = True):
        cfg = settings.google or {}
        if need_master and not cfg.get("master_id"):
            raise ConfigError("google.master_id (ID atau tautan spreadsheet master) belum diisi; "
                              "python -m sheets_sync provision membuatnya dan menulis ID-nya ke pengaturan.")
        self.forms = forms
        self.limits = settings.limits   # what one OPD's tabs may hold (grid_get)
        self.master_id = spreadsheet_id(str(cfg.get("master_id") or ""))
        self.folder_id = cfg.get("folder_id")
        self.session = session or session_for(cfg)
        self.http = gspread.Client(auth=None, session=self.session).http_client
        self.cache_path = Path(settings.state_dir) / "google_cache.json"
        self.cache = _load_json(self.cache_path)
        self._lock = threading.RLock()   # reads and writes run in a few threads
        self._added: set[str] = set()   # master tabs this store created (nothing laid on them yet)
        self._listing: dict[str, str] | None = None
        self._by_us: set[str] = set()   # ids whose last change was ours, per this cycle's listing/lookups
        self._missing: dict[str, str] = {}   # id -> why it is not there (lookups of this cycle)
        self._ids: dict[str, dict[str, int]] = {}   # id -> tab title -> sheetId, from this cycle's reads
        self._merges: dict[str, dict] = {}   # id -> tab title -> merged ranges, from its last grid_get
        self.read_only = read_only       # a self-check writes nothing, not even this cache

    # ------------------------------------------------------------- listing
    def list_files(self) -> dict[str, str]:
        """id -> revision of every spreadsheet visible (in the folder if set): 1 request a page.
        A folder in a shared drive is listed with corpora=drive&driveId=... (Drive lists
        shared-drive items only when asked so); without a folder, every drive."""
        q = f"mimeType='{SHEET_MIME}' and trashed=false"
        if self.folder_id:
            q += f" and '{self.folder_id}' in parents"
        out, token = {}, None
        scope = self.listing_scope()
        while True:
            params = {"q": q, "pageSize": 1000,
                      "fields": "nextPageToken,files(id,version,modifiedTime,lastModifyingUser(me))",
                      "supportsAllDrives": True, "includeItemsFromAllDrives": True, **scope}
            if token:
                params["pageToken"] = token
            body = _object(self.call(lambda: self.http.request("get", DRIVE_FILES_API_V3_URL, params=params).json(),
                                     READ_FAILED), READ_FAILED)
            for f in body.get("files", []):
                out[f["id"]] = revision_of(f)
                self._note_author(f)
            token = body.get("nextPageToken")
            if not token:
                return out

    def _note_author(self, f: dict) -> None:
        """Remember whether Drive says the file's last change was made by us. Absent
        (Drive may leave lastModifyingUser out, e.g. an anonymous edit): not ours."""
        with self._lock:
            if (f.get("lastModifyingUser") or {}).get("me") is True:
                self._by_us.add(f["id"])
            else:
                self._by_us.discard(f["id"])

    def listing_scope(self) -> dict:
        """Drive's corpora for the listing: the folder's shared drive (looked up once,
        cached), 'user' for a folder in My Drive, 'allDrives' without a folder."""
        if not self.folder_id:
            return {"corpora": "allDrives"}
        drives = self.cache.setdefault("folder_drive", {})
        if self.folder_id not in drives:
            meta = self.file_meta(self.folder_id, "id,driveId")
            if meta is None:   # the listing below will find nothing; say so through it
                return {"corpora": "user"}
            drives[self.folder_id] = meta.get("driveId") or ""
            self.save_cache()
        drive = drives[self.folder_id]
        return {"corpora": "drive", "driveId": drive} if drive else {"corpora": "user"}

    def file_meta(self, file_id: str, fields: str = FILE_FIELDS) -> dict | None:
        """files.get (any drive); None when Drive says it is not there for us (404/403)."""
        try:
            return _object(self.call(lambda: self.http.request("get", f"{DRIVE_FILES_API_V3_URL}/{file_id}", params={
                "fields": fields, "supportsAllDrives": True}).json(), READ_FAILED), READ_FAILED)
        except StoreError as e:
            if e.problem.code in ("WB_NOT_FOUND", "WB_NO_ACCESS"):
                return None
            raise

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
                return [], [f"Spreadsheet master ({self.master_id}) tidak bisa dibaca: tidak ditemukan, dihapus atau "
                            f"tidak dibagikan ke akun pekerja ({e.problem.code}). Periksa google.master_id di "
                            f"pengaturan (ID = bagian URL sesudah /d/)."]
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
                                                               "alasan": _not_an_id(sid)})
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
        """Every OPD's revision from the listing; a registered spreadsheet the listing
        does not show (moved out of the folder, in another drive, trashed, deleted) is
        looked up on its own, every cycle: found, it is checked by its own revision;
        not found, its revision is None and the read reports why in the Rekap."""
        if self._listing is None:
            self._listing = self.list_files()
        listing = self._listing
        lost = sorted({spreadsheet_id(o.location) for o in opds if not o.refused} - set(listing) - {""})
        lost = [sid for sid in lost if sid not in self._missing]
        if lost:
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(min(self.parallel, len(lost))) as pool:
                found = list(pool.map(self._lookup, lost))
            for sid, meta in zip(lost, found):
                if meta is None or meta.get("trashed"):
                    self._missing[sid] = "trashed" if meta else "gone"
                else:
                    listing[sid] = revision_of(meta)
                    self._note_author({**meta, "id": sid})
        return {o.code: None if o.refused else listing.get(spreadsheet_id(o.location)) for o in opds}

    def changed_by_us(self, opds) -> set[str]:
        """Codes of the OPDs whose spreadsheet Drive says was last changed by the worker's
        own account (lastModifyingUser.me in this cycle's listing: no extra request).

        The cycle takes such a new revision as its own status write when it wrote that
        OPD after its last read (cycle/run.py), instead of reading it again. Honest limits:
        Drive shows the change late (its `version` lags), which only delays what the
        listing says; an edit by someone else after our write makes `me` false. What it
        cannot see is a staff edit between our read and our write (seconds, on a row we
        did not write: written rows are confirmed by content in write_cells' answer), nor
        an edit made in the browser by the very account the worker runs as (OAuth with a
        person's account); a safety read after `baca_ulang_jam` hours covers both."""
        with self._lock:
            return {o.code for o in opds if not o.refused and spreadsheet_id(o.location) in self._by_us}

    def _lookup(self, sid: str) -> dict | None:
        try:
            return self.file_meta(sid)
        except StoreError as e:   # network/quota: not known this cycle, so not "gone" either
            log.warning("spreadsheet %s: tidak dapat diperiksa (%s)", sid[:8] + "…", e.problem.code)
            return None

    def link(self, opd: Opd, at=None) -> str:
        """The spreadsheet's address; with `at` (form key, row, column key: the first
        problem, cycle/writes.first_problem) the address of that cell in its tab, when
        a read of the tab told us its id and columns."""
        if opd.refused:
            return ""
        sid = spreadsheet_id(opd.location)
        url = f"https://docs.google.com/spreadsheets/d/{sid}/edit"
        cell = self._cell_of(sid, at) if at else None
        return url if cell is None else f"{url}#gid={cell[0]}&range={cell[1]}"

    def _cell_of(self, sid: str, at) -> tuple[int, str] | None:
        key, row, column = at
        tabs = self.cache.get("cells", {}).get(sid, {})
        title = self.forms[key].sheet_in(tabs)
        if title is None:
            return None
        tab = tabs[title]
        return tab["gid"], f"{col_letter(tab['cols'].get(column) or tab['status'])}{int(row)}"

    def _remember_cells(self, sid: str, wb: Workbook) -> None:
        """Each read tab's id and columns (cached with the tab list), for links to a cell."""
        with self._lock:
            ids = self._ids.get(sid, {})
            self.cache.setdefault("cells", {})[sid] = {
                s.title: {"gid": ids[s.title], "status": s.status_columns["status"], "cols": dict(s.columns)}
                for s in wb.sheets.values() if s.title in ids}

    # ---------------------------------------------------------------- read
    def read_workbook(self, opd: Opd) -> Workbook:
        if opd.refused:   # the master, the folder, another OPD's spreadsheet: never read
            raise StoreError(opd.refused)
        sid = spreadsheet_id(opd.location)
        if not sid:
            raise StoreError(Problem("WB_NOT_FOUND", {"lokasi": "(kolom Berkas / Tautan kosong)"}))
        if sid in self._missing:
            where = "di tempat sampah Drive" if self._missing[sid] == "trashed" else \
                "dihapus atau tidak dibagikan ke akun pekerja"
            raise StoreError(Problem("WB_NOT_FOUND", {"lokasi": f"spreadsheet {where}"}))
        rev = (self._listing or {}).get(sid)
        # Provisioned sheets use the forms' own tab names: try them before paying
        # for a metadata read; a renamed tab makes the read fail and we look.
        titles = self.cache.get("tabs", {}).get(sid) or [self.forms[k].sheet for k in opd.forms]
        wanted = self._wanted_tabs(opd, titles)
        try:
            grids = self.grid_get(sid, wanted) if wanted else {}
        except StoreError as e:
            if e.problem.code != "SHEET_MISSING":
                raise
            titles = self._tab_titles(sid, refresh=True)   # a tab was renamed since we cached
            wanted = self._wanted_tabs(opd, titles)
            grids = self.grid_get(sid, wanted) if wanted else {}
        with self._lock:
            merges = self._merges.pop(sid, {})
        wb = workbook_from_grids(opd, rev, grids, self.forms, merges)
        self._remember_cells(sid, wb)
        self._no_line_in_merges(wb, merges)
        return wb

    @staticmethod
    def _no_line_in_merges(wb: Workbook, merges: dict) -> None:
        """The line above a Status header is not written inside a merged range (a title
        merged across the columns): it would not read back, and be written every cycle."""
        def merged(title, row, col) -> bool:
            return any(r0 <= row <= r1 and c0 <= col <= c1 for r0, c0, r1, c1 in merges.get(title, []))
        for sheet in wb.sheets.values():
            if sheet.above is not None and merged(sheet.title, *sheet.above[:2]):
                sheet.above = None
        wb.notices = {t: n for t, n in wb.notices.items() if not merged(t, n[0], n[1])}

    def grid_get(self, sid: str, titles: list[str]) -> dict[str, list[list]]:
        """The values of whole tabs (as values.get UNFORMATTED_VALUE gives them) with
        their tab ids, in one spreadsheets.get: the ids let the status write be one
        batchUpdate that also answers the cells as they are after it.

        The limits, in that same request (no metadata call per OPD): each range ends at
        the limits' last row and column, so a tab of 200,000 rows or 18,000 columns
        sends no more than the limits' worth of cells; the answer's gridProperties then
        refuse such a tab (SHEET_TOO_LARGE) before its rows are made, as the .xlsx store
        refuses a file before parsing it."""
        meta = self.call(lambda: self.http.spreadsheets_get(
            sid, params={"ranges": [self.bounded(t) for t in titles], "fields": GRID_FIELDS}), READ_FAILED)
        too_large = _shaped(lambda m: grid_too_large(m, self.limits), meta, READ_FAILED)
        if too_large is not None:
            raise StoreError(too_large)
        (grids, ids), merges = _shaped(lambda m: (grids_of(m), merges_of(m)), meta, READ_FAILED)
        over = cells_too_many(grids, self.limits)
        if over is not None:
            raise StoreError(over)
        with self._lock:
            self._ids.setdefault(sid, {}).update(ids)
            self._merges[sid] = merges
        return {t: grids.get(t, []) for t in titles}

    def bounded(self, title: str) -> str:
        """A whole tab as far as the limits reach (Google clamps a range that only ends
        past the grid, so a small tab reads as before)."""
        return f"{quote(title)}!A1:{col_letter(self.limits.columns)}{self.limits.rows}"

    def _wanted_tabs(self, opd: Opd, titles: list[str]) -> list[str]:
        out = []
        for key in opd.forms:
            t = self.forms[key].sheet_in(titles)
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
        meta = self.call(lambda: self.http.spreadsheets_get(sid, params={"fields": "sheets.properties"}), READ_FAILED)
        found = _shaped(_tab_sizes, meta, READ_FAILED)
        with self._lock:
            tabs[sid] = found
            self.cache.setdefault("tabs", {})[sid] = list(found)
            self.save_cache()
        return found

    def batch_get(self, sid: str, titles: list[str]) -> dict[str, list[list]]:
        resp = self.call(lambda: self.http.values_batch_get(sid, [quote(t) for t in titles], dict(READ_PARAMS)),
                         READ_FAILED)
        return _shaped(lambda r: {t: [[real_text(v) if type(v) is str else v for v in row]
                                      for row in vr.get("values", [])]
                                  for t, vr in zip(titles, r.get("valueRanges", []))}, resp, READ_FAILED)

    # --------------------------------------------------------------- write
    def write_cells(self, opd: Opd, wb: Workbook, writes: list[CellWrite]):
        """The status cells in one spreadsheets.batchUpdate whose answer holds the form
        tabs as they are right after the write. Sheets has no write precondition, and
        Drive's version lags edits, so the write is confirmed by content: a row whose
        input cells are not the ones validated (sorted, deleted, inserted, edited since
        the read) gets the status cells just written blanked again, and the OPD is
        re-read next cycle (StoreError WB_CHANGED)."""
        if opd.refused:
            raise StoreError(opd.refused)
        if not writes:
            return wb.revision
        sid = spreadsheet_id(opd.location)
        ids = self._sheet_ids(sid, {w.sheet for w in writes})
        moved: list[CellWrite] = []
        changed = False
        titles = {v: k for k, v in ids.items()}

        def body_of(reqs: list[dict]) -> dict:
            # each chunk asks back only its own rows: a 50,000-row write in four chunks
            # must not get every row's inputs four times
            return {"requests": reqs, "includeSpreadsheetInResponse": True, "responseIncludeGridData": True,
                    "responseRanges": confirm_ranges(wb, _writes_of(writes, reqs, titles))}
        for body in _bodies(cell_requests(writes, ids), body_of):
            mine = _writes_of(writes, body["requests"], titles)
            resp = self.write_call(lambda: self.http.request("post", SPREADSHEET_BATCH_UPDATE_URL % sid, json=body,
                                                             params={"fields": CONFIRM_FIELDS}).json())
            after, _ = _shaped(lambda r: grids_of(r.get("updatedSpreadsheet") or {}), resp, "WB_WRITE_FAILED")
            bad_rows, differs = self.moved_rows(wb, after, sorted({w.sheet for w in mine}),
                                                {(w.sheet, w.row) for w in mine})
            changed = changed or differs
            moved += [w for w in writes if (w.sheet, w.row) in bad_rows and w not in moved]
        if moved:   # our fresh statuses landed on rows they were not computed for: take them back
            blank = [CellWrite(w.sheet, w.row, w.col, "") for w in moved]
            try:
                self._plain_updates(sid, cell_requests(blank, ids))
            except StoreError:
                log.warning("OPD %s: status baris yang bergeser belum dapat dikosongkan; siklus berikutnya "
                            "menulisnya ulang", opd.code)
            log.info("OPD %s: %d baris bergeser saat status ditulis; statusnya dikosongkan dan OPD dibaca ulang "
                     "siklus berikutnya", opd.code, len({(w.sheet, w.row) for w in moved}))
        if changed:
            raise StoreError(Problem("WB_CHANGED"))
        return None   # the new revision shows in the next listing; that read settles it

    def moved_rows(self, wb: Workbook, after: dict[str, list[list]], tabs, written=None) -> tuple[set, bool]:
        """((tab, row) pairs whose input cells differ from those validated, anything
        differs at all) for the written tabs, comparing row content hashes; with
        `written`, only those rows came back (confirm_ranges) and only they count."""
        bad, differs = set(), False
        by_title = {s.title: s for s in wb.sheets.values()}
        for title in tabs:
            before: SheetData | None = by_title.get(title)
            if before is None:
                continue
            now = locate_form(after.get(title, []), self.forms[before.form], self.forms, title,
                              filled=before.filled)
            rows_before = dict(zip(before.frame.index.tolist(), row_hashes(before.frame)))
            if isinstance(now, Problem) or now.header_row != before.header_row or \
                    now.columns != before.columns or now.status_columns != before.status_columns:
                differs = True
                bad.add((title, None))   # the layout itself moved: every row of the tab
                continue
            rows_now = dict(zip(now.frame.index.tolist(), row_hashes(now.frame)))
            rows = set(rows_before) | set(rows_now)
            if written is not None:
                rows = {r for t, r in written if t == title and r != before.header_row}
            for r in rows:
                if rows_before.get(r) != rows_now.get(r):
                    differs = True
                    bad.add((title, r))
        return _RowSet(bad), differs

    def _sheet_ids(self, sid: str, titles: set[str]) -> dict[str, int]:
        ids = self._ids.get(sid, {})
        if not titles <= set(ids):   # not read through grid_get in this store: ask once
            ids = {t: v["id"] for t, v in self._tabs(sid, refresh=True).items()}
            with self._lock:
                self._ids[sid] = ids
        missing = titles - set(ids)
        if missing:
            raise StoreError(Problem("SHEET_MISSING", {"tab": sorted(missing)[0], "formulir": "?"}))
        return ids

    def stale(self, read):
        """Nothing to ask beforehand: Drive's version lags edits, so each status write
        confirms the rows by their content in its own answer (write_cells)."""
        return set()

    def master_revision(self) -> str | None:
        return None   # knowing it after our own write would cost a request; the row cache covers it

    def archive_copy(self, opd: Opd | None, name: str) -> str:
        """Drive files.copy into the season's folder, named `name`; a copy of that name
        already in the folder (a rollover resumed after a crash) is reused."""
        sid = self.master_id if opd is None else spreadsheet_id(opd.location)
        q = f"name = '{_q(name)}' and mimeType='{SHEET_MIME}' and trashed=false"
        if self.folder_id:
            q += f" and '{self.folder_id}' in parents"
        found = self.call(lambda: self.http.request("get", DRIVE_FILES_API_V3_URL, params={
            "q": q, "fields": "files(id)", "supportsAllDrives": True, "includeItemsFromAllDrives": True,
            **self.listing_scope()}).json()).get("files") or []
        if found:
            return found[0]["id"]
        body = {"name": name, **({"parents": [self.folder_id]} if self.folder_id else {})}
        return self.call(lambda: self.http.request("post", f"{DRIVE_FILES_API_V3_URL}/{sid}/copy", json=body,
                                                   params={"supportsAllDrives": True, "fields": "id"}).json())["id"]

    def clear_cells(self, opd: Opd, wb: Workbook, writes: list[CellWrite]) -> None:
        """One plain batchUpdate: emptying inputs needs no confirmation by content."""
        if opd.refused:
            raise StoreError(opd.refused)
        sid = spreadsheet_id(opd.location)
        ids = self._sheet_ids(sid, {w.sheet for w in writes})
        self._plain_updates(sid, cell_requests(writes, ids))

    def _plain_updates(self, sid: str, reqs: list[dict]) -> None:
        """batchUpdates under 2 MB whose answers hold nothing but the spreadsheet id."""
        for body in _bodies(reqs, lambda chunk: {"requests": chunk}):
            self.write_call(lambda: self.http.request("post", SPREADSHEET_BATCH_UPDATE_URL % sid, json=body,
                                                      params={"fields": "spreadsheetId"}).json())

    def write_master(self, sheets: list[SheetSpec]) -> None:
        """Only the rows that differ from what was last written, in one
        values:batchUpdate (chunked at 2 MB); rows that disappeared are blanked."""
        self._fit_master(sheets)
        written = self.cache.get("master_rows", {})
        tabs = self._tabs(self.master_id, refresh=False)
        data, structure, new_hashes = [], [], {}
        for spec in sheets:
            rows = _table(spec)
            old = written.get(spec.title, {"hashes": [], "width": 0})
            hashes = [_row_hash(r) for r in rows]
            width = max([old["width"]] + [len(r) for r in rows])
            tab_id = (tabs.get(spec.title) or {}).get("id")
            moves, runs = keyed_rows(spec.title, tab_id, rows, hashes, old["hashes"], width)
            structure += moves
            data += runs
            new_hashes[spec.title] = {"hashes": hashes, "width": max([0] + [len(r) for r in rows])}
        if structure:   # rows inserted/deleted where they changed, so later rows need no rewrite
            self.call(lambda: self.http.batch_update(self.master_id, {"requests": structure}))
        for body in _bodies(data, _values_body, _split_big):
            self.call(lambda: self.http.values_batch_update(self.master_id, body))
        self.cache["master_rows"] = {**written, **new_hashes}
        self.save_cache()
        self._dress(sheets)

    def _dress(self, sheets: list[SheetSpec]) -> None:
        """The look of the tabs whose look changed since it was last laid (widths,
        colour rules, chart), in one batchUpdate; nothing when none did, so a write of
        values costs no more. The chart is added once, then updated in place by its
        id (kept in the cache, or found by its title when the cache was lost). A look
        that fails is logged and laid again next time: it never stops the master."""
        looks = self.cache.setdefault("master_look", {})
        todo = [(spec, look_hash(spec)) for spec in sheets if looks.get(spec.title, {}).get("hash") != look_hash(spec)]
        if not todo:
            return
        tabs = self._tabs(self.master_id, refresh=False)
        reqs, added, laid, found = [], [], {}, None
        for spec, digest in todo:
            tab = tabs.get(spec.title)
            if tab is None:
                continue
            known = looks.get(spec.title)
            if known is None and spec.title in self._added:
                known = {"rules": 0, "chart": None}
            elif known is None:   # laid before this cache existed: ask once what the tab holds
                found = self._dressing() if found is None else found
                title = (spec.chart or {}).get("title")
                known = {"rules": found.get((tab["id"], None), 0),
                         "chart": found.get((tab["id"], title)) if title else None}
            reqs += [{"deleteConditionalFormatRule": {"sheetId": tab["id"], "index": 0}}] * known["rules"]
            reqs += format_requests(tab["id"], spec)
            laid[spec.title] = {"hash": digest, "rules": rule_count(spec), "chart": known.get("chart")}
            if spec.chart and spec.rows:
                if known.get("chart") is not None:
                    reqs.append({"updateChartSpec": {"chartId": known["chart"], "spec": chart_spec(tab["id"], spec)}})
                else:
                    reqs.append({"addChart": {"chart": {"spec": chart_spec(tab["id"], spec),
                                                        "position": chart_position(tab["id"], spec)}}})
                    added.append((spec.title, len(reqs) - 1))
        if not reqs:
            return
        try:
            resp = self.call(lambda: self.http.batch_update(self.master_id, {"requests": reqs}))
        except StoreError as e:
            for title in laid:
                looks.pop(title, None)
            log.warning("tampilan master belum diterapkan (%s); dicoba lagi saat master ditulis berikutnya",
                        e.problem.code)
            return
        replies = resp.get("replies") or []
        for title, i in added:
            laid[title]["chart"] = ((replies[i] if i < len(replies) else {}) or {}).get(
                "addChart", {}).get("chart", {}).get("chartId")
        looks.update(laid)
        self.save_cache()

    def _dressing(self) -> dict:
        """What the master's tabs hold now: (tab id, None) -> number of conditional
        format rules (all the worker's: these tabs are generated), (tab id, chart
        title) -> that chart's id."""
        meta = self.call(lambda: self.http.spreadsheets_get(self.master_id, params={
            "fields": "sheets(properties.sheetId,conditionalFormats,charts(chartId,spec.title))"}))
        out = {}
        for sheet in meta.get("sheets", []):
            sid = sheet["properties"]["sheetId"]
            out[(sid, None)] = len(sheet.get("conditionalFormats") or [])
            for chart in sheet.get("charts") or []:
                out[(sid, (chart.get("spec") or {}).get("title"))] = chart["chartId"]
        return out

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
            self._added |= {r["addSheet"]["properties"]["title"] for r in reqs if "addSheet" in r}

    @staticmethod
    def _fit_requests(tabs: dict, sheets: list[SheetSpec]) -> list[dict]:
        reqs = []
        for spec in sheets:
            table = _table(spec)
            rows = len(table) + 10
            cols = max(len(r) for r in table) + 2
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
    def call(self, fn, failed: str = "WB_WRITE_FAILED"):
        """One API call; Google's answers become a StoreError for the OPD concerned.
        `failed`: the code of a call that did not go through (429/5xx/network after the
        retries), so that a read that failed is not reported as a status write that
        failed (READ_FAILED for reads). A 200 whose body is not JSON (a proxy's page, a
        truncated body) is the store's error too; one whose JSON is not what was asked
        is caught where it is read (_shaped, _object)."""
        try:
            return fn()
        except APIError as e:
            raise StoreError(_problem(e, failed)) from e
        except ValueError as e:   # a 200 whose body is not JSON (requests' JSONDecodeError)
            raise StoreError(Problem(failed, {"alasan": ODD_ANSWER})) from e
        except OSError as e:   # requests' ConnectionError/Timeout after the retries
            raise StoreError(Problem(failed, {"alasan": explain(e, filename=False)})) from e

    def write_call(self, fn):
        """A write to an OPD spreadsheet read this cycle: Google's 403 there means a
        share as Viewer/Commenter (the read went through), not a spreadsheet deleted or
        unshared: WB_READ_ONLY, which tells the OPD what to change."""
        try:
            return self.call(fn)
        except StoreError as e:
            if e.problem.code != "WB_NO_ACCESS":
                raise
            raise StoreError(Problem("WB_READ_ONLY")) from e

    def save_cache(self) -> None:
        if self.read_only:
            return
        with self._lock:
            atomic_write_text(self.cache_path, json.dumps(self.cache, default=str), mode=PRIVATE)


def _problem(e: APIError, failed: str = "WB_WRITE_FAILED") -> Problem:
    """Google's refusal as a Problem; `failed` (a read's or a write's code) for what
    passes by itself (quota, 5xx)."""
    code = getattr(e, "code", None) or e.response.status_code
    text = str(e)
    if code == 404:
        return Problem("WB_NOT_FOUND", {"lokasi": "spreadsheet"})
    if code == 403 and ("storageQuotaExceeded" in reasons(e.response) or "storage quota" in text.lower()):
        return Problem("WB_WRITE_FAILED", {"alasan": STORAGE_QUOTA_TEXT})
    if code == 403 and rate_limited(e.response):
        return Problem(failed, {"alasan": "kuota Google habis"})
    if code == 403:
        return Problem("WB_NO_ACCESS")
    if code == 400 and "Unable to parse range" in text:
        return Problem("SHEET_MISSING", {"tab": "?", "formulir": "?"})
    return Problem(failed, {"alasan": f"Google menjawab {code}"})


def reasons(resp) -> set[str]:
    """Drive's error reasons (errors[].reason) of an answer, or the Sheets status."""
    try:
        err = resp.json().get("error", {})
    except (ValueError, AttributeError):
        return set()
    if not isinstance(err, dict):
        return set()
    out = {x.get("reason") for x in err.get("errors") or [] if isinstance(x, dict)}
    return {r for r in out if r} | ({err["status"]} if err.get("status") else set())


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


CONFIRM_FIELDS = "updatedSpreadsheet(sheets(properties(sheetId,title),data(startRow,startColumn,rowData(values(effectiveValue)))))"
MAX_CONFIRM_RANGES = 40


def confirm_ranges(wb: Workbook, writes: list[CellWrite]) -> list[str]:
    """What a status write asks back: each written tab's header row (to its status
    columns) and the input cells of the rows written, as runs of rows; never the
    whole tab, so the answer stays proportional to the write."""
    out = []
    for sheet in wb.sheets.values():
        rows = sorted({w.row for w in writes if w.sheet == sheet.title})
        if not rows:
            continue
        last_input = max(sheet.columns.values())
        out.append(f"{quote(sheet.title)}!A{sheet.header_row}:{col_letter(max(sheet.status_columns.values()))}"
                   f"{sheet.header_row}")
        runs = _runs([r for r in rows if r > sheet.header_row])   # not the summary line above it
        if len(runs) > MAX_CONFIRM_RANGES:
            runs = [(runs[0][0], runs[-1][1])]
        out += [f"{quote(sheet.title)}!A{a}:{col_letter(last_input)}{b}" for a, b in runs]
    read = {s.title for s in wb.sheets.values()}
    # a notice on a tab that was not read as a form: its own cell, so that the answer
    # never becomes the whole spreadsheet (no range at all would ask for everything)
    out += [f"{quote(w.sheet)}!{col_letter(w.col)}{w.row}" for w in writes if w.sheet not in read]
    return out


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    runs = []
    for r in rows:
        if runs and r == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], r)
        else:
            runs.append((r, r))
    return runs


class _RowSet(set):
    """(tab, row) pairs; (tab, None) stands for every row of that tab."""

    def __contains__(self, item) -> bool:
        return set.__contains__(self, item) or set.__contains__(self, (item[0], None))


def _q(text: str) -> str:
    """A value inside a Drive query's single quotes."""
    return text.replace("\\", "\\\\").replace("'", "\\'")


def cell_requests(writes: list[CellWrite], ids: dict[str, int]) -> list[dict]:
    """updateCells requests, one per run of contiguous cells in a row (RAW: strings
    stay strings); an empty value clears the cell."""
    out = []
    for rng, values in value_ranges(writes):
        m = re.match(r"(.*)!([A-Z]+)(\d+):([A-Z]+)\d+$", rng)
        title = m.group(1)[1:-1].replace("''", "'")
        row, col = int(m.group(3)), col_number(m.group(2))
        out.append({"updateCells": {
            "start": {"sheetId": ids[title], "rowIndex": row - 1, "columnIndex": col - 1},
            "rows": [{"values": [cell_value(v) for v in values[0]]}], "fields": "userEnteredValue"}})
    return out


def cell_value(v) -> dict:
    if v is None or v == "":
        return {}
    if isinstance(v, bool):
        return {"userEnteredValue": {"boolValue": v}}
    if isinstance(v, (int, float)):
        return {"userEnteredValue": {"numberValue": v}}
    return {"userEnteredValue": {"stringValue": str(v)}}


def col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def grids_of(meta: dict) -> tuple[dict[str, list[list]], dict[str, int]]:
    """(title -> grid of values, title -> sheetId) from a spreadsheets.get (or a
    batchUpdate's updatedSpreadsheet) with grid data: values as values.get with
    UNFORMATTED_VALUE / SERIAL_NUMBER gives them, trailing empties dropped."""
    grids, ids = {}, {}
    for sheet in meta.get("sheets", []) or []:
        props = sheet.get("properties", {})
        title = props.get("title")
        ids[title] = props.get("sheetId", 0)
        grid: list[list] = []
        for block in sheet.get("data", []) or []:
            r0, c0 = block.get("startRow", 0), block.get("startColumn", 0)
            for i, row in enumerate(block.get("rowData", []) or []):
                values = [_effective(c) for c in (row.get("values") or [])]
                while values and values[-1] == "":
                    values.pop()
                if not values:
                    continue
                r = r0 + i
                while len(grid) <= r:
                    grid.append([])
                line = grid[r] + [""] * max(0, c0 - len(grid[r]))
                line[c0:c0 + len(values)] = values
                grid[r] = line
        grids[title] = grid
    return grids, ids


def grid_too_large(meta: dict, limits) -> Problem | None:
    """SHEET_TOO_LARGE for the first tab whose grid (sheets.properties.gridProperties:
    every row and column, empty ones included) is past the limits, else None. The grid,
    not the data: Google's new tab is 1,000 x 26 and provisioned tabs may have more
    rows than data; both stay far inside the limits."""
    for sheet in meta.get("sheets", []) or []:
        props = sheet.get("properties") or {}
        grid = props.get("gridProperties") or {}
        cap = _grid_cap(int(grid.get("rowCount", 0)), int(grid.get("columnCount", 0)), limits)
        if cap:
            return Problem("SHEET_TOO_LARGE", {"tab": props.get("title"), "batas": cap})
    return None


def _grid_cap(rows: int, cols: int, limits) -> str:
    """The limit a grid of rows x cols passes, in words ("": none)."""
    if rows > limits.rows:
        return f"{_n(limits.rows)} baris (tab ini {_n(rows)} baris, termasuk baris kosong)"
    if cols > limits.columns:
        return f"{_n(limits.columns)} kolom (tab ini {_n(cols)} kolom, termasuk kolom kosong)"
    if rows * cols > AREA_PER_CELL * limits.cells:
        return f"{_n(AREA_PER_CELL * limits.cells)} sel (tab ini {_n(rows)} baris x {_n(cols)} kolom)"
    return ""


def cells_too_many(grids: dict[str, list[list]], limits) -> Problem | None:
    """SHEET_TOO_LARGE when the tabs read hold more cells than limits.cells together
    (counted as the .xlsx store counts them: each row to its last value)."""
    budget = limits.cells
    for title, grid in grids.items():
        budget -= sum(len(r) for r in grid)
        if budget < 0:
            return Problem("SHEET_TOO_LARGE", {"tab": title, "batas": f"{_n(limits.cells)} sel per berkas"})
    return None


def _n(x: int) -> str:
    """12.345 (Indonesian thousands)."""
    return f"{x:,}".replace(",", ".")


def _tab_sizes(meta: dict) -> dict[str, dict]:
    """title -> {id, rows, cols} from a spreadsheets.get of sheets.properties."""
    return {p["title"]: {"id": p["sheetId"], "rows": p.get("gridProperties", {}).get("rowCount", 1000),
                         "cols": p.get("gridProperties", {}).get("columnCount", 26)}
            for p in (s["properties"] for s in meta.get("sheets", []))}


def _object(answer, failed: str) -> dict:
    """A JSON object as asked, else the store's StoreError (see _shaped)."""
    if not isinstance(answer, dict):
        raise StoreError(Problem(failed, {"alasan": ODD_ANSWER}))
    return answer


def _shaped(parse, answer: dict, failed: str):
    """parse(answer); an answer not shaped as asked (a 200 whose JSON holds something
    else) becomes the store's StoreError with words, not an AttributeError and a
    traceback in the log."""
    try:
        return parse(answer)
    except (AttributeError, TypeError, KeyError, ValueError) as e:
        raise StoreError(Problem(failed, {"alasan": ODD_ANSWER})) from e


def merges_of(meta: dict) -> dict[str, list[tuple[int, int, int, int]]]:
    """{title: merged ranges (first row, first col, last row, last col), 1-based} from
    a spreadsheets.get asked for `merges` (GridRange ends are exclusive, 0-based)."""
    out = {}
    for sheet in meta.get("sheets", []) or []:
        title = (sheet.get("properties") or {}).get("title")
        out[title] = [(m.get("startRowIndex", 0) + 1, m.get("startColumnIndex", 0) + 1,
                       m.get("endRowIndex", 0), m.get("endColumnIndex", 0))
                      for m in sheet.get("merges") or [] if isinstance(m, dict)]
    return out


def _effective(cell: dict):
    ev = (cell or {}).get("effectiveValue")
    if not ev:
        return ""
    if "stringValue" in ev:
        return real_text(ev["stringValue"])
    if "numberValue" in ev:
        v = ev["numberValue"]
        return int(v) if isinstance(v, float) and v.is_integer() else v
    if "boolValue" in ev:
        return ev["boolValue"]
    if "errorValue" in ev:
        return ERROR_TEXT.get((ev["errorValue"] or {}).get("type"), "#ERROR!")
    return ""


def real_text(v: str) -> str:
    """A cell's text as UTF-8 can hold it: JSON lets a lone surrogate through ("\\ud800",
    half of an emoji cut by a formula), which no file, state or e-mail can store; it
    becomes "?", as the .xlsx writers make it. Checked only for non-ASCII texts."""
    if v.isascii():
        return v
    try:
        v.encode("utf-8")
        return v
    except UnicodeEncodeError:
        return v.encode("utf-8", "replace").decode("utf-8")


def revision_of(f: dict) -> str:
    return f"{f.get('version')}|{f.get('modifiedTime')}"


def _chunks(data: list[dict]):
    """Split a values:batchUpdate so that each request stays under 2 MB; a range too
    big on its own is split by rows."""
    return _by_size(data, _split_big)


def _split_big(item: dict):
    return _split(item) if item.get("values") and len(item["values"]) > 1 else None


def _values_body(data: list[dict]) -> dict:
    # includeValuesInResponse false (the API's default, said here): the answer holds
    # counts only, never the values just written
    return {"valueInputOption": "RAW", "includeValuesInResponse": False, "data": data}


def body_bytes(body: dict) -> int:
    """Bytes of a request body as the HTTP layer sends it (requests' json=: ASCII,
    ', ' and ': ' separators)."""
    return len(json.dumps(body, default=str).encode("utf-8"))


def _bodies(items: list[dict], body_of, split=None):
    """Request bodies of at most MAX_REQUEST_BYTES, every byte counted: the items,
    the ', ' between them and the body around them (`body_of(items)` makes it). A
    body that still comes out too big (what it asks back grew with its items) is
    halved until it fits; a single item too big on its own goes as it is, for the
    API to refuse with its own message."""
    around = body_bytes(body_of([])) - 2   # the body without its empty list's brackets
    for chunk in _by_size(items, split, MAX_REQUEST_BYTES - around):
        yield from _halved(chunk, body_of)


def _halved(chunk: list[dict], body_of):
    body = body_of(chunk)
    if len(chunk) > 1 and body_bytes(body) > MAX_REQUEST_BYTES:
        half = len(chunk) // 2
        yield from _halved(chunk[:half], body_of)
        yield from _halved(chunk[half:], body_of)
    else:
        yield body


def _writes_of(writes: list[CellWrite], reqs: list[dict], titles: dict[int, str]) -> list[CellWrite]:
    """The writes that these updateCells requests carry (one request per tab row)."""
    rows = {(titles[r["updateCells"]["start"]["sheetId"]], r["updateCells"]["start"]["rowIndex"] + 1)
            for r in reqs}
    return [w for w in writes if (w.sheet, w.row) in rows]


def _by_size(items: list[dict], split=None, cap: int = MAX_REQUEST_BYTES):
    """Runs of items whose JSON list, ', ' separators and brackets included, stays
    within `cap` bytes; `split(item)` may break one item that is too big on its own
    into smaller ones (None: it cannot)."""
    chunk, size = [], 2    # the list's brackets
    for item in items:
        n = body_bytes(item)
        parts = split(item) if split and n + 2 > cap else None
        if parts:
            yield from _by_size(parts, split, cap)
            continue
        if chunk and size + 2 + n > cap:
            yield chunk
            chunk, size = [], 2
        size += n + (2 if chunk else 0)   # ', ' before every item but the first
        chunk.append(item)
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
    """The tab's cells: note, header, rows, an empty row and the totals, and the
    side table to the right after one empty column (as the .xlsx master)."""
    rows = []
    if spec.note:
        rows += [[spec.note], []]
    head = len(rows)
    rows.append(list(spec.header))
    rows += [[_raw(v) for v in r] for r in spec.rows]
    if spec.footer:
        rows.append([])
        rows += [[_raw(v) for v in r] for r in spec.footer]
    if spec.side is not None:
        col = len(spec.header) + 1
        for i, r in enumerate([list(spec.side.header)] + spec.side.rows):
            while len(rows) <= head + i:
                rows.append([])
            row = rows[head + i]
            rows[head + i] = row + [""] * (col - len(row)) + [_raw(v) for v in r]
    return rows


def _row_hash(row: list) -> str:
    import hashlib
    return hashlib.blake2b(json.dumps(row, default=str).encode(), digest_size=8).hexdigest()


MAX_MOVES = 200   # more inserted/deleted blocks than this: rewrite the rows in place instead


def keyed_rows(title: str, tab_id, rows: list[list], hashes: list[str], old: list[str],
               width: int) -> tuple[list[dict], list[dict]]:
    """(structure requests, value ranges) turning the rows last written (their hashes,
    `old`) into `rows`: rows that appeared are inserted and rows that went are deleted
    where they were (deleteDimension/insertDimension, last first so that earlier
    indexes hold), and only inserted or changed rows are written. One new row in
    the middle of a 50,000-row tab is one insert and one row of values, not a
    rewrite of every row below it. Without what was written (first write, lost
    cache, unknown tab) or with too many blocks, rows are compared in place."""
    import difflib

    if not old or tab_id is None:
        return [], _changed_runs(title, rows, hashes, old, width)
    ops = [op for op in difflib.SequenceMatcher(None, old, hashes, autojunk=False).get_opcodes() if op[0] != "equal"]
    if len(ops) > MAX_MOVES:
        return [], _changed_runs(title, rows, hashes, old, width)
    moves, changed = [], []
    for _tag, i1, i2, j1, j2 in reversed(ops):
        extra = (i2 - i1) - (j2 - j1)
        span = {"sheetId": tab_id, "dimension": "ROWS"}
        if extra > 0:
            moves.append({"deleteDimension": {"range": {**span, "startIndex": i2 - extra, "endIndex": i2}}})
        elif extra < 0:
            moves.append({"insertDimension": {"range": {**span, "startIndex": i2, "endIndex": i2 - extra},
                                              "inheritFromBefore": i2 > 0}})
        changed += range(j1, j2)
    changed.sort()
    out = []
    for a, b in _runs([j + 1 for j in changed]):
        block = [rows[k - 1] + [""] * (width - len(rows[k - 1])) for k in range(a, b + 1)]
        out.append({"range": f"{quote(title)}!A{a}", "values": block})
    return moves, out


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


def session_for(cfg: dict, **kw) -> GoogleSession:
    """The session for the settings' google: section (credentials, quota, timeout)."""
    return GoogleSession(load_credentials(cfg), reads_per_minute=int(cfg.get("reads_per_minute", 60)),
                         writes_per_minute=int(cfg.get("writes_per_minute", 60)),
                         drive_per_minute=int(cfg.get("drive_per_minute", 60)),
                         total_per_minute=int(cfg.get("requests_per_minute", 300)),
                         timeout=float(cfg.get("timeout", 30)), **kw)


# ------------------------------------------------------------ raw primitives
def raw_http(cfg: dict | None = None):
    """gspread's HTTP client on the configured endpoint (the emulator when
    SHEETS_EMULATOR_HOST is set), for set-up code outside the cycle (demo, benchmarks)."""
    return gspread.Client(auth=None, session=GoogleSession(load_credentials(cfg or {}))).http_client


def create_file(http, name: str, mime: str, parent: str | None) -> str:
    """files.create through Drive (in a shared drive too); Google's refusal becomes a
    StoreError whose text says what to do (a service account needs a shared drive)."""
    body = {"name": name, "mimeType": mime, **({"parents": [parent]} if parent else {})}
    try:
        r = http.request("post", DRIVE_FILES_API_V3_URL, json=body, params={"supportsAllDrives": True, "fields": "id"})
    except APIError as e:
        raise StoreError(_problem(e)) from e
    return r.json()["id"]


def fill_tabs(http, sid: str, tabs: dict[str, list[list]]) -> None:
    meta = http.spreadsheets_get(sid, params={"fields": "sheets.properties"})
    first = meta["sheets"][0]["properties"]["sheetId"]
    titles = list(tabs)
    # a new tab has 1,000 rows x 26 columns; writing past them is refused: big tabs grow first
    grid = {t: {"rowCount": max(1_000, len(g)), "columnCount": max([26] + [len(r) for r in g])}
            for t, g in tabs.items()}
    reqs = [{"updateSheetProperties": {"properties": {"sheetId": first, "title": titles[0],
                                                      "gridProperties": grid[titles[0]]},
                                       "fields": "title,gridProperties(rowCount,columnCount)"}}]
    reqs += [{"addSheet": {"properties": {"title": t, "gridProperties": grid[t]}}} for t in titles[1:]]
    http.batch_update(sid, {"requests": reqs})
    data = [{"range": f"{quote(t)}!A1", "values": g} for t, g in tabs.items()]
    for body in _bodies(data, _values_body, _split_big):   # big demo tabs: under 2 MB a request
        http.values_batch_update(sid, body)
